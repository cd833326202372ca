"""Sign-off over HTTP: request → DMs → button → modal → submission → stored sign-off → status updated in place.

Milestones and approval slots are arranged directly in the database; the content change that outdates a
sign-off goes through the sections feature's own modal over HTTP (`/milestone edit M-001 summary`).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import send_owed, sweep
from bot.deps import make_deps
from bot.settings import Settings
from bot.signoffs import jobs as signoff_reminders
from bot.signoffs.content import content_hash
from bot.slack.client import make_web_client
from bot.slack.jobs import JobContext
from bot.slack.notifier import Notifier
from models import (
    ActionItem,
    ApprovalSlot,
    AuditEvent,
    Delivery,
    Horizon,
    Milestone,
    SignOff,
    SignOffRequest,
    utcnow,
)
from tests.conftest import CHANNEL, wait_until_quiet
from tests.fakeslack import Call, FakeSlack
from tests.harness import TEAM_ID, SlackSender

ROLES = {"Technical Lead": "UTECH", "QA Lead": "UQA"}


def make_milestone(
    db: sessionmaker[Session], roles: dict[str, str] = ROLES, *, summary: str | None = "Shipped the beta."
) -> int:
    with db() as session, session.begin():
        milestone = Milestone(
            team_id=TEAM_ID, key="M-001", name="Beta <launch>", owner_id="UOWNER", created_by="UOWNER",
            report_channel_id=CHANNEL, executive_summary=summary,
        )
        session.add(milestone)
        session.flush()
        for position, (role, user) in enumerate(roles.items()):
            session.add(ApprovalSlot(milestone_id=milestone.id, role=role, position=position, approver_id=user))
        return milestone.id


def dm(slack: FakeSlack, user: str) -> dict[str, Any]:
    """The newest DM the bot sent to `user`."""
    return slack.messages[f"D{user}"][-1]


def button_value(message: dict[str, Any], action_id: str) -> str:
    for block in message.get("blocks") or []:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} button in {json.dumps(message.get('blocks'))[:500]}")


def request_signoff(bot: SlackSender, slack: FakeSlack, milestone_id: int, dms: int) -> None:
    """`/milestone signoff M-001`, confirm past the completeness check, wait for the DMs and the status."""
    answer = bot.command("signoff M-001").json()
    assert answer["response_type"] == "ephemeral"
    assert "empty section" in answer["text"]
    bot.block_action("signoff_confirm_request", value=button_value(answer, "signoff_confirm_request"))
    slack.wait_for("chat.postMessage", dms + 1)
    slack.wait_for("response_url", 1, where=lambda c: "Asked to sign" in str(c.params.get("text")))


def save_confirmed(bot: SlackSender, form: dict[str, Any], values: dict[str, Any], *, user_id: str = "UOWNER",
                   editorial: bool = False) -> Any:
    """Submit a section form; when it answers with the confirmation of an edit after sign-off (the report is in
    review or accepted), confirm it as the person would (ticking "editorial" if asked to). The last answer."""
    answer = bot.submit_view(form, values, user_id=user_id)
    assert answer.status == 200
    shown = (answer.json() or {}).get("view") or {}
    if shown.get("callback_id") != "section_confirm":
        return answer
    ticks = {"signoff_editorial": ["yes"]} if editorial else {}
    confirmed = bot.submit_view({**shown, "id": form["id"], "hash": "confirmed"}, ticks, user_id=user_id)
    assert ((confirmed.json() or {}).get("view") or {}).get("callback_id") != "section_confirm", confirmed.json()
    return confirmed


def open_and_submit(
    bot: SlackSender, slack: FakeSlack, user: str, action_id: str, values: dict[str, Any]
) -> tuple[dict[str, Any], Any]:
    message = dm(slack, user)
    opened = len(slack.calls_to("views.open"))
    bot.block_action(action_id, value=button_value(message, action_id), user_id=user, message=message)
    view = slack.wait_for("views.open", opened + 1)[-1].response["view"]
    return view, bot.submit_view(view, values, user_id=user)


def status_message(slack: FakeSlack, db: sessionmaker[Session], milestone_id: int) -> dict[str, Any]:
    """The milestone's one status message, as the channel shows it now (found by the ts the bot stored)."""
    with db() as session:
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None and milestone.signoff_status_channel == CHANNEL
        ts = milestone.signoff_status_ts
    (message,) = [m for m in slack.messages[CHANNEL] if m["ts"] == ts]
    return message


