"""Dev defaults of the sandbox: the credentials `make run` and the tests share with the BFF.

One source of truth: the values come from ``bff.runtime.dev_defaults`` (the BFF's side of the same
agreement), so the sandbox and the service cannot drift apart. None of them is a secret.
"""

from __future__ import annotations

from bff.runtime import dev_defaults

APPID: str = dev_defaults.APPID
SECRET: str = dev_defaults.SECRET
PUSH_TOKEN: str = dev_defaults.PUSH_TOKEN
ENCODING_AES_KEY: str = dev_defaults.ENCODING_AES_KEY
ORIGINAL_ID: str = dev_defaults.ORIGINAL_ID

HOST = "127.0.0.1"
PORT = 8001
# Where `make run` serves the BFF's push receiver; the sandbox only pushes when told a URL.
BFF_PUSH_URL = "http://127.0.0.1:8000/wechat/push"

TOKEN_TTL_S = 7200
# Platform limits (wechat-platform.md §9).
TOKEN_DAILY_LIMIT = 2000
STABLE_TOKEN_DAILY_LIMIT = 500_000
STABLE_FORCE_DAILY_LIMIT = 20
STABLE_FORCE_MIN_INTERVAL_S = 30
DAILY_SEND_LIMIT = 10_000_000
# Token hand-over: a superseded token, or a stable token renewed in its last minutes, keeps working.
TOKEN_GRACE_S = 300
LOGIN_CODE_TTL_S = 300
MAX_SUBSCRIBE_IDS = 3
# Push delivery (§4): WeChat drops the connection after 5 s and tries 3 times in all.
PUSH_TIMEOUT_S = 5.0
PUSH_ATTEMPTS = 3
