"""Every Redis key prefix, arq job name, queue and backoff of the service, in one place."""

from __future__ import annotations

# ---------------------------------------------------------------- arq queues
# One queue for every job (sends, scans, crons): there is no separate sender queue. A send's
# crash recovery is bounded instead by keeping every job short (JOB_TIMEOUT_S below).
DEFAULT_QUEUE = "arq:queue"

# ---------------------------------------------------------------- job names
JOB_HEARTBEAT = "heartbeat"

# ---------------------------------------------------------------- worker timing
WORKER_HEALTH_CHECK_INTERVAL_S = 30
# Every job is short: arq re-runs a crashed worker's jobs only after (the largest timeout of any
# function in the worker) + 10 s, so this bounds crash recovery (docs/architecture.md, "Notices:
# sending, retries and crash recovery"). A job that needs longer must split its work.
JOB_TIMEOUT_S = 20
HEARTBEAT_KEY = "lvyue:worker:heartbeat"  # + ":<worker id>", a hash with the last beat
# Job metrics of all workers (bff/runtime/metrics.py): runs by "<job>|<outcome>", seconds by "<job>".
METRICS_JOBS_KEY = "lvyue:metrics:jobs"
METRICS_JOB_SECONDS_KEY = "lvyue:metrics:job-seconds"
# Notice sends by "<outcome>|<errcode>" (tasks/notices.py; docs/operators.md, "Metrics").
METRICS_SENDS_KEY = "lvyue:metrics:sends"
# Histograms kept by workers: "<name>|<le>" counts one bucket each (not cumulative), "<name>|sum".
METRICS_HISTOGRAMS_KEY = "lvyue:metrics:histograms"
# access_token refreshes by outcome (bff/wechat/tokens.py).
METRICS_TOKEN_REFRESHES_KEY = "lvyue:metrics:token-refreshes"
# The last run of each scan: "<scan>|started", "<scan>|finished" (unix s), "<scan>|rows", and the
# running totals "<scan>|rows_total", "<scan>|runs", "<scan>|passes" (tasks/scans.py).
METRICS_SCANS_KEY = "lvyue:metrics:scans"
# /metrics reads the database (commands by status) and the queue's job ids (families) at most once
# per this many seconds per web process; a scrape in between answers the cached figures.
METRICS_SCRAPE_CACHE_S = 5.0
# The queue's families are counted over its first (soonest due) this many job ids: one ZRANGE of
# at most this many members per scrape (docs/operators.md, "Metrics", for the cost).
METRICS_QUEUE_FAMILY_LIMIT = 10_000

# ---------------------------------------------------------------- backoff
BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 600.0

# ---------------------------------------------------------------- WeChat (bff/wechat/tokens.py, push)
# The cached access_token: a string key per appid whose TTL ends before WeChat's expiry.
WECHAT_TOKEN_KEY = "lvyue:wechat:token"  # + ":<appid>"
# Single-flight refresh: one process holds the lock, the others wait for the new value.
WECHAT_TOKEN_LOCK_KEY = "lvyue:wechat:token-lock"  # + ":<appid>"
WECHAT_TOKEN_LOCK_TTL_S = 15.0  # longer than one stable_token call (connect 3 s + read 10 s)
# How long a caller waits for another process's refresh before giving up with a retryable error.
# Well under SEND_JOB_TIMEOUT_S: a send job that waited still has time for its own call (connect +
# read timeouts, bff/runtime/resources.py), instead of arq cancelling it while it waits.
WECHAT_TOKEN_WAIT_S = 5.0
# Drop the cached token this long before WeChat's expiry: stable_token renews a token in its last
# 300 s (§6.2), so the next fetch lands inside that window with 30 s to spare.
WECHAT_TOKEN_REFRESH_MARGIN_S = 330
# A worker's sender keeps the token it read from Redis this long in memory (one Redis GET less per
# send). A token refused meanwhile (another process refreshed it) is dropped at once and re-read;
# WeChat keeps a superseded token working for minutes anyway (§6.2).
WECHAT_TOKEN_MEMO_S = 5.0
# force_refresh bookkeeping (§6.2: at most 20 a day, at least 30 s apart).
WECHAT_FORCE_REFRESH_LAST_KEY = "lvyue:wechat:force-refresh:last"  # + ":<appid>", lives 30 s
WECHAT_FORCE_REFRESH_DAY_KEY = "lvyue:wechat:force-refresh:day"  # + ":<appid>:<yyyymmdd Beijing>"
WECHAT_FORCE_REFRESH_MIN_INTERVAL_S = 30
WECHAT_FORCE_REFRESH_DAILY_LIMIT = 20
# Message push: job that dispatches one stored push event; its arq job id is "push:<row id>".
JOB_HANDLE_PUSH_EVENT = "handle_push_event"
PUSH_JOB_ID_PREFIX = "push:"
PUSH_JOB_MAX_TRIES = 5
PUSH_MAX_BODY_BYTES = 1_000_000
# Cron: a push row still RECEIVED this long after it was stored has no live job (a cancelled or
# lost job; a job waiting for its retry keeps its id, so the re-enqueue is a no-op then): its job
# is queued again. Rows older than the max age are left to operators (a push that keeps killing
# its job is not retried for ever).
JOB_REQUEUE_PUSH_EVENTS = "requeue_push_events"
PUSH_REQUEUE_SECONDS = frozenset({5, 35})
PUSH_REQUEUE_AFTER_S = 120
PUSH_REQUEUE_MAX_AGE_S = 24 * 3600
PUSH_REQUEUE_BATCH = 500

