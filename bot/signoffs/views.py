"""Block Kit for sign-off: the approver's DM, the decision modal, the channel status message, the owner's DMs,
the completeness check, Home and reminders. Every piece of user text goes through `esc`; every button value
and private_metadata is a signed payload (below)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from bot.milestones.views import OPEN_SECTIONS, MilestoneRef
from bot.reports.views import final_report_note
from bot.sections.service import get_section
from bot.sections.views import EDIT_SECTION, section_value
from bot.signoffs.content import section_titles as content_section_titles
from bot.signoffs.decisions import decision_fields
from bot.signoffs.service import DecisionValue, DmRole, RoleState, SignoffProgress
from bot.slack.forms import Block, field_blocks, modal, plain
from bot.slack.payloads import PRIVATE_METADATA_LIMIT, Payload
from bot.slack.text import esc, truncate, user
from models import ActionItem, Decision, Milestone, SignOff, Status, Version

DECISION_MODAL = "signoff_decision"
CONFIRM_REQUEST = "signoff_confirm_request"
VIEW_REPORT = "signoff_view_report"
REQUEST_AGAIN = "signoff_request_again"
APPROVE_ALL = "signoff_approve_all"
APPROVE_ALL_MODAL = "signoff_approve_all"
# Button action id → decision.
DECISION_ACTIONS: dict[str, DecisionValue] = {
    "signoff_approve": "approved",
    "signoff_approve_conditions": "approved_with_conditions",
    "signoff_reject": "rejected",
}
_MODAL_TITLES = {
    Decision.APPROVED.value: ("Approve", "Approve"),
    Decision.APPROVED_WITH_CONDITIONS.value: ("Approve with conditions", "Approve"),
    Decision.REJECTED.value: ("Reject", "Reject"),
}
MAX_LISTED = 20  # requests listed in one Home section or reminder (3 blocks each, under Slack's 50/100)


# ---- payloads ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionButton(Payload):
    """Approve / Approve with conditions / Reject on a request (DM, Home, reminder)."""

    KIND = "signoff.decide"
    request: int
    decision: Literal["approved", "approved_with_conditions", "rejected"]


@dataclass(frozen=True)
class DecisionForm(Payload):
    """The decision modal's context: which request, which decision, the revision shown."""

    KIND = "signoff.form"
    request: int
    decision: Literal["approved", "approved_with_conditions", "rejected"]
    revision: int


@dataclass(frozen=True)
class ApproveAll(Payload):
    """"Approve all my roles" on a request DM (button), and its modal (with the revision shown)."""

    KIND = "signoff.approve_all"
    request: int
    revision: int


@dataclass(frozen=True)
class RequestButton(Payload):
    """Request anyway / Fill them first, after the completeness check."""

    KIND = "signoff.request"
    milestone: int


# ---- small pieces -------------------------------------------------------------------------------------------


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
    return ", ".join(esc(title) for title in content_section_titles(sections)) or "the report"


def decision_buttons(request_id: int, block_id: str | None = None) -> Block:
    elements = [
        {"type": "button", "action_id": action_id, "text": plain(label),
         "value": DecisionButton(request_id, DECISION_ACTIONS[action_id]).pack(), **style}
        for action_id, label, style in (
            ("signoff_approve", "Approve", {"style": "primary"}),
            ("signoff_approve_conditions", "Approve with conditions", {}),
            ("signoff_reject", "Reject", {"style": "danger"}),
        )
    ]
    return {"type": "actions", "block_id": block_id or f"signoff_buttons_{request_id}", "elements": elements}


def report_button(link: str | None, block_id: str, *more: Block) -> Block | None:
    elements = [{"type": "button", "action_id": VIEW_REPORT, "text": plain("View report"), "url": link}] if link else []
    elements += list(more)
    return {"type": "actions", "block_id": block_id, "elements": elements} if elements else None


