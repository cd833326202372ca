"""Sign-off: `/milestone signoff`, `/milestone signoffs`, the decision buttons and modal, the content hook.

Every handler checks who may act, does its database work in one transaction (bot.signoffs.service), and
talks to Slack after the commit: request DMs, the DM updated in place after a decision, and the one status
message per milestone updated with chat.update.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import date
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.core.access import get_by_key
from bot.core.errors import DomainError, InvalidInput
from bot.core.fields import parse_fields
from bot.core.workdays import add_working_days, local_date
from bot.deps import Deps
from bot.home.flows import publish_home
from bot.signoffs import service, views
from bot.slack.forms import read_state
from bot.slack.notifier import DeliveryError, Notifier
from bot.slack.permissions import ensure_editor, load_milestone
from bot.slack.replies import save_failed, tell
from bot.slack.router import CommandContext, mention_id
from bot.slack.users import get_profile, is_admin_of
from models import ApprovalSlot, Milestone, SignOff, utcnow

log = logging.getLogger(__name__)

USAGE = (
    "Usage: `/milestone signoff M-042` asks every approver to sign; "
    "`/milestone signoff M-042 reassign QA Lead @person` gives a role to someone else; "
    "`/milestone signoff M-042 delegate QA Lead @person` (or `off`) lets someone sign for the role's holder."
)


def _today(session: Session, client: WebClient, user_id: str) -> date:
    return local_date(utcnow(), get_profile(session, client, user_id).tz)


def _first(errors: dict[str, str]) -> str:
    return next(iter(errors.values()))


# ---- Slack work after commit ------------------------------------------------------------------------------


def refresh_status_message(client: WebClient, deps: Deps, milestone_id: int) -> None:
    """Rewrite the milestone's one status message in place (post it if it was never posted or was deleted)."""
    with deps.session() as session:
        milestone = session.get(Milestone, milestone_id)
        if milestone is None or not milestone.signoff_status_channel or not milestone.signoff_status_ts:
            return
        channel, ts = milestone.signoff_status_channel, milestone.signoff_status_ts
        text, blocks = views.status_blocks(milestone, service.matrix(session, milestone))
    notifier = Notifier(client)
    try:
        notifier.update(channel, ts, text, blocks)
    except DeliveryError as error:
        if error.code != "message_not_found":
            log.warning("sign-off status of milestone %s not updated: %s", milestone_id, error.code)
            return
        posted = notifier.post(channel, text, blocks)  # someone deleted it: put it back, once
        with deps.session() as session:
            service.status_posted(session, milestone_id, posted.channel, posted.ts)


def _post_status(client: WebClient, deps: Deps, milestone_id: int, channel: str) -> str | None:
    """Post the status message claimed by this request; None when it posted, else the problem."""
    with deps.session() as session:
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None
        text, blocks = views.status_blocks(milestone, service.matrix(session, milestone))
    try:
        posted = Notifier(client).post(channel, text, blocks)
    except DeliveryError as error:
        with deps.session() as session:
            service.status_posted(session, milestone_id, channel, None)
        return error.code
    with deps.session() as session:
        service.status_posted(session, milestone_id, posted.channel, posted.ts)
    return None


def send_request_dms(
    client: WebClient, deps: Deps, milestone_id: int, requests: list[service.NewRequest],
    *, changed: list[str] | None = None,
) -> list[str]:
    """DM each new request with its buttons and remember where it landed; returns the people it failed for."""
    if not requests:
        return []
    with deps.session() as session:
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None
        empty = service.empty_sections(milestone) if changed is None else None
        holders = {}
        for request in requests:
            slot = session.get(ApprovalSlot, request.slot_id)
            holders[request.request_id] = slot.approver_id if slot and slot.approver_id != request.approver_id else None
        messages = [
            (r, views.request_dm(milestone, r.role, r.request_id, r.revision, changed=changed, empty=empty,
                                 holder=holders[r.request_id]))
            for r in requests
        ]
    notifier = Notifier(client)
    failed: list[str] = []
    for request, (text, blocks) in messages:
        try:
            posted = notifier.dm(request.approver_id, text, blocks)
        except DeliveryError as error:
            log.warning("sign-off request %s to %s not sent: %s", request.request_id, request.approver_id, error.code)
            failed.append(request.approver_id)
            continue
        with deps.session() as session:
            service.record_dm(session, request.request_id, posted.channel, posted.ts)
    return failed


