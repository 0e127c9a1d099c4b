"""Fixtures shared by the notice tests."""

from tests.schema.orders.conftest import ask  # noqa: F401 - the fixture, shared with the order tab
