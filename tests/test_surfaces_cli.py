"""Newcomer and admin polish, run as a person runs the commands: `db upgrade` says what it applied (and only
that), the demo's hint names the command as it exists in a fresh shell."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "milestone-bot"


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env["DATABASE_URL"] = f"sqlite:///{cwd / 'bot.db'}"
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"  # a fresh shell: the virtualenv is not on PATH
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_db_upgrade_says_what_it_applied_once_and_nothing_else(tmp_path: Path) -> None:
    first = run([sys.executable, "-m", "bot.cli", "db", "upgrade"], tmp_path)
    assert first.returncode == 0, first.stderr
    count = len(list((ROOT / "models" / "migrations" / "versions").glob("0*.py")))
    assert first.stdout.startswith(f"applied {count} migration(s) to sqlite:///")
    assert ": 0001 (initial schema), 0002 (" in first.stdout
    assert first.stderr == ""  # no alembic INFO lines
    again = run([sys.executable, "-m", "bot.cli", "db", "upgrade"], tmp_path)
    assert again.stdout.strip().endswith("was already at the latest revision; nothing to apply")


def test_the_demo_hint_names_the_command_as_it_was_run(tmp_path: Path) -> None:
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    link = tmp_path / ".venv" / "bin" / "milestone-bot"
    link.symlink_to(SCRIPT)
    result = run([str(Path(".venv/bin/milestone-bot")), "demo"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "`.venv/bin/milestone-bot report M-042 --format html` renders it again." in result.stdout
    assert "weasyprint" not in result.stderr  # no layout steps of every page: only that the PDF was written
