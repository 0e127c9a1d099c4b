"""What the planner adds to a notice's facts before the policy decides it: when to send it (best
hour) and whether an experiment holds it out.

``prepare_timing(notices, users, ...)`` runs once per chunk the planner decides, in a fixed number
of queries: it records the experiment assignment of every PLANNED notice whose topic has an
active experiment (and writes the variant's wording into the notice's values), loads the open-hour
profiles of the users with timed notices, and returns a ``Timing`` that the planner applies to each
notice's facts. Order notices, QUEUED notices, notices that already waited for their best hour
(reason BEST_HOUR) and notices that would expire before it get no ``send_at``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bff.engagement.send_time import BEST, HourRule, SendTimeConfig, load_profiles, send_at, timed_topic
from bff.experiments.assignment import assign_variant, variant_values
from bff.experiments.definitions import ExperimentsFile
from bff.models.experiments import ExperimentAssignment
from bff.models.notices import Notice, NoticeStatus
from bff.notices.policy import NoticeFacts, UserFacts
from bff.notices.reasons import Reason

# The notice value that names the SKU a lifecycle notice is about (the report's repurchases).
SKU_VALUE = "sku_code"


@dataclass(frozen=True)
class Timing:
    send_at: Mapping[int, datetime] = field(default_factory=dict)  # notice id → when to send
    holdout: frozenset[int] = frozenset()  # notice ids held out by an experiment

    def apply(self, notice: Notice, facts: NoticeFacts) -> NoticeFacts:
        when = self.send_at.get(notice.id)
        held = notice.id in self.holdout
        if when is None and not held:
            return facts
        return replace(facts, send_at=when, holdout=held)


NO_TIMING = Timing()


async def prepare_timing(
    notices: Sequence[Notice],
    users: Mapping[int, UserFacts],
    *,
    experiments: ExperimentsFile,
    config: SendTimeConfig,
    zone: ZoneInfo,
    now: datetime,
) -> Timing:
    timed = [
        n
        for n in notices
        if n.status in (NoticeStatus.PLANNED, NoticeStatus.SCHEDULED) and timed_topic(n.topic)
    ]
    if not timed:
        return NO_TIMING
    rules, holdout = await _assign(timed, experiments, now)
    waiting = [
        n
        for n in timed
        if n.id not in holdout and not (n.status is NoticeStatus.SCHEDULED and n.reason == Reason.BEST_HOUR)
    ]
    if not config.enabled or not waiting:
        return Timing(holdout=frozenset(holdout))
    profiles = await load_profiles({n.user_id for n in waiting}, now=now)
    when: dict[int, datetime] = {}
    for notice in waiting:
        user = users.get(notice.user_id)
        moment = send_at(
            now,
            zone,
            profiles[notice.user_id],
            user.quiet_hours if user is not None else None,
            rules.get(notice.id, BEST),
            config,
        )
        # A best hour after the notice's expiry would only let it expire: send it as soon as allowed.
        if moment is not None and (notice.expires_at is None or moment < notice.expires_at):
            when[notice.id] = moment
    return Timing(send_at=when, holdout=frozenset(holdout))


async def _assign(
    notices: Sequence[Notice], experiments: ExperimentsFile, now: datetime
) -> tuple[dict[int, HourRule], set[int]]:
    """Record the assignment of notices in an active experiment (the first time they are decided);
    returns each assigned notice's hour rule and the held-out notice ids."""
    in_experiment = [n for n in notices if experiments.active_for(n.topic) is not None]
    if not in_experiment:
        return {}, set()
    existing = {
        row.notice_id: row
        for row in await ExperimentAssignment.filter(notice_id__in=[n.id for n in in_experiment])
    }
    rules: dict[int, HourRule] = {}
    holdout: set[int] = set()
    new_rows: list[ExperimentAssignment] = []
    worded: list[Notice] = []
    for notice in in_experiment:
        experiment = experiments.active_for(notice.topic)
        assert experiment is not None
        row = existing.get(notice.id)
        if row is not None:
            variant = experiment.variant(row.variant) if row.experiment == experiment.key else None
            if row.holdout:
                holdout.add(notice.id)
            elif variant is not None:
                rules[notice.id] = variant.send_hour
            continue
        if notice.status is not NoticeStatus.PLANNED:
            continue  # planned before the experiment started: not part of it
        variant = assign_variant(experiment, notice.user_id)
        new_rows.append(
            ExperimentAssignment(
                experiment=experiment.key,
                file_version=experiments.version,
                variant=variant.name,
                holdout=variant.holdout,
                user_id=notice.user_id,
                notice_id=notice.id,
                topic=str(notice.topic),
                sku_code=(notice.values or {}).get(SKU_VALUE),
                assigned_at=now,
            )
        )
        if variant.holdout:
            holdout.add(notice.id)
            continue
        rules[notice.id] = variant.send_hour
        extra = variant_values(variant)
        if extra:
            notice.values = {**notice.values, **extra}
            worded.append(notice)
    # Rows are locked in notice-id order, whatever order the caller read them in: two runs deciding
    # the same notices at once then wait for each other instead of deadlocking (PostgreSQL).
    new_rows.sort(key=lambda row: row.notice_id)
    worded.sort(key=lambda notice: notice.id)
    if new_rows:
        await ExperimentAssignment.bulk_create(new_rows, ignore_conflicts=True)
    if worded:
        # One statement for the chunk. The variant is a function of user and experiment, so a worker
        # racing on the same notice writes the same values.
        await Notice.bulk_update(worded, fields=["values"])
    return rules, holdout
