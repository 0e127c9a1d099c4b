from __future__ import annotations

import pytest
from tortoise.context import TortoiseContext

from bff.models import User


@pytest.fixture
async def user(db: TortoiseContext) -> User:
    return await User.create(openid="oUSER_consent_0001")


@pytest.fixture
async def other_user(db: TortoiseContext) -> User:
    return await User.create(openid="oUSER_consent_0002")
