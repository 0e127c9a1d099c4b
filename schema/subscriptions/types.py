from __future__ import annotations

import strawberry

from bff.catalog.topics import TOPICS, TopicCategory
from bff.consent.center import SubscriptionCenter, TopicRow
from bff.consent.preferences import QuietHours
from bff.consent.requests import SubscribeAsk, SubscribeMoment
from bff.models.consent import WeChatStatus
from schema.errors import UserError

# The domain enums become GraphQL enums in place (strawberry.enum returns the same class), so
# resolvers pass domain values through unchanged.
strawberry.enum(SubscribeMoment, name="SubscribeMoment")
strawberry.enum(WeChatStatus, name="WechatStatus", description="What WeChat last said about a template")
strawberry.enum(TopicCategory, name="TopicCategory")


@strawberry.type(name="QuietHours")
class QuietHoursType:
    start: str = strawberry.field(description="HH:MM, business time zone")
    end: str = strawberry.field(description="HH:MM; earlier than start means the window crosses midnight")

    @classmethod
    def of(cls, quiet: QuietHours | None) -> QuietHoursType | None:
        return cls(start=quiet.start, end=quiet.end) if quiet is not None else None


@strawberry.type(name="SubscriptionTopic")
class SubscriptionTopicType:
    key: str
    title: str
    description: str
    category: TopicCategory
    enabled: bool
    opt_out_allowed: bool
    template_id: str | None
    remaining_quota: int = strawberry.field(description="Sends of this topic's template still allowed")
    wechat_status: WeChatStatus

    @classmethod
    def of(cls, row: TopicRow) -> SubscriptionTopicType:
        return cls(
            key=str(row.key),
            title=row.title,
            description=row.description,
            category=row.category,
            enabled=row.enabled,
            opt_out_allowed=row.opt_out_allowed,
            template_id=row.template_id,
            remaining_quota=row.remaining,
            wechat_status=row.wechat_status,
        )


@strawberry.type(name="SubscriptionCenter")
class SubscriptionCenterType:
    main_switch: bool = strawberry.field(description="WeChat's subscription main switch, as last reported")
    quiet_hours: QuietHoursType | None
    weekly_limit: int
    topics: list[SubscriptionTopicType]

    @classmethod
    def of(cls, center: SubscriptionCenter) -> SubscriptionCenterType:
        return cls(
            main_switch=center.main_switch,
            quiet_hours=QuietHoursType.of(center.quiet_hours),
            weekly_limit=center.weekly_limit,
            topics=[SubscriptionTopicType.of(row) for row in center.topics],
        )


@strawberry.type(name="SubscribeTopic")
class SubscribeTopicType:
    key: str
    title: str


@strawberry.type(name="SubscribeRequest")
class SubscribeRequestType:
    request_id: str = strawberry.field(description="Pass it back in reportSubscribeResult")
    template_ids: list[str] = strawberry.field(description="For wx.requestSubscribeMessage; may be empty")
    topics: list[SubscribeTopicType]

    @classmethod
    def of(cls, ask: SubscribeAsk) -> SubscribeRequestType:
        return cls(
            request_id=ask.request_id,
            template_ids=list(ask.template_ids),
            topics=[SubscribeTopicType(key=str(topic), title=TOPICS[topic].title) for topic in ask.topics],
        )


@strawberry.input
class SubscribeResultItemInput:
    template_id: str
    status: str = strawberry.field(description="ACCEPT, REJECT, BAN or FILTER (WeChat's answer, any case)")


@strawberry.input
class SubscribeResultInput:
    request_id: str
    results: list[SubscribeResultItemInput]
    main_switch: bool | None = strawberry.field(
        default=None, description="subscriptionsSetting.mainSwitch from wx.getSetting"
    )
    always_keep: list[str] | None = strawberry.field(
        default=None, description="Template ids whose choice the user asked WeChat to keep"
    )


@strawberry.input
class TopicSwitchInput:
    key: str
    enabled: bool


@strawberry.input
class QuietHoursInput:
    start: str
    end: str


@strawberry.input
class PreferencesInput:
    topics: list[TopicSwitchInput] | None = strawberry.field(
        default=None, description="Only the listed topics change"
    )
    quiet_hours: QuietHoursInput | None = strawberry.field(
        default=strawberry.UNSET, description="Omit to keep; null for no quiet hours"
    )
    weekly_limit: int | None = strawberry.field(default=None, description="0 to 50; omit to keep")


@strawberry.type
class ReportSubscribeResultPayload:
    center: SubscriptionCenterType | None
    user_errors: list[UserError]


@strawberry.type
class UpdatePreferencesPayload:
    center: SubscriptionCenterType | None
    user_errors: list[UserError]
