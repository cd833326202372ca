"""Sign-off: `/milestone signoff`, `/milestone signoffs`, the decision buttons and modal, the content hook.

Each handler parses its signed payload, checks who may act, acks, and calls a flow (bot.signoffs.flows).
Handlers are module-level; `register()` binds `deps` with functools.partial and only wires. A button's
refusal (a DomainError, a forged payload) is told with bot.slack.replies.tell, which reaches the person on
whatever surface they clicked (App Home included). It is caught here rather than left to the global handler:
Bolt's thread runner resets `ack.response` when a listener raises after acking, so a fast raise answers
Slack with a 404 after three seconds.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.core.access import KEY_PATTERN, ensure_can_edit, get_by_key, is_editor, normalize_key
from bot.core.errors import DomainError, InvalidInput, NotFound
from bot.core.fields import parse_fields, unsafe_character_problem
from bot.core.workdays import add_working_days, local_date
from bot.deps import Deps
from bot.home.flows import publish_home
from bot.reports.service import report_url
from bot.signoffs import decisions, flows, service, views
from bot.slack import outbox
from bot.slack.forms import read_state
from bot.slack.replies import team_of, tell
from bot.slack.router import CommandContext, mention_id
from bot.slack.submissions import claim, submit
from bot.slack.text import esc
from bot.slack.users import cached_profile, is_admin_of
from models import Milestone, utcnow

log = logging.getLogger(__name__)

USAGE = (
    "Usage: `/milestone signoff M-042` asks every approver to sign; "
    "`/milestone signoff M-042 reassign QA Lead @person` gives a role to someone else; "
    "`/milestone signoff M-042 delegate QA Lead @person` (or `off`) lets someone sign for the role's holder."
)
CLEAR_DELEGATE = ("off", "none", "remove")


def _milestone_key(arg: str) -> str:
    """The typed ID, refused (escaped in the answer) unless it looks like one: nothing typed is echoed raw."""
    key = normalize_key(arg)
    if not KEY_PATTERN.match(key):
        raise NotFound(f"No milestone `{esc(arg[:40])}` in this workspace. `/milestone list` shows them.")
    return key


def _today(deps: Deps, client: WebClient, user_id: str) -> date:
    return local_date(utcnow(), cached_profile(deps, client, user_id).tz)


def _is_admin(deps: Deps, client: WebClient, user_id: str, team_id: str) -> bool:
    """users.info (cached) outside any transaction."""
    return is_admin_of(cached_profile(deps, client, user_id), team_id)


def _editable(deps: Deps, client: WebClient, team_id: str, user_id: str, *, key: str | None = None,
              milestone_id: int | None = None) -> int:
    """The milestone's id if this person may ask for its sign-off (owner, editor, admin); else NotAllowed."""
    with deps.session() as session:
        milestone = get_by_key(session, team_id, _milestone_key(key)) if key else session.get(Milestone, milestone_id)
        if milestone is None or milestone.team_id != team_id:
            raise NotFound("That milestone no longer exists.")
        if is_editor(session, milestone, user_id):
            return milestone.id
    admin = _is_admin(deps, client, user_id, team_id)
    with deps.session() as session:
        milestone = session.get(Milestone, milestone.id)
        assert milestone is not None
        ensure_can_edit(session, milestone, user_id, is_admin=admin, action="ask for its sign-off")
        return milestone.id


# ---- commands ---------------------------------------------------------------------------------------------


def handle_signoff(deps: Deps, ctx: CommandContext) -> None:
    if not ctx.args:
        ctx.reply(USAGE)
        return
    if len(ctx.args) >= 2 and ctx.args[1].lower() in ("reassign", "delegate"):
        _change_role(deps, ctx)
        return
    milestone_id = _editable(deps, ctx.client, ctx.team_id, ctx.user_id, key=ctx.args[0])
    with deps.session() as session:
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None
        if not milestone.approval_slots:
            raise InvalidInput({"approvers": f"{milestone.key} has no approvers yet. Add one per role with "
                                             f"`/milestone signoff {milestone.key} reassign <role> @person`."})
        requested = service.signoff_requested(session, milestone_id)
        prompt = None if requested else flows.gate(session, milestone)
    if prompt is not None:
        ctx.reply(*prompt)
        return
    ctx.ack_now()
    ctx.reply(flows.asked_summary(flows.request_all(deps, ctx.client, milestone_id, ctx.user_id, ctx.channel_id)))


