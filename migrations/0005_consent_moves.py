from tortoise import migrations
from tortoise.migrations import operations as ops
from bff.models.consent import LedgerMoveKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_domains')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ConsentLedgerMove',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='consent_ledger_moves', on_delete=OnDelete.CASCADE)),
                ('template_id', fields.CharField(max_length=128)),
                ('kind', fields.CharEnumField(description='GRANT: GRANT\nSPEND: SPEND\nVOID: VOID', enum_type=LedgerMoveKind, max_length=8)),
                ('units', fields.IntField()),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'consent_ledger_moves', 'app': 'models', 'indexes': [Index(fields=['user_id', 'template_id', 'at'])], 'pk_attr': 'id', 'table_description': "One dated move of a (user, template) budget: the ledger's memory of WHEN units came and went."},
            bases=['Model'],
        ),
    ]
