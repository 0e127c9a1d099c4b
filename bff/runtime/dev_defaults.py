"""Credentials shared by the bundled WeChat sandbox and the BFF under `make run` and the tests.

They are not secrets: they only ever talk to the sandbox on this machine.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

APPID = "wx_sandbox_appid0001"
SECRET = "sandbox-secret-0000000000000000"
PUSH_TOKEN = "sandbox-push-token"
ENCODING_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ORIGINAL_ID = "gh_sandbox000001"
SUPPLY_CHAIN_SECRET = "sandbox-supply-chain-secret"
# Ports of `make run` (`bff dev`), overridden by PORT and SANDBOX_PORT.
WEB_PORT = 8000
SANDBOX_PORT = 8001

# Under the data directory: the development session secret (kept so restarts keep sessions and
# the links of sent cards working) and the sandbox's memory (users, quotas, inbox).
SESSION_SECRET_FILE = "dev-session-secret"
SANDBOX_STATE_FILE = "sandbox-state.json"


def session_secret(data_dir: Path) -> str:
    """This checkout's development SESSION_SECRET: made once at random, then read back."""
    path = data_dir / SESSION_SECRET_FILE
    try:
        kept = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        kept = ""
    if len(kept) >= 32:
        return kept
    if kept:
        path.unlink()  # truncated by hand or by a crash: make a new one
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = "dev-" + secrets.token_hex(24)
    # Created 0600 and renamed into place, so two processes starting at once agree on one secret.
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as out:
        out.write(secret + "\n")
    try:
        os.link(temporary, path)  # fails if another process got there first
    except FileExistsError:
        secret = path.read_text(encoding="ascii").strip()
    finally:
        temporary.unlink()
    return secret


def sandbox_api_base(sandbox_port: int = SANDBOX_PORT) -> str:
    """The sandbox's URL as `bff dev` serves it: what WECHAT_API_BASE defaults to outside production."""
    return f"http://127.0.0.1:{sandbox_port}"
