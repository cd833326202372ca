"""Stakeholder feedback around its transactions: opening the answer modal, saving an answer through the one
submission path, asking people (each request DM owed in the outbox in the transaction that records the
request), and the owner's summary."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.core import audit, deliveries
from bot.core.access import ensure_can_edit, get_by_key, normalize_key
from bot.core.errors import NotFound
from bot.deps import Deps
from bot.feedback import service, views
from bot.home.flows import publish_home
from bot.slack import outbox
from bot.slack.forms import read_state
from bot.slack.notifier import DeliveryError, Notifier, Posted
from bot.slack.permissions import admin_flag
from bot.slack.replies import team_of
from bot.slack.router import CommandContext, mention_id
from bot.slack.submissions import claim, submit
from bot.slack.text import esc
from models import Delivery, DeliveryStatus, Milestone, utcnow

log = logging.getLogger(__name__)

REQUEST = "feedback_request"  # the outbox kind of a request DM
CHANNEL_POST = "feedback_post"  # the outbox kind of a channel's "Give feedback" message
# One request command DMs at most this many people (a 2,000-member channel is almost surely a mistake).
MAX_PEOPLE_PER_REQUEST = 200

USAGE = (
    "*Feedback commands*\n"
    "• `/milestone feedback M-042` — give your feedback (you can answer anonymously)\n"
    "• `/milestone feedback request M-042 @ann @bo #beta-testers` — DM people a *Give feedback* button "
    "(owner and editors)\n"
    "• `/milestone feedback post M-042 #channel` — one *Give feedback* message in a channel, anyone there "
    "can answer (owner and editors; the milestone's channel if you name none)\n"
    "• `/milestone feedback summary M-042` — the computed figures, shown only to you (owner and editors)"
)


def command(deps: Deps, ctx: CommandContext) -> None:
    verb = ctx.args[0].lower() if ctx.args else "help"
    if verb == "request":
        request_feedback(deps, ctx)
    elif verb == "summary":
        show_summary(deps, ctx)
    elif verb == "post":
        post_to_channel(deps, ctx)
    elif verb == "help":
        ctx.reply(USAGE)
    else:
        open_from_command(deps, ctx)


# ---- answering --------------------------------------------------------------------------------------------


def answer_modal(deps: Deps, session: Session, milestone: Milestone, user_id: str, *, from_home: bool) -> dict[
    str, Any
]:
    existing = service.find_response(session, deps.settings.signing_key, milestone, user_id)
    previous = existing if existing is not None and not existing.anonymous else None
    return views.feedback_modal(milestone, previous, answered_anonymously=existing is not None and existing.anonymous,
                                private_metadata=views.metadata(milestone.id, from_home=from_home))


def open_from_command(deps: Deps, ctx: CommandContext) -> None:
    if len(ctx.args) != 1:
        ctx.reply(f":warning: I didn't understand that.\n{USAGE}")
        return
    with deps.session() as session:
        milestone = get_by_key(session, ctx.team_id, ctx.args[0])
        view = answer_modal(deps, session, milestone, ctx.user_id, from_home=False)
    ctx.ack_now()
    ctx.client.views_open(trigger_id=ctx.trigger_id, view=view)


def open_from_button(deps: Deps, client: WebClient, body: dict[str, Any], milestone_id: int) -> None:
    from_home = (body.get("container") or {}).get("type") == "view"
    with deps.session() as session:
        milestone = session.get(Milestone, milestone_id)
        if milestone is None or milestone.team_id != team_of(body):
            raise NotFound("That milestone no longer exists, so it cannot take feedback.")
        view = answer_modal(deps, session, milestone, body["user"]["id"], from_home=from_home)
    client.views_open(trigger_id=body["trigger_id"], view=view)


def save_answer(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
    """Validate, then save in one claimed transaction; a bad field or a failed save keeps the modal open."""
    user_id, team_id = body["user"]["id"], team_of(body)
    now = utcnow()

    def save() -> tuple[views.FeedbackForm, dict[str, Any], tuple[str, str] | None, tuple[str, list[Any]],
                        list[int]]:
        form = views.FeedbackForm.unpack(view.get("private_metadata"))
        answer = service.parse_answer(read_state(view["state"]["values"]))
        with deps.session() as session:
            milestone = session.get(Milestone, form.milestone)
            if milestone is None or milestone.team_id != team_id:
                raise NotFound("This milestone no longer exists.")
            claim(session, view)
            replaced = service.save_answer(session, deps.settings.signing_key, milestone, user_id, answer, now)
            done = views.thanks_view(milestone, replaced=replaced, anonymous=answer.anonymous)
            dm = service.request_dm(session, milestone.id, user_id)
            return form, done, dm, views.answered_message(milestone), audit.owed(session)

    saved = submit(ack, view, save, field="satisfaction")
    if saved is None:
        return
    form, done, dm, (answered_text, answered_blocks), owed = saved
    ack(response_action="update", view=done)
    outbox.deliver(deps, client, owed)  # the canvas's rewrite (its figures changed)
    if dm:  # the request DM: swap "Give feedback" for "Change my answer" (best effort, nothing depends on it)
        try:
            Notifier(client).update(dm[0], dm[1], answered_text, answered_blocks)
        except DeliveryError as error:
            log.info("could not update the feedback request DM: %s", error.code)
    if form.from_home:  # the Home tab listed this request: refresh it so the button goes away
        try:
            publish_home(client, deps, user_id, team_id)
        except SlackApiError as error:
            log.info("could not refresh App Home: %s", error.response.get("error"))


# ---- requesting -------------------------------------------------------------------------------------------


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


def _owner_milestone(deps: Deps, ctx: CommandContext, key: str, action: str) -> int:
    """The milestone's id, once the caller is known to be its owner, an editor or an admin here."""
    with deps.session() as session:
        milestone_id = get_by_key(session, ctx.team_id, key).id
    is_admin = admin_flag(deps, ctx.client, ctx.team_id, ctx.user_id, milestone_id)
    with deps.session() as session:
        milestone = get_by_key(session, ctx.team_id, key)
        ensure_can_edit(session, milestone, ctx.user_id, is_admin=is_admin, action=action)
    return milestone_id


