"""Rows the service keeps about itself."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class WorkerHeartbeat(Model):
    """The last time each worker process ran its heartbeat job (see tasks/system.py)."""

    worker_id = fields.CharField(max_length=128, primary_key=True)
    hostname = fields.CharField(max_length=128)
    pid = fields.IntField()
    beats = fields.IntField(default=0)
    started_at = fields.DatetimeField()
    last_beat_at = fields.DatetimeField()

    class Meta:
        table = "worker_heartbeats"
