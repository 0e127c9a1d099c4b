from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0007_member_freshness')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OpsAudit',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('operator', fields.CharField(max_length=64)),
                ('action', fields.CharField(max_length=32)),
                ('target_kind', fields.CharField(max_length=16)),
                ('target_id', fields.CharField(max_length=64)),
                ('outcome', fields.CharField(max_length=32)),
                ('detail', fields.TextField(null=True, unique=False)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'ops_audit', 'app': 'models', 'indexes': [Index(fields=['target_kind', 'target_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='OpsAlert',
            name='acknowledged_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='OpsAlert',
            name='acknowledged_by',
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
