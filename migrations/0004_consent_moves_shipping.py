from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from bff.models.consent import LedgerMoveKind
from bff.models.orders import ShippingUploadStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_send_stops')]

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
        ops.CreateModel(
            name='ShippingUpload',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.OneToOneField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='shipping_upload', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(default=ShippingUploadStatus.PENDING, description='PENDING: PENDING\nUPLOADING: UPLOADING\nUPLOADED: UPLOADED\nFAILED: FAILED', enum_type=ShippingUploadStatus, max_length=10)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('payload', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('errcode', fields.IntField(null=True)),
                ('detail', fields.TextField(null=True, unique=False)),
                ('uploaded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'shipping_uploads', 'app': 'models', 'indexes': [Index(fields=['status', 'next_attempt_at'])], 'pk_attr': 'id', 'table_description': "The upload of a paid order's shipping information to WeChat (wechat-platform.md §10)."},
            bases=['Model'],
        ),
    ]
