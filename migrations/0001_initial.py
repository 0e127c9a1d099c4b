from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('openid', fields.CharField(unique=True, max_length=64)),
                ('unionid', fields.CharField(null=True, max_length=64)),
                ('nickname', fields.CharField(default='', max_length=64)),
                ('member_tier', fields.CharField(default='REGULAR', max_length=32)),
                ('points', fields.IntField(default=0)),
                ('points_expire_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('birthday', fields.CharField(null=True, max_length=5)),
                ('region', fields.CharField(default='', max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('seen_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'users', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WorkerHeartbeat',
            fields=[
                ('worker_id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=128)),
                ('hostname', fields.CharField(max_length=128)),
                ('pid', fields.IntField()),
                ('beats', fields.IntField(default=0)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_beat_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'worker_heartbeats', 'app': 'models', 'pk_attr': 'worker_id', 'table_description': 'The last time each worker process ran its heartbeat job (see tasks/system.py).'},
            bases=['Model'],
        ),
    ]
