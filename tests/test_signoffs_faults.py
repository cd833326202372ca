"""The web process SIGKILLed right after the commit of a sign-off request and of the last approval: after a
restart and one outbox sweep, every message the change owed is in Slack exactly once.

The web process is our own gunicorn (tests.conftest.start_server); the fake Slack answers slowly
(`latency_ms`) so the kill lands while the first owed message is in flight: Slack still stores that one (the
fake handles the call after its delay), so the sweep must find it in the conversation's history rather than
send it again, and send the rest, which were never tried.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings
from models import Delivery, Milestone
from tests.conftest import CHANNEL, Server, start_server, stop_server, wait_until_quiet
from tests.fakeslack import FakeSlack
from tests.harness import SlackSender
from tests.test_signoffs import button_value, dm, make_milestone, sweep_later

ROLES = {"Technical Lead": "UTECH", "QA Lead": "UQA", "Project Sponsor": "USPONSOR"}
TABLE: list[tuple[str, int, int, int, int]] = []


@pytest.fixture
def web(database_url: str, slack: FakeSlack, db: sessionmaker[Session], tmp_path: Path) -> Iterator[list[Server]]:
    servers = [start_server(database_url, slack, tmp_path / "web.log")]
    yield servers
    slack.latency_ms = 0
    for server in servers:
        if server.process.poll() is None:
            stop_server(server)


def _kill(server: Server) -> None:
    """SIGKILL the gunicorn master and its workers (no atexit, no finally: as if the machine died)."""
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for child in children:
        os.kill(int(child), signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)
    server.process.wait(timeout=10)


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the change was not committed in time")
        time.sleep(0.02)


def _owed_since(db: sessionmaker[Session], first_id: int) -> list[Delivery]:
    with db() as session:
        return list(session.scalars(select(Delivery).where(Delivery.id > first_id).order_by(Delivery.id)))


def _last_id(db: sessionmaker[Session]) -> int:
    with db() as session:
        return int(session.scalar(select(func.coalesce(func.max(Delivery.id), 0))) or 0)


def _arrived(slack: FakeSlack, since: int) -> Counter[str]:
    """Messages Slack stored after call number `since`: new posts per conversation (thread replies apart), and
    edits per conversation."""
    seen: Counter[str] = Counter()
    for call in slack.calls[since:]:
        if call.method == "chat.postMessage" and call.response.get("ok"):
            thread = ":thread" if call.params.get("thread_ts") else ""
            seen[f"post {call.response['channel']}{thread}"] += 1
        elif call.method == "chat.update" and call.response.get("ok"):
            seen[f"edit {call.response['channel']}"] += 1
    return seen


def _restart_and_sweep(web: list[Server], database_url: str, slack: FakeSlack, settings: Settings,
                       tmp_path: Path) -> list[str]:
    # A call in flight when the process died still reaches Slack (as a real request can): let the fake finish
    # it, as the 60-second lease outlasts any request in flight, so the sweep sees it in the history.
    time.sleep(slack.latency_ms / 1000 + 0.5)
    slack.latency_ms = 0
    web.append(start_server(database_url, slack, tmp_path / "web-restarted.log"))
    return sweep_later(settings, minutes=2)  # past the dead sender's 60-second lease


def _record(fault: str, owed: list[Delivery], arrived: Counter[str], expected: Counter[str],
            lines: list[str]) -> None:
    """New messages must arrive exactly once; an edit in flight may be applied twice (the same content: nobody
    is notified of an edit), so edits count once."""
    posts = Counter({k: n for k, n in arrived.items() if k.startswith("post")})
    edits = {k for k in arrived if k.startswith("edit")}
    duplicated = sum(n - 1 for n in posts.values() if n > 1)
    found = sum(1 for line in lines if line.startswith("outbox: found"))
    TABLE.append((fault, len(owed), len(edits) + sum(min(n, 1) for n in posts.values()), duplicated, found))
    print("\n| fault injected | messages owed | delivered | duplicated | found in Slack's history, not re-sent |"
          "\n|---|---|---|---|---|")
    for row in TABLE:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    assert posts == Counter({k: n for k, n in expected.items() if k.startswith("post")})
    assert {k for k in expected if k.startswith("edit")} <= edits
    # Other edits may only re-render a message this fault owed (a status or request DM catching up with the
    # state after the restart): the same content again, in a conversation that expected a message anyway.
    conversations = {k.split()[1].split(":")[0] for k in expected}
    assert {k.split()[1] for k in edits} <= conversations, edits


def test_killed_after_committing_a_request_and_after_the_last_approval(
    web: list[Server], database_url: str, slack: FakeSlack, db: sessionmaker[Session], settings: Settings,
    tmp_path: Path,
) -> None:
    bot = SlackSender(web[0].base_url, slack)
    milestone_id = make_milestone(db, ROLES)

    # 1. Killed right after the commit of a sign-off request.
    prompt = bot.command("signoff M-001").json()
    first, calls = _last_id(db), len(slack.calls)
    slack.latency_ms = 3000
    bot.block_action("signoff_confirm_request", value=button_value(prompt, "signoff_confirm_request"))
    _wait_for(lambda: len(_owed_since(db, first)) == 4)
    _kill(web[0])
    assert [d.status for d in _owed_since(db, first)].count("sent") < 4  # it died with messages still owed
    lines = _restart_and_sweep(web, database_url, slack, settings, tmp_path)
    owed = _owed_since(db, first)
    assert {d.status for d in owed} == {"sent"}, lines
    _record("SIGKILL after the commit of a sign-off request (3 approvers)", owed, _arrived(slack, calls), Counter(
        {"post DUTECH": 1, "post DUQA": 1, "post DUSPONSOR": 1, f"post {CHANNEL}": 1}), lines)
    with db() as session:
        assert session.get(Milestone, milestone_id).signoff_status_ts  # type: ignore[union-attr]

    # Two approve normally through the restarted process.
    bot = SlackSender(web[-1].base_url, slack)
    for user in ("UTECH", "UQA"):
        message = dm(slack, user)
        opened = len(slack.calls_to("views.open"))
        bot.block_action("signoff_approve", value=button_value(message, "signoff_approve"), user_id=user,
                         message=message)
        view = slack.wait_for("views.open", opened + 1)[-1].response["view"]
        assert not bot.submit_view(view, {}, user_id=user).body
    wait_until_quiet(slack, idle=0.5)
    # Everything those approvals owed is out before the next fault (a loaded machine may lag behind "quiet").
    _wait_for(lambda: {d.status for d in _owed_since(db, 0)} == {"sent"})

    # 2. Killed right after the commit of the last approval.
    message = dm(slack, "USPONSOR")
    bot.block_action("signoff_approve", value=button_value(message, "signoff_approve"), user_id="USPONSOR",
                     message=message)
    view = slack.wait_for("views.open", 3)[-1].response["view"]
    first, calls = _last_id(db), len(slack.calls)
    slack.latency_ms = 3000
    assert not bot.submit_view(view, {}, user_id="USPONSOR").body
    _wait_for(lambda: len(_owed_since(db, first)) == 5)  # with the final report, owed with the acceptance
    _kill(web[-1])
    assert [d.status for d in _owed_since(db, first)].count("sent") < 5
    lines = _restart_and_sweep(web, database_url, slack, settings, tmp_path)
    owed = _owed_since(db, first)
    assert {d.status for d in owed} == {"sent"}, lines
    _record("SIGKILL after the commit of the last approval", owed, _arrived(slack, calls), Counter(
        {"edit DUSPONSOR": 1, f"edit {CHANNEL}": 1, f"post {CHANNEL}:thread": 1, "post DUOWNER": 1,
         f"post {CHANNEL}": 1}), lines)  # the final report: one top-level post, its files in the thread after it
    with db() as session:
        assert session.get(Milestone, milestone_id).accepted_at is not None  # type: ignore[union-attr]
