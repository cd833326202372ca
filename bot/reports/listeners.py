"""`/milestone report <ID> [#channel] [preview]`, and the final report posted when a milestone is accepted.

Posting: a summary message in the channel (bot.reports.views), then the full Markdown report as a file in
that message's thread (files_upload_v2), then a ReportPost record. The HTML page is linked from the
summary's button with a signed, expiring link served by bot.reports.pages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core import audit, deliveries
from bot.core.access import get_by_key
from bot.core.errors import DomainError, InvalidInput
from bot.deps import Deps
from bot.reports import views
from bot.reports.flows import attach_pdf
from bot.reports.rendering import render_markdown
from bot.reports.service import Report, load_report, sign_link
from bot.settings import Settings
from bot.slack import outbox
from bot.slack.notifier import DeliveryError, Notifier
from bot.slack.permissions import ensure_editor
from bot.slack.router import CommandContext, mention_id
from bot.slack.text import channel as channel_ref
from bot.slack.text import esc
from bot.slack.users import fetch_user, store_profile
from models import Milestone, ReportPost, utcnow

log = logging.getLogger(__name__)
FINAL_REPORT = "final_report"
# users.info look-ups per report for people whose names are not cached (the rest show as ids).
MAX_NAME_LOOKUPS = 30
USAGE = "Usage: `/milestone report M-042` · `/milestone report M-042 #channel` · `/milestone report M-042 preview`"
# Slack's answers that mean "the bot cannot post there" and what the person can do about it.
CHANNEL_ERRORS = {
    "not_in_channel": "I'm not a member of {channel}. Invite me there with `/invite @Milestone Bot`, then run "
                      "`{command}` again.",
    "channel_not_found": "I can't see {channel}. If it is private, invite me with `/invite @Milestone Bot` in it, "
                         "then run `{command}` again.",
    "is_archived": "{channel} is archived. Pick another channel: `/milestone report {key} #channel`.",
}


class NotPosted(DomainError):
    """Slack refused the summary message; nothing was posted."""


@dataclass(frozen=True)
class Published:
    channel: str
    ts: str
    file_id: str | None
    file_error: str | None


def report_link(settings: Settings, report: Report, now: datetime | None = None) -> str:
    token = sign_link(settings.signing_key, report.milestone_id, report.revision, now=now or utcnow(),
                      ttl_hours=settings.report_link_ttl_hours)
    return f"{settings.public_base_url}/reports/{token}"


def compile_report(deps: Deps, client: WebClient, milestone_id: int) -> Report:
    """The report, after filling the name cache for the people it names (bounded).

    Names are fetched from Slack between two short transactions, so no database lock (on SQLite, the
    write lock) is held while users.info answers.
    """
    with deps.session() as session:
        report = load_report(session, milestone_id)
    if not report.unknown_users:
        return report
    fetched = {user_id: fetch_user(client, user_id) for user_id in sorted(report.unknown_users)[:MAX_NAME_LOOKUPS]}
    with deps.session() as session:
        for user_id, user in fetched.items():
            store_profile(session, user_id, user)
        return load_report(session, milestone_id)


def publish(
    client: WebClient, deps: Deps, report: Report, markdown: str, channel: str, *, posted_by: str, final: bool = False
) -> Published:
    """Summary message, then the Markdown file in its thread, then the record. Raises NotPosted."""
    text, blocks = views.summary(report, report_link(deps.settings, report), posted_by=posted_by, final=final)
    try:
        posted = Notifier(client).post(channel, text, blocks)
    except DeliveryError as error:
        template = CHANNEL_ERRORS.get(error.code)
        command = f"/milestone report {report.key}"
        if template is None:
            raise NotPosted(f"Slack refused the report message ({error.code}); nothing was posted.") from error
        raise NotPosted(template.format(channel=_channel_text(channel), command=command, key=report.key)) from error
    file_id = file_error = None
    try:
        response = client.files_upload_v2(
            channel=posted.channel, thread_ts=posted.ts, content=markdown,
            filename=f"{report.key}-report-rev{report.revision}.md",
            title=f"{report.key} {report.name} — report, revision {report.revision}",
        )
        files = response.get("files") or [response.get("file") or {}]
        file_id = files[0].get("id")
    except SlackApiError as error:  # the summary is out; say the file failed rather than post twice
        file_error = str(error.response.get("error") or error)
        log.warning("report file upload for %s failed: %s", report.key, file_error)
    attach_pdf(client, posted.channel, posted.ts, report)  # the PDF beside the Markdown file (bot.reports.flows)
    with deps.session() as session:
        milestone = session.get(Milestone, report.milestone_id)
        session.add(ReportPost(milestone_id=report.milestone_id, posted_by=posted_by, channel_id=posted.channel,
                               revision=report.revision, message_ts=posted.ts, file_id=file_id))
        audit.record(session, milestone, posted_by, "report.final_posted" if final else "report.posted",
                     detail={"channel": posted.channel, "ts": posted.ts, "file_id": file_id,
                             "revision": report.revision, "file_error": file_error})
    return Published(posted.channel, posted.ts, file_id, file_error)


def _channel_text(channel: str) -> str:
    return channel_ref(channel) if channel[:1] in "CG" else esc(channel)


def _parse(args: list[str]) -> tuple[str, str | None, bool]:
    """`M-042 [#channel] [preview]` in any order after the ID."""
    if not args:
        raise InvalidInput({"args": USAGE})
    key, channel, preview = args[0], None, False
    for token in args[1:]:
        if token.lower() == "preview":
            preview = True
        elif mention_id(token) and token.startswith("<#"):
            channel = mention_id(token)
        elif token.startswith("#") and len(token) > 1:
            channel = token  # an unescaped channel name; chat.postMessage accepts it
        else:
            raise InvalidInput({"args": f"I don't understand `{esc(token)}`. {USAGE}"})
    return key, channel, preview


def register(app: App, deps: Deps) -> None:
    def report_command(ctx: CommandContext) -> None:
        key, channel_arg, preview = _parse(ctx.args)
        ctx.ack_now()  # loading and rendering can take longer than Slack's 3 seconds
        with deps.session() as session:
            milestone = get_by_key(session, ctx.team_id, key)
            channel = channel_arg or milestone.report_channel_id
            if not preview:
                ensure_editor(session, ctx.client, milestone, ctx.user_id)
                if not channel:
                    raise InvalidInput({"channel": (
                        f"{milestone.key} has no report channel yet. Post it with "
                        f"`/milestone report {milestone.key} #channel`, or set one with "
                        f"`/milestone edit {milestone.key}`.")})
            milestone_id = milestone.id
        report = compile_report(deps, ctx.client, milestone_id)
        markdown = "" if preview else render_markdown(report)
        if preview or not channel:
            where = _channel_text(channel) if channel else "a channel you name (`#channel`)"
            text, blocks = views.summary(report, report_link(deps.settings, report), preview_for=where)
            ctx.reply(text, blocks)
            return
        published = publish(ctx.client, deps, report, markdown, channel, posted_by=ctx.user_id)
        answer = (f":white_check_mark: Posted the {esc(report.key)} report (revision {report.revision}) to "
                  f"{channel_ref(published.channel)}, with the full report in the thread.")
        if published.file_error:
            answer = (f":warning: Posted the {esc(report.key)} summary to {channel_ref(published.channel)}, but "
                      f"Slack refused the report file ({esc(published.file_error)}). The summary's button links "
                      "to the full report.")
        ctx.reply(answer)

    deps.router.add(
        "report",
        report_command,
        summary="Post the compiled report to the milestone's channel (or preview it, only to you)",
        usages=[("report <ID>", "report M-042"), ("report <ID> #channel", "report M-042 #releases"),
                ("report <ID> preview", "report M-042 preview")],
        order=60,
    )

    @app.action(views.VIEW_REPORT_ACTION)
    def view_report_clicked(ack: Ack) -> None:
        ack()  # a link button: Slack opens the URL; the click only needs an answer

    def post_final_report(client: WebClient, milestone_id: int, actor_id: str) -> None:
        """After the last required approval: the final report, once per revision, in the milestone's channel."""
        now = utcnow()
        with deps.session() as session:
            milestone = session.get(Milestone, milestone_id)
            if milestone is None or not milestone.report_channel_id:
                log.info("milestone %s accepted; no report channel, so no final report posted", milestone_id)
                return
            channel = milestone.report_channel_id
            owed = deliveries.owe(session, kind=FINAL_REPORT, recipient_id=channel,
                                  subject=f"milestone:{milestone_id}:rev{milestone.revision}",
                                  local_date=now.date(), now=now, op="report", target=channel, payload={})
            delivery = deliveries.claim(session, owed, now) if owed is not None else None
            if delivery is None:
                return  # already posted (or being posted) for this revision
        # The claim is committed before any Slack call, as bot.core.deliveries prescribes.
        try:
            report = compile_report(deps, client, milestone_id)
            markdown = render_markdown(report)
        except Exception as error:
            with deps.session() as session:
                deliveries.mark_failed(session, delivery.id, f"report could not be compiled: {error}")
            raise
        try:
            published = publish(client, deps, report, markdown, channel, posted_by=actor_id, final=True)
        except NotPosted as error:
            log.warning("final report for %s not posted: %s", report.key, error)
            with deps.session() as session:
                deliveries.mark_failed(session, delivery.id, str(error))
            return
        with deps.session() as session:
            deliveries.mark_sent(session, delivery.id, channel=published.channel, ts=published.ts, now=utcnow())

    deps.on_accepted.append(post_final_report)


# A final report is published in several calls (summary, then the file); one whose sender died is left for
# the owner to post again rather than half-posted twice.
outbox.register(FINAL_REPORT, render=lambda _session, _delivery: None)