def _update_dms(
    client: WebClient, targets: list[tuple[str, str, str]], text: str, blocks: list[dict[str, Any]]
) -> None:
    notifier = Notifier(client)
    for channel, ts, _approver in targets:
        try:
            notifier.update(channel, ts, text, blocks)
        except DeliveryError as error:
            log.warning("DM %s/%s not updated: %s", channel, ts, error.code)


def request_all(client: WebClient, deps: Deps, milestone_id: int, actor_id: str, fallback_channel: str) -> str:
    """Ask every role that still has to sign; returns the summary for the person who asked."""
    with deps.session() as session:
        result = service.request_signoff(session, milestone_id, actor_id, utcnow(), fallback_channel=fallback_channel)
        key = session.get(Milestone, milestone_id).key  # type: ignore[union-attr]
    failed = send_request_dms(client, deps, milestone_id, result.created)
    status_problem = None
    if result.post_status_in:
        status_problem = _post_status(client, deps, milestone_id, result.post_status_in)
    else:
        refresh_status_message(client, deps, milestone_id)
    lines = []
    asked = [r for r in result.created if r.approver_id not in failed]
    if asked:
        people = ", ".join(f"<@{r.approver_id}> ({r.role})" for r in asked)
        lines.append(f":incoming_envelope: Asked to sign {key}: {people}.")
    if failed:
        lines.append(f":warning: Could not DM {', '.join(f'<@{u}>' for u in failed)}; they will be reminded.")
    if result.already_asked:
        lines.append(f"Already waiting (not asked twice): {', '.join(result.already_asked)}.")
    if result.already_decided:
        decided = ", ".join(result.already_decided)
        lines.append(f"Already decided (asked again only when the report changes): {decided}.")
    if result.post_status_in and status_problem is None:
        lines.append(f"Progress is tracked in one message in <#{result.post_status_in}>.")
    elif status_problem:
        lines.append(f":warning: Could not post the sign-off status in <#{result.post_status_in}> ({status_problem}); "
                     "invite the bot there (`/invite @Milestone Bot`) and run this again.")
    if not lines:
        lines.append(f"Nothing to ask: every role of {key} has been asked or has decided.")
    lines.append(f"`/milestone signoffs {key}` shows who signed.")
    return "\n".join(lines)


def notify_accepted(client: WebClient, deps: Deps, milestone_id: int, actor_id: str) -> None:
    with deps.session() as session:
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None
        channel = milestone.signoff_status_channel or milestone.report_channel_id
        text = views.accepted_notice(milestone)
    if channel:
        try:
            Notifier(client).post(channel, text)
        except DeliveryError as error:
            log.warning("acceptance of milestone %s not announced: %s", milestone_id, error.code)
    for hook in deps.on_accepted:
        try:
            hook(client, milestone_id, actor_id)
        except Exception:  # one failing hook must not stop the others; the acceptance is committed
            log.exception("on_accepted hook %r failed for milestone %s", hook, milestone_id)



# ---- registration ---------------------------------------------------------------------------------------


