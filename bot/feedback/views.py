"""Block Kit for stakeholder feedback: the answer modal, its thank-you, request DMs and the summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from bot.core.formats import day
from bot.feedback.service import (
    ACCEPTS_NO,
    ACCEPTS_YES,
    ANONYMOUS_OPTION,
    MIN_GROUP_ANSWERS,
    FeedbackMetrics,
    RequestCounts,
    RequestPlan,
    shown_count,
)
from bot.slack.forms import Block, field_block, modal, option, plain
from bot.slack.payloads import PRIVATE_METADATA_LIMIT, Payload
from bot.slack.text import esc, truncate, user
from models import Milestone
from models.base import field_spec
from models.feedback import FeedbackGroup, FeedbackResponse, FeedbackTheme

SUBMIT_CALLBACK = "feedback_submit"
GIVE_ACTION = "feedback_give"  # button, value: GiveFeedback


@dataclass(frozen=True)
class GiveFeedback(Payload):
    """A "Give feedback" button (DM, channel post, App Home)."""

    KIND: ClassVar[str] = "feedback.give"
    milestone: int


@dataclass(frozen=True)
class FeedbackForm(Payload):
    """The answer modal's metadata: the milestone, and whether App Home opened it (refresh it after)."""

    KIND: ClassVar[str] = "feedback.form"
    milestone: int
    from_home: bool


def give_value(milestone_id: int) -> str:
    return GiveFeedback(milestone_id).pack()

SATISFACTION_LABELS = {
    1: "1 · Very dissatisfied",
    2: "2 · Dissatisfied",
    3: "3 · Neutral",
    4: "4 · Satisfied",
    5: "5 · Very satisfied",
}
ANONYMITY_TEXT = (
    ":lock: *What “anonymous” means:* your name and Slack ID are not saved with your answer, so nobody — "
    "the milestone's owner, the report, or someone reading the bot's database — can tell which answer is "
    "yours. To keep one answer per person, the bot stores only a keyed fingerprint that cannot be traced "
    "back to you from the stored data. The owner can still see *that* you answered (so you are not "
    "reminded), and when very few people answer, they may be able to guess."
)


def _title(milestone: Milestone) -> str:
    return f"Feedback · {milestone.key}"


def _radio(options: list[dict[str, Any]], initial: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "radio_buttons", "action_id": "value", "options": options}
    chosen = [o for o in options if o["value"] == initial]
    if chosen:
        element["initial_option"] = chosen[0]
    return element


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False,
           hint: str | None = None) -> Block:
    block: Block = {"type": "input", "block_id": block_id, "label": plain(label, 2000), "element": element,
                    "optional": optional}
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def metadata(milestone_id: int, *, from_home: bool = False) -> str:
    """What the submission needs back; the request DM to mark answered is found in the database."""
    return FeedbackForm(milestone_id, from_home).pack(limit=PRIVATE_METADATA_LIMIT)