def _change_role(deps: Deps, ctx: CommandContext) -> None:
    verb = ctx.args[1].lower()
    rest = ctx.args[2:]
    target = rest[-1] if rest else ""
    person = mention_id(target)
    clearing = verb == "delegate" and target.lower() in CLEAR_DELEGATE
    role = " ".join(rest[:-1]).strip().strip("\"“”")
    if not role or not (person or clearing):
        ctx.reply(f":warning: {USAGE}")
        return
    problem = unsafe_character_problem(role)
    if problem:
        ctx.reply(f":warning: {esc(problem)}")
        return
    ctx.ack_now()
    with deps.session() as session:
        milestone = get_by_key(session, ctx.team_id, _milestone_key(ctx.args[0]))
        milestone_id, team_id, key = milestone.id, milestone.team_id, milestone.key
    admin = _is_admin(deps, ctx.client, ctx.user_id, team_id)
    change, results, dm_ids = flows.change_role(deps, ctx.client, milestone_id, verb, role,
                                                None if clearing else person, ctx.user_id, is_admin=admin)
    failed = {r.id for r in results if r.status == "failed"}
    if verb == "reassign":
        done = (f"Added the role *{esc(change.role)}* to {esc(key)}, held by <@{person}>." if change.created_slot
                else f"*{esc(change.role)}* of {esc(key)} is now held by <@{person}>.")
    else:
        done = (f"Nobody signs for the {esc(change.role)} of {esc(key)} any more." if clearing
                else f"<@{person}> may now sign as {esc(change.role)} of {esc(key)}.")
    if change.closed:
        done += " The earlier pending request was withdrawn."
    asked = [a for a, i in dm_ids.items() if i not in failed]
    if asked:
        done += " " + ", ".join(f"<@{a}>" for a in asked) + " was asked to sign."
    if any(i in failed for i in dm_ids.values()):
        done += f" :warning: Could not DM {', '.join(f'<@{a}>' for a, i in dm_ids.items() if i in failed)}."
    if change.acceptance_withdrawn:
        done += f" {esc(key)} is no longer accepted until the new role signs."
    ctx.reply(done)


def show_matrix(deps: Deps, ctx: CommandContext) -> None:
    if not ctx.args:
        ctx.reply("Usage: `/milestone signoffs M-042` shows who signed, only to you.")
        return
    with deps.session() as session:
        milestone = get_by_key(session, ctx.team_id, _milestone_key(ctx.args[0]))
        text, blocks = views.status_blocks(milestone, service.signoff_progress(milestone))
    ctx.reply(text, blocks)


# ---- buttons ----------------------------------------------------------------------------------------------


