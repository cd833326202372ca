"""A web process SIGKILLed while it writes a canvas: never a second canvas, and nothing lost.

Each test prints its row of the fault table (`pytest -s` shows them)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import Delivery, DeliveryStatus, Milestone, MilestoneCanvas, utcnow
from tests.conftest import start_server, stop_server
from tests.fakeslack import FakeSlack
from tests.harness import SlackSender
from tests.test_actions_faults import kill_server, remember_profile, remind, wait_until
from tests.test_reminders import make_milestone


def refresh_rows(db: sessionmaker[Session]) -> list[Delivery]:
    with db() as session:
        return list(session.scalars(select(Delivery).where(Delivery.kind == "canvas_refresh").order_by(Delivery.id)))


def owner_dms(slack: FakeSlack) -> list[str]:
    return [str(m.get("text")) for m in slack.messages.get("DUOWNER", []) if "canvas" in str(m.get("text"))]


def _command_while_slack_is_slow(server_url: str, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    """`/milestone canvas` with every Slack call slow; SIGKILL the web process while its canvas call is in flight."""
    sender = SlackSender(server_url, slack)
    before = len(refresh_rows(db))
    slack.latency_ms = 1500
    threading.Thread(target=lambda: sender.command("canvas M-042"), daemon=True).start()
    wait_until(lambda: len(refresh_rows(db)) > before
               and refresh_rows(db)[-1].status == DeliveryStatus.CLAIMED)


def test_killed_while_creating_the_canvas_never_makes_a_second_one(
    database_url: str, slack: FakeSlack, db: sessionmaker[Session], tmp_path: Path
) -> None:
    make_milestone(db)
    remember_profile(db, "UOWNER")
    server = start_server(database_url, slack, tmp_path / "web.log")
    try:
        _command_while_slack_is_slow(server.base_url, slack, db)
        kill_server(server)  # canvases.create is in flight: Slack makes the canvas after the bot died
    finally:
        if server.process.poll() is None:
            stop_server(server)
    slack.latency_ms = 0
    wait_until(lambda: len(slack.canvases) == 1)
    first = remind(database_url, slack, utcnow() + timedelta(seconds=61))  # the dead sender's lease ran out
    assert first.returncode == 0, first.stderr
    remind(database_url, slack, utcnow() + timedelta(seconds=130))  # sends the owner's DM it owed
    assert len(slack.canvases) == 1 and len(slack.calls_to("canvases.create")) == 1
    dms = owner_dms(slack)
    assert len(dms) == 1 and "answer to making the canvas was lost" in dms[0]
    print(f"\nFAULT TABLE | web SIGKILL during canvases.create | canvases 1 | created {len(slack.canvases)} | "
          f"owner told {len(dms)}")


def test_killed_while_rewriting_the_canvas_loses_nothing(
    database_url: str, slack: FakeSlack, db: sessionmaker[Session], tmp_path: Path
) -> None:
    milestone_id = make_milestone(db)
    remember_profile(db, "UOWNER")
    server = start_server(database_url, slack, tmp_path / "web.log")
    try:
        SlackSender(server.base_url, slack).command("canvas M-042")
        wait_until(lambda: len(slack.canvases) == 1 and bool(slack.calls_to("response_url")))
        with db() as session, session.begin():
            session.get(Milestone, milestone_id).name = "Checkout, renamed"  # type: ignore[union-attr]
        _command_while_slack_is_slow(server.base_url, slack, db)
        kill_server(server)  # canvases.edit is in flight
    finally:
        if server.process.poll() is None:
            stop_server(server)
    slack.latency_ms = 0
    swept = remind(database_url, slack, utcnow() + timedelta(seconds=61))
    assert swept.returncode == 0, swept.stderr
    [canvas] = slack.canvases.values()
    assert "Checkout, renamed" in canvas["markdown"] and len(slack.calls_to("canvases.create")) == 1
    with db() as session:
        assert session.scalar(select(MilestoneCanvas.canvas_id)) == canvas["id"]
    assert all(r.status == DeliveryStatus.SENT for r in refresh_rows(db))
    # `replace` is idempotent: the killed edit (Slack applied it) and the sweep's retry hold the same text.
    print(f"\nFAULT TABLE | web SIGKILL during canvases.edit | changes 1 | canvases {len(slack.canvases)} | "
          f"edits {len(canvas['edits'])} (same content)")