def _label(choices: type[Version] | type[Status], value: str) -> str:
    try:
        return choices(value).label
    except ValueError:
        return value


def summary_lines(milestone: Milestone, progress: SignoffProgress | None = None) -> list[str]:
    version = _label(Version, milestone.version)
    status = _label(Status, milestone.status)
    start = _day(milestone.actual_start or milestone.planned_start)
    end = _day(milestone.actual_end or milestone.planned_end)
    report = f"  ·  *Report* {esc(progress.state_label)}" if progress is not None else ""
    lines = [f"*Version* {esc(version)}  ·  *Status* {esc(status)}{report}  ·  *Dates* {start} → {end}  ·  "
             f"*Owner* {user(milestone.owner_id)}"]
    if milestone.executive_summary:
        lines.append(f">{esc(truncate(milestone.executive_summary.strip(), 600))}".replace("\n", "\n>"))
    return lines


def changes_line(changes: dict[str, dict[str, int]]) -> str:
    """{"risks": {"added": 2}, "summary": {"fields": 1}} → "Risks (2 rows added), Executive summary (edited)"."""
    parts = []
    for key, counts in changes.items():
        title = content_section_titles([key])[0]
        what = [f"{n} row{'s' if n > 1 else ''} {verb}" for verb, n in counts.items() if verb != "fields"]
        parts.append(f"{esc(title)} ({', '.join(what) or 'edited'})")
    return ", ".join(parts)


# ---- the approver's request DM --------------------------------------------------------------------------------


def _role_outcome(item: DmRole) -> str:
    if item.state == "decided" and item.signoff is not None:
        return Decision(item.signoff.decision).label
    return {"open": "waiting for you", "superseded": "superseded"}.get(item.state, "withdrawn")


def _role_block(milestone: Milestone, item: DmRole) -> list[Block]:
    name = f"*{esc(item.role)}*" + (f" (as delegate of {user(item.holder)})" if item.holder else "")
    if item.state == "open":
        return [_section(f"{name} — waiting for your decision"), decision_buttons(item.request_id)]
    if item.state == "decided" and item.signoff is not None:
        signoff = item.signoff
        line = (f"{name} — {esc(Decision(signoff.decision).label)} by {user(signoff.approver_id)} on "
                f"{_day(signoff.decided_at)} (revision {signoff.revision})")
        if signoff.conditions:
            line += "\n*Conditions:* " + "; ".join(esc(c) for c in signoff.conditions.splitlines())
        if signoff.reason:
            line += f"\n*Reason:* {esc(truncate(signoff.reason, 1000))}"
        if item.superseded_by:
            line += f"\n:arrows_counterclockwise: Superseded by revision {item.superseded_by}: a new request follows."
        return [_section(line)]
    if item.state == "superseded":
        return [_section(f"{name} — :arrows_counterclockwise: Superseded by revision {item.superseded_by or '—'}; "
                         "a newer request replaces this one.")]
    why = "the role was given to someone else" if item.state == "reassigned" else "the owner changed who signs"
    return [_section(f"{name} — :no_entry_sign: withdrawn: {why}. Nothing else is needed from you.")]


