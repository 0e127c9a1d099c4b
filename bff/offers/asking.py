"""What offers make likely for a user: the topics ``subscribeRequest`` asks for at ``LIFECYCLE``.

bff.consent sits below bff.offers and does not import it; the caller (the ``subscribeRequest``
resolver) passes these topics in as ``likely_topics``. An offer is likely to cause a notice while
it is valid (the same ``offers_of`` as the lifecycle tab and the offers scan) and its one notice
is not decided yet: an offer already announced (or suppressed, or on its way) sends nothing more,
so asking for its template would buy a unit nothing spends.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bff.catalog.topics import Topic
from bff.models.notices import Notice, NoticeStatus
from bff.notices.planner import bounded_key
from bff.offers.rules import DEFAULT_RULES, OfferRules
from bff.offers.store import LifecycleSource, offers_of

# A notice in these states is still to be decided or sent later: it will want a unit.
_UNDECIDED = (NoticeStatus.PLANNED, NoticeStatus.SCHEDULED)


async def offer_topics(
    user_id: int,
    *,
    now: datetime,
    zone: ZoneInfo,
    redis: Redis,
    rules: OfferRules = DEFAULT_RULES,
    source: LifecycleSource | None = None,
) -> tuple[Topic, ...]:
    """The topics of the user's offers valid ``now`` whose notice is not decided yet, in offer order."""
    offers = await offers_of(user_id, now=now, zone=zone, redis=redis, rules=rules, source=source)
    if not offers:
        return ()
    decided = {
        str(key)
        for key in await Notice.filter(dedupe_key__in=[bounded_key(o.dedupe_key) for o in offers])
        .exclude(status__in=_UNDECIDED)
        .values_list("dedupe_key", flat=True)
    }
    likely = (o.topic for o in offers if bounded_key(o.dedupe_key) not in decided)
    return tuple(dict.fromkeys(likely))
