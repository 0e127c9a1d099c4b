"""What every resolver receives as `info.context`: the process resources and the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
