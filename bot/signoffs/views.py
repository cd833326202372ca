"""Block Kit for sign-off: the approver's DM, the decision modal, the channel status message, Home, reminders."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from bot.signoffs.service import SlotStatus, decision_fields
from bot.signoffs.service import section_titles as service_section_titles
from bot.slack.forms import Block, field_blocks, modal, plain
from bot.slack.text import esc, truncate, user
from models import Decision, Milestone, SignOff, Status, Version

DECISION_MODAL = "signoff_decision"
CONFIRM_REQUEST = "signoff_confirm_request"
CANCEL_REQUEST = "signoff_cancel_request"
# Button action id → decision.
DECISION_ACTIONS = {
    "signoff_approve": Decision.APPROVED.value,
    "signoff_approve_conditions": Decision.APPROVED_WITH_CONDITIONS.value,
    "signoff_reject": Decision.REJECTED.value,
}
_MODAL_TITLES = {
    Decision.APPROVED.value: ("Approve", "Approve"),
    Decision.APPROVED_WITH_CONDITIONS.value: ("Approve with conditions", "Approve"),
    Decision.REJECTED.value: ("Reject", "Reject"),
}
MAX_LISTED = 20  # requests listed in one Home section or reminder (2 blocks each, under Slack's 50/100)


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, 3000)}]}


def _day(moment: datetime | date | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment else "—"


def _title(milestone: Milestone) -> str:
    return f"{esc(milestone.key)} — {esc(milestone.name)}"


def section_titles(sections: list[str]) -> str:
    """Section keys → "Executive summary, Risks" (escaped)."""
    return ", ".join(esc(title) for title in service_section_titles(sections)) or "the report"


def decision_buttons(request_id: int, block_id: str | None = None) -> Block:
    value = str(request_id)
    return {
        "type": "actions",
        "block_id": block_id or f"signoff_buttons_{request_id}",
        "elements": [
            {"type": "button", "action_id": "signoff_approve", "text": plain("Approve"), "style": "primary",
             "value": value},
            {"type": "button", "action_id": "signoff_approve_conditions", "text": plain("Approve with conditions"),
             "value": value},
            {"type": "button", "action_id": "signoff_reject", "text": plain("Reject"), "style": "danger",
             "value": value},
        ],
    }


def _label(choices: type[Version] | type[Status], value: str) -> str:
    try:
        return choices(value).label
    except ValueError:
        return value


def _summary_lines(milestone: Milestone) -> list[str]:
    version = _label(Version, milestone.version)
    status = _label(Status, milestone.status)
    start = _day(milestone.actual_start or milestone.planned_start)
    end = _day(milestone.actual_end or milestone.planned_end)
    lines = [f"*Version* {esc(version)}  ·  *Status* {esc(status)}  ·  *Dates* {start} → {end}  ·  "
             f"*Owner* {user(milestone.owner_id)}"]
    if milestone.executive_summary:
        lines.append(f">{esc(truncate(milestone.executive_summary.strip(), 600))}".replace("\n", "\n>"))
    return lines


def request_dm(
    milestone: Milestone, role: str, request_id: int, revision: int, *, changed: list[str] | None = None,
    empty: list[str] | None = None, holder: str | None = None,
) -> tuple[str, list[Block]]:
    """The approver's request: what to sign, a summary, and the three buttons."""
    if changed is not None:
        intro = (f":arrows_counterclockwise: *{_title(milestone)}* changed after you signed "
                 f"({section_titles(changed)}). Your sign-off as *{esc(role)}* is outdated; please review "
                 f"revision {revision} and sign again.")
    else:
        intro = f":memo: You are asked to sign off *{_title(milestone)}* as *{esc(role)}* (revision {revision})."
    if holder:
        intro += f"\nYou sign as delegate of {user(holder)}."
    text = f"Sign-off requested: {milestone.key} as {role}"
    blocks: list[Block] = [_section(intro), _section("\n".join(_summary_lines(milestone)))]
    if empty:
        blocks.append(_context(f":warning: Empty sections: {esc(', '.join(empty))}"))
    blocks.append(_context(f"Full report: `/milestone report {esc(milestone.key)}` · "
                           f"who signed so far: `/milestone signoffs {esc(milestone.key)}`"))
    blocks.append(decision_buttons(request_id))
    return text, blocks