# Nonces of signed push URLs seen within the clock-skew window (bff/wechat/push.py): a URL is
# accepted once, or again only with the same body (WeChat's retry of an unanswered push).
PUSH_NONCE_KEY = "lvyue:wechat:push-nonce"  # + ":<timestamp>:<nonce>", value: sha256 of the body

# ---------------------------------------------------------------- GraphQL edge (bff/web/graphql.py)
# The mini-program's largest document with its variables is a few KB; the token limit of the
# schema (schema.MAX_TOKENS) keeps a query itself well under this.
GRAPHQL_MAX_BODY_BYTES = 65_536
# Checked on the request JSON before GraphQL coerces variables: {"variables": {"input":
# {"topics": [{...}]}}} is 5 levels deep, the longest legitimate list holds a few dozen entries.
GRAPHQL_MAX_JSON_DEPTH = 10
GRAPHQL_MAX_LIST_ITEMS = 100

# ---------------------------------------------------------------- supply chain (bff/inbound/supply_chain.py)
# Planning of notices for one stored supply-chain event; arq job id "plan:<event row id>"
# (or "plan:<event row id>:<order id>" when an exception reaches an order placed after it).
JOB_PLAN_EVENT = "plan_notices_for_event"
PLAN_JOB_ID_PREFIX = "plan:"
# A planning run that fails is retried (it is idempotent: dedupe keys, conditional updates).
PLAN_JOB_MAX_TRIES = 5
PLAN_BACKOFF_BASE_S = 1.0
PLAN_BACKOFF_CAP_S = 30.0
SUPPLY_CHAIN_MAX_BODY_BYTES = 8_000_000  # 1000 events of a few KB each

# ---------------------------------------------------------------- supply-chain commands (outbox)
# One job per command; its arq job id is "command:<command uuid>" (keep_result=0, so the
# dispatcher can enqueue it again once a run has finished).
JOB_SEND_COMMAND = "send_command"
COMMAND_JOB_ID_PREFIX = "command:"
# Attempts before a retryable failure (408/429/5xx/network) becomes FAILED: ~3 h of backoff.
COMMAND_MAX_ATTEMPTS = 25
COMMAND_BACKOFF_BASE_S = 2.0
COMMAND_BACKOFF_CAP_S = 600.0
COMMAND_RETRY_AFTER_MAX_S = 3600.0  # a receiver's Retry-After is honoured up to this
# One run of send_command (arq cancels it after this); the HTTP attempt is bounded well inside.
COMMAND_SEND_TIMEOUT_S = 20
COMMAND_HTTP_TIMEOUT_S = 15.0  # the whole POST: connect, send, answer
# A sender holds a command this long (longer than a run can last); after it a crashed sender's
# command is claimable again.
COMMAND_SEND_LEASE_S = 60
# Cron: (re-)enqueue due PENDING commands (an enqueue after commit may have been lost).
JOB_DISPATCH_COMMANDS = "dispatch_commands"
COMMAND_DISPATCH_BATCH = 2000  # ~0.7 s of enqueues
# Cron: apply the defaults of delivery slots and exceptions whose deadline passed undecided.
JOB_APPLY_DEADLINE_DEFAULTS = "apply_deadline_defaults"
# Per cron run at most 20 batches of 500 (~1.5 s of PostgreSQL, then ~3 s to queue 10 000 sends;
# bench/deadline_defaults.py) and no new batch after 8 s, well inside JOB_TIMEOUT_S. The next
# run goes on: 600 000 defaults an hour.
DEADLINE_DEFAULTS_BATCH = 500  # decisions per transaction
DEADLINE_DEFAULTS_MAX_BATCHES = 20
DEADLINE_DEFAULTS_TIME_BUDGET_S = 8.0

