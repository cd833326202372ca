"""Who the names in an imported file are: `milestone-bot import` with a bot token matches them against the
workspace's members from the fake Slack's users.list (every cursor page, once per import, through its 429s),
looks each e-mail address up once, and keeps what Slack said of the people matched as their cached profile;
when users.list is refused, the profiles the bot has met serve. Run as `main([...])` against the test
database, like the other import CLI tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from models import ActionItem, Deliverable, Milestone, UserProfile
from tests.conftest import BOT_TOKEN
from tests.fakeslack import FakeSlack
from tests.harness import TEAM_ID

REPORT = """# Milestone Report: People Everywhere

**Milestone ID**: M-300

## Deliverables

### Completed Deliverables
| Deliverable | Description | Acceptance Criteria | Status | Sign-off |
|---|---|---|---|---|
| Search | Faster search | p95 < 300 ms | ✅ Complete | Kimberly Park, 2026-05-01 |
| Export | CSV export | Works | ✅ Complete | Gone Person, 2026-05-02 |

## Post-Milestone Activities

### Immediate Actions (Week 1)
- [ ] Tune the index — owner: @kp · due 2026-06-01
- [ ] Write the runbook — owner: Zed · due 2026-06-01
- [ ] Ship the docs — owner: Dana Scully <dana@example.com> · due 2026-06-01
- [ ] Review the docs — owner: dana@example.com · due 2026-06-01
- [ ] Call the vendor — owner: Outside Guest · due 2026-06-01

---

**Document Prepared By**: Zed
"""


@pytest.fixture
def online(database_url: str, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> FakeSlack:
    """The command line with the bot's token, talking to the fake Slack."""
    for name, value in (("DATABASE_URL", database_url), ("SLACK_BOT_TOKEN", BOT_TOKEN),
                        ("SLACK_API_URL", slack.base_url)):
        monkeypatch.setenv(name, value)
    slack.add_user("UKP", name="kp", real_name="Kimberly Park", tz="Europe/London")
    slack.users["UKP"]["profile"]["display_name"] = "KP"  # as people set it; `name` stays the handle
    slack.add_user("UZED", name="zed.b", real_name="Zebedee Brown", tz="UTC")
    slack.users["UZED"]["profile"]["display_name"] = "Zed"
    slack.add_user("UDANA", real_name="Dana Scully", email="dana@example.com")
    slack.add_user("UGONEP", real_name="Gone Person", deleted=True)  # deactivated: nobody to match
    slack.add_user("UGUEST", real_name="Outside Guest", team_id="T_OTHER")  # another workspace's person
    return slack


def imported(db: sessionmaker[Session]) -> tuple[Milestone, list[tuple[str, str | None]], list[Deliverable]]:
    with db() as session:
        m = session.scalars(select(Milestone).where(Milestone.key == "M-300")).one()
        items = session.scalars(select(ActionItem).where(ActionItem.milestone_id == m.id).order_by(ActionItem.id))
        owners = [(i.owner_id, i.owner_name) for i in items]
        deliverables = list(session.scalars(select(Deliverable).where(Deliverable.milestone_id == m.id)
                                            .order_by(Deliverable.position)))
        return m, owners, deliverables