def _targets(ctx: CommandContext, args: list[str]) -> tuple[list[str], list[str]] | None:
    key = normalize_key(args[0])
    people, channels, bad = _parse_targets(args[1:])
    if bad:
        shown = ", ".join(f"`{esc(t)}`" for t in bad[:10])
        ctx.reply(f":warning: I couldn't read {shown}: mention people as @name and channels as #channel, "
                  f"picked from Slack's suggestions.\n_e.g._ `/milestone feedback request {esc(key)} "
                  "@ann #beta-testers`")
        return None
    if not people and not channels:
        ctx.reply(f":warning: Whom should I ask? Mention people and/or channels: "
                  f"`/milestone feedback request {esc(key)} @ann #beta-testers`")
        return None
    return people, channels


def request_feedback(deps: Deps, ctx: CommandContext) -> None:
    args = ctx.args[1:]
    if not args:
        ctx.reply(f":warning: Which milestone, and whom should I ask?\n{USAGE}")
        return
    targets = _targets(ctx, args)
    if targets is None:
        return
    people, channels = targets
    milestone_id = _owner_milestone(deps, ctx, args[0], "ask for feedback")
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
    with deps.session() as session:  # the requests and the DMs they owe, in one transaction
        milestone = session.get_one(Milestone, milestone_id)
        plan = service.claim_requests(session, deps.settings.signing_key, milestone, ctx.user_id, people, now)
        text, blocks = views.request_message(milestone, ctx.user_id, reminder=False)
        owed: dict[int, str] = {}
        for user_id, request_id in service.request_ids(session, milestone_id, plan.to_ask).items():
            delivery_id = deliveries.owe(
                session, kind=REQUEST, recipient_id=user_id, subject=f"request:{request_id}", local_date=now.date(),
                now=now, op="post", target=user_id, payload={"text": text, "blocks": blocks},
                team_id=milestone.team_id, detail={"feedback_request_id": request_id})
            if delivery_id is not None:
                owed[delivery_id] = user_id
        if plan.to_ask:
            audit.record(session, milestone, ctx.user_id, "feedback.requested", detail={"asked": plan.to_ask})
    failed: list[tuple[str, str]] = []
    for result in outbox.deliver(deps, ctx.client, list(owed), now):
        if result.status == "failed":
            failed.append((owed[result.id], result.detail))
    with deps.session() as session:
        milestone = session.get_one(Milestone, milestone_id)
        report = views.request_report(milestone, plan, failed, unread, capped)
    ctx.reply(report)


