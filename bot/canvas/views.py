"""Block Kit for canvases: the unfurl card of a report link, the message that shares a new canvas, and the
owner's DM about a refusal. Every piece of user text goes through `esc`, cut before escaping."""

from __future__ import annotations

from typing import Any

from bot.reports.report import Report
from bot.slack.text import channel as channel_ref
from bot.slack.text import esc, truncate

VIEW_REPORT_ACTION = "canvas_unfurl_view_report"
OPEN_CANVAS_ACTION = "canvas_open"


def _t(text: object, limit: int) -> str:
    return esc(truncate(str(text), limit))


def _actions_line(r: Report) -> str:
    open_items, overdue = len(r.open_actions), len(r.overdue_actions)
    if not open_items and not any(r.actions.values()) and not r.tech_debt:
        return "none"
    return (":warning: " if overdue else "") + f"{open_items} open · {overdue} overdue"


def unfurl_card(r: Report, url: str, *, link_revision: int, canvas_url: str | None = None) -> dict[str, Any]:
    """A pasted report link, unfurled: name, report state, sign-off progress, open and overdue actions, and
    "View report"; a link made for an older revision says so."""
    fields = [("Report", r.state), ("Milestone", r.status_label),
              ("Sign-off", r.signoff_progress.label + r.signed_outside_note), ("Actions", _actions_line(r))]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn",
                                     "text": f"*📊 {_t(r.key, 20)} · {_t(r.name, 200)}* — milestone report"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{label}*\n{_t(value, 300)}"}
                                       for label, value in fields]},
    ]
    if link_revision != r.revision:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f":hourglass: This link was made for revision {link_revision}; the report is at revision "
            f"{r.revision} now. The page shows the current report.")}]})
    buttons: list[dict[str, Any]] = [{"type": "button", "action_id": VIEW_REPORT_ACTION, "url": url,
                                      "text": {"type": "plain_text", "text": "View report"}}]
    if canvas_url:
        buttons.append({"type": "button", "action_id": OPEN_CANVAS_ACTION, "url": canvas_url,
                        "text": {"type": "plain_text", "text": "Open canvas"}})
    blocks.append({"type": "actions", "elements": buttons})
    return {"blocks": blocks}


def expired_card(key: str) -> dict[str, Any]:
    return {"blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": (
        f":lock: This {_t(key, 20)} report link has expired. `/milestone report {_t(key, 20)} preview` gives "
        "a fresh one.")}]}]}


def shared_message(key: str, name: str, link: str, placement: str | None) -> tuple[str, list[dict[str, Any]]]:
    where = ("It is this channel's canvas tab" if placement == "channel_tab"
             else "Everyone in this channel can read it")
    text = f"The {esc(key)} report now lives in a canvas, kept current by the bot: {link}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": (
            f":memo: *{_t(key, 20)} · {_t(name, 200)}* — the report now lives in a canvas, rewritten by the bot "
            f"after every change (at most once a minute). {where}; edits belong in "
            f"`/milestone edit {_t(key, 20)}`, since the bot's copy replaces the canvas.")}},
        {"type": "actions", "elements": [{"type": "button", "action_id": OPEN_CANVAS_ACTION, "url": link,
                                          "text": {"type": "plain_text", "text": "Open canvas"}}]},
    ]
    return text, blocks


_PROBLEMS = {
    "free_teams_cannot_create_standalone_canvases": (
        "this workspace is on Slack's free plan, where an app may only make a channel's own canvas, and {why}. "
        "To get one: {fix}, or move the workspace to a paid plan."),
    "channel_canvas_already_exists": (
        "this workspace is on Slack's free plan, where an app may only make a channel's own canvas, and {channel} "
        "already has one. To get one: give {key} a channel of its own (`/milestone edit {key} details`), then run "
        "`/milestone canvas {key}`, or move the workspace to a paid plan."),
    "free_teams_cannot_edit_standalone_canvases": (
        "the workspace moved to Slack's free plan, where the bot can no longer edit the canvas. It keeps its last "
        "version; `/milestone report {key}` posts the current report."),
    "canvas_too_large": (
        "the report is bigger than Slack allows in a canvas (1 MiB of text). The canvas keeps its last version; "
        "shorten long texts, or read the whole report with `/milestone report {key}`. The bot tries again after "
        "the next change."),
    "canvas_create_unconfirmed": (
        "Slack's answer to making the canvas was lost, so it may exist without the bot knowing it. Look for "
        "\"{key} · … — milestone report\" among your canvases and delete it if you find it, then run "
        "`/milestone canvas {key}` to make the one the bot keeps current. The bot will not try by itself, so "
        "that there is never a second canvas."),
    "canvas_not_found": (
        "the canvas was deleted in Slack. Run `/milestone canvas {key}` to make a new one."),
}
_FREE_NO_CHANNEL = ("{key} has no report channel", "set one with `/milestone edit {key} details` and run "
                    "`/milestone canvas {key}` again")
_FREE_SHARED = ("other milestones report to {channel} too, so its one canvas cannot be {key}'s",
                "give {key} a channel of its own (`/milestone edit {key} details`) and run `/milestone canvas {key}`")


def problem_dm(
    key: str, name: str, code: str, channel_id: str | None, tab_taken: bool
) -> tuple[str, list[dict[str, Any]]]:
    """Why a milestone has no (current) canvas, and what the owner can do about it."""
    k, where = _t(key, 20), channel_ref(channel_id) if channel_id else "its channel"
    if code.startswith("access_"):
        reason = (f"the canvas was made, but Slack would not let {where} read it ({esc(code[7:])}). Invite "
                  f"me to the channel and run `/milestone canvas {k}` again.")
    elif code == "free_teams_cannot_create_standalone_canvases":
        why, fix = _FREE_SHARED if tab_taken else _FREE_NO_CHANNEL
        reason = _PROBLEMS[code].format(why=why.format(key=k, channel=where), fix=fix.format(key=k, channel=where))
    elif code in _PROBLEMS:
        reason = _PROBLEMS[code].format(key=k, channel=where)
    else:
        reason = (f"Slack refused to write it ({esc(code)}). The bot tries again after the next change; "
                  f"`/milestone canvas {k}` tries now.")
    heading = f"*{k} · {_t(name, 200)}* has no up-to-date canvas: "
    text = f"{esc(key)}: no up-to-date canvas: {reason}"
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(heading + reason, 3000)}}]