def test_names_are_matched_against_every_page_of_users_list_once_per_import(
        online: FakeSlack, db: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    slack = online
    slack.users_list_page_cap = 3  # short pages: only the cursor says there is more
    slack.set_rate_limit("users.list", 2, per=1.0)  # tier 2, squeezed: the client waits out the 429s
    report = tmp_path / "people.md"
    report.write_text(REPORT)
    assert main(["import", str(report), "--team", TEAM_ID, "--owner", "UOWNER"]) == 0
    out = capsys.readouterr().out
    assert "Not matched to anyone in this workspace (kept as text): Gone Person, Outside Guest." in out

    members = sorted(u for u, info in slack.users.items() if info["team_id"] == TEAM_ID)
    listed = [c for c in slack.calls_to("users.list") if c.response.get("ok")]
    assert len(listed) == -(-len(members) // 3)  # every page, once: one listing for the whole import
    assert any(c.response.get("error") == "ratelimited" for c in slack.calls_to("users.list"))
    assert [c.params["email"] for c in slack.calls_to("users.lookupByEmail")] == ["dana@example.com"]  # once

    m, owners, deliverables = imported(db)
    assert m.prepared_by == "UZED" and m.prepared_by_name is None  # by display name
    assert [(d.signoff_by, d.signoff_name) for d in deliverables] == [("UKP", None), (None, "Gone Person")]
    assert owners == [("UKP", None), ("UZED", None), ("UDANA", None), ("UDANA", None),  # handle, display, e-mail
                      ("UOWNER", "Outside Guest")]  # no member here: the importer's, the name kept
    with db() as session:  # what users.list said of the people matched is their cached profile now
        names = {u: n for u, n in session.execute(select(UserProfile.user_id, UserProfile.real_name))}
        assert {u: names.get(u) for u in ("UKP", "UZED", "UDANA")} == {
            "UKP": "Kimberly Park", "UZED": "Zebedee Brown", "UDANA": "Dana Scully"}
        assert "UGONEP" not in names and "UGUEST" not in names

    assert main(["report", "M-300", "--team", TEAM_ID]) == 0  # offline, from the cache: names, not ids
    markdown = capsys.readouterr().out
    assert "| Search | Faster search | p95 < 300 ms | ✅ Complete | Kimberly Park, 2026-05-01 |" in markdown
    assert "| Export | CSV export | Works | ✅ Complete | Gone Person (not in Slack), 2026-05-02 |" in markdown
    assert "Tune the index — owner: Kimberly Park · due 2026-06-01" in markdown
    assert "Call the vendor — owner: Outside Guest (not in Slack) · due 2026-06-01" in markdown
    assert "**Document Prepared By**: Zebedee Brown" in markdown


def test_a_file_that_names_people_only_by_mention_or_address_lists_nobody(
        online: FakeSlack, db: sessionmaker[Session], tmp_path: Path) -> None:
    report = tmp_path / "ids.md"
    report.write_text("# Milestone Report: Ids\n\n**Milestone ID**: M-301\n\n## Post-Milestone Activities\n\n"
                      "### Immediate Actions (Week 1)\n- [ ] One — owner: <@UKP> · due 2026-06-01\n"
                      "- [ ] Two — owner: dana@example.com · due 2026-06-01\n")
    assert main(["import", str(report), "--team", TEAM_ID, "--owner", "UOWNER"]) == 0
    assert online.calls_to("users.list") == []
    with db() as session:
        assert sorted(session.scalars(select(ActionItem.owner_id)).all()) == ["UDANA", "UKP"]


def test_when_users_list_is_refused_the_profiles_the_bot_has_met_serve(
        online: FakeSlack, db: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    online.fail_next("users.list", error="missing_scope")
    with db() as session, session.begin():
        session.add(UserProfile(user_id="UKP", team_id=TEAM_ID, real_name="Kimberly Park", tz="UTC", tz_offset=0,
                                fetched_at=datetime.now(UTC)))
    report = tmp_path / "people.md"
    report.write_text(REPORT)
    assert main(["import", str(report), "--team", TEAM_ID, "--owner", "UOWNER", "--dry-run"]) == 0
    out = capsys.readouterr().out
    # Kimberly Park is known from the cache; handles and display names need users.list, so they stay text.
    unmatched = next(line for line in out.split("\n") if "kept as text" in line)
    assert sorted(unmatched.split(": ", 1)[1].rstrip(".").split(", ")) == ["@kp", "Gone Person", "Outside Guest",
                                                                           "Zed"]
    assert len(online.calls_to("users.list")) == 1
