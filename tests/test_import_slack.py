"""`/milestone import` over real HTTP: the modal with its file input → files.info and the authenticated
download from the fake Slack → the milestone created (or nothing, with the problem and its line) → the
person told in the modal. Signed requests to the real server (gunicorn), the fake Slack Web API."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import ActionItem, ExternalSignoff, Milestone
from tests.fakeslack import FakeSlack
from tests.harness import TEAM_ID, SlackSender
from tests.test_milestones import open_modal

SAMPLES = Path(__file__).parent / "import_samples"


def submit(bot: SlackSender, view: dict[str, Any], file_ids: list[str], key: str = "",
           dry_run: bool = False, user_id: str = "UOWNER") -> Any:
    """Submit the import modal as Slack does: a file_input's state holds the shared files."""
    state = {
        "file": {"file": {"type": "file_input", "files": [{"id": f, "name": "report.md"} for f in file_ids]}},
        "key": {"key": {"type": "plain_text_input", "value": key or None}},
        "dry_run": {"dry_run": {"type": "checkboxes", "selected_options": (
            [{"value": "yes", "text": {"type": "plain_text", "text": "x"}}] if dry_run else [])}},
    }
    payload = {
        "type": "view_submission", "team": {"id": TEAM_ID, "domain": "example"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID}, "api_app_id": "A0001",
        "token": "legacy-unused", "trigger_id": bot.fake.new_trigger_id(),
        "view": {**view, "state": {"values": state}}, "response_urls": [],
    }
    return bot.post_payload(payload)


def outcome(slack: FakeSlack, view_id: str) -> str:
    """The text of the result the bot put into the modal."""
    calls = slack.wait_for("views.update", where=lambda c: c.params.get("view_id") == view_id, timeout=15)
    view = calls[-1].params["view"]
    view = view if isinstance(view, dict) else __import__("json").loads(view)
    return "\n".join(str(b.get("text", {}).get("text", "")) for b in view["blocks"])