def register(app: App, deps: Deps) -> None:
    def handle_signoff(ctx: CommandContext) -> None:
        if not ctx.args:
            ctx.reply(USAGE)
            return
        try:
            if len(ctx.args) >= 2 and ctx.args[1].lower() in ("reassign", "delegate"):
                _change_role(ctx)
            else:
                _request(ctx)
        except DomainError as error:
            message = _first(error.errors) if isinstance(error, InvalidInput) else str(error)
            ctx.reply(f":warning: {message}")

    def _request(ctx: CommandContext) -> None:
        with deps.session() as session:
            milestone = get_by_key(session, ctx.team_id, ctx.args[0])
            ensure_editor(session, ctx.client, milestone, ctx.user_id)
            if not milestone.approval_slots:
                raise InvalidInput({"approvers": f"{milestone.key} has no approvers yet. Add one per role with "
                                                 f"`/milestone signoff {milestone.key} reassign <role> @person`."})
            empty = service.empty_sections(milestone)
            milestone_id = milestone.id
            prompt = views.completeness_prompt(milestone, empty) if empty else None
        if prompt is not None:
            ctx.reply(*prompt)
            return
        ctx.ack_now()
        ctx.reply(request_all(ctx.client, deps, milestone_id, ctx.user_id, ctx.channel_id))

    def _change_role(ctx: CommandContext) -> None:
        verb = ctx.args[1].lower()
        rest = ctx.args[2:]
        target = rest[-1] if rest else ""
        person = mention_id(target)
        clearing = verb == "delegate" and target.lower() in ("off", "none", "remove")
        role = " ".join(rest[:-1]).strip().strip("\"“”")
        if not role or not (person or clearing):
            ctx.reply(f":warning: {USAGE}")
            return
        ctx.ack_now()
        now = utcnow()
        with deps.session() as session:
            milestone = get_by_key(session, ctx.team_id, ctx.args[0])
            is_admin = is_admin_of(get_profile(session, ctx.client, ctx.user_id), milestone.team_id)
            if verb == "reassign":
                assert person is not None
                change = service.reassign(session, milestone.id, role, person, ctx.user_id, now, is_admin=is_admin)
                note = f"the owner gave {change.role} to <@{person}>."
            else:
                change = service.delegate(session, milestone.id, role, None if clearing else person, ctx.user_id,
                                          now, is_admin=is_admin)
                note = "the owner changed who signs for this role."
            withdrawn = views.withdrawn_dm(milestone, change.role, note)
            key = milestone.key
        _update_dms(ctx.client, change.withdrawn_dms, *withdrawn)
        failed = send_request_dms(ctx.client, deps, change.milestone_id, change.new_requests)
        refresh_status_message(ctx.client, deps, change.milestone_id)
        if verb == "reassign":
            done = (f"Added the role *{change.role}* to {key}, held by <@{person}>." if change.created_slot
                    else f"*{change.role}* of {key} is now held by <@{person}>.")
        else:
            done = (f"Nobody signs for the {change.role} of {key} any more." if clearing
                    else f"<@{person}> may now sign as {change.role} of {key}.")
        if change.withdrawn_dms:
            done += " The earlier pending request was withdrawn."
        if change.new_requests and not failed:
            done += " " + ", ".join(f"<@{r.approver_id}>" for r in change.new_requests) + " was asked to sign."
        if failed:
            done += f" :warning: Could not DM {', '.join(f'<@{u}>' for u in failed)}."
        ctx.reply(done)

    def show_matrix(ctx: CommandContext) -> None:
        if not ctx.args:
            ctx.reply("Usage: `/milestone signoffs M-042` shows who signed, only to you.")
            return
        with deps.session() as session:
            milestone = get_by_key(session, ctx.team_id, ctx.args[0])
            text, blocks = views.status_blocks(milestone, service.matrix(session, milestone))
        ctx.reply(text, blocks)

    deps.router.add(
        "signoff",
        handle_signoff,
        summary="Ask the approvers to sign off (after a completeness check); reassign or delegate a role",
        usages=[
            ("signoff <ID>", "signoff M-042"),
            ("signoff <ID> reassign <role> @person", "signoff M-042 reassign QA Lead @quinn"),
            ("signoff <ID> delegate <role> @person|off", "signoff M-042 delegate Technical Lead @tariq"),
        ],
        order=60,
    )
    deps.router.add(
        "signoffs", show_matrix, summary="Who signed what, and what is pending (only you see it)",
        usages=[("signoffs <ID>", "signoffs M-042")], order=61,
    )

    @app.action(views.CONFIRM_REQUEST)
    def confirm_request(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, action: dict[str, Any]
    ) -> None:
        ack()
        user_id = body["user"]["id"]
        try:
            with deps.session() as session:
                milestone = load_milestone(session, body["team"]["id"], action["value"])
                ensure_editor(session, client, milestone, user_id)
                fallback = (body.get("channel") or {}).get("id") or body.get("container", {}).get("channel_id") or ""
        except DomainError as error:
            tell(client, body, f":warning: {error!s}")
            return
        summary = request_all(client, deps, int(action["value"]), user_id, fallback)
        respond(text=summary, response_type="ephemeral", replace_original=True)

    @app.action(views.CANCEL_REQUEST)
    def cancel_request(ack: Ack, respond: Respond, action: dict[str, Any], body: dict[str, Any]) -> None:
        ack()
        with deps.session() as session:
            milestone = session.get(Milestone, int(action["value"]))
            key = milestone.key if milestone else "the milestone"
        respond(
            text=f"Nothing was sent. Fill the sections with `/milestone edit {key}`, then run "
                 f"`/milestone signoff {key}` again.",
            response_type="ephemeral", replace_original=True,
        )

    @app.action(re.compile(r"^signoff_(approve|approve_conditions|reject)$"))
    def open_decision(
        ack: Ack, body: dict[str, Any], client: WebClient, action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        user_id = body["user"]["id"]
        decision = views.DECISION_ACTIONS[action["action_id"]]
        try:
            with deps.session() as session:
                request, slot, milestone = service.get_request(session, int(action["value"]))
                service.check_request_usable(session, request, slot, milestone, user_id)
                default_due = add_working_days(_today(session, client, user_id), 10, deps.settings.work_days)
                view = views.decision_modal(milestone, slot.role, request.id, decision, milestone.revision,
                                            default_due=default_due)
        except DomainError as error:
            tell(client, body, f":warning: {error!s}")
            return
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(views.DECISION_MODAL)
    def submit_decision(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        meta = json.loads(view.get("private_metadata") or "{}")
        decision, request_id, revision = meta["d"], int(meta["r"]), int(meta["v"])
        specs = service.decision_fields(decision)
        raw = read_state(view["state"]["values"])
        try:
            values = parse_fields(specs, raw)
            with deps.session() as session:
                today = _today(session, client, user_id)
            values = service.validate_decision(decision, values, today)
        except InvalidInput as error:
            ack(response_action="errors", errors=error.errors)
            return
        try:
            with deps.session() as session:
                result = service.decide(
                    session, request_id=request_id, user_id=user_id, decision=decision, values=values,
                    revision_seen=revision, submission_key=f"{view['id']}:{view['hash']}", now=utcnow(),
                )
        except service.RevisionMoved as moved:
            with deps.session() as session:
                _request, slot, milestone = service.get_request(session, request_id)
                notice = (f"The report changed while this form was open (now revision {moved.revision}: "
                          f"{views.section_titles(moved.sections)}). Review it, then submit again.")
                new_view = views.decision_modal(milestone, slot.role, request_id, decision, moved.revision,
                                                initial={k: v for k, v in values.items() if k != "conditions_list"},
                                                notice=notice)
            ack(response_action="update", view=new_view)
            return
        except DomainError as error:
            ack(response_action="errors", errors={specs[0].name: str(error)})
            return
        except SQLAlchemyError as error:
            log.exception("saving a sign-off failed")
            ack(response_action="errors", errors={specs[0].name: save_failed(error, kept="Your input is kept")})
            return
        ack()
        if not result.recorded:
            return
        _after_decision(client, result, user_id, body)

    def _after_decision(client: WebClient, result: service.DecisionResult, user_id: str, body: dict[str, Any]) -> None:
        with deps.session() as session:
            signoff = session.get(SignOff, result.signoff_id)
            milestone = session.get(Milestone, result.milestone_id)
            assert signoff is not None and milestone is not None
            text, blocks = views.decided_dm(milestone, signoff)
        _update_dms(client, result.dms_to_update, text, blocks)
        refresh_status_message(client, deps, result.milestone_id)
        if result.accepted_now:
            notify_accepted(client, deps, result.milestone_id, user_id)
        team_id = (body.get("team") or {}).get("id") or ""
        try:
            publish_home(client, deps, user_id, team_id)  # the Home list of waiting requests shrinks
        except Exception:  # the decision is saved; a stale Home tab is not worth an error
            log.exception("Home not refreshed after a sign-off")

    def content_changed(client: WebClient, milestone_id: int, actor_id: str, sections: list[str]) -> None:
        """After a content change commits: outdate sign-offs made against older revisions, ask again."""
        with deps.session() as session:
            result = service.outdate_signoffs(session, milestone_id, actor_id, sections, utcnow())
        if not result.outdated:
            return
        _update_dms(client, [(c, t, "") for c, t in result.old_dms], *views.superseded_dm())
        send_request_dms(client, deps, milestone_id, result.new_requests, changed=sections)
        refresh_status_message(client, deps, milestone_id)

    deps.on_content_changed.append(content_changed)

    def home(session: Session, user_id: str, team_id: str) -> list[dict[str, Any]]:
        items = [
            (milestone, slot.role, request.id, request.requested_at, request.revision)
            for request, slot, milestone in service.pending_requests(session, user_id)
            if not team_id or milestone.team_id == team_id
        ]
        return views.home_section(items)

    deps.home_sections.append(home)

