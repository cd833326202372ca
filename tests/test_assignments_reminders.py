"""Assignment reminders and the domain rules other features call: overdue sections in each person's one daily
digest (once per local working day, in the assignee's time zone, beside their overdue action items, with
Snooze and "Can't do it"), may_fill, overdue_assignments_for, contributors per section."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.actions import jobs as action_jobs
from bot.actions.views import ItemOp
from bot.assignments import service, views
from bot.clock import send_owed
from bot.core import audit
from bot.deps import Deps, make_deps
from bot.sections.service import get_section
from bot.settings import Settings
from bot.slack import payloads
from bot.slack.client import make_web_client
from bot.slack.jobs import JobContext
from bot.slack.notifier import Notifier
from models import ActionItem, Assignment, AssignmentState, AuditEvent, Milestone
from tests.fakeslack import FakeSlack, validate_blocks
from tests.harness import TEAM_ID, SlackSender
from tests.test_layers import BOT, _imports

# Monday 2 March 2026; Berlin (USTRANGER) is UTC+1 then, Sydney (UQA) UTC+11.
MONDAY = date(2026, 3, 2)
FRIDAY_BEFORE = date(2026, 2, 27)


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture(autouse=True)
def signing_key() -> None:
    """Buttons carry signed payloads (the key the bot under test uses)."""
    payloads.configure("test-secret-key")


@pytest.fixture
def deps(settings: Settings, db: sessionmaker[Session]) -> Iterator[Deps]:
    deps = make_deps(settings)
    yield deps
    deps.engine.dispose()


def sweep(deps: Deps, now: datetime) -> list[str]:
    client = make_web_client(deps.settings)
    ctx = JobContext(deps=deps, client=client, notifier=Notifier(client), now=now)
    return send_owed(ctx) + action_jobs.run(ctx)


def make_milestone(db: sessionmaker[Session], key: str = "M-042") -> int:
    with db() as session, session.begin():
        milestone = Milestone(team_id=TEAM_ID, key=key, name=f"Checkout <!channel> {key}", owner_id="UOWNER",
                              created_by="UOWNER")
        session.add(milestone)
        session.flush()
        return milestone.id


def ask(db: sessionmaker[Session], milestone_id: int, section: str, assignee: str = "USTRANGER",
        due: date | None = FRIDAY_BEFORE) -> int:
    with db() as session, session.begin():
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None
        done = service.assign(session, milestone, get_section(section), assignee, "UOWNER", due=due, note=None,
                              now=at(FRIDAY_BEFORE - timedelta(days=7), 9))
        return done.assignment.id


def reminders_to(slack: FakeSlack, user_id: str) -> list[str]:
    return [json.dumps(c.params.get("blocks"), ensure_ascii=False) for c in slack.calls_to("chat.postMessage")
            if c.params.get("channel") in (user_id, f"D{user_id}") and "overdue" in str(c.params.get("text"))]


def test_an_overdue_assignment_is_reminded_once_per_local_working_day(
    deps: Deps, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    first, second = make_milestone(db), make_milestone(db, "M-043")
    ask(db, first, "budget")
    ask(db, second, "risks")
    ask(db, first, "scope", due=MONDAY + timedelta(days=10))  # not due in these two weeks

    assert sweep(deps, at(MONDAY, 6)) == []  # 07:00 in Berlin: before working hours
    lines = sweep(deps, at(MONDAY, 9))
    assert lines == ["sent overdue digest to USTRANGER (0 items, 2 sections) for 2026-03-02"]
    shown = reminders_to(slack, "USTRANGER")
    assert len(shown) == 1
    assert "*Budget* of M-042" in shown[0] and "*Risks* of M-043" in shown[0] and "Scope" not in shown[0]
    assert views.OPEN_FORM in shown[0] and views.CANT_DO in shown[0] and views.SNOOZE in shown[0]

    assert sweep(deps, at(MONDAY, 15)) == []  # the same local day
    assert sweep(deps, at(MONDAY + timedelta(days=5), 10)) == []  # Saturday
    assert sweep(deps, at(MONDAY + timedelta(days=6), 10)) == []  # Sunday
    assert len(sweep(deps, at(MONDAY + timedelta(days=7), 10))) == 1  # the next Monday
    assert len(reminders_to(slack, "USTRANGER")) == 2
    with db() as session:
        reminded = session.scalars(select(AuditEvent.section).where(AuditEvent.action == "assignment.reminded"))
        assert sorted(str(s) for s in reminded) == ["budget", "budget", "risks", "risks"]


def test_each_assignee_gets_the_reminder_in_their_own_time_zone(
    deps: Deps, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = make_milestone(db)
    ask(db, milestone_id, "budget", assignee="USTRANGER")  # Berlin
    ask(db, milestone_id, "quality", assignee="UQA")  # Sydney: Monday 09:00 there is Sunday 22:00 UTC
    lines = sweep(deps, at(MONDAY - timedelta(days=1), 22))
    assert lines == ["sent overdue digest to UQA (0 items, 1 section) for 2026-03-02"]
    assert sweep(deps, at(MONDAY, 9)) == ["sent overdue digest to USTRANGER (0 items, 1 section) for 2026-03-02"]


def test_two_sweeps_at_once_send_the_days_reminder_once(deps: Deps, slack: FakeSlack,
                                                        db: sessionmaker[Session]) -> None:
    ask(db, make_milestone(db), "budget")
    threads = [threading.Thread(target=sweep, args=(deps, at(MONDAY, 9))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reminders_to(slack, "USTRANGER")) == 1


def test_snoozed_done_and_handed_back_assignments_are_not_reminded(
    deps: Deps, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = make_milestone(db)
    snoozed = ask(db, milestone_id, "budget")
    done = ask(db, milestone_id, "risks")
    back = ask(db, milestone_id, "scope")
    with db() as session, session.begin():
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None
        for assignment_id, change in ((snoozed, "snooze"), (done, "done"), (back, "back")):
            assignment = session.get(Assignment, assignment_id)
            assert assignment is not None
            if change == "snooze":
                service.snooze(session, assignment, milestone, "USTRANGER", 3, FRIDAY_BEFORE + timedelta(days=1))
            elif change == "done":
                service.complete_saved(session, milestone, ["risks"], "USTRANGER", at(FRIDAY_BEFORE, 9))
            else:
                service.hand_back(session, assignment, milestone, "USTRANGER", "Not mine", at(FRIDAY_BEFORE, 9))
    assert sweep(deps, at(MONDAY, 9)) == []  # snoozed until Monday: not before it ends
    assert sweep(deps, at(MONDAY + timedelta(days=1), 9)) == [
        "sent overdue digest to USTRANGER (0 items, 1 section) for 2026-03-03"]
    assert "*Budget*" in reminders_to(slack, "USTRANGER")[0]


def test_one_digest_a_day_holds_the_overdue_items_and_sections_and_cant_do_it_hands_one_back(
    deps: Deps, slack: FakeSlack, db: sessionmaker[Session], bot: SlackSender
) -> None:
    # This week's Monday: the digest is recent enough to be re-rendered after a click (bot.actions keeps
    # messages current for two weeks).
    monday = date.today() - timedelta(days=date.today().weekday())
    friday = monday - timedelta(days=3)
    milestone_id = make_milestone(db)
    ask(db, milestone_id, "budget", due=friday)
    ask(db, milestone_id, "risks", due=friday)
    with db() as session, session.begin():
        item = ActionItem(milestone_id=milestone_id, description="Rotate <!channel> keys", owner_id="USTRANGER",
                          horizon="week1", status="open", due_date=friday, created_by="UOWNER")
        session.add(item)
        session.flush()
        item_id = item.id
    assert sweep(deps, at(monday, 9)) == [f"sent overdue digest to USTRANGER (1 item, 2 sections) for {monday}"]
    assert sweep(deps, at(monday, 14)) == []  # exactly once per local day
    posted = [c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == "USTRANGER"]
    assert len(posted) == 1  # one message: no separate assignment reminder
    digest = posted[0].params
    assert digest["text"].startswith("You have 1 overdue action item and 2 overdue report sections")
    shown = json.dumps(digest["blocks"], ensure_ascii=False)
    assert "Rotate &lt;!channel&gt; keys" in shown and "<!channel>" not in shown
    assert "*Budget* of M-042" in shown and "*Risks* of M-042" in shown
    assert validate_blocks(digest["blocks"], surface="message") == []

    # "Can't do it" from the digest, over HTTP: the reason goes to the owner, the section goes back to them.
    message = slack.messages["DUSTRANGER"][0]
    cant = next(e["value"] for b in message["blocks"] for e in b.get("elements") or []
                if e.get("action_id") == views.CANT_DO)
    assert bot.block_action(views.CANT_DO, value=cant, user_id="UPM", message=message).status == 200
    assert "only they can use" in str(slack.wait_for("response_url")[-1].params["text"])  # a stranger: refused
    assert bot.block_action(views.CANT_DO, value=cant, user_id="USTRANGER", message=message).status == 200
    modal = slack.wait_for("views.open")[-1].response["view"]
    assert bot.submit_view(modal, {"reason": "Finance owns it | ask <@UPM>"}, user_id="USTRANGER").status == 200
    told = slack.wait_for("chat.postMessage", where=lambda c: c.params.get("channel") == "UOWNER")[0]
    assert "Finance owns it | ask &lt;@UPM&gt;" in json.dumps(told.params["blocks"], ensure_ascii=False)
    assert "can't fill in *Budget*" in json.dumps(told.params["blocks"], ensure_ascii=False)
    with db() as session:
        states = {a.section: a.state for a in session.scalars(select(Assignment))}
        assert states == {"budget": "handed_back", "risks": "asked"}

    # Done on the item re-renders the digest in place: the section still owed stays, the one handed back goes.
    assert bot.block_action("action_done", value=ItemOp(item_id, "done", "m").pack(), user_id="USTRANGER",
                            message=message).status == 200
    slack.wait_for("chat.update", where=lambda c: c.params.get("channel") == "DUSTRANGER")
    now = json.dumps(slack.messages["DUSTRANGER"][0]["blocks"], ensure_ascii=False)
    assert "*Risks* of M-042" in now and "*Budget*" not in now

    # The next working day: one digest again, with only the section still overdue.
    tuesday = monday + timedelta(days=1)
    assert sweep(deps, at(tuesday, 9)) == [f"sent overdue digest to USTRANGER (0 items, 1 section) for {tuesday}"]


# ---- the rules other features call ------------------------------------------------------------------------


def test_may_fill_is_exactly_the_assigned_section_while_the_assignee_holds_it(db: sessionmaker[Session]) -> None:
    milestone_id = make_milestone(db)
    assignment_id = ask(db, milestone_id, "budget")
    with db() as session, session.begin():
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None
        assert service.may_fill(session, milestone, "USTRANGER", "budget")
        assert not service.may_fill(session, milestone, "USTRANGER", "risks")
        assert not service.may_fill(session, milestone, "UPM", "budget")
        assert not service.may_fill(session, milestone, "USTRANGER", "nosuch")
        # Done: a table is filled row by row, so the assignee still holds it.
        service.complete_saved(session, milestone, ["budget"], "USTRANGER", at(MONDAY, 9))
        assert service.may_fill(session, milestone, "USTRANGER", "budget")
        # Asked of someone else: only they hold it now.
        service.assign(session, milestone, get_section("budget"), "UPM", "UOWNER", due=None, note=None,
                       now=at(MONDAY, 10))
        assert not service.may_fill(session, milestone, "USTRANGER", "budget")
        assert service.may_fill(session, milestone, "UPM", "budget")
        assert session.get(Assignment, assignment_id).state == AssignmentState.REPLACED  # type: ignore[union-attr]


def test_overdue_assignments_for_and_the_line_renderer(db: sessionmaker[Session]) -> None:
    milestone_id = make_milestone(db)
    ask(db, milestone_id, "budget")
    ask(db, milestone_id, "risks", due=MONDAY + timedelta(days=1))
    with db() as session:
        overdue = service.overdue_assignments_for(session, "USTRANGER", MONDAY)
        assert [a.section for a, _ in overdue] == ["budget"]
        line = views.line(*overdue[0], MONDAY)
        assert line == "*Budget* of M-042 · asked of <@USTRANGER> · due Fri 27 Feb 2026 · ⚠️ overdue"
        assert service.overdue_assignments_for(session, "USTRANGER", FRIDAY_BEFORE) == []


def test_contributors_per_section_name_who_filled_what_at_which_revision(db: sessionmaker[Session]) -> None:
    milestone_id = make_milestone(db)
    with db() as session, session.begin():
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None
        audit.content_changed(session, milestone, "UEDITOR", "risks")  # revision 2
        audit.content_changed(session, milestone, "USTRANGER", "budget")  # 3
        audit.content_changed(session, milestone, "UEDITOR", "summary")  # 4
        audit.content_changed(session, milestone, "UEDITOR", "risks")  # 5
    with db() as session:
        assert service.contributors(session, milestone_id) == {
            "summary": [("UEDITOR", 4)], "budget": [("USTRANGER", 3)], "risks": [("UEDITOR", 5)]}


def test_the_assignments_domain_imports_no_slack() -> None:
    names = _imports(BOT / "assignments" / "service.py")
    assert [n for n in names if n.startswith(("slack_sdk", "slack_bolt", "bot.slack"))] == []
    assert [n for n in _imports(BOT / "assignments" / "listeners.py") if n.endswith(".listeners")] == []


def test_a_dm_owed_by_a_process_that_died_goes_once_showing_the_state_at_send_time(
    deps: Deps, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    """The request committed the assignment and its owed DM, then died before sending; meanwhile it was
    reassigned. The sweep posts each DM once, as things are now; the edit owed for a DM not yet posted is
    dropped (the post itself shows the current state)."""
    from bot.assignments import flows

    milestone_id = make_milestone(db)
    now = at(MONDAY, 9)
    with db() as session, session.begin():
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None
        first = service.assign(session, milestone, get_section("budget"), "USTRANGER", "UOWNER", due=None,
                               note=None, now=now)
        flows.owe_dm(session, first.assignment, milestone, now)
        second = service.assign(session, milestone, get_section("budget"), "UPM", "UOWNER", due=None, note=None,
                                now=now)
        flows.owe_dm(session, second.assignment, milestone, now)
        flows.owe_edit(session, first.assignment, milestone, now)
    lines = sweep(deps, now) + sweep(deps, now + timedelta(minutes=2))
    posts = slack.calls_to("chat.postMessage")
    assert sorted(c.params["channel"] for c in posts) == ["UPM", "USTRANGER"]
    stranger = next(c for c in posts if c.params["channel"] == "USTRANGER")
    assert "Reassigned to <@UPM>" in json.dumps(stranger.params["blocks"])
    assert not slack.calls_to("chat.update")
    assert sum(line.startswith("sent") for line in lines) == 2


def test_the_lines_other_surfaces_show_pass_slacks_rules(db: sessionmaker[Session]) -> None:
    """show / the sign-off gate / Home / the picker: who owes which section, with the Remind button."""
    from tests.fakeslack import validate_blocks

    milestone_id = make_milestone(db)
    for key in ("budget", "risks", "scope", "summary"):
        ask(db, milestone_id, key)
    with db() as session, session.begin():
        milestone = session.get(Milestone, milestone_id)
        assert milestone is not None
        service.complete_saved(session, milestone, ["summary"], "USTRANGER", at(MONDAY, 9))
        current = list(service.for_milestone(session, milestone_id).values())
        blocks = views.owing_blocks(milestone, current, MONDAY)
        shown = json.dumps(blocks, ensure_ascii=False)
        assert "*Sections asked of someone in M-042 (4)*" in shown and "✅ done · revision 1" in shown
        assert views.REMIND_OWING in shown and "⚠️ overdue" in shown
        assert validate_blocks(blocks, surface="message") == []
        assert validate_blocks(blocks, surface="modal") == []
        summary = next(a for a in current if a.section == "summary")
        assert views.picker_status(summary, MONDAY) == "filled by <@USTRANGER> · revision 1"
        budget = next(a for a in current if a.section == "budget")
        assert views.picker_status(budget, MONDAY) == "asked of <@USTRANGER> · due Fri 27 Feb 2026 · ⚠️ overdue"
        assert [a.section for a in service.open_for_milestone(session, milestone_id)] == ["scope", "budget", "risks"]
