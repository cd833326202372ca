"""Report orchestration shared by the report's posts: the names the report needs, cached from Slack first, and
the report's PDF beside its Markdown file in the summary's thread."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.reports.report import Report
from bot.reports.service import load_report
from bot.slack.users import fetch_user, store_profile

log = logging.getLogger(__name__)

# users.info look-ups per report for people whose names are not cached (the rest show as ids).
MAX_NAME_LOOKUPS = 30


def compile_report(deps: Deps, client: WebClient, milestone_id: int) -> Report:
    """The report, after filling the name cache for the people it names (bounded).

    Names are fetched from Slack between two short transactions, so no database lock (on SQLite, the
    write lock) is held while users.info answers.
    """
    with deps.read() as session:
        report = load_report(session, milestone_id)
    if not report.unknown_users:
        return report
    fetched = {user_id: fetch_user(client, user_id) for user_id in sorted(report.unknown_users)[:MAX_NAME_LOOKUPS]}
    with deps.session() as session:
        for user_id, user in fetched.items():
            store_profile(session, user_id, user)
        return load_report(session, milestone_id)


def attach_pdf(client: WebClient, channel: str, thread_ts: str, report: Report) -> str | None:
    """Upload the report as a PDF into the thread; its file id, or None when it could not be made or
    uploaded (logged: the summary and the Markdown file are already there, so nothing is retried)."""
    try:
        from bot.reports.pdf import render_pdf

        pdf = render_pdf(report)
    except OSError as error:  # WeasyPrint's system libraries missing
        log.warning("report PDF for %s not rendered: %s", report.key, error)
        return None
    try:
        response = client.files_upload_v2(
            channel=channel, thread_ts=thread_ts, content=pdf,
            filename=f"{report.key}-report-rev{report.revision}.pdf",
            title=f"{report.key} {report.name} — report (PDF), revision {report.revision}",
        )
    except SlackApiError as error:
        log.warning("report PDF upload for %s failed: %s", report.key, error.response.get("error") or error)
        return None
    files = response.get("files") or [response.get("file") or {}]
    return files[0].get("id")
