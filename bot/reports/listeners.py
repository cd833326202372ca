"""`/milestone report <ID> [#channel] [preview]`, the report's buttons, and the final report's files after an
acceptance.

Posting: a summary message in the channel (bot.reports.views), then the full Markdown report as a file in
that message's thread (files_upload_v2), then a ReportPost record. The HTML page is linked from the
summary's button with a signed, expiring link served by bot.reports.pages. The final report, posted for
the owner when the milestone is accepted, goes through the outbox instead (bot.reports.flows_final).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core import audit
from bot.core.access import ensure_can_edit, get_by_key
from bot.core.errors import DomainError, InvalidInput, NotFound
from bot.deps import Deps
from bot.milestones.views import POST_REPORT, PREVIEW_REPORT, MilestoneRef
from bot.reports import flows_final, views
from bot.reports.flows import attach_pdf, compile_report
from bot.reports.links import report_url
from bot.reports.rendering import render_markdown
from bot.reports.service import Report
from bot.settings import Settings
from bot.slack.forms import modal
from bot.slack.notifier import DeliveryError, Notifier
from bot.slack.permissions import admin_flag, load_milestone
from bot.slack.replies import open_or_push, team_of, tell
from bot.slack.router import CommandContext, mention_id
from bot.slack.text import channel as channel_ref
from bot.slack.text import esc
from models import Milestone, ReportPost, utcnow

log = logging.getLogger(__name__)
PREVIEW_ACTION = PREVIEW_REPORT  # button, value: MilestoneRef (App Home, show)
POST_ACTION = POST_REPORT  # button, value: MilestoneRef, after a confirmation
PREVIEW_CALLBACK = "report_preview_modal"
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
    return report_url(settings, report.milestone_id, report.revision, now or utcnow())


def publish(client: WebClient, deps: Deps, report: Report, markdown: str, channel: str, *, posted_by: str) -> Published:
    """Summary message, then the Markdown file in its thread, then the record. Raises NotPosted."""
    text, blocks = views.summary(report, report_link(deps.settings, report), posted_by=posted_by)
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
        audit.record(session, milestone, posted_by, "report.posted",
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


def report_command(deps: Deps, ctx: CommandContext) -> None:
    key, channel_arg, preview = _parse(ctx.args)
    ctx.ack_now()  # loading and rendering can take longer than Slack's 3 seconds
    with deps.session() as session:
        milestone_id = get_by_key(session, ctx.team_id, key).id
    is_admin = False if preview else admin_flag(deps, ctx.client, ctx.team_id, ctx.user_id, milestone_id)
    with deps.session() as session:
        milestone = get_by_key(session, ctx.team_id, key)
        channel = channel_arg or milestone.report_channel_id
        if not preview:
            ensure_can_edit(session, milestone, ctx.user_id, is_admin=is_admin)
            if not channel:
                raise InvalidInput({"channel": (
                    f"{milestone.key} has no report channel yet. Post it with "
                    f"`/milestone report {milestone.key} #channel`, or set one with "
                    f"`/milestone edit {milestone.key}`.")})
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


def view_report_clicked(ack: Ack) -> None:
    ack()  # a link button: Slack opens the URL; the click only needs an answer


def _clicked_milestone(body: dict[str, Any]) -> int:
    return MilestoneRef.unpack((body.get("actions") or [{}])[0].get("value")).milestone


def preview_clicked(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """"Preview report" (App Home, `show`): the summary and the report link in a modal, only to the clicker."""
    ack()
    try:
        milestone_id = _clicked_milestone(body)
        with deps.session() as session:
            milestone = load_milestone(session, team_of(body), milestone_id)
            channel = milestone.report_channel_id
    except DomainError as error:
        tell(client, body, f":warning: {error}")
        return
    report = compile_report(deps, client, milestone_id)
    where = _channel_text(channel) if channel else "a channel you name (`#channel`)"
    _text, blocks = views.summary(report, report_link(deps.settings, report), preview_for=where)
    open_or_push(client, body, modal(PREVIEW_CALLBACK, "Report preview", blocks, submit=None, close="Close"))


def post_clicked(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """"Post report" (App Home, `show`, after a confirmation): as `/milestone report <ID>`, told to the clicker."""
    ack()
    user_id, team_id = body["user"]["id"], team_of(body)
    try:
        milestone_id = _clicked_milestone(body)
        is_admin = admin_flag(deps, client, team_id, user_id, milestone_id)
        with deps.session() as session:
            milestone = load_milestone(session, team_id, milestone_id)
            ensure_can_edit(session, milestone, user_id, is_admin=is_admin)
            channel = milestone.report_channel_id
            if not channel:
                raise NotFound(f"{milestone.key} has no report channel yet. Post it with "
                               f"`/milestone report {milestone.key} #channel`.")
        report = compile_report(deps, client, milestone_id)
        published = publish(client, deps, report, render_markdown(report), channel, posted_by=user_id)
    except DomainError as error:
        tell(client, body, f":warning: {error}")
        return
    tell(client, body, f":white_check_mark: Posted the {esc(report.key)} report (revision {report.revision}) to "
                       f"{channel_ref(published.channel)}.")


def final_report_files(deps: Deps, client: WebClient, milestone_id: int, actor_id: str) -> None:
    """After an acceptance was delivered: the final report's files in its post's thread (deps.on_accepted)."""
    flows_final.send_owed_files(deps, client, milestone_id)


def register(app: App, deps: Deps) -> None:
    deps.router.add(
        "report",
        partial(report_command, deps),
        summary="Post the compiled report to the milestone's channel (or preview it, only to you)",
        usages=[("report <ID>", "report M-042"), ("report <ID> #channel", "report M-042 #releases"),
                ("report <ID> preview", "report M-042 preview")],
        order=60,
    )
    app.action(views.VIEW_REPORT_ACTION)(view_report_clicked)
    app.action(PREVIEW_ACTION)(partial(preview_clicked, deps))
    app.action(POST_ACTION)(partial(post_clicked, deps))
    deps.on_accepted.append(partial(final_report_files, deps))

