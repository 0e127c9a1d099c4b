from __future__ import annotations

from collections.abc import Sequence

import strawberry

from bff.catalog.templates_file import templates_of
from bff.consent.center import build_center, subscription_center
from bff.consent.preferences import (
    UNSET,
    FieldProblem,
    PreferencesUpdate,
    QuietHours,
    TopicSwitch,
    update_preferences,
)
from bff.consent.reports import ResultItem, SubscribeReport, report_subscribe_result
from schema.context import Info, as_viewer
from schema.errors import UNAUTHENTICATED, UserError
from schema.subscriptions.types import (
    PreferencesInput,
    ReportSubscribeResultPayload,
    SubscribeResultInput,
    SubscriptionCenterType,
    UpdatePreferencesPayload,
)


def user_errors(problems: Sequence[FieldProblem]) -> list[UserError]:
    return [UserError(code=p.code, field=p.field, message=p.message) for p in problems]


async def _center(info: Info, viewer_id: int) -> SubscriptionCenterType:
    templates = templates_of(info.context.resources.settings)
    return SubscriptionCenterType.of(await subscription_center(viewer_id, templates))


@strawberry.type
class SubscriptionMutations:
    @strawberry.mutation
    async def report_subscribe_result(
        self, info: Info, input: SubscribeResultInput
    ) -> ReportSubscribeResultPayload:
        """What wx.requestSubscribeMessage answered for a subscribeRequest."""
        report = SubscribeReport(
            request_id=input.request_id,
            results=[ResultItem(template_id=item.template_id, status=item.status) for item in input.results],
            main_switch=input.main_switch,
            always_keep=list(input.always_keep or ()),
        )

        async def record(viewer_id: int) -> ReportSubscribeResultPayload:
            problems = await report_subscribe_result(viewer_id, report)
            if problems:
                return ReportSubscribeResultPayload(center=None, user_errors=user_errors(problems))
            return ReportSubscribeResultPayload(center=await _center(info, viewer_id), user_errors=[])

        signed_out = ReportSubscribeResultPayload(center=None, user_errors=[UNAUTHENTICATED])
        return await as_viewer(info, record, signed_out=signed_out)

    @strawberry.mutation
    async def update_preferences(self, info: Info, input: PreferencesInput) -> UpdatePreferencesPayload:
        """Change topic switches, quiet hours and the weekly limit (all or nothing)."""
        quiet = input.quiet_hours
        update = PreferencesUpdate(
            topics=[TopicSwitch(key=t.key, enabled=t.enabled) for t in input.topics]
            if input.topics
            else None,
            quiet_hours=UNSET
            if quiet is strawberry.UNSET
            else (QuietHours(start=quiet.start, end=quiet.end) if quiet is not None else None),
            weekly_limit=input.weekly_limit,
        )

        async def update_for(viewer_id: int) -> UpdatePreferencesPayload:
            preferences, problems = await update_preferences(viewer_id, update)
            if preferences is None:
                return UpdatePreferencesPayload(center=None, user_errors=user_errors(problems))
            # the preferences just written, not read again
            templates = templates_of(info.context.resources.settings)
            center = await build_center(viewer_id, templates, preferences)
            return UpdatePreferencesPayload(center=SubscriptionCenterType.of(center), user_errors=[])

        signed_out = UpdatePreferencesPayload(center=None, user_errors=[UNAUTHENTICATED])
        return await as_viewer(info, update_for, signed_out=signed_out)
