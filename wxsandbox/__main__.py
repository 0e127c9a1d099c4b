"""``python -m wxsandbox [--host H] [--port P]``: serve the WeChat sandbox with uvicorn.

Configuration comes from the ``SANDBOX_*`` environment variables (``SandboxConfig.from_env``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from wxsandbox import defaults
from wxsandbox.app import create_sandbox_app
from wxsandbox.config import ENV_VARIABLES, SandboxConfig, SandboxConfigError

log = logging.getLogger("wxsandbox")


def serve(
    host: str = defaults.HOST, port: int = defaults.PORT, log_config: dict[str, Any] | None = LOGGING_CONFIG
) -> None:
    """Serve the sandbox configured from the environment until interrupted.

    A bad ``SANDBOX_*`` value stops the process with one line naming it (exit status 2).
    ``log_config=None`` leaves logging to the caller (``bff sandbox`` uses the BFF's format)."""
    try:
        config = SandboxConfig.from_env()
        app = create_sandbox_app(config)
    except (SandboxConfigError, ValueError) as exc:
        print(f"wxsandbox: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    pushes = config.push_url or "nowhere (SANDBOX_PUSH_URL unset)"
    if log_config is not None and not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.info(
        "WeChat API on http://%s:%s, inbox http://%s:%s/sandbox/inbox/page, pushes %s/%s to %s",
        host,
        port,
        host,
        port,
        config.push_mode,
        config.push_format.name.lower(),
        pushes,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", log_config=log_config)


def main(argv: list[str] | None = None) -> None:
    epilog = "environment:\n" + "\n".join(f"  {name:26} {what}" for name, what in ENV_VARIABLES.items())
    parser = argparse.ArgumentParser(
        prog="python -m wxsandbox",
        description="A local stand-in for api.weixin.qq.com (see wxsandbox/README.md).",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default=os.environ.get("SANDBOX_HOST", defaults.HOST))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT", str(defaults.PORT))))
    args = parser.parse_args(argv)
    serve(host=args.host, port=args.port)


if __name__ == "__main__":
    main()