def feedback_modal(
    milestone: Milestone, previous: FeedbackResponse | None, *, answered_anonymously: bool,
    private_metadata: str,
) -> dict[str, Any]:
    """The answer modal. A person's earlier answer is filled in only when it was not anonymous: an anonymous
    answer is never shown back as someone's, not even on their own screen (a shared screen, a borrowed
    laptop); they are told they answered and that sending replaces it."""
    intro = f"*{esc(milestone.key)} · {esc(milestone.name)}*\nHow did this milestone go for you? It takes a minute."
    blocks: list[Block] = [{"type": "section", "text": {"type": "mrkdwn", "text": intro}}]
    if previous is not None:
        when = day(previous.updated_at)
        blocks.append(_context(f":pencil2: You answered on {when}. Your answer is filled in below; "
                               "sending replaces it."))
    elif answered_anonymously:
        blocks.append(_context(":pencil2: You already answered anonymously. Sending this *replaces* that answer. "
                               "It is not shown here, because anonymous answers are never shown back as anyone's."))
    initial = previous
    satisfaction = [option(str(v), label) for v, label in SATISFACTION_LABELS.items()]
    blocks.append(_input("satisfaction", "How satisfied are you with this milestone?",
                         _radio(satisfaction, str(initial.satisfaction) if initial else None)))
    nps_options = [option(str(n), {0: "0 · Not at all likely", 10: "10 · Extremely likely"}.get(n, str(n)))
                   for n in range(10, -1, -1)]
    nps_element: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": nps_options,
                                   "placeholder": plain("0–10")}
    if initial is not None:
        nps_element["initial_option"] = next(o for o in nps_options if o["value"] == str(initial.nps))
    blocks.append(_input("nps", "How likely are you to recommend it to a colleague? (0–10)", nps_element))
    groups = [option(v, label) for v, label in FeedbackGroup.choices()]
    blocks.append(_input("group", "I am a…", _radio(groups, initial.group if initial else None)))
    accepts_initial = None if initial is None or initial.accepts is None else (
        ACCEPTS_YES if initial.accepts else ACCEPTS_NO)
    accepts = [option(ACCEPTS_YES, "Yes, I accept it"), option(ACCEPTS_NO, "No, not yet")]
    blocks.append(_input("accepts", "Acceptance testers: do you accept this milestone?",
                         _radio(accepts, accepts_initial), optional=True,
                         hint="Only acceptance testers answer this (it makes the acceptance rate); "
                              "it is ignored for everyone else."))
    themes = [option(v, label) for v, label in FeedbackTheme.choices()]
    themes_element: dict[str, Any] = {"type": "checkboxes", "action_id": "value", "options": themes}
    chosen = [o for o in themes if initial is not None and o["value"] in (initial.themes or [])]
    if chosen:
        themes_element["initial_options"] = chosen
    blocks.append(_input("themes", "What is your feedback about?", themes_element, optional=True,
                         hint="Tick all that fit your comment."))
    comment_spec = field_spec(FeedbackResponse, "comment")
    comment = field_block(comment_spec, initial.comment if initial else None, label="Comment")
    comment["element"]["placeholder"] = plain("What worked, what should change, what is missing?", 150)
    blocks.append(comment)
    anonymous_box = {
        "text": plain("Submit anonymously"),
        "value": ANONYMOUS_OPTION,
        "description": plain("Your name is not saved with this answer.", 75),
    }
    anonymous_element: dict[str, Any] = {"type": "checkboxes", "action_id": "value", "options": [anonymous_box]}
    if answered_anonymously:
        anonymous_element["initial_options"] = [anonymous_box]
    blocks.append(_input("anonymous", "Anonymity", anonymous_element, optional=True))
    blocks.append(_context(ANONYMITY_TEXT))
    submit = "Update my answer" if previous is not None or answered_anonymously else "Send feedback"
    return modal(SUBMIT_CALLBACK, _title(milestone), blocks, submit=submit, close="Cancel",
                 private_metadata=private_metadata)


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, 3000)}]}


def thanks_view(milestone: Milestone, *, replaced: bool, anonymous: bool) -> dict[str, Any]:
    if replaced:
        text = f":arrows_counterclockwise: Your earlier answer on *{esc(milestone.key)}* was replaced with this one."
    else:
        text = f":white_check_mark: Thanks! Your feedback on *{esc(milestone.key)}* is saved."
    text += ("\nIt was saved *anonymously*: your name is not stored with it." if anonymous
             else "\nIt was saved with your name.")
    text += f"\nTo change it, run `/milestone feedback {esc(milestone.key)}` again."
    return modal(SUBMIT_CALLBACK + "_done", _title(milestone),
                 [{"type": "section", "text": {"type": "mrkdwn", "text": text}}], submit=None, close="Done")


# ---- Request DMs ---------------------------------------------------------------------------------------


