"""The milestone's canvas over HTTP: `/milestone canvas`, kept current after edits and new action items through
the outbox (one canvas, one edit per change, also with two web processes and a clock at once), Slack's
refusals (a free workspace's fallback, `canvas_too_large`, a locked canvas, 429), and the owner told once."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot import clock
from bot.actions.views import ItemOp
from bot.canvas import jobs as canvas_jobs
from bot.demo import create_demo
from bot.deps import make_deps
from bot.reports.coverage import outline, subsections
from bot.settings import Settings
from bot.slack import payloads
from models import ActionItem, Delivery, DeliveryStatus, Milestone, MilestoneCanvas, Risk, utcnow
from tests.conftest import CHANNEL, start_server, stop_server, wait_until_quiet
from tests.fakeslack import FakeSlack
from tests.harness import TEAM_ID, SlackSender
from tests.test_feedback import ANSWER as FEEDBACK
from tests.test_reminders import make_milestone
from tests.test_signoffs import save_confirmed


@pytest.fixture
def milestone(db: sessionmaker[Session]) -> int:
    """The demo milestone, owned by UOWNER, reporting to #general (C0001)."""
    with db() as session, session.begin():
        return create_demo(session, date.today(), team_id=TEAM_ID, owner_id="UOWNER", channel_id=CHANNEL).id


def answer_to(slack: FakeSlack, containing: str, count: int = 1) -> str:
    calls = slack.wait_for("response_url", count,
                           where=lambda c: containing in json.dumps(c.params, ensure_ascii=False))
    return str(calls[-1].params["text"])


def only_canvas(slack: FakeSlack) -> dict[str, Any]:
    assert len(slack.canvases) == 1, list(slack.canvases)
    return next(iter(slack.canvases.values()))


def sweep(settings: Settings, *, after: float = 61) -> list[str]:
    """The clock's sweep, as if `after` seconds had passed (refreshes wait a minute after the last write)."""
    deps = make_deps(settings)
    try:  # the outbox and the canvases' catch-up (the reminder jobs would change the report's history)
        return clock.sweep(deps, utcnow() + timedelta(seconds=after),
                           jobs=[("outbox", clock.send_owed), ("canvases", canvas_jobs.run)])
    finally:
        deps.engine.dispose()


def open_form(bot: SlackSender, slack: FakeSlack, text: str, user_id: str = "UOWNER") -> dict[str, Any]:
    before = len(slack.calls_to("views.open"))
    assert bot.command(text, user_id=user_id).status == 200
    call = slack.wait_for("views.open", before + 1)[-1]
    assert call.response["ok"], call.response
    return dict(call.response["view"])


def make_canvas(bot: SlackSender, slack: FakeSlack) -> dict[str, Any]:
    assert bot.command("canvas M-042").status == 200
    answer_to(slack, "canvas")
    wait_until_quiet(slack)
    return only_canvas(slack)


def saved(answer: Any) -> bool:
    """A section form accepted the save (it closes, or shows its notice), with no errors next to inputs."""
    body = answer.json() if answer.body else None
    return bool(answer.status == 200 and (body is None or body.get("response_action") != "errors"))


def canvas_dms(slack: FakeSlack, dm: str) -> list[str]:
    """What the bot told this person about canvases (other jobs of the sweep DM the demo's people too)."""
    return [str(c.params.get("text")) for c in slack.calls_to("chat.postMessage")
            if c.params.get("channel") in (dm, dm[1:]) and "canvas" in str(c.params.get("text"))]


def pending_refreshes(db: sessionmaker[Session]) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.kind == "canvas_refresh", Delivery.status == DeliveryStatus.PENDING)) or 0


def wait_until_written(db: sessionmaker[Session], timeout: float = 5.0) -> None:
    """Until no canvas write is waiting or in flight (Slack answered and the outbox recorded it)."""
    deadline = time.monotonic() + timeout
    while True:
        with db() as session:
            busy = session.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.kind == "canvas_refresh",
                Delivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.CLAIMED)))) or 0
        if not busy:
            return
        assert time.monotonic() < deadline, "a canvas write is still waiting or in flight"
        time.sleep(0.05)