def _channel_of(body: dict[str, Any]) -> str:
    return (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""


def confirm_request(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, action: dict[str, Any],
                    respond: Respond) -> None:
    """"Request anyway" after the completeness check."""
    ack()
    user_id = body["user"]["id"]
    try:
        payload = views.RequestButton.unpack(action.get("value"))
        milestone_id = _editable(deps, client, team_of(body), user_id, milestone_id=payload.milestone)
        asked = flows.request_all(deps, client, milestone_id, user_id, _channel_of(body))
    except DomainError as error:
        tell(client, body, f":warning: {error}")
        return
    respond(text=flows.asked_summary(asked), response_type="ephemeral", replace_original=True)


def request_again(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, action: dict[str, Any]) -> None:
    """"Request again" on the owner's rejection DM: the same as `/milestone signoff`, answered only to them."""
    ack()
    user_id = body["user"]["id"]
    try:
        payload = views.RequestButton.unpack(action.get("value"))
        milestone_id = _editable(deps, client, team_of(body), user_id, milestone_id=payload.milestone)
        asked = flows.request_all(deps, client, milestone_id, user_id, "")
    except DomainError as error:
        tell(client, body, f":warning: {error}")
        return
    tell(client, body, flows.asked_summary(asked))


def open_decision(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, action: dict[str, Any]) -> None:
    ack()
    try:
        view = _decision_view(deps, body, client, action)
    except DomainError as error:
        tell(client, body, f":warning: {error}")
        return
    client.views_open(trigger_id=body["trigger_id"], view=view)


def _decision_view(deps: Deps, body: dict[str, Any], client: WebClient, action: dict[str, Any]) -> dict[str, Any]:
    """The decision modal for a button, after checking the payload and that this person may still sign."""
    user_id = body["user"]["id"]
    payload = views.DecisionButton.unpack(action.get("value"))
    today = _today(deps, client, user_id)
    with deps.session() as session:
        request, slot, milestone = service.get_request(session, payload.request)
        if milestone.team_id != team_of(body):
            raise NotFound("That milestone no longer exists.")
        service.check_request_usable(session, request, slot, milestone, user_id)
        default_due = add_working_days(today, 10, deps.settings.work_days)
        return views.decision_modal(milestone, slot.role, request.id, payload.decision, milestone.revision,
                                    default_due=default_due)


def submit_decision(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
    user_id = body["user"]["id"]
    specs: list[Any] = []
    state: dict[str, Any] = {}

    def save() -> tuple[decisions.DecisionResult, list[int | None]]:
        form = views.DecisionForm.unpack(view.get("private_metadata"))
        state["form"] = form
        specs.extend(decisions.decision_fields(form.decision))
        values = parse_fields(specs, read_state((view.get("state") or {}).get("values") or {}))
        state["values"] = values
        values = decisions.validate_decision(form.decision, values, _today(deps, client, user_id))
        now = utcnow()
        with deps.session() as session:
            claim(session, view)
            result = decisions.decide(session, request_id=form.request, user_id=user_id, decision=form.decision,
                                      values=values, revision_seen=form.revision,
                                      submission_key=f"{view.get('id')}:{view.get('hash')}", now=now)
            return result, flows.after_decision(deps, session, result, now)

    try:
        saved = submit(ack, view, save)
    except decisions.RevisionMoved as moved:
        ack(response_action="update", view=_moved_view(deps, state, moved))
        return
    if saved is None:
        return
    ack()
    result, owed = saved
    outbox.deliver(deps, client, owed)
    if result.accepted_now:
        flows.accepted_hooks(deps, client, result.milestone_id, user_id)
    try:
        publish_home(client, deps, user_id, team_of(body))  # the Home list of waiting requests shrinks
    except Exception:  # the decision is saved; a stale Home tab is not worth an error
        log.exception("Home not refreshed after a sign-off")


def open_approve_all(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, action: dict[str, Any]) -> None:
    """"Approve all N roles" on a DM that asks one person for several roles: one modal, one comment."""
    ack()
    user_id = body["user"]["id"]
    try:
        payload = views.ApproveAll.unpack(action.get("value"))
        with deps.session() as session:
            waiting = service.open_in_dm(session, payload.request)
            if not waiting:
                raise NotFound("Nothing in this request waits for your decision any more.")
            for request in waiting:
                service.check_request_usable(session, request, request.slot, request.slot.milestone, user_id)
            milestone = waiting[0].slot.milestone
            if milestone.team_id != team_of(body):
                raise NotFound("That milestone no longer exists.")
            view = views.approve_all_modal(milestone, [r.slot.role for r in waiting], waiting[0].id,
                                           milestone.revision)
    except DomainError as error:
        tell(client, body, f":warning: {error}")
        return
    client.views_open(trigger_id=body["trigger_id"], view=view)


def submit_approve_all(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
    user_id = body["user"]["id"]

    def save() -> tuple[list[decisions.DecisionResult], list[int | None]]:
        form = views.ApproveAll.unpack(view.get("private_metadata"))
        values = parse_fields(decisions.decision_fields("approved"),
                              read_state((view.get("state") or {}).get("values") or {}))
        now = utcnow()
        results, owed = [], []
        with deps.session() as session:
            claim(session, view)
            for request in service.open_in_dm(session, form.request):
                result = decisions.decide(
                    session, request_id=request.id, user_id=user_id, decision="approved",
                    values={**values, "conditions_list": []}, revision_seen=form.revision, now=now,
                    submission_key=f"{view.get('id')}:{view.get('hash')}:{request.id}")
                results.append(result)
                owed += flows.after_decision(deps, session, result, now)
            if not results:
                raise NotFound("Nothing in this request waits for your decision any more.")
        return results, owed

    try:
        saved = submit(ack, view, save)
    except decisions.RevisionMoved as moved:
        ack(response_action="errors", errors={"comments": f"The report changed while this form was open (now "
                                                          f"revision {moved.revision}). Close it and read the new "
                                                          "revision first."})
        return
    if saved is None:
        return
    ack()
    results, owed = saved
    outbox.deliver(deps, client, owed)
    for result in results:
        if result.accepted_now:
            flows.accepted_hooks(deps, client, result.milestone_id, user_id)


def _moved_view(deps: Deps, state: dict[str, Any], moved: decisions.RevisionMoved) -> dict[str, Any]:
    """The same form at the new revision, with what was typed, and what changed meanwhile."""
    form: views.DecisionForm = state["form"]
    with deps.session() as session:
        _request, slot, milestone = service.get_request(session, form.request)
        notice = (f"The report changed while this form was open (now revision {moved.revision}: "
                  f"{views.section_titles(moved.sections)}). Review it, then submit again.")
        return views.decision_modal(milestone, slot.role, form.request, form.decision, moved.revision,
                                    initial=dict(state.get("values") or {}), notice=notice)


def view_report(ack: Ack) -> None:
    ack()  # a link button: Slack opens the URL; the click only needs an answer


# ---- hooks ------------------------------------------------------------------------------------------------


def home(deps: Deps, session: Session, user_id: str, team_id: str) -> list[dict[str, Any]]:
    now = utcnow()
    items: list[views.WaitingItem] = [
        (milestone, slot.role, request.id, request.requested_at, service.changes_for(session, request),
         report_url(deps.settings, milestone.id, milestone.revision, now))
        for request, slot, milestone in service.pending_requests(session, user_id)
        if not team_id or milestone.team_id == team_id
    ]
    return views.home_section(items)


def register(app: App, deps: Deps) -> None:
    deps.router.add(
        "signoff", partial(handle_signoff, deps),
        summary="Ask the approvers to sign off (after a completeness check); reassign or delegate a role",
        usages=[
            ("signoff <ID>", "signoff M-042"),
            ("signoff <ID> reassign <role> @person", "signoff M-042 reassign QA Lead @quinn"),
            ("signoff <ID> delegate <role> @person|off", "signoff M-042 delegate Technical Lead @tariq"),
        ],
        order=60,
    )
    deps.router.add("signoffs", partial(show_matrix, deps), summary="Who signed what, and what is pending (only you "
                    "see it)", usages=[("signoffs <ID>", "signoffs M-042")], order=61)
    app.action(views.CONFIRM_REQUEST)(partial(confirm_request, deps))
    app.action(views.REQUEST_AGAIN)(partial(request_again, deps))
    app.action(re.compile(r"^signoff_(approve|approve_conditions|reject)$"))(partial(open_decision, deps))
    app.action(views.VIEW_REPORT)(view_report)
    app.view(views.DECISION_MODAL)(partial(submit_decision, deps))
    app.action(views.APPROVE_ALL)(partial(open_approve_all, deps))
    app.view(views.APPROVE_ALL_MODAL)(partial(submit_approve_all, deps))
    deps.on_content_changed.append(partial(flows.content_changed, deps))
    deps.home_sections.append(partial(home, deps))
