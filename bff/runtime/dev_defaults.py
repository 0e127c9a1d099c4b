"""Credentials shared by the bundled WeChat sandbox and the BFF under `make run` and the tests.

They are not secrets: they only ever talk to the sandbox on this machine.
"""

APPID = "wx_sandbox_appid0001"
SECRET = "sandbox-secret-0000000000000000"
PUSH_TOKEN = "sandbox-push-token"
ENCODING_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ORIGINAL_ID = "gh_sandbox000001"
SUPPLY_CHAIN_SECRET = "sandbox-supply-chain-secret"
API_BASE = "http://127.0.0.1:8001"
