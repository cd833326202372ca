"""Stakeholder feedback: `/milestone feedback …`, the answer modal, the "Give feedback" button, App Home."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.core import audit
from bot.core.access import get_by_key, normalize_key
from bot.core.db import first_submission
from bot.core.errors import InvalidInput, NotFound
from bot.deps import Deps
from bot.feedback import service, views
from bot.home.flows import publish_home
from bot.slack.forms import read_state
from bot.slack.notifier import DeliveryError, Notifier
from bot.slack.permissions import ensure_editor
from bot.slack.replies import save_failed
from bot.slack.router import CommandContext, mention_id
from bot.slack.text import esc
from models import FeedbackRequest, Milestone, utcnow

log = logging.getLogger(__name__)

# One request command DMs at most this many people (a 2,000-member channel is almost surely a mistake).
MAX_PEOPLE_PER_REQUEST = 200

USAGE = (
    "*Feedback commands*\n"
    "• `/milestone feedback M-042` — give your feedback (you can answer anonymously)\n"
    "• `/milestone feedback request M-042 @ann @bo #beta-testers` — DM people a *Give feedback* button "
    "(owner and editors)\n"
    "• `/milestone feedback summary M-042` — the computed figures, shown only to you (owner and editors)"
)


def register(app: App, deps: Deps) -> None:
    def handle(ctx: CommandContext) -> None:
        verb = ctx.args[0].lower() if ctx.args else "help"
        if verb == "request":
            request_feedback(ctx, deps)
        elif verb == "summary":
            show_summary(ctx, deps)
        elif verb == "help":
            ctx.reply(USAGE)
        else:
            open_from_command(ctx, deps)

    deps.router.add(
        "feedback",
        handle,
        summary="Give feedback on a milestone; owners ask people for it and see the computed figures",
        usages=[
            ("feedback ID", "feedback M-042"),
            ("feedback request ID @people #channel", "feedback request M-042 @ann #beta-testers"),
            ("feedback summary ID", "feedback summary M-042"),
        ],
        order=60,
    )

    @app.action(views.GIVE_ACTION)
    def give_clicked(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        container = body.get("container") or {}
        dm = None
        if container.get("type") == "message" and container.get("channel_id") and container.get("message_ts"):
            dm = (container["channel_id"], container["message_ts"])
        value = (body.get("actions") or [{}])[0].get("value") or "0"
        with deps.session() as session:
            milestone = session.get(Milestone, int(value)) if value.isdigit() else None
            if milestone is None or milestone.team_id != body["team"]["id"]:
                raise NotFound("That milestone no longer exists, so it cannot take feedback.")
            view = _answer_modal(session, deps, milestone, body["user"]["id"], dm,
                                 from_home=container.get("type") == "view")
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(views.SUBMIT_CALLBACK)
    def submitted(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
        save_submission(ack, body, client, view, deps)

    def home(session: Session, user_id: str, team_id: str) -> list[dict[str, Any]]:
        rows = session.execute(
            select(Milestone, FeedbackRequest.requested_by)
            .join(FeedbackRequest, FeedbackRequest.milestone_id == Milestone.id)
            .where(FeedbackRequest.user_id == user_id, Milestone.team_id == team_id)
            .order_by(FeedbackRequest.requested_at.desc())
            .limit(20)
        ).all()
        key = deps.settings.signing_key
        pending = [(m, by) for m, by in rows if service.find_response(session, key, m, user_id) is None]
        return views.home_blocks(pending[:5])

    deps.home_sections.append(home)


# ---- Answering ---------------------------------------------------------------------------------------------


def _answer_modal(
    session: Session, deps: Deps, milestone: Milestone, user_id: str, dm: tuple[str, str] | None,
    *, from_home: bool = False,
) -> dict[str, Any]:
    existing = service.find_response(session, deps.settings.signing_key, milestone, user_id)
    previous = existing if existing is not None and not existing.anonymous else None
    return views.feedback_modal(
        milestone,
        previous,
        answered_anonymously=existing is not None and existing.anonymous,
        private_metadata=views.metadata(milestone.id, dm, from_home=from_home),
    )


def open_from_command(ctx: CommandContext, deps: Deps) -> None:
    if len(ctx.args) != 1:
        ctx.reply(f":warning: I didn't understand that.\n{USAGE}")
        return
    with deps.session() as session:
        milestone = get_by_key(session, ctx.team_id, ctx.args[0])
        view = _answer_modal(session, deps, milestone, ctx.user_id, None)
    ctx.ack_now()
    ctx.client.views_open(trigger_id=ctx.trigger_id, view=view)


def save_submission(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any], deps: Deps) -> None:
    """Validate, then save in one transaction; a bad field or a failed save keeps the modal open with input."""
    user_id, team_id = body["user"]["id"], body["team"]["id"]
    meta = json.loads(view.get("private_metadata") or "{}")
    try:
        answer = service.parse_answer(read_state(view["state"]["values"]))
    except InvalidInput as error:
        ack(response_action="errors", errors=error.errors)
        return
    now = utcnow()
    replaced: bool | None = None
    try:
        with deps.session() as session:
            milestone = session.get(Milestone, int(meta.get("milestone_id") or 0))
            if milestone is None or milestone.team_id != team_id:
                ack(response_action="errors", errors={"satisfaction": "This milestone no longer exists."})
                return
            # Equal for a double-submit of one view, different for a later answer: the second changes nothing.
            if first_submission(session, f"feedback:{view['id']}:{view.get('hash', '')}"):
                replaced = service.save_answer(session, deps.settings.signing_key, milestone, user_id, answer, now)
            done = views.thanks_view(milestone, replaced=bool(replaced), anonymous=answer.anonymous)
            answered_text, answered_blocks = views.answered_message(milestone)
    except SQLAlchemyError as error:
        log.warning("saving feedback failed", exc_info=True)
        ack(response_action="errors", errors={"satisfaction": save_failed(error)})
        return
    if replaced is None:
        ack()  # the same submission again: already saved and answered
        return
    ack(response_action="update", view=done)
    dm = meta.get("dm")
    if dm:  # the request DM: swap "Give feedback" for "Change my answer" (best effort, nothing depends on it)
        try:
            Notifier(client).update(dm[0], dm[1], answered_text, answered_blocks)
        except DeliveryError as error:
            log.info("could not update the feedback request DM: %s", error.code)
    if meta.get("home"):  # the Home tab listed this request: refresh it so the button goes away
        try:
            publish_home(client, deps, user_id, team_id)
        except SlackApiError as error:
            log.info("could not refresh App Home: %s", error.response.get("error"))


# ---- Requesting --------------------------------------------------------------------------------------------


def _load_for_owner(session: Session, ctx: CommandContext, key: str, action: str) -> Milestone:
    milestone = get_by_key(session, ctx.team_id, key)
    ensure_editor(session, ctx.client, milestone, ctx.user_id, action=action)
    return milestone


def _parse_targets(tokens: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Mentions → (people, channels, tokens that were neither)."""
    people: list[str] = []
    channels: list[str] = []
    bad: list[str] = []
    for token in tokens:
        found = mention_id(token)
        if found and token.startswith("<@"):
            people.append(found)
        elif found and token.startswith("<#"):
            channels.append(found)
        else:
            bad.append(token)
    return people, channels, bad


