"""`milestone-bot import FILE.md`: a dry run changes nothing, the import creates the milestone, a second
import of the same ID is refused, a bad file names its line; run as `main([...])` against the test database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from models import Milestone

SAMPLES = Path(__file__).parent / "import_samples"


@pytest.fixture
def env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)  # offline: names match the bot's cached profiles only


def keys(db: sessionmaker[Session]) -> list[str]:
    with db() as session:
        return sorted(session.scalars(select(Milestone.key)).all())


def test_dry_run_then_import_then_refuse_the_taken_id(env: None, db: sessionmaker[Session],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    sample = str(SAMPLES / "crlf_padded.md")
    assert main(["import", sample, "--team", "T1", "--owner", "UOWNER", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Would create M-210 “Mobile App 3.0”: ") and "2 objectives rows" in out
    assert "Not matched to anyone in this workspace (kept as text): dana@example.com, @kim, Pat Nobody, " \
           "Dana Scully, Kim Park." in out
    assert keys(db) == []

    assert main(["import", sample, "--team", "T1", "--owner", "UOWNER"]) == 0
    assert capsys.readouterr().out.startswith("Created M-210")
    assert keys(db) == ["M-210"]

    assert main(["import", sample, "--team", "T1", "--owner", "UOWNER"]) == 1
    assert "M-210 is already taken in this workspace" in capsys.readouterr().err
    assert main(["import", sample, "--team", "T1", "--owner", "UOWNER", "--id", "M-211"]) == 0
    assert keys(db) == ["M-210", "M-211"]


def test_a_bad_file_prints_file_and_line(env: None, db: sessionmaker[Session],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(SAMPLES / "broken_table.md"), "--team", "T1", "--owner", "UOWNER"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Nothing was imported.\n") and "broken_table.md:11: this row of the table" in err
    assert keys(db) == []


def test_without_an_owner_the_preparer_must_be_a_member(env: None, db: sessionmaker[Session],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(SAMPLES / "mojibake_emoji.md"), "--team", "T1"]) == 1
    assert "Give --owner" in capsys.readouterr().err
    assert keys(db) == []
