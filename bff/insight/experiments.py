"""The experiments' reports for operators: every experiment of the experiments file, in file order
(bff.notices.experiments.report does the counting)."""

from __future__ import annotations

from datetime import datetime

from bff.notices.experiments.definitions import ExperimentsFile
from bff.notices.experiments.report import ExperimentReport, experiment_report


async def experiment_reports(experiments: ExperimentsFile, *, now: datetime) -> tuple[ExperimentReport, ...]:
    return tuple([await experiment_report(e.key, experiments, now=now) for e in experiments.experiments])