def dm_posts(slack: FakeSlack, user: str) -> list[Call]:
    """New DMs (chat.postMessage) the bot sent to `user`."""
    return [c for c in slack.calls_to("chat.postMessage") if c.response.get("channel") == f"D{user}"]


def sweep_later(settings: Settings, minutes: float) -> list[str]:
    """One outbox sweep, `minutes` from now (past a settle window or an expired claim)."""
    return sweep(make_deps(settings), utcnow() + timedelta(minutes=minutes), jobs=[("outbox", send_owed)])


def final_report_sent(db: sessionmaker[Session], slack: FakeSlack, timeout: float = 60.0) -> None:
    """Wait until the final report an acceptance owes is out, files included (its PDF renders for seconds
    without a Slack call, so "quiet" is not enough), before a step that sweeps with the clock moved on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db() as session:
            busy = session.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.kind.like("final_report%"), Delivery.status.in_(["pending", "claimed"])))
        if not busy:
            wait_until_quiet(slack, idle=0.3)
            return
        time.sleep(0.1)
    raise AssertionError("the final report's messages were not sent in time")


def channel_posts(slack: FakeSlack) -> list[Call]:
    return [c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == CHANNEL]


def test_request_decide_and_status_message_updated_in_place(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = make_milestone(db)
    request_signoff(bot, slack, milestone_id, dms=2)

    tech_dm = dm(slack, "UTECH")
    assert "Technical Lead" in tech_dm["text"]
    assert "Beta &lt;launch&gt;" in json.dumps(tech_dm["blocks"])  # user text is escaped
    assert "QA Lead" in dm(slack, "UQA")["text"]
    assert len(channel_posts(slack)) == 1  # the one status message

    _view, response = open_and_submit(bot, slack, "UTECH", "signoff_approve", {"comments": "Looks solid"})
    assert response.status == 200 and not response.body  # closed

    slack.wait_for("chat.update", 1, where=lambda c: c.params.get("channel") == "DUTECH")
    slack.wait_for("chat.update", 1, where=lambda c: c.params.get("channel") == CHANNEL)
    with db() as session:
        signoff = session.scalars(select(SignOff)).one()
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None
        assert (signoff.approver_id, signoff.role, signoff.decision, signoff.comments) == (
            "UTECH", "Technical Lead", "approved", "Looks solid")
        assert signoff.revision == milestone.revision
        assert signoff.content_hash == content_hash(milestone)
        assert milestone.accepted_at is None  # QA has not signed
        actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions.count("signoff.requested") == 2 and "signoff.decided" in actions

    # The DM now shows the decision and has no buttons left; the status message was edited, not re-posted.
    decided = dm(slack, "UTECH")
    assert "Approved" in decided["text"] and "signoff_approve" not in json.dumps(decided["blocks"])
    status = status_message(slack, db, milestone_id)
    assert "Approved" in json.dumps(status["blocks"]) and "Waiting since" in json.dumps(status["blocks"])
    assert len(channel_posts(slack)) == 1

    # The caller's own matrix.
    matrix = bot.command("signoffs M-001", user_id="USTRANGER").json()
    assert matrix["response_type"] == "ephemeral"
    assert "Technical Lead" in json.dumps(matrix["blocks"]) and "1 of 2" in matrix["text"]


def test_a_stranger_is_refused_and_nothing_is_recorded(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = make_milestone(db)
    request_signoff(bot, slack, milestone_id, dms=2)
    message = dm(slack, "UTECH")
    bot.block_action("signoff_approve", value=button_value(message, "signoff_approve"), user_id="USTRANGER",
                     message=message)
    refusal = slack.wait_for("response_url", 1, where=lambda c: "Only <@UTECH>" in str(c.params.get("text")))[0]
    assert refusal.params["response_type"] == "ephemeral"
    assert not slack.calls_to("views.open")
    with db() as session:
        assert session.scalars(select(SignOff)).all() == []

    # Someone else who is not an editor cannot request sign-off either.
    answer = bot.command("signoff M-001", user_id="USTRANGER").json()
    assert "Only the owner and editors" in answer["text"]


def test_double_submit_with_conditions_is_recorded_once_and_conditions_become_actions(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = make_milestone(db, {"QA Lead": "UQA"})
    request_signoff(bot, slack, milestone_id, dms=1)
    due = (date.today() + timedelta(days=14)).isoformat()
    values = {"conditions": "- Fix the flaky login test\n- Load test at 2x peak\n", "due_date": due}
    view, first = open_and_submit(bot, slack, "UQA", "signoff_approve_conditions", values)
    second = bot.submit_view(view, values, user_id="UQA")
    assert first.status == second.status == 200
    slack.wait_for("chat.update", 2)
    with db() as session:
        signoff = session.scalars(select(SignOff)).one()
        assert signoff.decision == "approved_with_conditions"
        items = session.scalars(select(ActionItem).order_by(ActionItem.id)).all()
        assert [i.description for i in items] == ["Fix the flaky login test", "Load test at 2x peak"]
        assert {(i.horizon, i.owner_id, i.due_date.isoformat(), i.signoff_id) for i in items} == {
            (Horizon.CONDITION.value, "UOWNER", due, signoff.id)}
        # The only required role approved with conditions: accepted, shown as conditional until done.
        assert session.get(Milestone, milestone_id).accepted_at is not None  # type: ignore[union-attr]
    status = json.dumps(status_message(slack, db, milestone_id)["blocks"])
    assert "conditional" in status and "2 of 2 conditions open" in status


def test_reject_without_a_reason_is_refused_with_a_field_error(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = make_milestone(db, {"QA Lead": "UQA"})
    request_signoff(bot, slack, milestone_id, dms=1)
    view, response = open_and_submit(bot, slack, "UQA", "signoff_reject", {"reason": "   "})
    answer = response.json()
    assert answer["response_action"] == "errors" and set(answer["errors"]) == {"reason"}
    with db() as session:
        assert session.scalars(select(SignOff)).all() == []

    rejected = bot.submit_view(view, {"reason": "Defects <!channel> still open"}, user_id="UQA")
    assert not rejected.body
    slack.wait_for("chat.update", 1, where=lambda c: c.params.get("channel") == CHANNEL)
    status = json.dumps(status_message(slack, db, milestone_id)["blocks"])
    assert "Rejected" in status and "&lt;!channel&gt;" in status and "<!channel>" not in status


def test_content_change_after_approval_outdates_and_asks_again(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], settings: Settings
) -> None:
    milestone_id = make_milestone(db, {"Technical Lead": "UTECH"})
    request_signoff(bot, slack, milestone_id, dms=1)
    open_and_submit(bot, slack, "UTECH", "signoff_approve", {})
    slack.wait_for("chat.update", 2)
    slack.wait_for("chat.postMessage", 3)  # DM, status, "accepted" notice
    final_report_sent(db, slack)  # before the clock is moved on
    with db() as session:
        assert session.get(Milestone, milestone_id).accepted_at is not None  # type: ignore[union-attr]
        old_hash = session.scalars(select(SignOff)).one().content_hash

    # The owner edits the executive summary through the sections modal.
    bot.command("edit M-001 summary")
    form = slack.wait_for("views.open", 2)[-1].response["view"]
    assert save_confirmed(bot, form, {"executive_summary": "Shipped the beta, two weeks late."}).status == 200

    # The status message says so at once; the re-ask waits for the settle window (more edits may follow).
    slack.wait_for("chat.update", 1, where=lambda c: c.params.get("channel") == CHANNEL and "Outdated" in json.dumps(
        c.params.get("blocks")))
    assert len(dm_posts(slack, "UTECH")) == 1
    sweep_later(settings, minutes=11)
    assert len(dm_posts(slack, "UTECH")) == 2
    again = dm(slack, "UTECH")
    assert "changed after you signed" in json.dumps(again["blocks"]) and "Executive summary" in json.dumps(
        again["blocks"])
    button_value(again, "signoff_approve")  # the buttons again
    first = slack.messages["DUTECH"][0]
    assert "Superseded by revision" in json.dumps(first["blocks"])  # the earlier DM, edited in place
    with db() as session:
        signoffs = session.scalars(select(SignOff)).all()
        assert len(signoffs) == 1 and signoffs[0].outdated_at is not None  # kept in history
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None and milestone.accepted_at is None and milestone.revision > signoffs[0].revision
        assert content_hash(milestone) != old_hash
        assert "signoff.outdated" in session.scalars(select(AuditEvent.action)).all()

    # Signing the new request binds to the new revision and accepts again.
    open_and_submit(bot, slack, "UTECH", "signoff_approve", {"comments": "Re-read, fine"})
    slack.wait_for("chat.postMessage", 2, where=lambda c: c.params.get("channel") == CHANNEL
                   and "accepted" in str(c.params.get("text")))
    with db() as session:
        current = session.scalars(select(SignOff).where(SignOff.outdated_at.is_(None))).one()
        assert current.revision == session.get(Milestone, milestone_id).revision  # type: ignore[union-attr]


def test_a_form_opened_before_a_content_change_shows_the_new_revision_and_keeps_the_input(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = make_milestone(db, {"QA Lead": "UQA"})
    request_signoff(bot, slack, milestone_id, dms=1)
    message = dm(slack, "UQA")
    bot.block_action("signoff_reject", value=button_value(message, "signoff_reject"), user_id="UQA", message=message)
    stale = slack.wait_for("views.open")[-1].response["view"]

    bot.command("edit M-001 summary")
    form = slack.wait_for("views.open", 2)[-1].response["view"]
    assert bot.submit_view(form, {"executive_summary": "Rewritten while QA was reading."}).status == 200

    answer = bot.submit_view(stale, {"reason": "Too many open defects"}, user_id="UQA").json()
    assert answer["response_action"] == "update"
    fresh = answer["view"]
    assert "changed while this form was open" in json.dumps(fresh["blocks"])
    reason = next(b for b in fresh["blocks"] if b.get("block_id") == "reason")
    assert reason["element"]["initial_value"] == "Too many open defects"  # nothing typed is lost
    with db() as session:
        assert session.scalars(select(SignOff)).all() == []

    assert not bot.submit_view({**stale, **fresh, "id": stale["id"]}, {}, user_id="UQA").body
    with db() as session:
        signoff = session.scalars(select(SignOff)).one()
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None
        assert (signoff.decision, signoff.reason, signoff.revision) == (
            "rejected", "Too many open defects", milestone.revision)
    slack.wait_for("chat.update", 1, where=lambda c: c.params.get("channel") == CHANNEL
                   and "Rejected" in json.dumps(c.params.get("blocks")))


def test_all_roles_approved_accepts_once_and_tells_the_channel(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = make_milestone(db)
    request_signoff(bot, slack, milestone_id, dms=2)
    open_and_submit(bot, slack, "UTECH", "signoff_approve", {})
    slack.wait_for("chat.update", 2)
    with db() as session:
        assert session.get(Milestone, milestone_id).accepted_at is None  # type: ignore[union-attr]
    open_and_submit(bot, slack, "UQA", "signoff_approve", {})
    notice = slack.wait_for("chat.postMessage", 1, where=lambda c: c.params.get("channel") == CHANNEL
                            and "is accepted" in str(c.params.get("text")))
    assert len(notice) == 1
    slack.wait_for("chat.update", 4)
    with db() as session:
        assert session.get(Milestone, milestone_id).accepted_at is not None  # type: ignore[union-attr]
        assert session.scalars(select(AuditEvent.action).where(AuditEvent.action == "milestone.accepted")).all() == [
            "milestone.accepted"]
    assert "Accepted" in json.dumps(status_message(slack, db, milestone_id)["blocks"])
    # The status message was posted once (then edited); the acceptance once, in its thread; the final report
    # once, for the owner (tests/test_signoffs_final.py).
    assert len([c for c in channel_posts(slack) if str(c.params["text"]).startswith("Sign-off M-001")]) == 1


def test_reassign_withdraws_the_pending_request_and_asks_the_new_holder(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = make_milestone(db)
    request_signoff(bot, slack, milestone_id, dms=2)
    old = copy.deepcopy(dm(slack, "UQA"))  # the fake edits its stored message in place

    refused = bot.command("signoff M-001 reassign QA Lead <@UPM|pat>", user_id="UEDITOR")
    slack.wait_for("response_url", 1, where=lambda c: "Only the owner" in str(c.params.get("text")))
    assert refused.status == 200

    bot.command("signoff M-001 reassign QA Lead <@UPM|pat>")
    slack.wait_for("response_url", 1, where=lambda c: "now held by" in str(c.params.get("text")))
    withdrawn = dm(slack, "UQA")
    assert withdrawn["ts"] == old["ts"] and "withdrawn" in withdrawn["text"]
    assert "signoff_approve" not in json.dumps(withdrawn["blocks"])
    button_value(dm(slack, "UPM"), "signoff_approve")
    with db() as session:
        slot = session.scalars(select(ApprovalSlot).where(ApprovalSlot.role == "QA Lead")).one()
        assert slot.approver_id == "UPM"
        assert "signoff.reassigned" in session.scalars(select(AuditEvent.action)).all()

    # The old holder's buttons no longer work; the new holder's do.
    bot.block_action("signoff_approve", value=button_value(old, "signoff_approve"), user_id="UQA", message=old)
    slack.wait_for("response_url", 1, where=lambda c: "Only <@UPM>" in str(c.params.get("text")))


def test_a_delegate_may_sign_for_the_holder(bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    milestone_id = make_milestone(db, {"Technical Lead": "UTECH"})
    request_signoff(bot, slack, milestone_id, dms=1)
    bot.command("signoff M-001 delegate tech <@UEDITOR|eddie>")
    slack.wait_for("response_url", 1, where=lambda c: "may now sign" in str(c.params.get("text")))
    assert "delegate of <@UTECH>" in json.dumps(dm(slack, "UEDITOR")["blocks"])
    open_and_submit(bot, slack, "UEDITOR", "signoff_approve", {})
    slack.wait_for("chat.update", 2, where=lambda c: str(c.params.get("channel")).startswith("D"))
    with db() as session:
        signoff = session.scalars(select(SignOff)).one()
        assert (signoff.approver_id, signoff.on_behalf_of) == ("UEDITOR", "UTECH")
        assert "signoff.delegated" in session.scalars(select(AuditEvent.action)).all()


def test_home_lists_what_waits_for_my_signoff(bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    milestone_id = make_milestone(db)
    request_signoff(bot, slack, milestone_id, dms=2)
    bot.event({"type": "app_home_opened", "user": "UQA", "tab": "home"}, event_id="Ev1")
    home = slack.wait_for("views.publish", where=lambda c: c.params.get("user_id") == "UQA")[-1].params["view"]
    text = json.dumps(home["blocks"])
    assert "Waiting for my sign-off" in text and "QA Lead" in text and "signoff_approve" in text
    assert "Technical Lead" not in text


# ---- reminders (the job, in-process, with an injected clock) ------------------------------------------------


def _arrange_pending(db: sessionmaker[Session], asked_at: datetime) -> None:
    milestone_id = make_milestone(db, {"Project Manager": "UPM"})
    with db() as session, session.begin():
        slot = session.scalars(select(ApprovalSlot).where(ApprovalSlot.milestone_id == milestone_id)).one()
        session.add(SignOffRequest(slot_id=slot.id, approver_id="UPM", requested_by="UOWNER", revision=1,
                                   requested_at=asked_at, dm_channel="DUPM", dm_ts="1.000100"))


def _job(settings: Settings, now: datetime) -> JobContext:
    client = make_web_client(settings)
    return JobContext(make_deps(settings), client, Notifier(client), now)


def _reminders(slack: FakeSlack) -> list[Call]:
    return [c for c in slack.calls_to("chat.postMessage") if c.response.get("channel") == "DUPM"]


# Wednesday 4 March 2026, 10:00 in New York (UPM's time zone); asked on Friday 27 February: 3 working days.
WEDNESDAY_10AM_NY = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
FRIDAY = datetime(2026, 2, 27, 16, 0, tzinfo=UTC)


def test_pending_approver_is_reminded_once_a_day_even_when_two_sweeps_overlap(
    db: sessionmaker[Session], slack: FakeSlack, settings: Settings
) -> None:
    _arrange_pending(db, FRIDAY)
    results: list[list[str]] = []
    barrier = threading.Barrier(2)

    def sweep() -> None:
        barrier.wait()
        results.append(signoff_reminders.run(_job(settings, WEDNESDAY_10AM_NY)))

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(len(r) for r in results) == [0, 1]
    assert len(_reminders(slack)) == 1
    assert "Project Manager" in json.dumps(_reminders(slack)[0].params["blocks"])

    # Later the same day: nothing more. The next working day: one more.
    assert signoff_reminders.run(_job(settings, WEDNESDAY_10AM_NY + timedelta(hours=4))) == []
    assert len(signoff_reminders.run(_job(settings, WEDNESDAY_10AM_NY + timedelta(days=1)))) == 1
    assert len(_reminders(slack)) == 2
    with db() as session:
        assert {d.status for d in session.scalars(select(Delivery))} == {"sent"}


def test_no_reminder_before_n_working_days_or_outside_working_hours(
    db: sessionmaker[Session], slack: FakeSlack, settings: Settings
) -> None:
    # Asked Tuesday 3 March: only one working day has passed by Wednesday.
    _arrange_pending(db, datetime(2026, 3, 3, 16, 0, tzinfo=UTC))
    assert signoff_reminders.run(_job(settings, WEDNESDAY_10AM_NY)) == []
    # Friday 6 March at 03:00 in New York: due, but the approver is asleep.
    assert signoff_reminders.run(_job(settings, datetime(2026, 3, 6, 8, 0, tzinfo=UTC))) == []
    assert _reminders(slack) == []
    # Friday 6 March 10:00 in New York: sent.
    assert len(signoff_reminders.run(_job(settings, datetime(2026, 3, 6, 15, 0, tzinfo=UTC)))) == 1
