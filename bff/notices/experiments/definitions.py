"""The experiments file: versioned definitions of experiments on lifecycle and member notices.

It lives next to the templates file: ``experiments.toml`` in the same directory as
``TEMPLATES_FILE`` (absent there: no experiments), or the bundled ``bff/data/experiments.toml``
when the bundled templates file is used. Format (docs/best-time-and-experiments.md)::

    version = 3                       # the file's revision, recorded with every assignment

    [[experiment]]
    key = "replenishment-wording-1"   # a-z, 0-9 and '-', unique
    topic = "REPLENISHMENT"           # a lifecycle or member topic some template carries
    active = true                     # at most one active experiment per topic

    [[experiment.variant]]
    name = "holdout"
    holdout = true                    # exactly one: gets no notice
    weight = 10                       # share of users = weight / sum of weights

    [[experiment.variant]]
    name = "urgent"
    weight = 45
    send_hour = 20                    # "best" (default), "now" or a local hour 0..23
    page = "pages/lifecycle/index?tab=replenishment&v=urgent&n={open_token}"
    [experiment.variant.data]         # keyword code → format string, replacing the template's
    thing3 = "库存告急，记得补货"

Every wording is checked as the templates file checks its own: keywords of the topic's template,
known placeholders the template already fills, and fixed values against the keyword's WeChat rule
(bff/wechat/keywords.py). A bad file raises ``ExperimentsFileError``, one line naming every problem.
"""

from __future__ import annotations

import importlib.resources
import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bff.catalog.templates_file import KNOWN_PLACEHOLDERS, TemplateConfig, TemplatesFile
from bff.catalog.topics import Topic
from bff.notices.timing.send_time import BEST, HourRule, timed_topic
from bff.wechat.keywords import keyword_rule_violation

FILE_NAME = "experiments.toml"
_KEY_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_TOP_FIELDS = ("version", "experiment")
_EXPERIMENT_FIELDS = ("key", "topic", "active", "variant")
_VARIANT_FIELDS = ("name", "weight", "holdout", "send_hour", "page", "data")
_OPEN_TOKEN = "open_token"


@dataclass(frozen=True)
class Variant:
    name: str
    weight: int
    holdout: bool = False
    send_hour: HourRule = BEST
    page: str | None = None  # None: the template's page
    data: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)


@dataclass(frozen=True)
class Experiment:
    key: str
    topic: Topic
    active: bool
    variants: tuple[Variant, ...]

    @property
    def total_weight(self) -> int:
        return sum(variant.weight for variant in self.variants)

    @property
    def holdout(self) -> Variant:
        return next(variant for variant in self.variants if variant.holdout)

    def variant(self, name: str) -> Variant | None:
        return next((variant for variant in self.variants if variant.name == name), None)


@dataclass(frozen=True)
class ExperimentsFile:
    version: int
    experiments: tuple[Experiment, ...] = ()

    def active_for(self, topic: Topic | str) -> Experiment | None:
        return next((e for e in self.experiments if e.active and e.topic == topic), None)

    def by_key(self, key: str) -> Experiment | None:
        return next((e for e in self.experiments if e.key == key), None)


NO_EXPERIMENTS = ExperimentsFile(version=0)


