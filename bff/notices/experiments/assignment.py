"""Sticky assignment of users to variants, and how a variant's wording reaches the send.

``assign_variant(experiment, user_id)`` hashes the experiment key and the user id (SHA-256) to a
point in [0, total weight) and walks the variants' weights: the same user always lands in the
same variant of an experiment, and users spread over variants in proportion to their weights,
independently across experiments.

A variant's wording and landing page are written into the notice's values when it is planned
(``variant_values``), under keys no template placeholder can have (``~data.<code>``, ``~page``);
the sender renders the notice with ``with_variant(template, values)``. A notice therefore keeps
the wording it was planned with even if the experiments file changes before it goes out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType

from bff.catalog.templates_file import TemplateConfig
from bff.notices.experiments.definitions import Experiment, Variant

VARIANT_DATA_PREFIX = "~data."
VARIANT_PAGE = "~page"


def assignment_point(experiment_key: str, user_id: int, total_weight: int) -> int:
    """A stable point in [0, total_weight) for this user in this experiment."""
    digest = hashlib.sha256(f"{experiment_key}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % total_weight


def assign_variant(experiment: Experiment, user_id: int) -> Variant:
    point = assignment_point(experiment.key, user_id, experiment.total_weight)
    for variant in experiment.variants:
        if point < variant.weight:
            return variant
        point -= variant.weight
    raise AssertionError("unreachable: the point is below the total weight")


def variant_values(variant: Variant) -> dict[str, str]:
    """The extra notice values that carry the variant's wording and page to the send."""
    values = {f"{VARIANT_DATA_PREFIX}{code}": fmt for code, fmt in variant.data.items()}
    if variant.page is not None:
        values[VARIANT_PAGE] = variant.page
    return values


def with_variant(template: TemplateConfig, values: Mapping[str, str]) -> TemplateConfig:
    """The template as the notice's variant words it (the template itself when it has no variant).

    Only keywords of the template are replaced: the send still checks every value against its
    keyword's WeChat rule."""
    data = {
        key.removeprefix(VARIANT_DATA_PREFIX): fmt
        for key, fmt in values.items()
        if key.startswith(VARIANT_DATA_PREFIX) and key.removeprefix(VARIANT_DATA_PREFIX) in template.data
    }
    page = values.get(VARIANT_PAGE)
    if not data and page is None:
        return template
    return replace(
        template,
        data=MappingProxyType({**template.data, **data}),
        page=page if page is not None else template.page,
    )
