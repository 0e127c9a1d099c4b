"""The sandbox's clock: wall time plus an offset that tests move forward.

Token and login-code expiry, daily counters and inbox times read this clock, so a test can
expire a token with ``clock.advance(7200)`` instead of waiting two hours. Push timestamps use
the real wall time: the BFF checks them against its own clock.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

# WeChat's days (daily quotas, 45009) roll over at midnight Beijing time.
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


class SandboxClock:
    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        """Unix seconds as the sandbox sees them."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward; returns the new time. Time never runs backwards."""
        if seconds < 0:
            raise ValueError(f"the clock only moves forward, got advance({seconds})")
        self._offset += seconds
        return self.now()

    def reset(self) -> None:
        self._offset = 0.0

    @property
    def offset(self) -> float:
        return self._offset

    def day(self) -> int:
        """Ordinal of the current Beijing-time day: the key of every daily counter."""
        return self.datetime().date().toordinal()

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), BEIJING)
