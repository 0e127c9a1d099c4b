"""The worker's heartbeat: proves the whole job path (Redis → worker → database) works."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

from bff.models import WorkerHeartbeat


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def record_beat(worker_id: str, started_at: datetime) -> WorkerHeartbeat:
    now = datetime.now(UTC)
    beat, created = await WorkerHeartbeat.get_or_create(
        worker_id=worker_id,
        defaults={
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "beats": 1,
            "started_at": started_at,
            "last_beat_at": now,
        },
    )
    if not created:
        beat.beats += 1
        beat.last_beat_at = now
        await beat.save(update_fields=["beats", "last_beat_at"])
    return beat


async def latest_beat() -> WorkerHeartbeat | None:
    return await WorkerHeartbeat.all().order_by("-last_beat_at").first()
