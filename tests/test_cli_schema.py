"""Every command that needs the tables says so in one line on a database that was never migrated."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("command", [["report", "M-318"], ["remind"], ["serve", "--port", "0"]])
def test_an_unmigrated_database_gets_one_line_naming_db_upgrade(tmp_path: Path, command: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'never-migrated.db'}", SLACK_BOT_TOKEN="xoxb-x",
               SLACK_SIGNING_SECRET="s")
    run = subprocess.run([sys.executable, "-m", "bot.cli", *command], env=env, cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "run `milestone-bot db upgrade` first" in lines[0], run.stderr


def test_remind_without_any_key_to_sign_buttons_says_so_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "SECRET_KEY"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}", SLACK_BOT_TOKEN="xoxb-x")
    run = subprocess.run([sys.executable, "-m", "bot.cli", "remind"], env=env, cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == ["milestone-bot: SECRET_KEY (or SLACK_SIGNING_SECRET) is not set"]
