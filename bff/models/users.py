"""Users of the mini-program, one row per openid."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class User(Model):
    id = fields.BigIntField(primary_key=True)
    openid = fields.CharField(max_length=64, unique=True)
    unionid = fields.CharField(max_length=64, null=True)
    nickname = fields.CharField(max_length=64, default="")
    member_tier = fields.CharField(max_length=32, default="REGULAR")
    points = fields.IntField(default=0)
    points_expire_at = fields.DatetimeField(null=True)
    birthday = fields.CharField(max_length=5, null=True)  # MM-DD, from member.upsert
    # occurredAt of the member.upsert applied (None: none yet); an older one arriving late is ignored.
    member_updated_at = fields.DatetimeField(null=True)
    region = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    seen_at = fields.DatetimeField(null=True)
    # WeChat answered 40003 (invalid openid) to a send to this user: sends to them are suppressed
    # (OPENID_INVALID) until this is cleared (bff/notices/stops.py).
    openid_invalid_at = fields.DatetimeField(null=True)

    class Meta:
        table = "users"

    def __str__(self) -> str:
        return f"User({self.id})"
