"""Fixtures shared by the account tests."""

from tests.schema.account.test_login import world  # noqa: F401 - the sandbox-backed BFF, for test_query_counts
from tests.schema.orders.conftest import ask  # noqa: F401 - the fixture, shared with the order tab
