"""An offer notice is checked again right before it is sent: is the offer still there?

The sender calls ``ended_offer(notice, now)`` once it has claimed a notice, before a consent unit
is reserved. An offer notice (key ``offer:<user id>:<offer id>``) whose offer the same rules no
longer give at ``now`` (the points were used or their expiry moved, the product was bought again
and left RENEWAL, the user came back and is not DORMANT any more, the birthday was corrected) is
suppressed with ``OFFER_ENDED`` and keeps its unit. For other notices it returns at once without
a query. Expiry itself is the sender's own EXPIRED check (the notice expires with its offer).
"""

from __future__ import annotations

from datetime import datetime

from bff.models.notices import Notice
from bff.models.users import User
from bff.offers.rules import NO_LIFECYCLE, OfferRules, offers_for, rules_from_settings
from bff.offers.store import LifecycleSource, lifecycle_source, member_of
from bff.runtime.settings import get_settings

OFFER_ENDED = "OFFER_ENDED"
KEY_PREFIX = "offer:"


def parse_offer_key(key: str) -> tuple[int, str] | None:
    """(user id, offer id) of an offer notice's dedupe key; None for any other key."""
    if not key.startswith(KEY_PREFIX):
        return None
    user_text, _, offer_id = key.removeprefix(KEY_PREFIX).partition(":")
    if not user_text.isdigit() or not offer_id:
        return None
    return int(user_text), offer_id


async def ended_offer(
    notice: Notice,
    now: datetime,
    *,
    rules: OfferRules | None = None,
    source: LifecycleSource | None = None,
) -> str | None:
    """``OFFER_ENDED`` when the notice announces an offer the user no longer has, else None."""
    parsed = parse_offer_key(notice.dedupe_key)
    if parsed is None:
        return None
    user_id, offer_id = parsed
    user = await User.get_or_none(id=user_id)
    if user is None:
        return OFFER_ENDED
    settings = get_settings()
    rules = rules or rules_from_settings(settings)
    lifecycles = await (source or lifecycle_source()).lifecycle_of([user_id], now)
    # Recommendations do not decide which offers exist; the UPGRADE/TRADE_IN choice does, so an
    # offer of either kind for the same product and moment counts as still there.
    offers = offers_for(
        member_of(user), lifecycles.get(user_id, NO_LIFECYCLE), now, settings.zone, rules=rules
    )
    wanted = _renewal_neutral(offer_id)
    if any(_renewal_neutral(offer.id) == wanted for offer in offers):
        return None
    return OFFER_ENDED


def _renewal_neutral(offer_id: str) -> str:
    for kind in ("UPGRADE:", "TRADE_IN:"):
        if offer_id.startswith(kind):
            return "RENEWAL:" + offer_id.removeprefix(kind)
    return offer_id
