"""Credentials shared by the bundled WeChat sandbox and the BFF under `make run` and the tests.

They are not secrets: they only ever talk to the sandbox on this machine.
"""

APPID = "wx_sandbox_appid0001"
SECRET = "sandbox-secret-0000000000000000"
PUSH_TOKEN = "sandbox-push-token"
ENCODING_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ORIGINAL_ID = "gh_sandbox000001"
SUPPLY_CHAIN_SECRET = "sandbox-supply-chain-secret"
# Ports of `make run` (`bff dev`), overridden by PORT and SANDBOX_PORT.
WEB_PORT = 8000
SANDBOX_PORT = 8001


def sandbox_api_base(sandbox_port: int = SANDBOX_PORT) -> str:
    """The sandbox's URL as `bff dev` serves it: what WECHAT_API_BASE defaults to outside production."""
    return f"http://127.0.0.1:{sandbox_port}"
