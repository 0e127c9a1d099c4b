"""Masking for values that must never appear in full in logs (openids, tokens, secrets)."""

from __future__ import annotations


def mask(value: str | None, keep: int = 4) -> str:
    """`oUSER_openid_example` → `oUSE…(20)`: enough to correlate, not enough to reuse."""
    if not value:
        return "-"
    if len(value) <= keep:
        return "…"
    return f"{value[:keep]}…({len(value)})"