def request_message(milestone: Milestone, requester_id: str, *, reminder: bool) -> tuple[str, list[Block]]:
    name = f"*{esc(milestone.key)} · {esc(milestone.name)}*"
    if reminder:
        text = f":bell: A reminder: {user(requester_id)} would still like your feedback on {name}."
    else:
        text = f":wave: {user(requester_id)} asks for your feedback on {name}."
    text += "\nIt takes a minute: how satisfied you are, whether you'd recommend it, and a comment if you like."
    blocks: list[Block] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "block_id": "feedback", "elements": [
            {"type": "button", "action_id": GIVE_ACTION, "text": plain("Give feedback"), "style": "primary",
             "value": give_value(milestone.id)},
        ]},
        _context("You can answer anonymously."),
    ]
    return f"Feedback on {milestone.key}", blocks


def channel_post(milestone: Milestone, requester_id: str) -> tuple[str, list[Block]]:
    """One message in a channel: anyone there can answer (each person once), anonymously if they like."""
    text = (f":speech_balloon: {user(requester_id)} asks for feedback on *{esc(milestone.key)} · "
            f"{esc(milestone.name)}*.\nAnyone here can answer: it takes a minute.")
    blocks: list[Block] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}},
        {"type": "actions", "block_id": "feedback", "elements": [
            {"type": "button", "action_id": GIVE_ACTION, "text": plain("Give feedback"), "style": "primary",
             "value": give_value(milestone.id)},
        ]},
        _context("Only you see your form. You can answer anonymously; one answer per person."),
    ]
    return f"Feedback on {milestone.key}", blocks


def answered_message(milestone: Milestone) -> tuple[str, list[Block]]:
    """The request DM after the person answered: no reminder will follow, and they can still change it."""
    text = f":white_check_mark: You gave feedback on *{esc(milestone.key)} · {esc(milestone.name)}*. Thank you!"
    blocks: list[Block] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "block_id": "feedback", "elements": [
            {"type": "button", "action_id": GIVE_ACTION, "text": plain("Change my answer"),
             "value": give_value(milestone.id)},
        ]},
    ]
    return f"You gave feedback on {milestone.key}", blocks


def request_report(
    milestone: Milestone, plan: RequestPlan, failed: list[tuple[str, str]], unread: list[tuple[str, str]],
    capped: int,
) -> str:
    """What the owner sees after `/milestone feedback request`: who was asked, who was skipped and why."""
    sent = [u for u in plan.to_ask if u not in {f for f, _ in failed}]
    lines = []
    if sent:
        lines.append(f":incoming_envelope: Asked {len(sent)} {_people(len(sent))} for feedback on "
                     f"*{esc(milestone.key)}*: {_names(sent)}.")
    else:
        lines.append(f"No one new was asked for feedback on *{esc(milestone.key)}*.")
    by_reason: dict[str, list[str]] = {}
    for user_id, skip in plan.skipped:
        by_reason.setdefault(str(skip), []).append(user_id)
    for reason, users in by_reason.items():
        lines.append(f"Skipped ({reason}): {_names(users)}.")
    if plan.skipped_unnamed:
        lines.append(f"{plan.skipped_unnamed} {_people(plan.skipped_unnamed)} skipped: they already answered.")
    for user_id, code in failed:
        lines.append(f":warning: Could not DM {user(user_id)} ({esc(code)}); they can be asked again later.")
    for channel_id, code in unread:
        lines.append(f":warning: Could not read the members of <#{channel_id}> ({esc(code)}). "
                     "Invite me there (`/invite @Milestone Bot`) or mention the people instead.")
    if capped:
        lines.append(f":warning: Only the first people were asked; {capped} more were left out. "
                     "Run the command again for the rest.")
    if sent:
        lines.append("Anyone who has not answered gets one reminder later. "
                     f"See the figures with `/milestone feedback summary {esc(milestone.key)}`.")
    return truncate("\n".join(lines), 3000)


def _people(n: int) -> str:
    return "person" if n == 1 else "people"


def _names(user_ids: list[str], limit: int = 40) -> str:
    shown = ", ".join(user(u) for u in user_ids[:limit])
    return shown + (f" and {len(user_ids) - limit} more" if len(user_ids) > limit else "")


# ---- Summary -------------------------------------------------------------------------------------------