def request_dm(
    milestone: Milestone, roles: list[DmRole], *, link: str | None, changes: dict[str, dict[str, int]] | None,
    empty: int, progress: SignoffProgress,
) -> tuple[str, list[Block]]:
    """One DM per approver per request round, listing every role they are asked to sign."""
    names = " and ".join(f"*{esc(r.role)}*" for r in roles)
    waiting = [r for r in roles if r.state == "open"]
    if changes:
        intro = (f":arrows_counterclockwise: *{_title(milestone)}* changed after you signed. Please review revision "
                 f"{milestone.revision} and sign again as {names}.")
    else:
        intro = f":memo: You are asked to sign off *{_title(milestone)}* as {names} (revision {milestone.revision})."
    plain_roles = ", ".join(esc(r.role) for r in roles)
    text = (f"Sign-off requested: {esc(milestone.key)} as {plain_roles}" if waiting
            else f"Sign-off {esc(milestone.key)}: " + "; ".join(f"{esc(r.role)} {_role_outcome(r)}" for r in roles))
    blocks: list[Block] = [_section(intro), _section("\n".join(summary_lines(milestone, progress)))]
    if changes:
        blocks.append(_context(f"Changed since you signed: {changes_line(changes)}"))
    if empty:
        blocks.append(_context(f":warning: {empty} section(s) of the report are still empty."))
    button = report_button(link, "signoff_report")
    if button:
        blocks.append(button)
    for item in roles[:10]:
        blocks.extend(_role_block(milestone, item))
    if len(waiting) > 1:
        value = ApproveAll(waiting[0].request_id, milestone.revision).pack()
        blocks.append({"type": "actions", "block_id": "signoff_all", "elements": [
            {"type": "button", "action_id": APPROVE_ALL, "text": plain(f"Approve all {len(waiting)} roles"),
             "value": value}]})
    blocks.append(_context(f"Who signed so far: `/milestone signoffs {esc(milestone.key)}`"))
    return text, blocks[:50]


# ---- the decision modal ----------------------------------------------------------------------------------------