def _channel_members(client: WebClient, channel_id: str) -> list[str]:
    members: list[str] = []
    cursor = None
    while True:
        page = client.conversations_members(channel=channel_id, limit=200, cursor=cursor)
        members.extend(page.get("members") or [])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return members


def request_feedback(ctx: CommandContext, deps: Deps) -> None:
    args = ctx.args[1:]
    if not args:
        ctx.reply(f":warning: Which milestone, and whom should I ask?\n{USAGE}")
        return
    key = normalize_key(args[0])
    people, channels, bad = _parse_targets(args[1:])
    if bad:
        shown = ", ".join(f"`{esc(t)}`" for t in bad[:10])
        ctx.reply(f":warning: I couldn't read {shown}: mention people as @name and channels as #channel, "
                  f"picked from Slack's suggestions.\n_e.g._ `/milestone feedback request {esc(key)} "
                  "@ann #beta-testers`")
        return
    if not people and not channels:
        ctx.reply(f":warning: Whom should I ask? Mention people and/or channels: "
                  f"`/milestone feedback request {esc(key)} @ann #beta-testers`")
        return
    with deps.session() as session:
        milestone = _load_for_owner(session, ctx, key, "ask for feedback")
        milestone_id = milestone.id
    ctx.ack_now()  # reading channels and sending DMs takes longer than Slack's 3 seconds

    unread: list[tuple[str, str]] = []
    bot_user_id = ctx.client.auth_test().get("user_id") if channels else None
    for channel_id in channels:
        try:
            people.extend(m for m in _channel_members(ctx.client, channel_id) if m != bot_user_id)
        except SlackApiError as error:
            unread.append((channel_id, str(error.response.get("error") or "error")))
    people = list(dict.fromkeys(people))
    capped = max(0, len(people) - MAX_PEOPLE_PER_REQUEST)
    people = people[:MAX_PEOPLE_PER_REQUEST]

    now = utcnow()
    with deps.session() as session:  # claim first and commit, so no one is DM'd twice
        milestone = session.get_one(Milestone, milestone_id)
        plan = service.claim_requests(session, deps.settings.signing_key, milestone, ctx.user_id, people, now)
        text, blocks = views.request_message(milestone, ctx.user_id, reminder=False)

    notifier = Notifier(ctx.client)
    sent: list[tuple[str, str, str]] = []
    failed: list[tuple[str, str]] = []
    for user_id in plan.to_ask:
        try:
            posted = notifier.dm(user_id, text, blocks)
        except DeliveryError as error:
            failed.append((user_id, error.code))
        except Exception:  # Slack unreachable after retries: free the claim, report it
            log.warning("feedback request DM to %s failed", user_id, exc_info=True)
            failed.append((user_id, "Slack did not answer"))
        else:
            sent.append((user_id, posted.channel, posted.ts))

    with deps.session() as session:
        milestone = session.get_one(Milestone, milestone_id)
        for user_id, channel, ts in sent:
            service.record_dm(session, milestone_id, user_id, channel, ts)
        for user_id, _code in failed:
            service.forget_request(session, milestone_id, user_id)
        if sent:
            audit.record(session, milestone, ctx.user_id, "feedback.requested",
                         detail={"asked": [u for u, _, _ in sent]})
        report = views.request_report(milestone, plan, failed, unread, capped)
    ctx.reply(report)


# ---- Summary -----------------------------------------------------------------------------------------------


def show_summary(ctx: CommandContext, deps: Deps) -> None:
    if len(ctx.args) != 2:
        ctx.reply(f":warning: Which milestone? _e.g._ `/milestone feedback summary M-042`\n{USAGE}")
        return
    now = utcnow()
    with deps.session() as session:
        milestone = _load_for_owner(session, ctx, ctx.args[1], "see its feedback summary")
        metrics = service.metrics_for(session, milestone.id)
        counts = service.request_counts(session, deps.settings.signing_key, milestone)
        text, blocks = views.summary_blocks(milestone, metrics, counts, now)
    ctx.reply(text, blocks)
