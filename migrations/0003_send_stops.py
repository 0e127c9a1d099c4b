from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_domains')]

    initial = False

    operations = [
        ops.CreateModel(
            name='StoppedTemplate',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('template_id', fields.CharField(unique=True, max_length=128)),
                ('errcode', fields.IntField()),
                ('detail', fields.TextField(default='', unique=False)),
                ('notice_id', fields.BigIntField(null=True)),
                ('stopped_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('cleared_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'stopped_templates', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A template WeChat refused as broken: no send of it is tried until an operator clears it.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='User',
            name='openid_invalid_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