def fmt_decimal(value: Decimal) -> str:
    """4.50 → "4.5", 80.0 → "80", 66.7 → "66.7"."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_nps(nps: int) -> str:
    return f"+{nps}" if nps > 0 else str(nps)


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def summary_blocks(
    milestone: Milestone, metrics: FeedbackMetrics, counts: RequestCounts, now: datetime
) -> tuple[str, list[Block]]:
    title = f"Stakeholder feedback — {milestone.key}"
    blocks: list[Block] = [
        {"type": "header", "text": plain(title, 150)},
        _context(f"{esc(milestone.name)} · computed from the answers at {day(now)} {now:%H:%M} UTC · "
                 "only you can see this"),
    ]
    asked = (f"{counts.answered} of the {_plural(counts.asked, 'person', 'people')} asked "
             f"{'has' if counts.answered == 1 else 'have'} answered" if counts.asked else "No one has been asked yet")
    if not metrics.has_responses:
        text = (f"*No responses yet.*\n{asked}.\nAsk people with "
                f"`/milestone feedback request {esc(milestone.key)} @person #channel`.")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
        return f"{title}: no responses yet", blocks

    assert metrics.avg_satisfaction is not None and metrics.nps is not None
    nps_counts = (f"{_plural(metrics.promoters, 'promoter', 'promoters')} · "
                  f"{_plural(metrics.passives, 'passive', 'passives')} · "
                  f"{_plural(metrics.detractors, 'detractor', 'detractors')}")
    if metrics.acceptance_rate is not None and metrics.acceptance_total < MIN_GROUP_ANSWERS:
        acceptance = "fewer than 3 answers from acceptance testers"
    elif metrics.acceptance_rate is not None:
        testers = _plural(metrics.acceptance_total, "acceptance tester accepts", "acceptance testers accept")
        acceptance = f"{fmt_decimal(metrics.acceptance_rate)}% ({metrics.acceptance_yes} of {testers})"
    else:
        acceptance = "no acceptance testers have answered yet"
    groups = " · ".join(f"{g.label}: {shown_count(n)}" for g, n in metrics.by_group.items() if n) or "—"
    fields = [
        f"*Responses*\n{metrics.count}" + (f" ({asked})" if counts.asked else ""),
        f"*Average satisfaction*\n{fmt_decimal(metrics.avg_satisfaction)} / 5",
        f"*NPS*\n{fmt_nps(metrics.nps)} ({nps_counts})",
        f"*Acceptance rate*\n{acceptance}",
        f"*By group*\n{groups}",
    ]
    blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": truncate(f, 2000)} for f in fields]})
    blocks.append({"type": "divider"})
    for theme in metrics.themes:
        text = f"*{esc(theme.theme.label)}* — {_plural(theme.answers, 'answer', 'answers')}"
        for comment in theme.comments:
            quoted = esc(truncate(" ".join(comment.split()), 280))
            text += f"\n> {quoted}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}})
    blocks.append(_context("NPS = % promoters (9–10) − % detractors (0–6). Comments are shown without names."))
    fallback = (f"{title}: {metrics.count} responses, satisfaction {fmt_decimal(metrics.avg_satisfaction)}/5, "
                f"NPS {fmt_nps(metrics.nps)}")
    return fallback, blocks


def home_blocks(pending: list[tuple[Milestone, str]], links: dict[int, str] | None = None) -> list[Block]:
    """App Home: feedback people asked you for and you have not given yet, each milestone linked to its
    report (`links`: milestone id → the report page)."""
    if not pending:
        return []
    blocks: list[Block] = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Feedback asked of you*"}}]
    for milestone, requester in pending:
        title = f"{esc(milestone.key)} · {esc(truncate(milestone.name, 150))}"
        link = (links or {}).get(milestone.id)
        if link:
            title = f"<{link}|{title}>"
        blocks.append({
            "type": "section",
            "text": {"type": "mrkdwn",
                     "text": truncate(f"*{title}* — asked by {user(requester)}", 3000)},
            "accessory": {"type": "button", "action_id": GIVE_ACTION, "text": plain("Give feedback"),
                          "value": give_value(milestone.id)},
        })
    return blocks