def decided_dm(milestone: Milestone, signoff: SignOff, open_conditions: int = 0) -> tuple[str, list[Block]]:
    """The request DM after the decision: no buttons left to press."""
    label = Decision(signoff.decision).label
    lines = [f"{esc(label)} — *{_title(milestone)}* as *{esc(signoff.role)}* by {user(signoff.approver_id)} "
             f"on {_day(signoff.decided_at)} (revision {signoff.revision})."]
    if signoff.conditions:
        lines.append("*Conditions* (action items for the owner):\n" + "\n".join(
            f"• {esc(c)}" for c in signoff.conditions.splitlines()))
    if signoff.reason:
        lines.append(f"*Reason:* {esc(signoff.reason)}")
    if signoff.comments:
        lines.append(f"*Comments:* {esc(signoff.comments)}")
    return f"You signed {milestone.key}: {label}", [_section("\n".join(lines))]


def withdrawn_dm(milestone: Milestone, role: str, note: str) -> tuple[str, list[Block]]:
    text = f"Sign-off request withdrawn: {milestone.key} as {role}"
    return text, [_section(f":no_entry_sign: This request to sign *{_title(milestone)}* as *{esc(role)}* was "
                           f"withdrawn: {note} Nothing else is needed from you.")]


def superseded_dm() -> tuple[str, list[Block]]:
    text = "Superseded sign-off request"
    return text, [_section(":arrows_counterclockwise: The report changed; a newer request replaces this one.")]


def decision_modal(
    milestone: Milestone, role: str, request_id: int, decision: str, revision: int, *,
    initial: dict[str, Any] | None = None, notice: str | None = None, default_due: date | None = None,
) -> dict[str, Any]:
    title, submit = _MODAL_TITLES[decision]
    initial = dict(initial or {})
    if default_due and not initial.get("due_date"):
        initial["due_date"] = default_due
    blocks: list[Block] = []
    if notice:
        blocks.append(_section(f":warning: {notice}"))
    blocks.append(_section(f"*{_title(milestone)}* — signing as *{esc(role)}*, revision {revision}."))
    blocks.extend(field_blocks(decision_fields(decision), initial))
    meta = json.dumps({"r": request_id, "d": decision, "v": revision})
    return modal(DECISION_MODAL, title, blocks, submit=submit, private_metadata=meta)


_STATE = {
    "approved": "✅ Approved",
    "conditional": "⚠️ Approved with conditions — *conditional*",
    "rejected": "❌ Rejected",
}


def _slot_line(status: SlotStatus) -> str:
    slot = status.slot
    who = user(slot.approver_id) + (f" (delegate {user(slot.delegate_id)})" if slot.delegate_id else "")
    head = f"*{esc(slot.role)}*{'' if slot.required else ' _(optional)_'} · {who}"
    current = status.current
    if current is not None:
        state = _STATE[status.state]
        if status.state == "conditional":
            state += f" ({status.open_conditions} of {status.conditions_total} conditions open)"
        elif current.decision == Decision.APPROVED_WITH_CONDITIONS:
            state = "✅ Approved (conditions met)"
        signer = f" by {user(current.approver_id)}" if current.approver_id != slot.approver_id else ""
        line = f"{head} · {state}{signer} · {_day(current.decided_at)} · rev {current.revision}"
        if current.reason:
            line += f"\n      _Reason:_ {esc(truncate(current.reason, 300))}"
        return line
    if status.outdated is not None:
        old = Decision(status.outdated.decision).label
        return f"{head} · 🔄 Outdated ({esc(old)} on rev {status.outdated.revision}) — asked again"
    if status.asked_at is not None:
        return f"{head} · ⏳ Waiting since {_day(status.asked_at)}"
    return f"{head} · ⏳ Not requested yet"


