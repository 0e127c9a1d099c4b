from tortoise import migrations
from tortoise.migrations import operations as ops
from bff.models.lifecycle import PriorSource, ReplenishmentStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_consent_moves_shipping')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LifecyclePurchase',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='lifecycle_purchases', on_delete=OnDelete.CASCADE)),
                ('order_no', fields.CharField(max_length=64)),
                ('sku_code', fields.CharField(max_length=64)),
                ('quantity', fields.IntField()),
                ('placed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'lifecycle_purchases', 'app': 'models', 'unique_together': (('order_no', 'sku_code'),), 'indexes': [Index(fields=['user_id', 'sku_code', 'delivered_at'])], 'pk_attr': 'id', 'table_description': 'One delivered order line (lines of one SKU in an order summed): the fact the rest derives from.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OwnedProduct',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='owned_products', on_delete=OnDelete.CASCADE)),
                ('sku_code', fields.CharField(max_length=64)),
                ('name', fields.CharField(max_length=200)),
                ('quantity', fields.IntField(default=0)),
                ('purchases', fields.IntField(default=0)),
                ('first_delivered_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_delivered_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_order_no', fields.CharField(max_length=64)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'owned_products', 'app': 'models', 'unique_together': (('user_id', 'sku_code'),), 'pk_attr': 'id', 'table_description': 'A SKU the user owns: every delivered unit of it, and when the latest arrived.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Replenishment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='replenishments', on_delete=OnDelete.CASCADE)),
                ('sku_code', fields.CharField(max_length=64)),
                ('name', fields.CharField(max_length=200)),
                ('cycle_no', fields.IntField(default=0)),
                ('round', fields.IntField(default=0)),
                ('last_order_no', fields.CharField(max_length=64)),
                ('last_placed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_purchased_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_quantity', fields.IntField()),
                ('days_per_unit', fields.FloatField()),
                ('cycle_days', fields.IntField()),
                ('prior_days_per_unit', fields.FloatField()),
                ('prior_source', fields.CharEnumField(description='SKU: SKU\nPOPULATION: POPULATION\nDEFAULT: DEFAULT', enum_type=PriorSource, max_length=16)),
                ('observations', fields.IntField(default=0)),
                ('user_days_per_unit', fields.FloatField(null=True)),
                ('user_cycle_set_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('predicted_run_out_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('remind_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status', fields.CharEnumField(default=ReplenishmentStatus.ACTIVE, description='ACTIVE: ACTIVE\nDUE: DUE\nREMINDED: REMINDED\nSNOOZED: SNOOZED\nDISMISSED: DISMISSED', enum_type=ReplenishmentStatus, max_length=16)),
                ('reminded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'replenishments', 'app': 'models', 'unique_together': (('user_id', 'sku_code'),), 'indexes': [Index(fields=['status', 'remind_at', 'user_id'])], 'pk_attr': 'id', 'table_description': 'When a consumable the user owns will run out, and when to remind them.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReplenishmentInterval',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='replenishment_intervals', on_delete=OnDelete.CASCADE)),
                ('sku_code', fields.CharField(max_length=64)),
                ('cycle_no', fields.IntField()),
                ('days', fields.FloatField()),
                ('quantity', fields.IntField()),
                ('days_per_unit', fields.FloatField()),
                ('observed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'replenishment_intervals', 'app': 'models', 'unique_together': (('user_id', 'sku_code', 'cycle_no'),), 'indexes': [Index(fields=['sku_code', 'observed_at'])], 'pk_attr': 'id', 'table_description': 'One observed repurchase: the days from one delivery of the SKU to the next, per unit bought.'},
            bases=['Model'],
        ),
    ]
