"""The report's PDF beside its Markdown file in the summary's thread (called once from
bot.reports.listeners.publish)."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.reports.report import Report

log = logging.getLogger(__name__)


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
