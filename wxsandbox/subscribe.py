"""The user's side of subscriptions: answering ``wx.requestSubscribeMessage`` and the settings page.

``play_answers`` returns what the mini-program's ``requestSubscribeMessage`` would get and the
``List`` items of the ``subscribe_msg_popup_event`` WeChat pushes (§3, §4):

* ``accept`` (also ``acceptWithAudio`` / ``acceptWithAlert``) grants one send of a one-time
  template, or switches a long-term template on; ``reject`` grants nothing (and switches a
  long-term template off); ``ban`` marks the template banned for everyone (sends answer 43107);
  ``filter`` changes nothing. A template already banned always answers ``ban``; of several
  templates with the same title only the first is asked, the others answer ``filter``.
* "Always keep this choice": once kept, later popups for that template are not shown and the
  kept choice is answered silently (a kept accept still grants one unit). Silent answers are
  not pushed (no popup was shown; WeChat does not document a push for them, §3.3).
* Popup events only carry ``accept`` and ``reject`` items.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from wxsandbox.state import SandboxState

ACCEPTS = ("accept", "acceptWithAudio", "acceptWithAlert")
ANSWERS = (*ACCEPTS, "reject", "ban", "filter")
POPUP_EVENT = "subscribe_msg_popup_event"
CHANGE_EVENT = "subscribe_msg_change_event"


class AnswerError(ValueError):
    """A /sandbox/subscribe or /sandbox/settings request the sandbox cannot play."""


@dataclass
class PopupOutcome:
    # What wx.requestSubscribeMessage hands the mini program (success or fail callback).
    result: dict[str, str | int]
    popup_items: list[dict[str, str | int]] = field(default_factory=list)


def _fail(code: int, message: str) -> PopupOutcome:
    return PopupOutcome(result={"errMsg": f"requestSubscribeMessage:fail {message}", "errCode": code})


def play_answers(
    state: SandboxState, openid: str, answers: Mapping[str, str], *, always_keep: bool
) -> PopupOutcome:
    for template_id, answer in answers.items():
        if answer not in ANSWERS:
            raise AnswerError(f"answer for {template_id} must be one of {', '.join(ANSWERS)}, got {answer!r}")
    if not answers:
        return _fail(10001, "TmplIds can't be empty")
    if len(answers) > state.config.max_subscribe_ids:
        return _fail(20003, "Templates count out of max bounds")
    templates = [state.templates.get(template_id) for template_id in answers]
    if any(template is None for template in templates):
        return _fail(20001, "No template data return, verify the template id exist")
    if len({template.type for template in templates if template is not None}) > 1:
        return _fail(20002, "Templates type must be same")

    state.know(openid)
    outcome = PopupOutcome(result={"errMsg": "requestSubscribeMessage:ok"})
    titles: set[str] = set()
    for template_id, answer in answers.items():
        template = state.templates[template_id]
        subscription = state.subscription(openid, template_id)
        silent = False
        if template_id in state.banned_templates:
            result = "ban"
        elif template.title in titles:
            result = "filter"
        elif subscription.kept is not None:
            result, silent = subscription.kept, True
        else:
            result = answer
            if answer == "ban":
                state.banned_templates.add(template_id)
            elif always_keep and answer in (*ACCEPTS, "reject"):
                subscription.kept = answer
        titles.add(template.title)
        outcome.result[template_id] = result
        if result in ACCEPTS:
            if template.one_time:
                subscription.remaining += 1
            else:
                subscription.active = True
        elif result == "reject" and not template.one_time:
            subscription.active = False
        if not silent and (result in ACCEPTS or result == "reject"):
            outcome.popup_items.append(
                {
                    "TemplateId": template_id,
                    "SubscribeStatusString": "reject" if result == "reject" else "accept",
                    "PopupScene": 0,
                }
            )
    return outcome


def change_setting(
    state: SandboxState, openid: str, template_id: str, status: str
) -> list[dict[str, str | int]]:
    """The user switches a template off (``reject``) or back on (``accept``) in the settings page
    or the 服务通知 card menu. Returns the ``subscribe_msg_change_event`` items to push (WeChat
    pushes only rejections)."""
    if template_id not in state.templates:
        raise AnswerError(f"unknown template_id {template_id!r}")
    if status not in ("reject", "accept"):
        raise AnswerError(f"status must be 'reject' or 'accept', got {status!r}")
    state.know(openid)
    subscription = state.subscription(openid, template_id)
    subscription.kept = status
    if status == "accept":
        return []
    subscription.remaining = 0
    subscription.active = False
    return [{"TemplateId": template_id, "SubscribeStatusString": "reject"}]
