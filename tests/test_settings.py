"""Settings come from the environment; a missing one stops the process with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.settings import SettingsError, load_settings, normalize_database_url
from tests.conftest import ROOT


def test_heroku_postgres_url_is_accepted() -> None:
    assert normalize_database_url("postgres://u:p@h:5432/d") == "postgresql+psycopg://u:p@h:5432/d"
    assert normalize_database_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("SLACK_", "DATABASE_URL", "WORK_", "PORT")):
            monkeypatch.delenv(name)
    settings = load_settings(env_file=None)
    assert settings.database_url == "sqlite:///milestone_bot.db"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.work_days == frozenset({0, 1, 2, 3, 4})
    assert (settings.work_start, settings.work_end) == ((9, 0), (17, 0))


def test_work_week_can_wrap_around(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORK_DAYS", "sun-thu")
    monkeypatch.setenv("SLACK_API_URL", "https://slack-gov.com/api")
    settings = load_settings(env_file=None)
    assert settings.work_days == frozenset({6, 0, 1, 2, 3})
    assert settings.slack_api_url == "https://slack-gov.com/api/"


def test_malformed_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORK_HOURS_START", "nine")
    with pytest.raises(SettingsError, match="WORK_HOURS_START"):
        load_settings(env_file=None)


def test_missing_token_stops_serve_with_one_line(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "milestone-bot: SLACK_BOT_TOKEN is not set; add it to the environment or .env (see README.md)"
    ]
    assert "Traceback" not in result.stderr
    assert ROOT.exists()