def _request_sent(session: Session, delivery: Delivery, posted: Posted) -> None:
    request_id = (delivery.detail or {}).get("feedback_request_id")
    if request_id is not None:
        service.record_dm(session, int(request_id), posted.channel, posted.ts)


def _request_failed(session: Session, delivery: Delivery, _code: str) -> None:
    request_id = (delivery.detail or {}).get("feedback_request_id")
    if request_id is not None:
        service.forget_request(session, int(request_id))


outbox.register(REQUEST, on_sent=_request_sent, on_failed=_request_failed)


def post_to_channel(deps: Deps, ctx: CommandContext) -> None:
    """One "Give feedback" message in a channel (owed in the outbox; once a day per channel)."""
    args = ctx.args[1:]
    if not args or len(args) > 2:
        ctx.reply(f":warning: Which milestone, and which channel?\n{USAGE}")
        return
    named = mention_id(args[1]) if len(args) == 2 and args[1].startswith("<#") else None
    if len(args) == 2 and named is None:
        ctx.reply(f":warning: I couldn't read `{esc(args[1])}`: name the channel as #channel, picked from Slack's "
                  "suggestions.")
        return
    milestone_id = _owner_milestone(deps, ctx, args[0], "ask for feedback")
    now = utcnow()
    with deps.session() as session:
        milestone = session.get_one(Milestone, milestone_id)
        channel = named or milestone.report_channel_id
        if not channel:
            ctx.reply(f":warning: {esc(milestone.key)} has no report channel: name one, e.g. "
                      f"`/milestone feedback post {esc(milestone.key)} #beta-testers`.")
            return
        text, blocks = views.channel_post(milestone, ctx.user_id)
        # A post Slack refused today (the bot was not in the channel yet) may be tried again.
        session.execute(delete(Delivery).where(
            Delivery.kind == CHANNEL_POST, Delivery.recipient_id == channel, Delivery.local_date == now.date(),
            Delivery.subject == f"milestone:{milestone_id}", Delivery.status == DeliveryStatus.FAILED))
        owed = deliveries.owe(session, kind=CHANNEL_POST, recipient_id=channel, subject=f"milestone:{milestone_id}",
                              local_date=now.date(), now=now, op="post", target=channel,
                              payload={"text": text, "blocks": blocks}, team_id=milestone.team_id)
        if owed is not None:
            audit.record(session, milestone, ctx.user_id, "feedback.posted", detail={"channel": channel})
    if owed is None:
        ctx.reply(f"A *Give feedback* message for this milestone was already posted in <#{channel}> today.")
        return
    results = outbox.deliver(deps, ctx.client, [owed], now)
    code = next((r.detail for r in results if r.status == "failed"), None)
    if code == "not_in_channel":
        ctx.reply(f":warning: I'm not a member of <#{channel}>. Invite me with `/invite @Milestone Bot`, then "
                  "run the command again, or name another channel.")
    elif code:
        ctx.reply(f":warning: Slack refused the message in <#{channel}> ({esc(code)}).")
    else:
        ctx.reply(f":white_check_mark: Posted a *Give feedback* message in <#{channel}>: anyone there can answer.")


# ---- summary ----------------------------------------------------------------------------------------------


def show_summary(deps: Deps, ctx: CommandContext) -> None:
    if len(ctx.args) != 2:
        ctx.reply(f":warning: Which milestone? _e.g._ `/milestone feedback summary M-042`\n{USAGE}")
        return
    now = utcnow()
    milestone_id = _owner_milestone(deps, ctx, ctx.args[1], "see its feedback summary")
    with deps.session() as session:
        milestone = session.get_one(Milestone, milestone_id)
        metrics = service.metrics_for(session, milestone.id)
        counts = service.request_counts(session, deps.settings.signing_key, milestone)
        text, blocks = views.summary_blocks(milestone, metrics, counts, now)
    ctx.reply(text, blocks)
