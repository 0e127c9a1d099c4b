"""Fault injection: how often and how the sandbox misbehaves, set over ``/sandbox/faults``.

Shares are probabilities in 0..1 drawn from the sandbox's seedable ``random.Random``; they apply
to ``subscribe/send`` right after its token check (WeChat fails this way before looking at the
request). The ``token_*`` shares apply to the token endpoints (``/cgi-bin/token`` and
``/cgi-bin/stable_token``) before they look at the request. Push faults apply to every push.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

_SHARES = (
    "system_error_share",
    "minute_limit_share",
    "concurrent_share",
    "timeout_share",
    "token_server_error_share",
    "token_not_json_share",
    "token_timeout_share",
)
_MILLIS = ("send_latency_ms", "timeout_hold_ms", "push_delay_ms")
_FLAGS = ("timeout_after_send", "duplicate_pushes")


@dataclass
class Faults:
    # Share of sends answered -1 "system error".
    system_error_share: float = 0.0
    # Share of sends answered 45011 (minute quota).
    minute_limit_share: float = 0.0
    # Share of sends answered 43108 although no other send to that openid is in flight.
    concurrent_share: float = 0.0
    # How long a send holds its openid "in flight"; None = the config's send_latency_ms.
    send_latency_ms: int | None = None
    # Share of sends held for timeout_hold_ms (longer than the client's timeout) before answering.
    timeout_share: float = 0.0
    # True: the held send is delivered first ("sent, but the answer was lost"); False: it is not
    # delivered and, if anyone still listens, answers -1.
    timeout_after_send: bool = False
    timeout_hold_ms: int = 30_000
    # Share of token requests answered HTTP 502 with a gateway's HTML page.
    token_server_error_share: float = 0.0
    # Share of token requests answered HTTP 200 with a body that is not JSON.
    token_not_json_share: float = 0.0
    # Share of token requests held for timeout_hold_ms before they are answered (normally).
    token_timeout_share: float = 0.0
    # Deliver every push twice (same body, as WeChat's retries do) to exercise de-duplication.
    duplicate_pushes: bool = False
    push_delay_ms: int = 0
    # Force the JSON ``List`` shape: True array, False object, None WeChat's way (object for one).
    list_as_array: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultsError(ValueError):
    """A /sandbox/faults request that names an unknown field or gives a bad value."""


def apply_fault_changes(faults: Faults, changes: dict[str, Any]) -> int | None:
    """Apply the fields present in ``changes`` to ``faults`` in place; returns a ``seed`` if given.

    Validates everything before changing anything, so a bad request changes nothing.
    """
    known = {f.name for f in fields(Faults)} | {"seed"}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise FaultsError(f"unknown fault field(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    validated: dict[str, Any] = {}
    seed: int | None = None
    for name, value in changes.items():
        if name in _SHARES:
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise FaultsError(f"{name} must be a number between 0 and 1, got {value!r}")
            validated[name] = float(value)
        elif name in _MILLIS:
            if value is None and name == "send_latency_ms":
                validated[name] = None
            elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise FaultsError(f"{name} must be a non-negative integer of milliseconds, got {value!r}")
            else:
                validated[name] = value
        elif name in _FLAGS:
            if not isinstance(value, bool):
                raise FaultsError(f"{name} must be true or false, got {value!r}")
            validated[name] = value
        elif name == "list_as_array":
            if value is not None and not isinstance(value, bool):
                raise FaultsError(f"list_as_array must be true, false or null, got {value!r}")
            validated[name] = value
        elif name == "seed":
            if isinstance(value, bool) or not isinstance(value, int):
                raise FaultsError(f"seed must be an integer, got {value!r}")
            seed = value
    for name, value in validated.items():
        setattr(faults, name, value)
    return seed
