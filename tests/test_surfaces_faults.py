"""Nothing lost when the web process dies: the messages a new milestone and a feedback request owe are in the
outbox from the transaction that made the change, so a SIGKILL right after that commit (while Slack is slow)
loses none of them, and one sweep afterwards delivers each exactly once (a post Slack already had is found
in the history, not sent again)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import bot.features  # noqa: F401  (registers every outbox kind, as each process does)
from bot.deps import Deps, make_deps
from bot.settings import Settings
from bot.slack import outbox
from bot.slack.client import make_web_client
from models import Delivery, FeedbackRequest, Milestone, utcnow
from tests.conftest import CHANNEL, Server, start_server
from tests.fakeslack import FakeSlack
from tests.harness import SlackSender
from tests.test_milestones import approvers


@pytest.fixture
def own_server(database_url: str, slack: FakeSlack, db: sessionmaker[Session], tmp_path: Path) -> Iterator[Server]:
    server = start_server(database_url, slack, tmp_path / "server.log")
    yield server
    if server.process.poll() is None:
        _kill(server)


@pytest.fixture
def deps(settings: Settings) -> Iterator[Deps]:
    deps = make_deps(settings)
    yield deps
    deps.engine.dispose()


def _kill(server: Server) -> None:
    """SIGKILL the gunicorn master and its workers (only the processes this test started)."""
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for child in children:
        os.kill(int(child), signal.SIGKILL)
    server.process.kill()
    server.process.wait(timeout=10)


def _wait(db: sessionmaker[Session], query: Any, count: int, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with db() as session:
            if (session.scalar(query) or 0) >= count:
                return
        time.sleep(0.05)
    raise AssertionError(f"{query} never reached {count}")


def _posts(slack: FakeSlack, channel: str) -> int:
    return sum(1 for c in slack.calls_to("chat.postMessage")
               if c.params.get("channel") == channel and c.response and c.response.get("ok"))


def _statuses(session: Session, kind: str) -> list[str]:
    return list(session.scalars(select(Delivery.status).where(Delivery.kind == kind)))


def _sweep(deps: Deps) -> list[outbox.Result]:
    """The clock's sweep, run after every claim of the dead process has run out of lease."""
    return outbox.sweep(deps, make_web_client(deps.settings), utcnow() + timedelta(minutes=2))


def test_killed_after_creating_a_milestone_the_note_and_dm_arrive_once(
    own_server: Server, slack: FakeSlack, db: sessionmaker[Session], deps: Deps
) -> None:
    sender = SlackSender(own_server.base_url, slack)
    before = len(slack.calls_to("views.open"))
    sender.command("new")
    view = slack.wait_for("views.open", before + 1)[before].response["view"]
    slack.latency_ms = 1500  # Slack is slow: the web process is mid-send when it dies
    sender.submit_view(view, {"name": "Checkout", **approvers(qa_lead="UQA")})
    _wait(db, select(func.count(Delivery.id)).where(Delivery.kind.like("milestone_created%")), 2)
    time.sleep(0.3)  # the note's post is on its way
    _kill(own_server)
    slack.latency_ms = 0
    with db() as session:
        assert session.scalar(select(func.count(Milestone.id))) == 1
        assert "sent" not in _statuses(session, "milestone_created_dm")  # the kill came before the DM
    _sweep(deps)
    assert _posts(slack, CHANNEL) == 1
    assert _posts(slack, "UOWNER") + _posts(slack, "DUOWNER") == 1
    assert _sweep(deps) == []  # nothing left owed


def test_killed_after_a_feedback_request_every_dm_arrives_once(
    own_server: Server, slack: FakeSlack, db: sessionmaker[Session], deps: Deps
) -> None:
    with db() as session, session.begin():
        session.add(Milestone(team_id="T0001", key="M-042", name="Checkout", owner_id="UOWNER",
                              created_by="UOWNER"))
    sender = SlackSender(own_server.base_url, slack)
    slack.latency_ms = 1500
    people = ["UPM", "UTECH", "UQA", "UPO"]
    sender.command("feedback request M-042 " + " ".join(f"<@{u}|x>" for u in people))
    _wait(db, select(func.count(Delivery.id)).where(Delivery.kind == "feedback_request"), len(people))
    time.sleep(0.3)
    _kill(own_server)
    slack.latency_ms = 0
    with db() as session:
        assert _statuses(session, "feedback_request").count("sent") < len(people)  # some were still owed
    _sweep(deps)
    assert {u: _posts(slack, u) for u in people} == dict.fromkeys(people, 1)
    with db() as session:  # each request knows where its DM landed (for the "answered" update)
        assert sorted(session.scalars(select(FeedbackRequest.dm_channel))) == sorted(f"D{u}" for u in people)