def wait_for_pending(db: sessionmaker[Session], count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while pending_refreshes(db) != count:
        assert time.monotonic() < deadline, f"expected {count} pending canvas refresh(es)"
        time.sleep(0.05)


def test_the_command_makes_one_canvas_with_every_section_readable_in_the_channel(
    bot: SlackSender, slack: FakeSlack, milestone: int
) -> None:
    assert bot.command("canvas M-042").status == 200
    answer = answer_to(slack, "canvas")
    canvas = only_canvas(slack)
    assert canvas["title"] == "M-042 · Customer Portal Beta — milestone report"
    assert canvas["kind"] == "standalone"
    assert canvas["access"]["channels"] == {CHANNEL: "read"}  # readable by the channel, writable by nobody
    assert f"https://app.slack.com/docs/{TEAM_ID}/{canvas['id']}" in answer and "readable in <#C0001>" in answer
    markdown = canvas["markdown"]
    for part, sub in subsections(outline()):
        assert f"## {part.heading}" in markdown.replace(f"## {part.key}", "") or part.heading in markdown
        heading = sub.heading.split("{")[0].strip()
        if heading:
            assert heading in markdown, heading
    assert "- [ ] " in markdown and "- [x] " in markdown  # action items are a checklist
    assert "| Criterion | Target | Actual | Status | Notes |" in markdown
    # Slack shows a canvas to a channel once its link is shared there: one message, with the link.
    shared = [c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == CHANNEL]
    assert len(shared) == 1 and canvas["id"] in json.dumps(shared[0].params["blocks"])

    # Asked again: the same canvas, nothing written (nothing changed), nothing posted again.
    assert bot.command("canvas M-042").status == 200
    answer_to(slack, "is current", count=2)
    wait_until_quiet(slack)
    assert only_canvas(slack)["edits"] == [] and len(slack.calls_to("canvases.create")) == 1
    assert len([c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == CHANNEL]) == 1


def test_an_edit_an_action_item_and_a_feedback_answer_rewrite_the_same_canvas_within_a_minute(
    bot: SlackSender, slack: FakeSlack, milestone: int, settings: Settings, db: sessionmaker[Session]
) -> None:
    make_canvas(bot, slack)
    form = open_form(bot, slack, "edit M-042 summary")
    assert saved(save_confirmed(bot, form, {"executive_summary": "Shipped to <!channel> | all 250 customers"}))
    wait_for_pending(db, 1)  # owed in the save's own transaction, waiting out the minute since the create
    action = open_form(bot, slack, "action add M-042")
    assert bot.submit_view(action, {"description": "Rotate the portal's API keys", "owner_id": "UEDITOR"}).status == 200
    answer = open_form(bot, slack, "feedback M-042", user_id="UQA")
    assert bot.submit_view(answer, {**FEEDBACK, "comment": "Loved it <@UOWNER>"}, user_id="UQA").status == 200
    wait_until_quiet(slack)
    wait_for_pending(db, 1)  # all three changes wait in one row: at most one edit a minute
    assert only_canvas(slack)["edits"] == []

    lines = sweep(settings)
    canvas = only_canvas(slack)
    assert len(canvas["edits"]) == 1, lines
    assert canvas["edits"][0]["operation"] == "replace"
    markdown = canvas["markdown"]
    assert "Shipped to @channel \\| all 250 customers" in markdown
    assert "- [ ] Rotate the portal's API keys" in markdown
    assert "Loved it @Olivia Owner" in markdown  # the feedback answer's comment, a mention made a name
    assert "<!channel>" not in markdown and "<@UOWNER>" not in markdown
    assert len(slack.calls_to("canvases.create")) == 1

    assert sweep(settings, after=200) is not None  # nothing changed since: no further edit
    assert len(only_canvas(slack)["edits"]) == 1 and pending_refreshes(db) == 0


def test_each_kind_of_change_owes_the_rewrite_in_its_own_transaction(
    bot: SlackSender, slack: FakeSlack, milestone: int, settings: Settings, db: sessionmaker[Session]
) -> None:
    """No clock: a change made a minute after the last write reaches the canvas from the web process at once,
    for an action item's Done and a feedback answer alike."""
    payloads.configure("test-secret-key")  # the key the bot under test signs its buttons with
    make_canvas(bot, slack)

    def a_minute_later() -> None:
        with db() as session, session.begin():
            session.scalars(select(MilestoneCanvas)).one().refreshed_at = utcnow() - timedelta(minutes=2)

    with db() as session:
        item = session.scalars(select(ActionItem).where(ActionItem.milestone_id == milestone,
                                                        ActionItem.status == "open")
                               .order_by(ActionItem.id)).first()
        assert item is not None
        item_id, owner_id, description = item.id, item.owner_id, item.description
    a_minute_later()
    assert bot.block_action("action_done", value=ItemOp(item_id, "done", "m").pack(), user_id=owner_id).status == 200
    slack.wait_for("canvases.edit", 1, timeout=5.0)
    assert f"- [x] {description}" in only_canvas(slack)["markdown"]
    wait_until_written(db)  # a change while a write is in flight waits its turn (one write at a time)

    a_minute_later()
    answer = open_form(bot, slack, "feedback M-042", user_id="UQA")
    assert bot.submit_view(answer, FEEDBACK, user_id="UQA").status == 200
    slack.wait_for("canvases.edit", 2, timeout=5.0)
    assert pending_refreshes(db) == 0
    assert len(slack.calls_to("canvases.create")) == 1 and len(only_canvas(slack)["edits"]) == 2


def test_changes_made_outside_the_bot_are_caught_up_by_the_clock(
    bot: SlackSender, slack: FakeSlack, milestone: int, settings: Settings, db: sessionmaker[Session]
) -> None:
    make_canvas(bot, slack)
    with db() as session, session.begin():  # not audited: no rewrite owed until the clock compares
        session.get(Milestone, milestone).name = "Vendor strike drill"  # type: ignore[union-attr]
    assert pending_refreshes(db) == 0
    sweep(settings)
    canvas = only_canvas(slack)
    assert len(canvas["edits"]) == 1 and "Vendor strike drill" in canvas["markdown"]
    sweep(settings, after=130)
    assert len(only_canvas(slack)["edits"]) == 1


def test_two_web_processes_and_clocks_at_once_leave_one_canvas_and_one_edit_per_change(
    bot: SlackSender, slack: FakeSlack, milestone: int, settings: Settings, db: sessionmaker[Session],
    database_url: str, tmp_path: Path
) -> None:
    other = start_server(database_url, slack, tmp_path / "second.log")
    try:
        second = SlackSender(other.base_url, slack)
        slack.latency_ms = 80  # every Slack call slow enough for the processes to overlap
        errors: list[BaseException] = []

        def run(work: Any) -> None:
            try:
                work()
            except BaseException as error:  # re-raised below, in the test's thread
                errors.append(error)

        work = [lambda: bot.command("canvas M-042"), lambda: second.command("canvas M-042"),
                lambda: sweep(settings, after=0), lambda: sweep(settings, after=0)]
        threads = [threading.Thread(target=run, args=(w,)) for w in work]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        answer_to(slack, "canvas", count=2)  # each person who asked hears back
        wait_until_quiet(slack)
        sweep(settings, after=61)
        canvas = only_canvas(slack)
        assert len(slack.calls_to("canvases.create")) == 1 and canvas["edits"] == []

        # One change through each web process, and two clocks sweeping at once: one edit carries both.
        form = open_form(bot, slack, "edit M-042 summary")
        assert saved(save_confirmed(bot, form, {"executive_summary": "First change"}))
        action = open_form(second, slack, "action add M-042")
        assert second.submit_view(action, {"description": "Second change", "owner_id": "UEDITOR"}).status == 200
        wait_until_quiet(slack)
        wait_for_pending(db, 1)  # the edit's hook runs after Slack's answer, without calling Slack
        clocks = [threading.Thread(target=run, args=(lambda: sweep(settings),)) for _ in range(2)]
        for t in clocks:
            t.start()
        for t in clocks:
            t.join()
        assert not errors, errors
        canvas = only_canvas(slack)
        assert len(canvas["edits"]) == 1
        assert "First change" in canvas["markdown"] and "Second change" in canvas["markdown"]
        assert len(slack.calls_to("canvases.create")) == 1 and pending_refreshes(db) <= 1
        sweep(settings, after=200)  # whatever the clocks left owed finds nothing new to write
        assert len(only_canvas(slack)["edits"]) == 1 and pending_refreshes(db) == 0
    finally:
        slack.latency_ms = 0
        stop_server(other)


def test_a_locked_canvas_and_rate_limits_are_tried_again(
    bot: SlackSender, slack: FakeSlack, milestone: int, settings: Settings, db: sessionmaker[Session]
) -> None:
    canvas = make_canvas(bot, slack)
    with db() as session, session.begin():
        session.get(Milestone, milestone).name = "Customer Portal GA"  # type: ignore[union-attr]
    slack.lock_canvas(canvas["id"], times=1)
    slack.fail_next("canvases.edit", status=429, retry_after=1)
    sweep(settings)
    canvas = only_canvas(slack)
    assert len(canvas["edits"]) == 1 and "Customer Portal GA" in canvas["markdown"]
    edits = slack.calls_to("canvases.edit")
    assert [c.response.get("error") for c in edits] == ["ratelimited", "canvas_editing_locked", None]

    # Locked for longer than one send: released, and the next sweep writes it.
    with db() as session, session.begin():
        session.get(Milestone, milestone).name = "Customer Portal 1.0"  # type: ignore[union-attr]
    slack.lock_canvas(canvas["id"], times=3)
    sweep(settings, after=120)
    assert "Customer Portal 1.0" not in only_canvas(slack)["markdown"]
    sweep(settings, after=240)
    assert "Customer Portal 1.0" in only_canvas(slack)["markdown"] and len(only_canvas(slack)["edits"]) == 2
    assert canvas_dms(slack, "DUOWNER") == []  # passing refusals do not bother the owner


def test_a_report_too_large_for_a_canvas_is_told_to_the_owner_once(
    bot: SlackSender, slack: FakeSlack, milestone: int, settings: Settings, db: sessionmaker[Session]
) -> None:
    make_canvas(bot, slack)
    with db() as session, session.begin():  # as the sections service saves rows: a new revision
        session.get(Milestone, milestone).revision += 1  # type: ignore[union-attr]
        for i in range(500):  # beyond the form's 30 rows, to pass the 1 MiB a canvas may hold
            session.add(Risk(milestone_id=milestone, position=100 + i, kind="realized", risk=f"r{i} " + "x" * 190,
                             impact="high", management="m" * 1000, lessons="l" * 1000))
    sweep(settings)
    sweep(settings, after=120)
    canvas = only_canvas(slack)
    assert canvas["edits"] == [] and "r499" not in canvas["markdown"]  # the last good version stays
    dms = canvas_dms(slack, "DUOWNER")
    assert len(dms) == 1, dms
    assert "bigger than Slack allows in a canvas" in dms[0]
    with db() as session:
        row = session.scalars(select(MilestoneCanvas)).one()
        assert row.problem == "canvas_too_large"


def test_a_free_workspace_gets_the_channel_canvas_or_a_plain_explanation(
    bot: SlackSender, slack: FakeSlack, milestone: int, db: sessionmaker[Session], settings: Settings
) -> None:
    slack.free_plan = True
    assert bot.command("canvas M-042").status == 200
    answer_to(slack, "canvas")
    canvas = only_canvas(slack)
    assert canvas["kind"] == "channel" and canvas["channel_id"] == CHANNEL
    assert "Customer Portal Beta" in canvas["markdown"]
    assert [c.response.get("error") for c in slack.calls_to("canvases.create")] == [
        "free_teams_cannot_create_standalone_canvases"]

    # A second milestone reporting to the same channel cannot have that channel's one canvas.
    other_id = make_milestone(db, "M-043", owner="UEDITOR", channel=CHANNEL)
    assert bot.command("canvas M-043", user_id="UEDITOR").status == 200
    answer = answer_to(slack, "free plan")
    assert "other milestones report to <#C0001> too" in answer
    assert len(slack.canvases) == 1
    dms = canvas_dms(slack, "DUEDITOR")
    assert len(dms) == 1 and "free plan" in dms[0]
    sweep(settings)  # the refusal is not retried by the clock, and the owner is not told again
    assert len(slack.canvases) == 1
    assert len(canvas_dms(slack, "DUEDITOR")) == 1
    with db() as session:
        assert session.scalar(select(MilestoneCanvas.problem).where(MilestoneCanvas.milestone_id == other_id)) == (
            "free_teams_cannot_create_standalone_canvases")


def test_strangers_cannot_make_a_canvas_and_canvas_off_makes_none(
    bot: SlackSender, slack: FakeSlack, milestone: int, settings: Settings
) -> None:
    assert bot.command("canvas M-042", user_id="USTRANGER").status == 200
    assert "Only the owner and editors of M-042" in answer_to(slack, "Only the owner")
    assert slack.canvases == {}
    assert not [line for line in sweep(replace(settings, canvas=False)) if line.startswith("canvases")]
    assert slack.canvases == {}


def test_a_create_whose_answer_was_lost_is_never_repeated_by_itself(
    bot: SlackSender, slack: FakeSlack, milestone: int, settings: Settings, db: sessionmaker[Session]
) -> None:
    slack.drop_response("canvases.create")  # Slack makes the canvas; its answer never arrives
    assert bot.command("canvas M-042").status == 200
    assert "did not take the canvas yet" in answer_to(slack, "canvas")
    assert len(slack.canvases) == 1
    sweep(settings)
    sweep(settings, after=200)
    assert len(slack.canvases) == 1 and len(slack.calls_to("canvases.create")) == 1  # never a second canvas
    dms = canvas_dms(slack, "DUOWNER")
    assert len(dms) == 1 and "answer to making the canvas was lost" in dms[0]

    # The owner deletes the stray canvas and asks again: now there is one canvas the bot keeps current.
    slack.canvases.clear()
    assert bot.command("canvas M-042").status == 200
    answer_to(slack, "is current")
    canvas = only_canvas(slack)
    with db() as session:
        assert session.scalar(select(MilestoneCanvas.canvas_id)) == canvas["id"]


def test_an_edit_a_minute_after_the_last_write_reaches_the_canvas_at_once(
    bot: SlackSender, slack: FakeSlack, milestone: int, db: sessionmaker[Session]
) -> None:
    make_canvas(bot, slack)
    with db() as session, session.begin():  # the last write was two minutes ago
        row = session.scalars(select(MilestoneCanvas)).one()
        row.refreshed_at = utcnow() - timedelta(minutes=2)
    form = open_form(bot, slack, "edit M-042 summary")
    assert saved(save_confirmed(bot, form, {"executive_summary": "Edited just now"}))
    slack.wait_for("canvases.edit", timeout=3.0)  # no clock needed: the web process sends it
    assert "Edited just now" in only_canvas(slack)["markdown"] and pending_refreshes(db) == 0


def test_a_new_report_channel_can_read_the_canvas_and_is_told_once(
    bot: SlackSender, slack: FakeSlack, milestone: int, settings: Settings, db: sessionmaker[Session]
) -> None:
    make_canvas(bot, slack)
    slack.add_channel("C0002", members=["UOWNER"], bot_is_member=True, name="releases")
    with db() as session, session.begin():
        session.get(Milestone, milestone).report_channel_id = "C0002"  # type: ignore[union-attr]
    sweep(settings)
    sweep(settings, after=200)
    canvas = only_canvas(slack)
    assert canvas["access"]["channels"] == {CHANNEL: "read", "C0002": "read"}
    shared = [c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == "C0002"]
    assert len(shared) == 1 and canvas["id"] in json.dumps(shared[0].params["blocks"])


def test_the_status_message_and_home_link_to_the_canvas(
    bot: SlackSender, slack: FakeSlack, milestone: int, db: sessionmaker[Session]
) -> None:
    # An edit of substance outdates the demo's sign-offs: the channel gets the status message, no canvas yet.
    form = open_form(bot, slack, "edit M-042 summary")
    assert saved(save_confirmed(bot, form, {"executive_summary": "Before the canvas"}))
    posted = slack.wait_for("chat.postMessage", where=lambda c: c.params.get("channel") == CHANNEL
                            and str(c.params.get("text")).startswith("Sign-off M-042"))
    assert "/docs/" not in json.dumps(posted[0].params["blocks"])

    canvas = make_canvas(bot, slack)
    link = f"https://app.slack.com/docs/{TEAM_ID}/{canvas['id']}"
    # The status message is edited in place to link to the new canvas (once), and Home's hub links to it.
    edited = slack.wait_for("chat.update", where=lambda c: c.params.get("channel") == CHANNEL
                            and link in json.dumps(c.params.get("blocks")))
    assert len(edited) == 1 and edited[0].response["ok"], edited[0].response
    assert f"<{link}|The whole report, kept current in a canvas>" in json.dumps(slack.messages[CHANNEL][0]["blocks"])
    bot.event({"type": "app_home_opened", "user": "UOWNER", "tab": "home", "event_ts": "1.0"}, event_id="EvC1")
    home = slack.wait_for("views.publish")[-1]
    assert home.response["ok"], home.response
    assert f"<{link}|Report canvas>" in json.dumps(home.params["view"])