class ExperimentsFileError(ValueError):
    """The file is unusable; one line naming the file and every problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"experiments file {source}: " + "; ".join(problems))


def experiments_path(templates_file: Path | None) -> Path | None:
    """The experiments file next to ``templates_file`` (None: the bundled one)."""
    return None if templates_file is None else templates_file.with_name(FILE_NAME)


def load_experiments_file(templates_file: Path | None, templates: TemplatesFile) -> ExperimentsFile:
    """The experiments next to the templates file, checked against it (see the module docstring)."""
    path = experiments_path(templates_file)
    if path is None:
        resource = importlib.resources.files("bff").joinpath("data", FILE_NAME)
        return loads_experiments_file(resource.read_text(encoding="utf-8"), templates, f"bundled {FILE_NAME}")
    if not path.exists():
        return NO_EXPERIMENTS
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExperimentsFileError(str(path), [f"cannot be read: {exc}"]) from None
    return loads_experiments_file(text, templates, str(path))


def loads_experiments_file(text: str, templates: TemplatesFile, source: str = "<string>") -> ExperimentsFile:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ExperimentsFileError(source, [f"not valid TOML: {exc}"]) from None
    checker = _Checker(templates)
    result = checker.check(document)
    if checker.problems:
        raise ExperimentsFileError(source, checker.problems)
    return result


class _Checker:
    def __init__(self, templates: TemplatesFile) -> None:
        self.templates = templates
        self.problems: list[str] = []

    def check(self, document: Mapping[str, Any]) -> ExperimentsFile:
        for key in document:
            if key not in _TOP_FIELDS:
                self.problems.append(f"unknown top-level key {key!r}")
        version = document.get("version")
        if type(version) is not int or version < 1:
            self.problems.append(f"version must be a whole number ≥ 1 (the file's revision), got {version!r}")
            version = 0
        raw = document.get("experiment", [])
        if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
            self.problems.append("'experiment' must be an array of tables ([[experiment]])")
            return NO_EXPERIMENTS
        experiments = [self._experiment(index, item) for index, item in enumerate(raw)]
        found = tuple(e for e in experiments if e is not None)
        seen: dict[str, int] = {}
        active: dict[Topic, str] = {}
        for experiment in found:
            seen[experiment.key] = seen.get(experiment.key, 0) + 1
            if seen[experiment.key] == 2:
                self.problems.append(f"experiment {experiment.key}: key is used twice")
            if experiment.active:
                if experiment.topic in active:
                    self.problems.append(
                        f"experiment {experiment.key}: topic {experiment.topic} already has an active "
                        f"experiment ({active[experiment.topic]})"
                    )
                active.setdefault(experiment.topic, experiment.key)
        return ExperimentsFile(version=version, experiments=found)

    def _experiment(self, index: int, raw: Mapping[str, Any]) -> Experiment | None:
        key = raw.get("key")
        where = f"experiment[{index}]" + (f" ({key})" if isinstance(key, str) else "")
        before = len(self.problems)
        for name in raw:
            if name not in _EXPERIMENT_FIELDS:
                self.problems.append(f"{where}: unknown field {name!r}")
        if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
            self.problems.append(f"{where} key: must be 1-64 of a-z, 0-9 and '-', got {key!r}")
        topic: Topic | None = None
        try:
            topic = Topic(str(raw.get("topic")))
        except ValueError:
            self.problems.append(f"{where} topic: unknown topic {raw.get('topic')!r}")
        template: TemplateConfig | None = None
        if topic is not None:
            if not timed_topic(topic):
                self.problems.append(f"{where} topic: {topic} is not a lifecycle or member topic")
            template = self.templates.for_topic(topic)
            if template is None:
                self.problems.append(f"{where} topic: no template of the templates file carries {topic}")
        active = raw.get("active", True)
        if not isinstance(active, bool):
            self.problems.append(f"{where} active: must be true or false, got {active!r}")
        raw_variants = raw.get("variant")
        if not isinstance(raw_variants, list) or not all(isinstance(v, dict) for v in raw_variants):
            self.problems.append(f"{where}: needs [[experiment.variant]] tables")
            return None
        variants = [self._variant(f"{where} variant[{i}]", v, template) for i, v in enumerate(raw_variants)]
        names = [v.name for v in variants if v is not None]
        for name in sorted({n for n in names if names.count(n) > 1}):
            self.problems.append(f"{where}: variant name {name!r} is used twice")
        holdouts = sum(1 for v in variants if v is not None and v.holdout)
        if holdouts != 1:
            self.problems.append(f"{where}: needs exactly one holdout variant, has {holdouts}")
        if len(raw_variants) - holdouts < 1:
            self.problems.append(f"{where}: needs at least one variant that is sent")
        if len(self.problems) > before or topic is None:
            return None
        assert isinstance(key, str) and isinstance(active, bool)
        return Experiment(key, topic, active, tuple(v for v in variants if v is not None))

    def _variant(self, where: str, raw: Mapping[str, Any], template: TemplateConfig | None) -> Variant | None:
        before = len(self.problems)
        for field_name in raw:
            if field_name not in _VARIANT_FIELDS:
                self.problems.append(f"{where}: unknown field {field_name!r}")
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            self.problems.append(f"{where} name: must be a non-empty string, got {name!r}")
        weight = raw.get("weight")
        if type(weight) is not int or weight < 1:
            self.problems.append(f"{where} weight: must be a whole number ≥ 1, got {weight!r}")
        holdout = raw.get("holdout", False)
        if not isinstance(holdout, bool):
            self.problems.append(f"{where} holdout: must be true or false, got {holdout!r}")
        if holdout is True and any(k in raw for k in ("send_hour", "page", "data")):
            self.problems.append(f"{where}: a holdout gets no notice, so it takes no send_hour, page or data")
        rule = BEST
        if "send_hour" in raw:
            try:
                rule = HourRule.parse(raw["send_hour"])
            except ValueError as exc:
                self.problems.append(f"{where} {exc}")
        available = (template.placeholders() | {_OPEN_TOKEN}) if template is not None else KNOWN_PLACEHOLDERS
        page = raw.get("page")
        if page is not None:
            if not isinstance(page, str) or not page.strip():
                self.problems.append(f"{where} page: must be a non-empty string, got {page!r}")
                page = None
            else:
                self._format(f"{where} page", page, available)
                if _OPEN_TOKEN not in _names(page):
                    self.problems.append(
                        f"{where} page: must carry {{open_token}} (it opens the page as the recipient)"
                    )
        data = self._data(where, raw.get("data", {}), template, available)
        if len(self.problems) > before:
            return None
        assert isinstance(name, str) and isinstance(weight, int) and isinstance(holdout, bool)
        return Variant(name, weight, holdout, rule, page, MappingProxyType(data))

    def _data(
        self, where: str, raw: object, template: TemplateConfig | None, available: frozenset[str]
    ) -> dict[str, str]:
        if not isinstance(raw, dict):
            self.problems.append(f"{where} data: must be a table ([experiment.variant.data]), got {raw!r}")
            return {}
        kinds = {k.code: k.kind for k in template.keywords()} if template is not None else {}
        data: dict[str, str] = {}
        for code, fmt in raw.items():
            what = f"{where} data.{code}"
            if template is not None and code not in kinds:
                self.problems.append(f"{what}: is not a keyword of template {template.template_id}")
                continue
            if not isinstance(fmt, str) or not fmt.strip():
                self.problems.append(f"{what}: must be a non-empty string, got {fmt!r}")
                continue
            if not self._format(what, fmt, available):
                continue
            if template is not None and not _names(fmt):
                literal = fmt.format()
                rule = keyword_rule_violation(kinds[code], literal, template.enum_values.get(code))
                if rule is not None:
                    self.problems.append(
                        f"{what}: fixed value {literal!r} breaks the {kinds[code]} rule: {rule}"
                    )
                    continue
            data[code] = fmt
        return data

    def _format(self, what: str, fmt: str, available: frozenset[str]) -> bool:
        try:
            parsed = list(string.Formatter().parse(fmt))
        except ValueError as exc:
            self.problems.append(f"{what}: bad format string {fmt!r}: {exc}")
            return False
        ok = True
        for _literal, name, spec, conversion in parsed:
            if name is None:
                continue
            if name not in available:
                self.problems.append(f"{what}: placeholder {{{name}}} is not one the template fills")
                ok = False
            elif spec or conversion:
                self.problems.append(
                    f"{what}: placeholder {{{name}}} must not carry a format spec or conversion"
                )
                ok = False
        return ok


def _names(fmt: str) -> set[str]:
    return {name for _literal, name, _spec, _conv in string.Formatter().parse(fmt) if name}
