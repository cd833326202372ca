"""The report's summary message: what a channel sees above the full report file in the thread."""

from __future__ import annotations

from typing import Any

from bot.core.formats import day
from bot.reports.service import NOT_PROVIDED, Report, final_report_channel, fmt_num, fmt_signed
from bot.reports.summary import budget
from bot.slack.text import channel, esc, truncate, user
from models import Milestone

VIEW_REPORT_ACTION = "report_view_full"
SUMMARY_EXCERPT = 500  # characters of the executive summary shown in the message
SIGNED_OUTSIDE_SHOWN = 5  # signatures given outside Slack listed in the message


def _dates(r: Report) -> str:
    planned = r.planned_end.isoformat() if r.planned_end else "—"
    actual = r.actual_end.isoformat() if r.actual_end else "—"
    text = f"Planned end {planned} · actual end {actual}"
    if r.schedule_variance_days is not None:
        text += f"\nSchedule variance: {r.schedule_variance_label}"
    return text


def _actions(r: Report) -> str:
    open_items, overdue = len(r.open_actions), len(r.overdue_actions)
    if not open_items and not any(r.actions.values()) and not r.tech_debt:
        return NOT_PROVIDED
    text = f"{open_items} open · {overdue} overdue"
    return (":warning: " if overdue else "") + text


def _feedback(r: Report) -> str:
    m = r.feedback.metrics
    if not m.count:
        return "No responses yet"
    parts = [r.feedback.responses_label, f"satisfaction {fmt_num(m.avg_satisfaction)}/5", f"NPS {fmt_signed(m.nps)}"]
    if m.acceptance_rate is not None:
        parts.append(f"acceptance {fmt_num(m.acceptance_rate)}%")
    return " · ".join(parts)


def _signed_outside(r: Report) -> str:
    """The signatures an imported report recorded: shown as such, not approvals (the first few; the table in
    the full report has them all)."""
    shown = r.signed_outside[:SIGNED_OUTSIDE_SHOWN]
    lines = [f"• {esc(truncate(s.role, 64))} — {esc(truncate(s.name, 120))} · {esc(s.signature)} · {esc(s.date_label)}"
             for s in shown]
    more = len(r.signed_outside) - len(shown)
    if more > 0:
        lines.append(f"…and {more} more in the full report")
    return truncate("*✍️ Signed outside Slack* (recorded in the imported report; not counted as approvals)\n"
                    + "\n".join(lines), 3000)


def accepted_on(r: Report) -> str:
    """"accepted on Mon 2 Mar 2026 at revision 7" (the final report's banner says it with a capital and a tick)."""
    return f"accepted on {day(r.accepted_at)} at revision {r.accepted_revision or r.revision}"


def summary(
    r: Report, link: str | None, *, posted_by: str | None = None, posted_for: str | None = None,
    final: bool = False, preview_for: str | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks). Every user-typed value is escaped; lengths are cut to Slack's limits.

    `final`: the post the bot makes on the owner's behalf (`posted_for`) when the milestone is accepted,
    with the accepted state as its banner."""
    title = f"{'✅ Final report' if final else '📊 Milestone report'}: {r.key} · {r.name}"
    text = f"{'Final milestone report' if final else 'Milestone report'} {esc(r.key)}: {esc(r.name)}"
    if final:
        text += f" — {accepted_on(r)}"
    blocks: list[dict[str, Any]] = []
    if preview_for:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(
            f":eyes: Preview, only you can see it. `/milestone report {esc(r.key)}` posts it to "
            f"{preview_for} with the full report in the thread.", 3000)}]})
    blocks.append({"type": "header", "text": {"type": "plain_text", "text": truncate(esc(title), 150)}})
    if final:
        banner = accepted_on(r)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text":
                       f"*✅ {banner[:1].upper()}{banner[1:]}* — every required approver has signed off."}})
    fields = [
        ("Status", r.status_label),
        ("Report", r.signoff_progress.state_label),
        ("Version", f"{r.version_label} · revision {r.revision}"),
        ("Dates", _dates(r)),
        ("Success criteria", r.criteria_summary.label),
        ("Deliverables", r.deliverables_label),
        ("Budget", budget(r).value),
        ("Sign-off", r.signoff_progress.label + r.signed_outside_note),
        ("Action items", _actions(r)),
        ("Feedback", _feedback(r)),
    ]
    blocks.append({"type": "section", "fields": [
        {"type": "mrkdwn", "text": truncate(f"*{label}*\n{esc(value)}", 2000)} for label, value in fields
    ]})
    if r.executive_summary:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": truncate(
            "*Executive summary*\n" + esc(truncate(r.executive_summary, SUMMARY_EXCERPT)), 3000)}})
    if r.overdue_actions:
        lines = [f"• {esc(truncate(a.description, 120))} — {esc(a.owner)}, due {a.due}" for a in r.overdue_actions[:5]]
        more = len(r.overdue_actions) - 5
        if more > 0:
            lines.append(f"…and {more} more in the full report")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": truncate(
            "*Overdue actions*\n" + "\n".join(lines), 3000)}})
    if r.signed_outside:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _signed_outside(r)}})
    if link:
        blocks.append({"type": "actions", "block_id": "report_links", "elements": [{
            "type": "button", "action_id": VIEW_REPORT_ACTION, "url": link, "style": "primary",
            "text": {"type": "plain_text", "text": "View full report"},
        }]})
    context = "The full report is in this message's thread as a Markdown file."
    if posted_by:
        context = f"Posted by {user(posted_by)} · " + context
    if posted_for:
        context = f"Posted for {user(posted_for)} · " + context
    if preview_for:
        context = "When posted, the full report goes into the message's thread as a Markdown file."
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return text, blocks


def final_withdrawn(r: Report, withdrawn_at: int, posted_for: str) -> tuple[str, list[dict[str, Any]]]:
    """The final report's post once its acceptance is withdrawn (an edit of substance, a role added): edited in
    place to say so, until the milestone is accepted again and the post shows the new revision."""
    line = f"Acceptance withdrawn at revision {withdrawn_at} — the report is being reviewed again"
    text = f"Final milestone report {esc(r.key)}: {esc(r.name)}. {line}."
    fields = [("Status", r.status_label), ("Report", r.signoff_progress.state_label),
              ("Sign-off", r.signoff_progress.label)]
    accepted = f" The files in this thread are of revision {r.accepted_revision}, the one accepted then." \
        if r.accepted_revision else ""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(esc(f"Final report: {r.key} · {r.name}"),
                                                                           150)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f":warning: *{line}.* The sign-off status message "
                                     "in this channel shows where it stands; this post is updated when the "
                                     "milestone is accepted again."}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": truncate(f"*{label}*\n{esc(value)}", 2000)} for label, value in fields]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Posted for {user(posted_for)}.{accepted}"}]},
    ]
    return text, blocks


def final_report_note(milestone: Milestone) -> str | None:
    """For the owner's acceptance DM: what happens to the final report in the channel (their checkbox)."""
    where = final_report_channel(milestone)
    if not where:
        return None
    edit = f"`/milestone edit {esc(milestone.key)} details`"
    if not milestone.post_final_report:
        return f"The final report is not posted to {channel(where)}: that is turned off in the details ({edit})."
    return (f"The final report is posted for you in {channel(where)}, with the full report in its thread: one "
            f"post, updated if the milestone is accepted again. You can turn it off in the details ({edit}).")