def decision_modal(
    milestone: Milestone, role: str, request_id: int, decision: DecisionValue, revision: int, *,
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
    meta = DecisionForm(request_id, decision, revision).pack(limit=PRIVATE_METADATA_LIMIT)
    return modal(DECISION_MODAL, title, blocks, submit=submit, private_metadata=meta)


def approve_all_modal(milestone: Milestone, roles: list[str], request_id: int, revision: int) -> dict[str, Any]:
    blocks = [_section(f"*{_title(milestone)}*, revision {revision}: approve as "
                       + " and ".join(f"*{esc(r)}*" for r in roles) + ".")]
    blocks.extend(field_blocks(decision_fields("approved"), {}))
    meta = ApproveAll(request_id, revision).pack(limit=PRIVATE_METADATA_LIMIT)
    return modal(APPROVE_ALL_MODAL, "Approve all", blocks, submit="Approve all", private_metadata=meta)


# ---- the channel status message ------------------------------------------------------------------------------


_STATE = {
    "approved": "✅ Approved",
    "conditional": "⚠️ Approved with conditions — *conditional*",
    "rejected": "❌ Rejected",
}


def edit_notice(milestone: Milestone, progress: SignoffProgress, affected: list[RoleState]) -> str | None:
    """What saving a change of substance will do, for the editor to confirm inside the modal; None: nothing."""
    if not affected:
        return None
    people = sorted({p for r in affected for p in (r.slot.approver_id, r.slot.delegate_id) if p})
    names = ", ".join(user(p) for p in people[:-1]) + (" and " if len(people) > 1 else "") + user(people[-1])
    text = (f"{len(affected)} sign-off{'s' if len(affected) > 1 else ''} become outdated; {names} will be asked "
            "again.")
    if progress.accepted:
        text += f" {esc(milestone.key)} is accepted: it is reopened (in review again) until they sign."
    return text + " A typo fix? Mark the edit *editorial*: sign-offs stay valid and the sign-off table shows it."


def _slot_line(role: RoleState, revision: int | None = None) -> str:
    slot = role.slot
    who = user(slot.approver_id) + (f" (delegate {user(slot.delegate_id)})" if slot.delegate_id else "")
    head = f"*{esc(slot.role)}*{'' if slot.required else ' _(optional)_'} · {who}"
    current = role.current
    if current is not None:
        state = _STATE[role.state]
        if role.state == "conditional":
            state += f" ({role.open_conditions} of {role.conditions_total} conditions open)"
        elif current.decision == Decision.APPROVED_WITH_CONDITIONS:
            state = "✅ Approved (conditions met)"
        signer = f" by {user(current.approver_id)}" if current.approver_id != slot.approver_id else ""
        if role.signer_changed:
            signer += " _(role since reassigned)_"
        line = f"{head} · {state}{signer} · {_day(current.decided_at)} · rev {current.revision}"
        if revision and current.revision < revision:
            line += f" (editorial edits since, now rev {revision})"
        if current.reason:
            line += f"\n      _Reason:_ {esc(truncate(current.reason, 300))}"
        return line
    if role.outdated is not None:
        old = Decision(role.outdated.decision).label
        return f"{head} · 🔄 Outdated ({esc(old)} on rev {role.outdated.revision}) — asked again"
    if role.asked_at is not None:
        return f"{head} · ⏳ Waiting since {_day(role.asked_at)}"
    return f"{head} · ⏳ Not requested yet"


def overall_line(milestone: Milestone, progress: SignoffProgress) -> str:
    if progress.accepted:
        return (f":white_check_mark: *Accepted* on {_day(milestone.accepted_at)} at revision "
                f"{milestone.accepted_revision or milestone.revision} · {progress.label}.")
    return f"*{esc(progress.state_label)}* · {progress.label} · revision {milestone.revision}."


def status_blocks(milestone: Milestone, progress: SignoffProgress) -> tuple[str, list[Block]]:
    """The one status message of a milestone's sign-off (also the `/milestone signoffs` matrix)."""
    overall = overall_line(milestone, progress)
    text = f"Sign-off {esc(milestone.key)}: {overall}"
    blocks: list[Block] = [
        {"type": "header", "text": plain(f"Sign-off · {esc(milestone.key)} {esc(milestone.name)}", 150)},
        _section(overall),
    ]
    lines = [_slot_line(r, milestone.revision) for r in progress.roles] or ["No approvers yet."]
    for start in range(0, min(len(lines), 400), 10):
        blocks.append(_section("\n".join(lines[start : start + 10])))
    return text, blocks[:50]


def accepted_notice(milestone: Milestone) -> str:
    return (f":tada: *{_title(milestone)}* is accepted: every required role approved revision "
            f"{milestone.accepted_revision or milestone.revision}.")


# ---- the owner's DMs ------------------------------------------------------------------------------------------


def owner_decision_dm(milestone: Milestone, signoff: SignOff, conditions: list[ActionItem],
                      link: str | None) -> tuple[str, list[Block]]:
    """What the owner hears for a rejection or an approval with conditions."""
    label = Decision(signoff.decision).label
    head = (f"{esc(label)}: {user(signoff.approver_id)} decided on *{_title(milestone)}* as "
            f"*{esc(signoff.role)}* (revision {signoff.revision}).")
    lines = [head]
    if signoff.reason:
        lines.append(f"*Reason:* {esc(truncate(signoff.reason, 2000))}")
    if conditions:
        lines.append("*Conditions* (action items owned by you):\n" + "\n".join(
            f"• {esc(truncate(i.description, 300))} — {user(i.owner_id)}, due {_day(i.due_date)}"
            for i in conditions[:20]))
    if signoff.comments:
        lines.append(f"*Comments:* {esc(truncate(signoff.comments, 1000))}")
    blocks: list[Block] = [_section("\n".join(lines))]
    again: list[Block] = []
    if signoff.decision == Decision.REJECTED:
        blocks.append(_context(f"Edit the sections with `/milestone edit {esc(milestone.key)}`; the approvers are "
                               "asked again once your edits settle, or at once with *Request again*."))
        again = [{"type": "button", "action_id": OPEN_SECTIONS, "text": plain("Edit sections"),
                  "value": MilestoneRef(milestone.id).pack()},
                 {"type": "button", "action_id": REQUEST_AGAIN, "text": plain("Request again"),
                  "value": RequestButton(milestone.id).pack()}]
    button = report_button(link, "owner_report", *again)
    if button:
        blocks.append(button)
    return f"{esc(milestone.key)}: {label} by the {esc(signoff.role)}", blocks


def owner_accepted_dm(milestone: Milestone, link: str | None) -> tuple[str, list[Block]]:
    blocks: list[Block] = [_section(accepted_notice(milestone))]
    line = final_report_note(milestone)
    if line:
        blocks.append(_context(line))
    button = report_button(link, "owner_report")
    if button:
        blocks.append(button)
    return f"{esc(milestone.key)} is accepted", blocks


# ---- the completeness check -----------------------------------------------------------------------------------


def _fill_in(milestone: Milestone, key: str, title: str) -> Block:
    """One empty section and a button that opens its form (the sections feature's own button and value)."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": f"• {esc(title)}"},
            "accessory": {"type": "button", "action_id": EDIT_SECTION, "text": plain("Fill in"),
                          "value": section_value(milestone.id, get_section(key))}}


def completeness_prompt(milestone: Milestone, empty: list[tuple[str, str]]) -> tuple[str, list[Block]]:
    """The gate before asking: what is still empty (each with a button to fill it), then the two choices."""
    text = f"{esc(milestone.key)} has {len(empty)} empty section(s). Fill them first, or request sign-off anyway?"
    blocks = [_section(f":warning: *{_title(milestone)}* has {len(empty)} empty section(s), in the report's order:")]
    blocks += [_fill_in(milestone, key, title) for key, title in empty[:40]]
    blocks += [
        _context("Comments & conditions and the document footer are filled during sign-off; they are not counted."),
        {"type": "actions", "block_id": "signoff_confirm", "elements": [
            {"type": "button", "action_id": OPEN_SECTIONS, "style": "primary",
             "value": MilestoneRef(milestone.id).pack(),
             "text": plain("Fill them first")},
            {"type": "button", "action_id": CONFIRM_REQUEST, "value": RequestButton(milestone.id).pack(),
             "text": plain("Request anyway")},
        ]},
    ]
    return text, blocks


# ---- Home and reminders ---------------------------------------------------------------------------------------

# milestone, role, request id, asked at, what changed since the approver last signed (re-asks), report link
WaitingItem = tuple[Milestone, str, int, datetime, dict[str, dict[str, int]] | None, str | None]


def _pending_item(item: WaitingItem) -> list[Block]:
    milestone, role, request_id, asked, changes, link = item
    blocks = [_section(f"*{_title(milestone)}* — sign as *{esc(role)}* · asked {_day(asked)} "
                       f"(revision {milestone.revision})"
                       + (f"\n_Changed since you signed:_ {changes_line(changes)}" if changes else "")),
              decision_buttons(request_id)]
    if link:
        blocks[-1]["elements"].append(
            {"type": "button", "action_id": VIEW_REPORT, "text": plain("View report"), "url": link})
    return blocks


def home_section(items: list[WaitingItem]) -> list[Block]:
    """App Home: "Waiting for my sign-off", with the buttons and the report link. Empty when nothing waits."""
    if not items:
        return []
    blocks: list[Block] = [{"type": "header", "text": plain("Waiting for my sign-off", 150)}]
    for item in items[:MAX_LISTED]:
        blocks.extend(_pending_item(item))
    if len(items) > MAX_LISTED:
        blocks.append(_context(f"…and {len(items) - MAX_LISTED} more."))
    return blocks


def reminder_dm(items: list[WaitingItem]) -> tuple[str, list[Block]]:
    count = len(items)
    text = f"Reminder: {count} sign-off request(s) wait for you"
    blocks: list[Block] = [_section(f":hourglass_flowing_sand: *{count} sign-off request(s) wait for you.* "
                                    "The team cannot close the milestone until every role has signed.")]
    for item in items[:MAX_LISTED]:
        blocks.extend(_pending_item(item))
    if count > MAX_LISTED:
        blocks.append(_context(f"…and {count - MAX_LISTED} more: see the App Home tab."))
    return text, blocks
