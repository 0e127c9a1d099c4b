"""GraphQL types of the insight reads, as OPS_API.graphql states them (docs/operators.md, "Insight")."""

from __future__ import annotations

from datetime import date

import strawberry

from bff.insight import consent_inventory as ci
from bff.insight import kpis, outcomes, presale, regions
from bff.notices.experiments import report


@strawberry.type(name="CountByKey")
class CountByKeyType:
    key: str
    count: int

    @classmethod
    def of(cls, value: outcomes.CountByKey) -> CountByKeyType:
        return cls(key=value.key, count=value.count)


@strawberry.type(name="Ratio")
class RatioType:
    numerator: int
    denominator: int
    rate: float | None

    @classmethod
    def of(cls, value: outcomes.Ratio) -> RatioType:
        return cls(numerator=value.numerator, denominator=value.denominator, rate=value.rate)


@strawberry.type(name="NoticeOutcomes")
class NoticeOutcomesType:
    planned: int
    sent: int
    suppressed: int
    failed: int
    opened: int
    open_rate: float | None
    suppressed_by_reason: list[CountByKeyType]
    failed_by_errcode: list[CountByKeyType]

    @classmethod
    def of(cls, value: outcomes.NoticeOutcomes) -> NoticeOutcomesType:
        return cls(
            planned=value.planned,
            sent=value.sent,
            suppressed=value.suppressed,
            failed=value.failed,
            opened=value.opened,
            open_rate=value.open_rate,
            suppressed_by_reason=[CountByKeyType.of(c) for c in value.suppressed_by_reason],
            failed_by_errcode=[CountByKeyType.of(c) for c in value.failed_by_errcode],
        )


@strawberry.type(name="DayOutcomes")
class DayOutcomesType:
    day: date
    outcomes: NoticeOutcomesType


@strawberry.type(name="TopicOutcomes")
class TopicOutcomesType:
    topic: str
    outcomes: NoticeOutcomesType


@strawberry.type(name="TemplateOutcomes")
class TemplateOutcomesType:
    template_id: str
    title: str | None
    outcomes: NoticeOutcomesType


@strawberry.type(name="Repurchase")
class RepurchaseType:
    window_days: int
    opened: RatioType
    holdout: RatioType | None
    lift: float | None
    p_value: float | None


@strawberry.type(name="Nps")
class NpsType:
    responses: int
    promoters: int
    passives: int
    detractors: int
    score: float | None


@strawberry.type(name="ExceptionResponse")
class ExceptionResponseType:
    raised: int
    decided_by_user: int
    decided_by_default: int
    open: int
    median_minutes: float | None
    p90_minutes: float | None


@strawberry.type(name="KpiReport")
class KpiReportType:
    from_: date = strawberry.field(name="from")
    to: date
    outcomes: NoticeOutcomesType
    by_day: list[DayOutcomesType]
    by_topic: list[TopicOutcomesType]
    by_template: list[TemplateOutcomesType]
    repurchase: list[RepurchaseType]
    nps: NpsType
    on_time_delivery: RatioType
    fill_rate: RatioType
    exception_response: ExceptionResponseType

    @classmethod
    def of(cls, value: kpis.KpiReport) -> KpiReportType:
        r = value.exception_response
        return cls(
            from_=value.first,
            to=value.last,
            outcomes=NoticeOutcomesType.of(value.outcomes),
            by_day=[
                DayOutcomesType(day=d.day, outcomes=NoticeOutcomesType.of(d.outcomes)) for d in value.by_day
            ],
            by_topic=[
                TopicOutcomesType(topic=t.topic, outcomes=NoticeOutcomesType.of(t.outcomes))
                for t in value.by_topic
            ],
            by_template=[
                TemplateOutcomesType(
                    template_id=t.template_id, title=t.title, outcomes=NoticeOutcomesType.of(t.outcomes)
                )
                for t in value.by_template
            ],
            repurchase=[
                RepurchaseType(
                    window_days=p.window_days,
                    opened=RatioType.of(p.opened),
                    holdout=RatioType.of(p.holdout) if p.holdout is not None else None,
                    lift=p.lift,
                    p_value=p.p_value,
                )
                for p in value.repurchase
            ],
            nps=NpsType(
                responses=value.nps.responses,
                promoters=value.nps.promoters,
                passives=value.nps.passives,
                detractors=value.nps.detractors,
                score=value.nps.score,
            ),
            on_time_delivery=RatioType.of(value.on_time_delivery),
            fill_rate=RatioType.of(value.fill_rate),
            exception_response=ExceptionResponseType(
                raised=r.raised,
                decided_by_user=r.decided_by_user,
                decided_by_default=r.decided_by_default,
                open=r.open,
                median_minutes=r.median_minutes,
                p90_minutes=r.p90_minutes,
            ),
        )


