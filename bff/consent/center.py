"""The subscription tab: every topic with its switch, template, units left and WeChat's status.

Only topics that some template of the templates file carries are shown: a topic without a
template can never be sent, so a switch for it would promise something that cannot happen.
"""

from __future__ import annotations

from dataclasses import dataclass

from bff.catalog.templates_file import TemplatesFile
from bff.catalog.topics import TOPICS, Topic, TopicCategory
from bff.consent import ledger
from bff.consent.preferences import QuietHours, UserPreferences, get_preferences
from bff.models.consent import WeChatStatus


@dataclass(frozen=True)
class TopicRow:
    key: Topic
    title: str
    description: str
    category: TopicCategory
    enabled: bool
    opt_out_allowed: bool
    template_id: str
    template_title: str
    remaining: int
    wechat_status: WeChatStatus


@dataclass(frozen=True)
class SubscriptionCenter:
    main_switch: bool
    quiet_hours: QuietHours | None
    weekly_limit: int
    topics: tuple[TopicRow, ...]


def shown_topics(templates: TemplatesFile) -> list[Topic]:
    """Topics of the templates file, in the order of bff.catalog.topics (order progress first)."""
    carried = templates.topics
    return [topic for topic in TOPICS if topic in carried]


async def subscription_center(user_id: int, templates: TemplatesFile) -> SubscriptionCenter:
    """The subscription tab of one user: three queries whatever the number of topics."""
    preferences = await get_preferences(user_id)
    return await build_center(user_id, templates, preferences)


async def build_center(
    user_id: int, templates: TemplatesFile, preferences: UserPreferences
) -> SubscriptionCenter:
    topics = shown_topics(templates)
    template_of = {topic: templates.for_topic(topic) for topic in topics}
    template_ids = sorted({t.template_id for t in template_of.values() if t is not None})
    entries = await ledger.entries(user_id, template_ids)
    rows: list[TopicRow] = []
    for topic in topics:
        info = TOPICS[topic]
        template = template_of[topic]
        assert template is not None  # shown topics are carried by a template
        entry = entries[template.template_id]
        rows.append(
            TopicRow(
                key=topic,
                title=info.title,
                description=info.description,
                category=info.category,
                enabled=preferences.topic_enabled(topic),
                opt_out_allowed=info.opt_out_allowed,
                template_id=template.template_id,
                template_title=template.title,
                remaining=entry.remaining,
                wechat_status=WeChatStatus.BAN if entry.banned else entry.wechat_status,
            )
        )
    return SubscriptionCenter(
        main_switch=preferences.main_switch,
        quiet_hours=preferences.quiet_hours,
        weekly_limit=preferences.weekly_limit,
        topics=tuple(rows),
    )
