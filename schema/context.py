"""What every resolver receives as `info.context`: the process resources and the caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from strawberry.types import Info as StrawberryInfo

from bff.runtime.resources import Resources


@dataclass
class Context:
    resources: Resources
    viewer_id: int | None = None  # the signed-in user's id, from the session token
    loaders: dict[str, Any] = field(default_factory=dict)  # DataLoaders, built per request

    def loader(self, key: str, factory: Any) -> Any:
        """One DataLoader per request and key, so batches never cross users."""
        if key not in self.loaders:
            self.loaders[key] = factory()
        return self.loaders[key]


Info = StrawberryInfo[Context, None]

T = TypeVar("T")


async def as_viewer(info: Info, then: Callable[[int], Awaitable[T]], *, signed_out: T | Exception) -> T:
    """``then(viewer_id)`` for the signed-in user. Without a valid session nothing is read:
    ``signed_out`` is answered instead (null, a payload carrying ``UNAUTHENTICATED``), or raised
    when it is an exception. The one place a resolver checks for a viewer."""
    viewer_id = info.context.viewer_id
    if viewer_id is None:
        if isinstance(signed_out, Exception):
            raise signed_out
        return signed_out
    return await then(viewer_id)
