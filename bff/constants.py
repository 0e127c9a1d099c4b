"""Every Redis key prefix, arq job name, queue and backoff of the service, in one place."""

from __future__ import annotations

# ---------------------------------------------------------------- arq queues
# Senders get their own queue so a long scan never delays crash recovery of a send
# (arq's in-progress TTL follows the slowest function of a worker; stack-notes §1.7).
DEFAULT_QUEUE = "arq:queue"

# ---------------------------------------------------------------- job names
JOB_HEARTBEAT = "heartbeat"

# ---------------------------------------------------------------- worker timing
WORKER_HEALTH_CHECK_INTERVAL_S = 30
JOB_TIMEOUT_S = 60
HEARTBEAT_KEY = "lvyue:worker:heartbeat"  # + ":<worker id>", a hash with the last beat

# ---------------------------------------------------------------- backoff
BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 600.0

# ---------------------------------------------------------------- supply chain (bff/supply_chain/ingest.py)
# Planning of notices for one stored supply-chain event; arq job id "plan:<event row id>"
# (or "plan:<event row id>:<order id>" when an exception reaches an order placed after it).
JOB_PLAN_EVENT = "plan_notices_for_event"
PLAN_JOB_ID_PREFIX = "plan:"
SUPPLY_CHAIN_MAX_BODY_BYTES = 8_000_000  # 1000 events of a few KB each
