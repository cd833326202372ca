"""The compiled report: everything a milestone's report shows, loaded in a fixed number of SQL statements,
with the arithmetic the template leaves to the reader already done.

This module is the report's front door; the work is split by concern:
- bot.reports.loading: `load_report(session, milestone_id)` and `find_milestone` (the SQL and the builders);
- bot.reports.data: the `Report` dataclasses, figures both as numbers and as display labels;
- bot.reports.formatting: numbers, days and dates as every output shows them (amounts: bot.core.formats.money,
  in the milestone's currency);
- bot.reports.outline: the report's outline, declared once; bot.reports.document binds it to a Report;
- bot.reports.links: signed, expiring links to the HTML page (`sign_link` / `verify_link`).
"""

from __future__ import annotations

from bot.reports.data import ActionRow, SignoffRow
from bot.reports.formatting import (
    NOT_PROVIDED,
    fmt_date,
    fmt_days,
    fmt_num,
    fmt_pct,
    fmt_signed,
    percent,
)
from bot.reports.links import LinkExpired, LinkInvalid, LinkTarget, report_url, sign_link, verify_link
from bot.reports.loading import find_milestone, load_report
from bot.reports.report import Report
from models import Milestone


def final_report_channel(milestone: Milestone) -> str | None:
    """Where the final report goes: where it already is, else the report channel, else the status message's."""
    return milestone.final_report_channel or milestone.report_channel_id or milestone.signoff_status_channel


__all__ = [
    "NOT_PROVIDED",
    "ActionRow",
    "LinkExpired",
    "LinkInvalid",
    "LinkTarget",
    "Report",
    "SignoffRow",
    "final_report_channel",
    "find_milestone",
    "fmt_date",
    "fmt_days",
    "fmt_num",
    "fmt_pct",
    "fmt_signed",
    "load_report",
    "percent",
    "report_url",
    "sign_link",
    "verify_link",
]
