"""What the operators' resolvers receive as ``info.context``: the resources and the operator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from strawberry.types import Info as StrawberryInfo

from schema.context import Context


@dataclass
class OpsContext(Context):
    """A Context (so the shared GraphQL view serves it) with the name of the caller's ops key;
    ``viewer_id`` is always None here: no mini-program user is signed in on /ops/graphql."""

    operator: str = ""

    def local(self, value: datetime) -> datetime:
        """A stored time in the business time zone (how every time of the API is given)."""
        return value.astimezone(self.resources.settings.zone)

    def local_or_none(self, value: datetime | None) -> datetime | None:
        return None if value is None else self.local(value)


OpsInfo = StrawberryInfo[OpsContext, None]
