"""The lifecycle tab's operations as the mini-program sends them (schema/operations/miniprogram.graphql)."""

from __future__ import annotations

from tests.operations import OPERATIONS
from tests.schema.orders.conftest import ask  # noqa: F401 - the fixture, shared with the order tab

LIFECYCLE = OPERATIONS["Lifecycle"]
SNOOZE = OPERATIONS["SnoozeReplenishment"]
SET_CYCLE = OPERATIONS["SetReplenishmentCycle"]
DISMISS = OPERATIONS["DismissReplenishment"]