def status_blocks(milestone: Milestone, statuses: list[SlotStatus]) -> tuple[str, list[Block]]:
    """The one status message of a milestone's sign-off (also the `/milestone signoffs` matrix)."""
    required = [s for s in statuses if s.slot.required]
    approved = sum(1 for s in required if s.state in ("approved", "conditional"))
    if milestone.accepted_at is not None:
        overall = f":white_check_mark: *Accepted* on {_day(milestone.accepted_at)} (revision {milestone.revision})."
    elif any(s.state == "rejected" for s in statuses):
        overall = f"❌ Rejected by at least one role · {approved} of {len(required)} required roles approved."
    else:
        overall = f"{approved} of {len(required)} required roles approved · revision {milestone.revision}."
    text = f"Sign-off {milestone.key}: {overall}"
    blocks: list[Block] = [
        {"type": "header", "text": plain(f"Sign-off · {milestone.key} {milestone.name}", 150)},
        _section(overall),
    ]
    lines = [_slot_line(s) for s in statuses] or ["No approvers yet."]
    for start in range(0, min(len(lines), 400), 10):
        blocks.append(_section("\n".join(lines[start : start + 10])))
    return text, blocks[:50]


def accepted_notice(milestone: Milestone) -> str:
    return (f":tada: *{_title(milestone)}* is accepted: every required role approved revision "
            f"{milestone.revision}.")


def completeness_prompt(milestone: Milestone, empty: list[str]) -> tuple[str, list[Block]]:
    listed = "\n".join(f"• {esc(t)}" for t in empty[:40])
    if len(empty) > 40:
        listed += f"\n…and {len(empty) - 40} more"
    text = f"{milestone.key} has {len(empty)} empty section(s). Request sign-off anyway?"
    blocks = [
        _section(f":warning: *{_title(milestone)}* has {len(empty)} empty section(s):\n{listed}"),
        _context(f"Fill them with `/milestone edit {esc(milestone.key)}`, or ask for sign-off as it is."),
        {
            "type": "actions",
            "block_id": "signoff_confirm",
            "elements": [
                {"type": "button", "action_id": CONFIRM_REQUEST, "style": "primary", "value": str(milestone.id),
                 "text": plain("Request sign-off anyway")},
                {"type": "button", "action_id": CANCEL_REQUEST, "value": str(milestone.id),
                 "text": plain("Go back and fill them")},
            ],
        },
    ]
    return text, blocks


def _pending_item(milestone: Milestone, role: str, request_id: int, asked: datetime, revision: int) -> list[Block]:
    return [
        _section(f"*{_title(milestone)}* — sign as *{esc(role)}* · asked {_day(asked)} (revision {revision})"),
        decision_buttons(request_id),
    ]


def home_section(items: list[tuple[Milestone, str, int, datetime, int]]) -> list[Block]:
    """App Home: "Waiting for my sign-off", with the buttons. Empty when nothing waits."""
    if not items:
        return []
    blocks: list[Block] = [{"type": "header", "text": plain("Waiting for my sign-off", 150)}]
    for milestone, role, request_id, asked, revision in items[:MAX_LISTED]:
        blocks.extend(_pending_item(milestone, role, request_id, asked, revision))
    if len(items) > MAX_LISTED:
        blocks.append(_context(f"…and {len(items) - MAX_LISTED} more."))
    return blocks


def reminder_dm(items: list[tuple[Milestone, str, int, datetime, int]]) -> tuple[str, list[Block]]:
    count = len(items)
    text = f"Reminder: {count} sign-off request(s) wait for you"
    blocks: list[Block] = [_section(f":hourglass_flowing_sand: *{count} sign-off request(s) wait for you.* "
                                    "The team cannot close the milestone until every role has signed.")]
    for milestone, role, request_id, asked, revision in items[:MAX_LISTED]:
        blocks.extend(_pending_item(milestone, role, request_id, asked, revision))
    if count > MAX_LISTED:
        blocks.append(_context(f"…and {count - MAX_LISTED} more: see the App Home tab."))
    return text, blocks