# ---------------------------------------------------------------- notices: sending (bff/notices/sender.py)
# One job per notice; its arq job id is "send:<notice id>" (keep_result=0, so the sweeper can
# enqueue it again once a run has finished). See docs/architecture.md, "Notices: sending, ...".
JOB_SEND_NOTICE = "send_notice"
SEND_JOB_ID_PREFIX = "send:"
# A send job never runs longer than this (arq cancels it): token fetch + one send + one retried
# send after a token refresh, each bounded by the HTTP timeouts, fit well inside.
SEND_JOB_TIMEOUT_S = 20
# arq tries of one send job (waits for the openid lock count too); past it the job fails without
# running and the sweeper re-enqueues the still-QUEUED notice.
SEND_JOB_MAX_TRIES = 200
# WeChat calls of one notice before a retryable failure becomes FAILED (RETRIES_EXHAUSTED).
SEND_MAX_ATTEMPTS = 6
SEND_BACKOFF_BASE_S = 2.0
SEND_BACKOFF_CAP_S = 300.0
# Per-openid lock around a send (43108); lives no longer than a send job can run.
OPENID_LOCK_KEY = "lvyue:openid-lock"  # + ":<openid>"
OPENID_LOCK_TTL_S = SEND_JOB_TIMEOUT_S
OPENID_LOCK_RETRY_MIN_S = 0.2
OPENID_LOCK_RETRY_MAX_S = 1.0
# 45009 (daily API quota): try again the next day at this time in BUSINESS_TZ.
SEND_DEFER_TOMORROW_AT = "00:10"
# A send that timed out after it was written ("outcome unknown") and got no
# subscribe_msg_sent_event within this long is settled as SENT (ASSUMED_SENT): the unit stays spent.
NOTICE_OUTCOME_TIMEOUT_S = 600
# Sweeper cron: settles notices a dead worker left behind, re-enqueues lost and due sends.
JOB_SWEEP_NOTICES = "sweep_notices"
SWEEP_SECONDS = frozenset({0, 15, 30, 45})
SWEEP_JOB_TIMEOUT_S = SEND_JOB_TIMEOUT_S
# SENDING with no answer this long after the claim (or the call) belongs to a dead worker: arq has
# cancelled every send by SEND_JOB_TIMEOUT_S. Shorter than arq's own re-run of a crashed job
# (largest timeout + 10 s), so a re-run usually finds the notice QUEUED again and sends it.
SWEEP_STALE_AFTER_S = SEND_JOB_TIMEOUT_S + 5
# QUEUED or due SCHEDULED this long without progress: its job may be lost; enqueue it again.
SWEEP_QUEUED_AFTER_S = 60
# PLANNED this long: the planning job that inserted it failed for good or was lost (its retries
# take well under this); the sweeper decides it.
SWEEP_PLANNED_AFTER_S = 180
SWEEP_BATCH = 500

# ---------------------------------------------------------------- engines away (tasks/worker.py)
# A job that fails because PostgreSQL or Redis is away (restart, failover) runs again after
# base * 2^(try-1) seconds, capped; with these tries a job outlives an outage of about 5 minutes.
ENGINE_AWAY_RETRY_BASE_S = 1.0
ENGINE_AWAY_RETRY_CAP_S = 15.0
ENGINE_AWAY_MAX_TRIES = 25

