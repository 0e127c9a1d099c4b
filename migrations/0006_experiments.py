from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0005_lifecycle')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ExperimentAssignment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('experiment', fields.CharField(max_length=64)),
                ('file_version', fields.IntField()),
                ('variant', fields.CharField(max_length=64)),
                ('holdout', fields.BooleanField(default=False)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='experiment_assignments', on_delete=OnDelete.CASCADE)),
                ('notice_id', fields.BigIntField(unique=True)),
                ('topic', fields.CharField(max_length=32)),
                ('sku_code', fields.CharField(null=True, max_length=64)),
                ('assigned_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'experiment_assignments', 'app': 'models', 'indexes': [Index(fields=['experiment', 'variant'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
