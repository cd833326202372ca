"""The overdue-reminder sweep: one digest per owner per local day, in working hours, escalations, weekly
summaries, exactly once under parallel sweeps and 429s, and the reminder history.

The sweep is run in-process with an injected `now` (as `milestone-bot remind --now` does) against the test
database and the fake Slack over HTTP; the CLI and the clock process are also run for real.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.actions import jobs as action_reminders
from bot.actions.service import reminder_history
from bot.clock import send_owed
from bot.core import deliveries
from bot.deps import Deps, make_deps
from bot.settings import Settings
from bot.slack.client import make_web_client
from bot.slack.jobs import JobContext
from bot.slack.notifier import Notifier
from models import ActionItem, ActionStatus, Delivery, DeliveryStatus, Milestone, UserProfile, utcnow
from tests.conftest import BOT_TOKEN, ROOT, bot_env
from tests.fakeslack import FakeSlack
from tests.harness import TEAM_ID

# Monday 2 March 2026. London is UTC+0 then, New York UTC-5 (DST starts on 8 March).
MONDAY = date(2026, 3, 2)
FRIDAY_BEFORE = date(2026, 2, 27)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A UTC moment."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def make_milestone(db: sessionmaker[Session], key: str = "M-042", owner: str = "UOWNER",
                   channel: str | None = "C0001", **extra: Any) -> int:
    with db() as session, session.begin():
        milestone = Milestone(team_id=TEAM_ID, key=key, name="Checkout <!channel> revamp", owner_id=owner,
                              created_by=owner, report_channel_id=channel, **extra)
        session.add(milestone)
        session.flush()
        return milestone.id


# When the tests' items came into the bot: before every due date and simulated sweep below (escalation counts
# from the later of the due date and the day an item came in, bot.actions.service.overdue_since).
LONG_BEFORE = datetime(2025, 6, 2, 9, tzinfo=UTC)


def make_item(db: sessionmaker[Session], milestone_id: int, owner: str = "UEDITOR", due: date | None = FRIDAY_BEFORE,
              description: str = "Rotate the API keys", **extra: Any) -> int:
    extra.setdefault("created_at", LONG_BEFORE)
    with db() as session, session.begin():
        item = ActionItem(milestone_id=milestone_id, owner_id=owner, due_date=due, description=description,
                          horizon="week1", created_by="UOWNER", **extra)
        session.add(item)
        session.flush()
        return item.id


@pytest.fixture
def deps(settings: Settings, db: sessionmaker[Session]) -> Iterator[Deps]:
    deps = make_deps(settings)
    yield deps
    deps.engine.dispose()


def sweep(deps: Deps, now: datetime) -> list[str]:
    """What one clock tick does for action items: send what is still owed, then the reminders that are due."""
    client = make_web_client(deps.settings)
    ctx = JobContext(deps=deps, client=client, notifier=Notifier(client), now=now)
    return send_owed(ctx) + action_reminders.run(ctx)


def dms(slack: FakeSlack, user: str) -> list[dict[str, Any]]:
    return slack.messages.get(f"D{user}", [])


def texts(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks"), ensure_ascii=False) + message.get("text", "")


def test_one_digest_per_owner_per_local_day_in_working_hours(deps: Deps, db: sessionmaker[Session],
                                                               slack: FakeSlack) -> None:
    milestone = make_milestone(db, channel=None)  # no weekly summary; nothing old enough to escalate
    make_item(db, milestone, description="Rotate the API keys")
    make_item(db, milestone, description="Write the <!here> post-mortem", due=FRIDAY_BEFORE - timedelta(days=1))
    make_item(db, milestone, description="Not due yet", due=MONDAY)

    lines = sweep(deps, at(MONDAY, 10))  # 10:00 in London
    assert len(dms(slack, "UEDITOR")) == 1, lines
    digest = dms(slack, "UEDITOR")[0]
    assert "Rotate the API keys" in texts(digest) and "post-mortem" in texts(digest)
    assert "Not due yet" not in texts(digest)
    assert "&lt;!here&gt;" in texts(digest) and "<!here>" not in texts(digest)  # escaped: no ping
    assert any("digest to UEDITOR (2 items)" in line for line in lines)
    # One Slack call for the message itself: chat.postMessage to the user id (no conversations.open).
    assert len(slack.calls_to("chat.postMessage")) == 1 and not slack.calls_to("conversations.open")

    assert sweep(deps, at(MONDAY, 16, 45)) == []  # the same local day: nothing
    assert len(dms(slack, "UEDITOR")) == 1

    sweep(deps, at(MONDAY + timedelta(days=1), 9, 5))  # the next working day: again
    assert len(dms(slack, "UEDITOR")) == 2


def test_weekend_and_outside_hours_send_nothing(deps: Deps, db: sessionmaker[Session], slack: FakeSlack) -> None:
    make_item(db, make_milestone(db, channel=None))
    saturday, sunday = MONDAY - timedelta(days=2), MONDAY - timedelta(days=1)
    for moment in (at(saturday, 11), at(sunday, 11), at(MONDAY, 8, 59), at(MONDAY, 17, 0), at(MONDAY, 23)):
        assert sweep(deps, moment) == [], moment
    assert dms(slack, "UEDITOR") == []
    assert sweep(deps, at(MONDAY, 9, 0)) != []  # 09:00 London opens the working day


def test_owner_time_zone_decides_today_and_working_hours(deps: Deps, db: sessionmaker[Session],
                                                         slack: FakeSlack) -> None:
    milestone = make_milestone(db)
    make_item(db, milestone, owner="UPO", due=MONDAY)  # Tokyo, UTC+9
    make_item(db, milestone, owner="UPM", due=MONDAY)  # New York, UTC-5
    # Tue 01:00 UTC: Tuesday 10:00 in Tokyo (Monday's item is overdue there); Monday 20:00 in New York.
    sweep(deps, at(MONDAY + timedelta(days=1), 1))
    assert len(dms(slack, "UPO")) == 1 and dms(slack, "UPM") == []
    # Tue 14:00 UTC: Tuesday 09:00 in New York.
    sweep(deps, at(MONDAY + timedelta(days=1), 14))
    assert len(dms(slack, "UPM")) == 1 and len(dms(slack, "UPO")) == 1


def test_sunday_to_thursday_week(settings: Settings, db: sessionmaker[Session], slack: FakeSlack) -> None:
    deps = make_deps(replace(settings, work_days=frozenset({6, 0, 1, 2, 3})))
    try:
        make_item(db, make_milestone(db))
        assert sweep(deps, at(MONDAY - timedelta(days=3), 10)) == []  # Friday: weekend here
        assert sweep(deps, at(MONDAY - timedelta(days=1), 10)) != []  # Sunday: a working day
    finally:
        deps.engine.dispose()


def test_snoozed_and_done_items_are_not_reminded(deps: Deps, db: sessionmaker[Session], slack: FakeSlack) -> None:
    milestone = make_milestone(db)
    make_item(db, milestone, description="Snoozed one", snoozed_until=MONDAY + timedelta(days=1))
    make_item(db, milestone, description="Done one", status=ActionStatus.DONE)
    make_item(db, milestone, owner="UTECH", description="Cancelled one", status=ActionStatus.CANCELLED)
    assert sweep(deps, at(MONDAY, 10)) == []
    assert slack.calls_to("chat.postMessage") == []
    sweep(deps, at(MONDAY + timedelta(days=1), 10))  # the snooze ends on Tuesday
    assert len(dms(slack, "UEDITOR")) == 1
    assert "Snoozed one" in texts(dms(slack, "UEDITOR")[0])
    assert "Done one" not in texts(dms(slack, "UEDITOR")[0])


def test_escalation_after_n_working_days_once_a_day(deps: Deps, db: sessionmaker[Session], slack: FakeSlack) -> None:
    milestone = make_milestone(db, owner="UOWNER")  # New York
    make_item(db, milestone, owner="UEDITOR", due=FRIDAY_BEFORE, description="Long overdue")
    make_item(db, milestone, owner="UEDITOR", due=MONDAY, description="Recent")
    # Overdue working days since Friday: Mon 1, Tue 2, Wed 3 (not more than 3), Thu 4 → escalate on Thursday.
    for offset in range(3):
        sweep(deps, at(MONDAY + timedelta(days=offset), 15))
    assert dms(slack, "UOWNER") == []
    thursday = MONDAY + timedelta(days=3)
    lines = sweep(deps, at(thursday, 15))  # 10:00 in New York
    assert any("escalation to UOWNER (1 item)" in line for line in lines), lines
    escalation = dms(slack, "UOWNER")
    assert len(escalation) == 1 and "Long overdue" in texts(escalation[0]) and "Recent" not in texts(escalation[0])
    assert sweep(deps, at(thursday, 20)) == []  # once a day
    with db() as session:
        history = reminder_history(session, milestone)
    long_id = next(h for h in history.values() if h.escalated_on)
    assert long_id.reminded == 4 and long_id.escalated_on == thursday
    assert long_id.summary() == f"reminded 4×, escalated on {thursday.isoformat()}"


def test_permanent_failure_is_recorded_and_escalated(deps: Deps, db: sessionmaker[Session], slack: FakeSlack) -> None:
    slack.add_user("UGONE", name="Gone Person", tz="Europe/London", deleted=True)
    milestone = make_milestone(db, owner="UOWNER")
    item_id = make_item(db, milestone, owner="UGONE", due=MONDAY - timedelta(days=1), description="Orphaned")
    lines = sweep(deps, at(MONDAY, 15))
    assert any("FAILED overdue digest to UGONE" in line and "user_disabled" in line for line in lines), lines
    with db() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.recipient_id == "UGONE")).one()
        assert (delivery.status, delivery.error) == (DeliveryStatus.FAILED, "user_disabled")
    # The failure is not retried today; the milestone owner's escalation (the next sweep's) names the
    # unreachable owner, the error and the item, though the item is only one working day overdue.
    lines = sweep(deps, at(MONDAY, 15, 15))
    assert lines == ["sent escalation to UOWNER (1 item, 1 unreachable owner(s)) for 2026-03-02"]
    escalation = dms(slack, "UOWNER")
    assert len(escalation) == 1
    assert "UGONE" in texts(escalation[0]) and "user_disabled" in texts(escalation[0])
    assert "Orphaned" in texts(escalation[0])
    assert sweep(deps, at(MONDAY, 16)) == []
    with db() as session:
        assert reminder_history(session, milestone)[item_id].failed == 1


def test_rate_limited_sends_are_retried_and_delivered_once(deps: Deps, db: sessionmaker[Session],
                                                           slack: FakeSlack) -> None:
    milestone = make_milestone(db, owner="UEDITOR", channel=None)
    for owner in ("UEDITOR", "USTRANGER", "UADMIN"):
        make_item(db, milestone, owner=owner, due=MONDAY - timedelta(days=1))
    slack.fail_next("chat.postMessage", status=429, retry_after=0, times=2)
    now = at(MONDAY, 14, 30)  # working time in London, Berlin and UTC
    lines = sweep(deps, now)
    assert len([line for line in lines if line.startswith("sent")]) == 3, lines
    for owner in ("UEDITOR", "USTRANGER", "UADMIN"):
        assert len(dms(slack, owner)) == 1
    ratelimited = [c for c in slack.calls_to("chat.postMessage") if c.response.get("error") == "ratelimited"]
    assert len(ratelimited) == 2
    assert sweep(deps, now + timedelta(minutes=15)) == []


def test_passing_failure_is_retried_by_the_next_sweep(deps: Deps, db: sessionmaker[Session],
                                                      slack: FakeSlack) -> None:
    make_item(db, make_milestone(db))
    slack.fail_next("chat.postMessage", status=500, times=1)  # a post is not retried blindly: Slack may have it
    lines = sweep(deps, at(MONDAY, 10))
    assert any(line.startswith("will retry") for line in lines), lines
    assert dms(slack, "UEDITOR") == []
    sweep(deps, at(MONDAY, 10, 15))
    assert len(dms(slack, "UEDITOR")) == 1


def test_dead_claim_is_taken_over_after_its_lease(deps: Deps, db: sessionmaker[Session], slack: FakeSlack) -> None:
    make_item(db, make_milestone(db))
    now = at(MONDAY, 10)
    with db() as session, session.begin():  # a sweep that recorded the digest, claimed it and died
        delivery_id = deliveries.owe(session, kind="action_digest", recipient_id="UEDITOR", subject="all",
                                     local_date=MONDAY, now=now, op="post", target="UEDITOR",
                                     payload={"text": "Overdue: one item", "blocks": None, "item_ids": []})
        assert delivery_id is not None and deliveries.claim(session, delivery_id, now) is not None
    assert sweep(deps, now + timedelta(seconds=30)) == []  # within the lease: never twice
    lines = sweep(deps, now + timedelta(seconds=61))
    assert len(dms(slack, "UEDITOR")) == 1, lines
    with db() as session:
        delivery = session.scalars(select(Delivery)).one()
        assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2 and delivery.message_ts


def test_weekly_summary_to_the_milestone_channel(deps: Deps, db: sessionmaker[Session], slack: FakeSlack) -> None:
    milestone = make_milestone(db, owner="UOWNER", channel="C0001")
    make_item(db, milestone, owner="UEDITOR", description="First")
    make_item(db, milestone, owner="UPM", description="Second")
    make_milestone(db, key="M-043", channel=None)  # no channel: no summary
    sweep(deps, at(MONDAY, 15))  # Monday (WEEKLY_SUMMARY_DAY=mon), 10:00 in New York
    posts = slack.messages.get("C0001", [])
    assert len(posts) == 1 and "First" in texts(posts[0]) and "Second" in texts(posts[0])
    sweep(deps, at(MONDAY + timedelta(days=1), 15))
    assert len(slack.messages.get("C0001", [])) == 1  # once a week


def test_catch_up_after_downtime(deps: Deps, db: sessionmaker[Session], slack: FakeSlack) -> None:
    make_item(db, make_milestone(db, channel=None))
    # Nothing ran all morning; the first sweep at 16:50 still sends today's digest.
    sweep(deps, at(MONDAY, 16, 50))
    assert len(dms(slack, "UEDITOR")) == 1


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_two_parallel_sweeps_send_exactly_one_digest_per_owner(
    settings: Settings, db: sessionmaker[Session], slack: FakeSlack, database_url: str, mode: str
) -> None:
    owners = [f"UP{n:03d}" for n in range(100)]
    for owner in owners:
        slack.add_user(owner, tz="Europe/London")
    with db() as session, session.begin():
        milestone = Milestone(team_id=TEAM_ID, key="M-100", name="Big", owner_id="UOWNER", created_by="UOWNER")
        session.add(milestone)
        session.flush()
        session.add_all(UserProfile(user_id=o, tz="Europe/London", fetched_at=utcnow()) for o in owners)
        session.add_all(
            ActionItem(milestone_id=milestone.id, owner_id=owners[n % 100], due_date=MONDAY - timedelta(days=1),
                       description=f"Item {n}", horizon="week1", created_by="UOWNER")
            for n in range(1000)
        )
    now = at(MONDAY, 10)
    if mode == "processes":  # `milestone-bot remind` twice at once, as by hand while the clock runs
        env = bot_env(database_url, slack, 0)
        command = [sys.executable, "-m", "bot.cli", "remind", "--now", now.isoformat()]
        runs = [subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True) for _ in range(2)]
        outputs = [run.communicate(timeout=120) for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs
        # Each digest is reported once, by whichever run sent it (its reminder job, or its outbox pass that
        # picked up a digest the other run had recorded but not yet sent).
        sent = [line for out, _err in outputs for line in out.splitlines()
                if "sent overdue digest" in line or "sent action_digest" in line]
        assert len(sent) == 100
    else:
        _sweep_in_threads(settings, now)
    posts = slack.calls_to("chat.postMessage")
    assert len(posts) == 100
    assert sorted(c.params["channel"] for c in posts) == owners
    with db() as session:
        assert session.scalars(select(Delivery.status)).all() == [DeliveryStatus.SENT] * 100


def _sweep_in_threads(settings: Settings, now: datetime) -> None:
    results: list[list[str]] = [[], []]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(slot: int) -> None:
        deps = make_deps(replace(settings, db_lock_timeout_ms=5000))  # two processes' worth of connections
        try:
            start.wait()
            results[slot] = sweep(deps, now)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            deps.engine.dispose()

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(results[0]) + len(results[1]) == 100


def test_remind_cli_prints_what_it_sent(db: sessionmaker[Session], slack: FakeSlack, database_url: str) -> None:
    make_item(db, make_milestone(db, channel=None), description="Ship the changelog")
    env = bot_env(database_url, slack, 0)
    command = [sys.executable, "-m", "bot.cli", "remind", "--now", "2026-03-02T10:00:00Z"]
    first = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "action reminders: sent overdue digest to UEDITOR (1 item) for 2026-03-02" in first.stdout
    again = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert again.stdout.strip() == "nothing to send"
    assert len(dms(slack, "UEDITOR")) == 1


def test_clock_sweeps_and_stops_cleanly_on_sigterm(db: sessionmaker[Session], slack: FakeSlack,
                                                    database_url: str) -> None:
    # An item overdue by any clock, owned by someone whose working hours are always.
    slack.add_user("UANY", tz="UTC")
    make_item(db, make_milestone(db, channel=None), owner="UANY", due=date(2000, 1, 3))
    env = {**bot_env(database_url, slack, 0), "WORK_HOURS_START": "00:00", "WORK_HOURS_END": "24:00",
           "WORK_DAYS": "mon-sun", "SLACK_BOT_TOKEN": BOT_TOKEN}
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "clock"], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        slack.wait_for("chat.postMessage", 1, timeout=20)
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "clock stopped" in output
    assert len(dms(slack, "UANY")) == 1


def test_history_is_one_query(deps: Deps, db: sessionmaker[Session], slack: FakeSlack) -> None:
    milestone = make_milestone(db)
    first = make_item(db, milestone)
    never = make_item(db, milestone, due=None)
    sweep(deps, at(MONDAY, 10))
    sweep(deps, at(MONDAY + timedelta(days=1), 10))
    statements: list[str] = []
    from sqlalchemy import event

    engine = db.kw["bind"]
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with db() as session:
            history = reminder_history(session, milestone)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    assert history[first].reminded == 2 and history[first].last_reminded == at(MONDAY + timedelta(days=1), 10)
    assert never not in history

