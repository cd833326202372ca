"""`/milestone assign`, the assignee's buttons (Open the form, Can't do it, Snooze), "Ask someone…", Withdraw,
"Remind everyone who owes a section", and the hooks (content saved, App Home).

Each handler parses its payload, acks, and calls a flow; flows check who may act against the database.
Handlers get `deps` bound with functools.partial in register().
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.assignments import flows, service, views
from bot.core.errors import DomainError
from bot.deps import Deps
from bot.slack.forms import notice_modal, read_state
from bot.slack.payloads import ForgedPayload
from bot.slack.replies import first_input, open_or_push, team_of, tell, update_view
from bot.slack.router import CommandContext, mention_id
from bot.slack.submissions import claim, submit
from bot.slack.text import esc, user
from models import utcnow

log = logging.getLogger(__name__)

USAGE = ("Usage: `/milestone assign <ID> <section> @person [due YYYY-MM-DD] [note…]`, e.g. "
         "`/milestone assign M-042 budget @dana due 2026-12-07 The Q3 figures, please`. Section keys are those "
         "of `/milestone edit`.")


def _value(body: dict[str, Any]) -> object:
    action = (body.get("actions") or [{}])[0]
    return (action.get("selected_option") or {}).get("value") or action.get("value")


# ---- the command ----------------------------------------------------------------------------------------


def assign_command(deps: Deps, ctx: CommandContext) -> None:
    args = ctx.args
    if len(args) < 3:
        ctx.reply(USAGE)
        return
    assignee = mention_id(args[2])
    if assignee is None or not assignee.startswith(("U", "W")):
        ctx.reply(f"Name the person with @ (a mention), not `{esc(args[2])}`. {USAGE}")
        return
    rest = args[3:]
    raw: dict[str, Any] = {}
    if len(rest) >= 2 and rest[0].lower() == "due":
        raw["due_date"], rest = rest[1], rest[2:]
    raw["note"] = " ".join(rest) or None
    ctx.ack_now()  # users.info and the DM can take longer than Slack's 3 seconds
    outcome = flows.assign(deps, ctx.client, team_id=ctx.team_id, milestone_ref=args[0], section_key=args[1],
                           assignee_id=assignee, actor_id=ctx.user_id, raw=raw)
    ctx.reply(_asked_text(outcome, args[1]))


def _asked_text(outcome: flows.Outcome, section_key: str) -> str:
    title = esc(views.title_of(section_key))
    who = user(outcome.assignee_id)
    if outcome.updated:
        text = f"Updated the request to {who} for *{title}*; their DM shows the change."
    else:
        text = f"Asked {who} to fill in *{title}*."
        text += " They got a DM with the form." if not outcome.undelivered else ""
        if outcome.replaced_id:
            text += f" This replaces the request to {user(outcome.replaced_id)} (their DM is updated)."
    if outcome.undelivered:
        text += (f"\n:warning: I could not DM {who} (`{esc(outcome.undelivered)}`): tell them, or ask someone "
                 "else with the same command.")
    return text


# ---- the assignee's buttons -------------------------------------------------------------------------------


def open_form(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    try:
        payload = views.OpenForm.unpack(_value(body))
        view = flows.form_for_assignee(deps, team_of(body), payload.assignment, body["user"]["id"])
    except DomainError as error:
        tell(client, body, f":warning: {error}")
        return
    open_or_push(client, body, view)


def cant_do(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    try:
        payload = views.CantDoIt.unpack(_value(body))
        assignment, milestone = flows.check_assignee_of(deps, team_of(body), payload.assignment, body["user"]["id"])
    except DomainError as error:
        tell(client, body, f":warning: {error}")
        return
    open_or_push(client, body, views.handback_modal(assignment, milestone))


def handback_submitted(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
    try:
        payload = views.CantDoIt.unpack(view.get("private_metadata"))
    except ForgedPayload as error:
        ack(response_action="errors", errors={first_input(view): str(error)})
        return
    save = partial(flows.hand_back, deps, client, team_id=team_of(body), assignment_id=payload.assignment,
                   actor_id=body["user"]["id"], raw=read_state(view["state"]["values"]),
                   claim=partial(claim, view=view))
    if submit(ack, view, save, field="reason") is not None:
        ack()


def snooze_chosen(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    try:
        payload = views.SnoozeFor.unpack(_value(body))
        until = flows.snooze(deps, client, team_id=team_of(body), assignment_id=payload.assignment,
                             actor_id=body["user"]["id"], days=payload.days)
    except DomainError as error:
        tell(client, body, f":warning: {error}")
        return
    tell(client, body, f"💤 Snoozed: no reminders about it before {views.day(until)}.")


# ---- "Ask someone…" and "Remind everyone who owes a section" -----------------------------------------------


def _refresh_picker(deps: Deps, client: WebClient, team_id: str, picker: str | None, milestone_id: int) -> None:
    if picker:
        update_view(client, picker, flows.picker_of(deps, team_id, milestone_id))


def ask_clicked(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    try:
        payload = views.AskSomeone.unpack(_value(body))
        view = flows.ask_form(deps, client, team_of(body), payload.milestone, payload.section, body["user"]["id"],
                              flows.picker_id(body))
    except DomainError as error:
        tell(client, body, f":warning: {error}")
        return
    open_or_push(client, body, view)


def ask_submitted(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
    try:
        payload = views.AskSomeone.unpack(view.get("private_metadata"))
    except ForgedPayload as error:
        ack(response_action="errors", errors={first_input(view): str(error)})
        return
    raw = read_state(view["state"]["values"])
    save = partial(flows.assign, deps, client, team_id=team_of(body), milestone_ref=payload.milestone,
                   section_key=payload.section, assignee_id=str(raw.get("assignee") or ""),
                   actor_id=body["user"]["id"], raw=raw, claim=partial(claim, view=view))
    outcome = submit(ack, view, save, field="assignee")
    if outcome is not None:
        ack(response_action="update", view=notice_modal("Asked", _asked_text(outcome, payload.section)))
        _refresh_picker(deps, client, team_of(body), payload.picker, payload.milestone)


def withdraw_clicked(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """Withdraw, from the picker or `show`: the owner or an editor takes a request back."""
    ack()
    try:
        payload = views.Withdraw.unpack(_value(body))
        assignment, milestone, changed = flows.withdraw(deps, client, team_id=team_of(body),
                                                        assignment_id=payload.assignment, actor_id=body["user"]["id"])
    except DomainError as error:
        tell(client, body, f":warning: {error}")
        return
    title = esc(views.title_of(assignment.section))
    if changed:
        _refresh_picker(deps, client, team_of(body), flows.picker_id(body), milestone.id)
        tell(client, body, f"Withdrew the request to {user(assignment.assignee_id)} for *{title}* of "
                           f"{esc(milestone.key)}; their DM says so.")
    else:
        tell(client, body, f"The request for *{title}* was already withdrawn; nothing changed.")


def remind_clicked(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    try:
        payload = views.RemindOwing.unpack(_value(body))
        reminded, already = flows.remind_owing(deps, client, team_id=team_of(body), milestone_id=payload.milestone,
                                               actor_id=body["user"]["id"])
    except DomainError as error:
        tell(client, body, f":warning: {error}")
        return
    tell(client, body, remind_summary(reminded, already))


def remind_summary(reminded: list[str], already: list[str]) -> str:
    if not reminded and not already:
        return "Nobody owes a section of this milestone."
    parts = []
    if reminded:
        parts.append(f"Reminded {', '.join(user(u) for u in reminded)}.")
    if already:
        parts.append(f"{', '.join(user(u) for u in already)} already had a reminder today.")
    return " ".join(parts)


# ---- hooks -----------------------------------------------------------------------------------------------


def home_section(session: Session, user_id: str, team_id: str) -> list[dict[str, Any]]:
    """App Home: the sections asked of this person; for owners and editors, who still owes what."""
    today = flows.today_of(session, user_id, utcnow())
    blocks = views.home_blocks(service.owed_by(session, user_id, team_id), today)
    for milestone, owed in service.owing_in_milestones_of(session, user_id, team_id):
        blocks += views.owing_blocks(milestone, owed, today)
    return blocks


def register(app: App, deps: Deps) -> None:
    deps.router.add(
        "assign", partial(assign_command, deps),
        summary="Ask someone to fill in one section of the report (they get a DM with its form)",
        usages=[("assign <ID> <section> @person [due YYYY-MM-DD] [note...]",
                 "assign M-042 budget @dana due 2026-12-07")],
        order=25,
    )
    app.action(views.OPEN_FORM)(partial(open_form, deps))
    app.action(views.CANT_DO)(partial(cant_do, deps))
    app.action(views.SNOOZE)(partial(snooze_chosen, deps))
    app.action(views.ASK_SOMEONE)(partial(ask_clicked, deps))
    app.action(views.REMIND_OWING)(partial(remind_clicked, deps))
    app.action(views.WITHDRAW)(partial(withdraw_clicked, deps))
    app.view(views.HANDBACK_CALLBACK)(partial(handback_submitted, deps))
    app.view(views.ASK_CALLBACK)(partial(ask_submitted, deps))
    deps.on_content_changed.append(partial(flows.section_saved, deps))
    deps.home_sections.append(home_section)
