"""Experiment reports for operators (bff/insight/experiments.py): one per experiment of the file."""

from __future__ import annotations

from tortoise.context import TortoiseContext

from bff.catalog.topics import Topic
from bff.insight.experiments import experiment_reports
from bff.models import ExperimentAssignment, NoticeStatus
from bff.notices.experiments.definitions import loads_experiments_file
from bff.notices.reasons import Reason
from tests.insight.world import TEMPLATES, local, notice, user

FILE = loads_experiments_file(
    """
version = 1
[[experiment]]
key = "tip-1"
topic = "REPLENISHMENT"
[[experiment.variant]]
name = "holdout"
holdout = true
weight = 1
[[experiment.variant]]
name = "control"
weight = 1
[[experiment]]
key = "care-1"
topic = "MAINTENANCE"
[[experiment.variant]]
name = "holdout"
holdout = true
weight = 1
[[experiment.variant]]
name = "control"
weight = 1
""",
    TEMPLATES,
)


async def test_every_experiment_of_the_file_is_reported_in_file_order(db: TortoiseContext) -> None:
    # given two sends (one opened) and a withheld notice in tip-1, nothing in care-1
    for i, (variant, status, opened) in enumerate(
        (
            ("control", NoticeStatus.SENT, True),
            ("control", NoticeStatus.SENT, False),
            ("holdout", NoticeStatus.SUPPRESSED, False),
        )
    ):
        who = await user(f"o{i}")
        row = await notice(
            who,
            Topic.REPLENISHMENT,
            local(10, 1),
            status,
            reason=Reason.EXPERIMENT_HOLDOUT if variant == "holdout" else None,
            opened=local(10, 1, 13) if opened else None,
        )
        await ExperimentAssignment.create(
            experiment="tip-1",
            file_version=1,
            variant=variant,
            holdout=variant == "holdout",
            user_id=who.id,
            notice_id=row.id,
            topic="REPLENISHMENT",
            assigned_at=local(10, 1),
        )

    # when
    reports = await experiment_reports(FILE, now=local(12, 1))

    # then
    assert [r.key for r in reports] == ["tip-1", "care-1"]
    control = next(v for v in reports[0].variants if v.name == "control")
    assert (control.assigned, control.sends, control.opens) == (2, 2, 1)
    assert reports[0].winner is None and reports[1].variants[0].assigned == 0
