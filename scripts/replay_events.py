"""Replay a realistic stream of supply-chain events against a running `make run`.

    .venv/bin/python scripts/replay_events.py [--url URL] [--delay 2]

The URL defaults to `make run`'s web process: http://127.0.0.1:$PORT/hooks/supply-chain (PORT 8000).

The events move the demo user's seeded orders on (courier, presale progress, QC, delivery), and
walk a new order from placement through shipping, a scoped exception and a slot offer. Each
request is signed like the real supply chain (SUPPLY_CHAIN_SECRET, or the sandbox default).
Open the order tab meanwhile and watch it move. Events about the seeded orders have fixed ids,
so running the script again shows them acknowledged as duplicates.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bff.demo.orders import replay_story
from bff.demo.seed import DEMO_OPENID
from bff.runtime import dev_defaults
from bff.supply_chain import builders
from bff.supply_chain.signing import signed_headers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    port = os.environ.get("PORT", "").strip() or str(dev_defaults.WEB_PORT)
    parser.add_argument("--url", default=f"http://127.0.0.1:{port}/hooks/supply-chain")
    parser.add_argument("--delay", type=float, default=2.0, help="seconds between events")
    parser.add_argument("--openid", default=DEMO_OPENID, help="whose orders (default: the demo user)")
    args = parser.parse_args(argv)
    secret = os.environ.get("SUPPLY_CHAIN_SECRET") or dev_defaults.SUPPLY_CHAIN_SECRET

    new_order_no = f"LV-{datetime.now(UTC):%Y%m%d%H%M%S}"
    story = replay_story(args.openid, new_order_no)
    print(f"replaying {len(story)} events to {args.url} (new order {new_order_no})", flush=True)
    with httpx.Client(timeout=10.0) as client:
        for number, (meaning, stamped) in enumerate(story, start=1):
            # Stamped when sent: an event never claims a moment later than its arrival.
            event = stamped(datetime.now(UTC).replace(microsecond=0))
            body = builders.body(event)
            scope = event.get("scope")
            subject = event.get("orderNo") or event.get("order", {}).get("orderNo")
            if scope:
                subject = "scope " + ",".join(str(value) for value in scope.values())
            try:
                response = client.post(args.url, content=body, headers=signed_headers(secret, body))
            except httpx.HTTPError as exc:
                print(f"cannot reach {args.url}: {exc} (is `make run` running?)", file=sys.stderr)
                return 1
            print(
                f"[{number:2d}/{len(story)}] {event['type']:<24} {subject!s:<22} {meaning}"
                f"  → {response.status_code} {response.text}",
                flush=True,
            )
            if response.status_code != 200:
                return 1
            if number < len(story):
                time.sleep(args.delay)
    return 0


if __name__ == "__main__":
    sys.exit(main())
