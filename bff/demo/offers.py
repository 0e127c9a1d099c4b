"""Demo data for `make run`: the demo user is a member whose points expire soon (an offer in the tab)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bff.models import User

# Inside the default POINTS_EXPIRY_WINDOW_DAYS (30): the offer shows from the first day.
DEMO_POINTS_EXPIRE_IN = timedelta(days=20)


async def seed_offers(user: User, *, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    user.points = user.points or 1280
    user.points_expire_at = now + DEMO_POINTS_EXPIRE_IN
    user.member_updated_at = now
    await user.save(update_fields=["points", "points_expire_at", "member_updated_at"])
    return f"seed: offers: {user.points} points expire on {user.points_expire_at:%Y-%m-%d} (POINTS_EXPIRY)"
