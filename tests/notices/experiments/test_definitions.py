"""The experiments file (bff/notices/experiments/definitions.py): loaded and checked against the templates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import bff
from bff.catalog.templates_file import load_templates_file
from bff.catalog.topics import Topic
from bff.notices.experiments.definitions import (
    NO_EXPERIMENTS,
    ExperimentsFileError,
    load_experiments_file,
    loads_experiments_file,
)
from bff.notices.planner import NoticeContext
from bff.notices.timing.send_time import HourRule, HourRuleKind
from bff.runtime.settings import load_settings
from tests.test_settings import PRODUCTION

TEMPLATES = load_templates_file()

GOOD = """
version = 2

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

[[experiment.variant]]
name = "evening"
weight = 2
send_hour = 20
page = "pages/lifecycle/index?tab=replenishment&v=evening&n={open_token}"
[experiment.variant.data]
thing3 = "快用完了，今晚下单明天到"
thing1 = "{sku_name}"
"""


def with_variant(extra: str) -> str:
    """GOOD with one more variant table appended (its fields in ``extra``)."""
    return GOOD + '\n[[experiment.variant]]\nname = "extra"\nweight = 1\n' + extra


def problem_of(text: str) -> str:
    with pytest.raises(ExperimentsFileError) as raised:
        loads_experiments_file(text, TEMPLATES, "exp.toml")
    message = str(raised.value)
    assert "\n" not in message  # one line, as the start-up error shows it
    assert message.startswith("experiments file exp.toml: ")
    return message


def test_a_good_file_is_read_with_its_version_variants_and_rules() -> None:
    # when
    file = loads_experiments_file(GOOD, TEMPLATES)

    # then
    experiment = file.active_for(Topic.REPLENISHMENT)
    assert file.version == 2 and experiment is not None
    assert [(v.name, v.weight, v.holdout) for v in experiment.variants] == [
        ("holdout", 1, True),
        ("control", 1, False),
        ("evening", 2, False),
    ]
    evening = experiment.variant("evening")
    assert evening is not None
    assert evening.send_hour == HourRule(HourRuleKind.FIXED, 20)
    assert dict(evening.data) == {"thing3": "快用完了，今晚下单明天到", "thing1": "{sku_name}"}
    assert file.active_for(Topic.MAINTENANCE) is None


def test_the_bundled_file_is_valid_and_its_example_is_inactive() -> None:
    file = load_experiments_file(None, TEMPLATES)
    assert file.version >= 1
    assert all(not e.active for e in file.experiments)


def test_a_templates_file_without_experiments_next_to_it_means_none(tmp_path: Path) -> None:
    assert load_experiments_file(tmp_path / "templates.toml", TEMPLATES) is NO_EXPERIMENTS


def test_the_file_next_to_the_templates_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "experiments.toml").write_text(GOOD, encoding="utf-8")
    assert load_experiments_file(tmp_path / "templates.toml", TEMPLATES).version == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace("version = 2", "version = 0"), "version must be a whole number ≥ 1"),
        (
            GOOD.replace('topic = "REPLENISHMENT"', 'topic = "NODE_OUTBOUND"'),
            "is not a lifecycle or member topic",
        ),
        (GOOD.replace('topic = "REPLENISHMENT"', 'topic = "NOPE"'), "unknown topic 'NOPE'"),
        (GOOD.replace('key = "tip-1"', 'key = "Tip 1"'), "key: must be 1-64 of a-z"),
        (GOOD.replace("holdout = true\n", ""), "needs exactly one holdout variant, has 0"),
        (with_variant("holdout = true\n"), "needs exactly one holdout variant, has 2"),
        (with_variant("weight2 = 1\n"), "unknown field 'weight2'"),
        (GOOD.replace("weight = 2", "weight = 0"), "weight: must be a whole number ≥ 1"),
        (GOOD.replace('name = "control"', 'name = "holdout"'), "variant name 'holdout' is used twice"),
        (GOOD.replace("send_hour = 20", "send_hour = 24"), "hour must be 0..23"),
        (GOOD.replace("send_hour = 20", 'send_hour = "evening"'), 'send_hour must be "best", "now"'),
        # wording within the template's limits: a thing keyword takes at most 20 characters
        (
            GOOD.replace("快用完了，今晚下单明天到", "快用完了" * 6),
            "breaks the thing rule",
        ),
        (
            GOOD.replace("thing3 =", "thing9 ="),
            "data.thing9: is not a keyword of template tmpl-replenishment-0001",
        ),
        (
            GOOD.replace('"{sku_name}"', '"{offer_title}"'),
            "placeholder {offer_title} is not one the template fills",
        ),
        (GOOD.replace("&n={open_token}", ""), "page: must carry {open_token}"),
        (
            with_variant('holdout = false\n[experiment.variant.data]\nthing3 = ""\n'),
            "data.thing3: must be a non-empty",
        ),
        (GOOD + GOOD.split("version = 2", 1)[1], "experiment tip-1: key is used twice"),
        (
            GOOD + GOOD.split("version = 2", 1)[1].replace('key = "tip-1"', 'key = "tip-2"'),
            "topic REPLENISHMENT already has an active experiment (tip-1)",
        ),
        ("version = 2\nexperiment = 3\n", "'experiment' must be an array of tables"),
        ("version = ", "not valid TOML"),
    ],
    ids=lambda v: v[:40] if isinstance(v, str) else None,
)
def test_a_bad_file_is_one_clear_line(text: str, expected: str) -> None:
    assert expected in problem_of(text)


def test_a_holdout_takes_no_wording() -> None:
    text = GOOD.replace("holdout = true\n", 'holdout = true\nsend_hour = "now"\n')
    assert "a holdout gets no notice" in problem_of(text)


def test_a_bad_experiments_file_fails_the_context_the_worker_builds_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a deployment's templates file with a broken experiments file next to it
    templates = tmp_path / "templates.toml"
    shutil.copy(Path(bff.__file__).parent / "data" / "templates.toml", templates)
    (tmp_path / "experiments.toml").write_text(GOOD.replace("weight = 2", "weight = -2"), encoding="utf-8")
    settings = load_settings({**PRODUCTION, "TEMPLATES_FILE": str(templates)})

    # when the planning context is built (as the worker's startup does first)
    # then the start fails with the file's one-line error
    with pytest.raises(ExperimentsFileError, match="weight: must be a whole number"):
        NoticeContext.from_settings(settings)
