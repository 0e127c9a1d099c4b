"""Jobs about the service itself."""

from __future__ import annotations

from typing import Any

from bff.runtime.heartbeat import record_beat, worker_identity


async def heartbeat(ctx: dict[str, Any]) -> int:
    """Record that this worker is alive; returns the number of beats so far."""
    beat = await record_beat(ctx.get("worker_id") or worker_identity(), ctx["started_at"])
    return beat.beats