@strawberry.type(name="ConsentDay")
class ConsentDayType:
    day: date
    accepts: int
    rejects: int
    bans: int


@strawberry.type(name="TemplateInventory")
class TemplateInventoryType:
    template_id: str
    title: str | None
    topics: list[str]
    users_with_units: int
    units_outstanding: int
    suppressed_no_units: int
    history: list[ConsentDayType]

    @classmethod
    def of(cls, value: ci.TemplateInventory) -> TemplateInventoryType:
        return cls(
            template_id=value.template_id,
            title=value.title,
            topics=list(value.topics),
            users_with_units=value.users_with_units,
            units_outstanding=value.units_outstanding,
            suppressed_no_units=value.suppressed_no_units,
            history=[
                ConsentDayType(day=d.day, accepts=d.accepts, rejects=d.rejects, bans=d.bans)
                for d in value.history
            ],
        )


@strawberry.type(name="RegionTopicCell")
class RegionTopicCellType:
    region: str
    topic: str
    sent: int
    open_rate: float | None
    open_rate_diff: float | None
    open_p_value: float | None
    repurchase_rate: float | None
    repurchase_rate_diff: float | None
    significant: bool

    @classmethod
    def of(cls, value: regions.RegionTopicCell) -> RegionTopicCellType:
        return cls(
            region=value.region,
            topic=value.topic,
            sent=value.sent,
            open_rate=value.open_rate,
            open_rate_diff=value.open_rate_diff,
            open_p_value=value.open_p_value,
            repurchase_rate=value.repurchase_rate,
            repurchase_rate_diff=value.repurchase_rate_diff,
            significant=value.significant,
        )


@strawberry.type(name="RegionalInsight")
class RegionalInsightType:
    cells: list[RegionTopicCellType]
    forward_warehouse_candidates: list[RegionTopicCellType]

    @classmethod
    def of(cls, value: regions.RegionalInsight) -> RegionalInsightType:
        return cls(
            cells=[RegionTopicCellType.of(c) for c in value.cells],
            forward_warehouse_candidates=[
                RegionTopicCellType.of(c) for c in value.forward_warehouse_candidates
            ],
        )


@strawberry.type(name="PresaleSuggestion")
class PresaleSuggestionType:
    sku_code: str
    name: str | None
    opens: int
    progress_subscribers: int
    orders_placed: int
    units_ordered: int
    earlier_presales: int
    suggested_quantity: int
    low: int
    high: int
    method: str

    @classmethod
    def of(cls, value: presale.PresaleSuggestion) -> PresaleSuggestionType:
        return cls(
            sku_code=value.sku_code,
            name=value.name,
            opens=value.opens,
            progress_subscribers=value.progress_subscribers,
            orders_placed=value.orders_placed,
            units_ordered=value.units_ordered,
            earlier_presales=value.earlier_presales,
            suggested_quantity=value.suggested_quantity,
            low=value.low,
            high=value.high,
            method=value.method,
        )


@strawberry.type(name="ProportionTest")
class ProportionTestType:
    lift: float
    z: float
    p_value: float


@strawberry.type(name="VariantRepurchase")
class VariantRepurchaseType:
    window_days: int
    matured: int
    repurchased: int
    lift: ProportionTestType | None


@strawberry.type(name="VariantResult")
class VariantResultType:
    name: str
    holdout: bool
    assigned: int
    sends: int
    opens: int
    open_rate: float | None
    repurchase: list[VariantRepurchaseType]


@strawberry.type(name="ExperimentReport")
class ExperimentReportType:
    key: str
    topic: str
    variants: list[VariantResultType]
    winner: str | None
    why: str

    @classmethod
    def of(cls, value: report.ExperimentReport) -> ExperimentReportType:
        return cls(
            key=value.key,
            topic=value.topic,
            variants=[
                VariantResultType(
                    name=v.name,
                    holdout=v.holdout,
                    assigned=v.assigned,
                    sends=v.sends,
                    opens=v.opens,
                    open_rate=v.open_rate,
                    repurchase=[
                        VariantRepurchaseType(
                            window_days=w.window_days,
                            matured=w.matured,
                            repurchased=w.repurchased,
                            lift=ProportionTestType(lift=w.lift.lift, z=w.lift.z, p_value=w.lift.p_value)
                            if w.lift is not None
                            else None,
                        )
                        for w in v.repurchase
                    ],
                )
                for v in value.variants
            ],
            winner=value.winner,
            why=value.why,
        )