# ---------------------------------------------------------------- shipping info (bff/orders/shipping.py)
# One job per order; its arq job id is "shipping:<order id>" (keep_result=0, so the dispatcher can
# enqueue it again once a run has finished).
JOB_UPLOAD_SHIPPING = "upload_shipping_info"
SHIPPING_JOB_ID_PREFIX = "shipping:"
SHIPPING_JOB_TIMEOUT_S = 20  # token fetch + get_order + upload, each bounded by the HTTP timeouts
# Upload attempts before a retryable failure becomes FAILED: 10060001 (payment not yet known to
# the shipping service) is common for up to a minute after payment (§10.1); ~2 h of backoff.
SHIPPING_MAX_ATTEMPTS = 20
SHIPPING_BACKOFF_BASE_S = 10.0
SHIPPING_BACKOFF_CAP_S = 600.0
# A worker holds an upload this long (longer than a run can last); after it a crashed worker's
# upload is claimable again (and first checked against WeChat's get_order).
SHIPPING_UPLOAD_LEASE_S = 60
# Cron: (re-)enqueue due uploads (the OUTBOUND that made one due is only stored by the webhook).
JOB_DISPATCH_SHIPPING_UPLOADS = "dispatch_shipping_uploads"
SHIPPING_DISPATCH_SECONDS = frozenset({5, 20, 35, 50})
SHIPPING_DISPATCH_BATCH = 1000

# ---------------------------------------------------------------- lifecycle scans (bff/lifecycle/scans.py)
# Cron jobs: plan REPLENISHMENT reminders that are due, and MAINTENANCE notices that fell due.
JOB_SCAN_REPLENISHMENT = "scan_replenishment"
JOB_SCAN_MAINTENANCE = "scan_maintenance"
REPLENISHMENT_SCAN_SECONDS = frozenset({5})  # every minute
MAINTENANCE_SCAN_SECONDS = frozenset({35})
# Where a scan goes on after its last committed batch (a user id), per scan name.
LIFECYCLE_SCAN_CURSOR_KEY = "lvyue:lifecycle:scan-cursor"  # + ":<scan name>"
# Rows per batch (the users of these rows, whole, are one batch), at most this many batches and no new batch
# after this long per run, well inside JOB_TIMEOUT_S; the next run goes on from the cursor.
LIFECYCLE_SCAN_BATCH_ROWS = 2000
LIFECYCLE_SCAN_MAX_BATCHES = 200
LIFECYCLE_SCAN_BUDGET_S = 8.0

# ---------------------------------------------------------------- offers (bff/offers/)
# Cron: the offers scan (member day, birthday, points expiry, renewal, win-back) plans one notice per
# user × offer period. It walks users in id order in batches; the cursor (last user id done) lets
# the next run go on after a crash or a time-out. A run stops after the batches or the time below,
# well inside JOB_TIMEOUT_S; the next minute's run goes on.
JOB_SCAN_OFFERS = "scan_offers"
OFFERS_SCAN_SECONDS = frozenset({25})  # every minute
OFFERS_SCAN_CURSOR_KEY = "lvyue:offers:scan-cursor"
OFFERS_SCAN_BATCH_USERS = 500
OFFERS_SCAN_MAX_BATCHES = 40
OFFERS_SCAN_BUDGET_S = 8.0
# Cron: rebuild the co-purchase stats behind recommendations (bff/offers/store.py) in bounded runs,
# a new pass when the last complete one is older than COPURCHASE_REFRESH_EVERY_S.
JOB_REFRESH_CO_PURCHASE = "refresh_co_purchase"
COPURCHASE_SECONDS = frozenset({50})
COPURCHASE_KEY = "lvyue:offers:copurchase"  # + ":current", ":cursor", ":<pass>:buyers", ...
COPURCHASE_BATCH_USERS = 1000
COPURCHASE_MAX_BATCHES = 40
COPURCHASE_BUDGET_S = 8.0
COPURCHASE_REFRESH_EVERY_S = 6 * 3600
