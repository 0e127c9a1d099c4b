"""Checks every edge applies to text and JSON from outside before anything parses it further.

* Text a database cannot store: PostgreSQL refuses NUL in text and JSON columns, and a lone
  UTF-16 surrogate (JSON ``"\\ud800"`` decodes to one) cannot be encoded as UTF-8 at all, so
  either would fail only when the row is written, as an internal error. They are refused up
  front as bad input.
* The shape of a parsed JSON document: how deep it nests and how long its arrays are, walked
  without recursion, so a hostile document is refused before a validator or GraphQL's variable
  coercion spends seconds on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["JsonProblem", "find_json_problem", "unstorable_text"]

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_text(text: str) -> str | None:
    """Why ``text`` cannot be stored (NUL or a lone surrogate), or None when it can."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return f"contains a NUL character at position {found.start()}"
    return f"contains an unpaired UTF-16 surrogate U+{ord(found.group()):04X} at position {found.start()}"


@dataclass(frozen=True)
class JsonProblem:
    path: str  # JSON path of the offending value, e.g. "variables.input.topics[3].key"
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def _key_path(parent: str, key: str) -> str:
    shown = key if len(key) <= 40 and key.isidentifier() else repr(key[:40])
    return f"{parent}.{shown}" if parent else shown


def find_json_problem(
    document: object, *, max_depth: int, max_items: int | None = None
) -> JsonProblem | None:
    """A value of a parsed JSON document that nests deeper than ``max_depth``, is an
    array (or object) with more than ``max_items`` entries, or holds unstorable text (in a key
    or a string); None when there is none. Iterative: any depth json.loads returned is safe."""
    stack: list[tuple[str, object, int]] = [("", document, 0)]
    while stack:
        path, value, depth = stack.pop()
        where = path or "$"
        if isinstance(value, str):
            if (reason := unstorable_text(value)) is not None:
                return JsonProblem(where, reason)
            continue
        if not isinstance(value, list | Mapping):
            continue
        if depth >= max_depth:
            return JsonProblem(where, f"nests deeper than {max_depth} levels")
        if max_items is not None and len(value) > max_items:
            kind = "array" if isinstance(value, list) else "object"
            return JsonProblem(where, f"{kind} has {len(value)} entries, at most {max_items} are accepted")
        if isinstance(value, list):
            stack.extend((f"{path}[{index}]", item, depth + 1) for index, item in enumerate(value))
            continue
        for key, item in value.items():
            key_text = str(key)
            if (reason := unstorable_text(key_text)) is not None:
                return JsonProblem(where, f"a key {reason}")
            stack.append((_key_path(path, key_text), item, depth + 1))
    return None