def test_import_from_the_modal_creates_the_milestone_and_tells_the_person(
        bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    slack.add_user("UTURING", real_name="Alan Turing", tz="Europe/London")  # a member; Grace Hopper is nobody here
    view = open_modal(bot, slack, "import")
    assert view["blocks"][1]["element"]["type"] == "file_input"
    file_id = slack.add_file("payments.md", (SAMPLES / "mojibake_emoji.md").read_bytes(), user="UOWNER")

    response = submit(bot, view, [file_id])
    assert response.status == 200
    assert response.json()["response_action"] == "update"  # "Importing…" at once, the work after the ack
    text = outcome(slack, view["id"])

    assert "Imported as M-107" in text and "Grace Hopper" in text  # the name nobody matched is named
    assert "repaired" in text  # the mis-decoded emoji
    info = slack.calls_to("files.info")[0]
    assert info.params["file"] == file_id
    download = slack.calls_to("files.download")[-1]
    assert download.response == {"ok": True, "size": (SAMPLES / "mojibake_emoji.md").stat().st_size}
    with db() as session:
        m = session.scalars(select(Milestone).where(Milestone.team_id == TEAM_ID)).one()
        assert (m.key, m.name, m.owner_id, m.status, m.prepared_by) == (
            "M-107", "Payments Revamp", "UOWNER", "complete", "UTURING")
        assert m.approval_slots == []  # Draft: nobody was asked to sign in Slack yet
        items = session.scalars(select(ActionItem).where(ActionItem.milestone_id == m.id)
                                .order_by(ActionItem.id)).all()
        # Grace Hopper is no member: her open item is the importer's, her name kept as text
        assert [(a.owner_id, a.owner_name, a.status) for a in items] == [
            ("UOWNER", "Grace Hopper", "open"), ("UTURING", None, "done")]
        signed = session.scalars(select(ExternalSignoff)).one()
        assert (signed.role, signed.name, signed.user_id, signed.decision) == (
            "Project Sponsor", "Grace Hopper", None, "approved")


def test_a_bad_file_imports_nothing_and_the_modal_names_the_line(
        bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    view = open_modal(bot, slack, "import")
    file_id = slack.add_file("broken.md", (SAMPLES / "broken_table.md").read_bytes())
    assert submit(bot, view, [file_id]).status == 200
    text = outcome(slack, view["id"])
    assert "Nothing was imported" in text and "line 11" in text and "6 cells; its header has 5" in text
    with db() as session:
        assert session.scalars(select(Milestone)).all() == []


def test_two_megabytes_are_refused_by_their_size_before_any_download(
        bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    view = open_modal(bot, slack, "import")
    file_id = slack.add_file("huge.md", b"# Milestone Report: Huge\n" + b"x" * (2 * 1024 * 1024))
    downloads = len(slack.calls_to("files.download"))
    assert submit(bot, view, [file_id]).status == 200
    assert "the limit is 1 MB" in outcome(slack, view["id"])
    assert len(slack.calls_to("files.download")) == downloads
    with db() as session:
        assert session.scalars(select(Milestone)).all() == []


def test_no_file_or_a_taken_id_answers_next_to_the_field(
        bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    with db() as session, session.begin():
        session.add(Milestone(team_id=TEAM_ID, key="M-107", name="Already here", owner_id="UOWNER",
                              created_by="UOWNER"))
    view = open_modal(bot, slack, "import")
    answer = submit(bot, view, []).json()
    assert answer["response_action"] == "errors" and "file" in answer["errors"]
    file_id = slack.add_file("payments.md", (SAMPLES / "mojibake_emoji.md").read_bytes())
    answer = submit(bot, view, [file_id], key="m-107").json()
    assert answer == {"response_action": "errors",
                      "errors": {"key": "M-107 is already taken in this workspace; M-108 is free."}}
    # the file's own ID taken: refused after the download, nothing imported, the person told
    assert submit(bot, view, [file_id]).status == 200
    assert "M-107 is already taken in this workspace" in outcome(slack, view["id"])
    with db() as session:
        assert len(session.scalars(select(Milestone)).all()) == 1


def test_a_dry_run_creates_nothing_and_says_what_it_would_create(
        bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    slack.add_user("UDANA", real_name="Dana Scully", email="dana@example.com")
    view = open_modal(bot, slack, "import")
    file_id = slack.add_file("mobile.md", (SAMPLES / "crlf_padded.md").read_bytes())
    assert submit(bot, view, [file_id], key="M-900", dry_run=True).status == 200
    text = outcome(slack, view["id"])
    assert "M-900 checked: nothing was created" in text and "Would create M-900" in text
    assert "the file says the total is “$254,000”" in text
    # the e-mail address matched through users.lookupByEmail; the names nobody matched are listed
    assert [c.params["email"] for c in slack.calls_to("users.lookupByEmail")] == ["dana@example.com"]
    unmatched = next(line for line in text.split("\n") if "Not matched" in line)
    assert "Pat Nobody" in unmatched and "@kim" in unmatched and "dana@example.com" not in unmatched
    time.sleep(0.2)
    with db() as session:
        assert session.scalars(select(Milestone)).all() == []


def test_hostile_text_in_the_file_is_shown_escaped_and_forged_metadata_refused(
        bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    view = open_modal(bot, slack, "import")
    answer = submit(bot, {**view, "private_metadata": view["private_metadata"] + "x"}, ["F0"]).json()
    assert answer["response_action"] == "errors" and "out of date or was changed" in answer["errors"]["file"]
    markdown = ("# Milestone Report: <script>alert(1)</script>\n\n**Milestone ID**: M-066\n\n"
                "## Post-Milestone Activities\n\n### Immediate Actions (Week 1)\n"
                "- [ ] Ping everyone — owner: <!channel> · due 2030-01-01 · Open\n")
    file_id = slack.add_file("hostile.md", markdown.encode())
    assert submit(bot, view, [file_id]).status == 200
    text = outcome(slack, view["id"])
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text
    assert "&lt;script&gt;" in text and "<script>" not in text
    with db() as session:
        item = session.scalars(select(ActionItem)).one()
        assert (item.owner_id, item.owner_name) == ("UOWNER", "<!channel>")


def test_the_same_submission_twice_imports_once(bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]) -> None:
    view = open_modal(bot, slack, "import")
    file_id = slack.add_file("payments.md", (SAMPLES / "mojibake_emoji.md").read_bytes())
    assert submit(bot, view, [file_id]).status == 200
    assert "Imported as M-107" in outcome(slack, view["id"])
    updates = len(slack.calls_to("views.update"))
    assert submit(bot, view, [file_id]).status == 200  # Slack's retry, or a double click
    slack.wait_for("files.info", 2)
    time.sleep(0.5)
    assert len(slack.calls_to("views.update")) == updates  # no "already taken" shown over the result
    with db() as session:
        assert [m.key for m in session.scalars(select(Milestone)).all()] == ["M-107"]
