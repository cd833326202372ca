"""Settings, read once from the environment (and a local `.env` file, for development).

Every setting the bot reads is declared here, with its default, so README.md can document one list.
Secrets come only from the environment.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import load_dotenv

DEFAULT_SQLITE_URL = "sqlite:///milestone_bot.db"
DEFAULT_API_URL = "https://slack.com/api/"


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it."""


def normalize_database_url(url: str) -> str:
    """Accept Heroku's `postgres://` form and pick the psycopg 3 driver for PostgreSQL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None


def _hhmm(name: str, default: str) -> tuple[int, int]:
    raw = os.environ.get(name, "").strip() or default
    try:
        hours, minutes = (int(part) for part in raw.split(":"))
    except ValueError:
        raise SettingsError(f"{name} must look like 09:00, got {raw!r}") from None
    if not (0 <= hours <= 24 and 0 <= minutes < 60):
        raise SettingsError(f"{name} must be a time of day like 09:00, got {raw!r}")
    return hours, minutes


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _work_days(name: str, default: str) -> frozenset[int]:
    """`mon-fri`, `sun-thu` or `mon,tue,thu` → ISO weekday numbers (Monday = 0)."""
    raw = (os.environ.get(name, "").strip() or default).lower()
    days: set[int] = set()
    try:
        for part in raw.split(","):
            if "-" in part:
                start, end = (_DAYS.index(p.strip()[:3]) for p in part.split("-"))
                day = start
                days.add(day)
                while day != end:
                    day = (day + 1) % 7
                    days.add(day)
            else:
                days.add(_DAYS.index(part.strip()[:3]))
    except ValueError:
        raise SettingsError(f"{name} must list days like mon-fri or sun-thu, got {raw!r}") from None
    return frozenset(days)


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    database_url: str = DEFAULT_SQLITE_URL
    slack_api_url: str = DEFAULT_API_URL
    port: int = 3000
    public_base_url: str = "http://localhost:3000"
    # Keys anonymous-feedback hashes and report links; falls back to the signing secret.
    secret_key: str | None = None
    # How long a statement waits for a lock before the save fails (and the modal keeps the input).
    db_lock_timeout_ms: int = 2000
    work_start: tuple[int, int] = (9, 0)
    work_end: tuple[int, int] = (17, 0)
    work_days: frozenset[int] = field(default_factory=lambda: frozenset(range(5)))
    reminder_interval_minutes: int = 15
    escalate_after_working_days: int = 3
    signoff_reminder_working_days: int = 2
    signoff_settle_minutes: int = 10
    feedback_reminder_days: int = 3
    weekly_summary_day: str = "mon"
    report_link_ttl_hours: int = 24 * 7
    log_level: str = "INFO"
    # Messages sent at once by one process (the outbox's senders); Slack's own limits still apply.
    send_concurrency: int = 8
    currency: str = "USD"  # a new milestone's budget currency (each milestone may change its own)
    # A canvas per milestone, kept current (bot.canvas); off: no canvases are made or written.
    canvas: bool = True

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def require(self, *names: str) -> None:
        """Fail with one clear line naming the first required setting that is missing."""
        for name in names:
            if not getattr(self, name.lower()):
                raise SettingsError(f"{name} is not set; add it to the environment or .env (see README.md)")

    @property
    def signing_key(self) -> bytes:
        key = self.secret_key or self.slack_signing_secret
        if not key:
            raise SettingsError("SECRET_KEY (or SLACK_SIGNING_SECRET) is not set")
        return key.encode()


def load_settings(env_file: str | Path | None = ".env") -> Settings:
    """Read the environment; a `.env` file fills in what the environment does not set."""
    if env_file and Path(env_file).is_file():
        load_dotenv(env_file, override=False)
    env = os.environ.get
    api_url = env("SLACK_API_URL", "").strip() or DEFAULT_API_URL
    if not api_url.endswith("/"):
        api_url += "/"
    weekly = (env("WEEKLY_SUMMARY_DAY", "").strip() or "mon").lower()[:3]
    if weekly not in (*_DAYS, "off"):
        raise SettingsError(f"WEEKLY_SUMMARY_DAY must be a weekday like mon, or off; got {weekly!r}")
    return Settings(
        slack_bot_token=env("SLACK_BOT_TOKEN") or None,
        slack_signing_secret=env("SLACK_SIGNING_SECRET") or None,
        slack_app_token=env("SLACK_APP_TOKEN") or None,
        database_url=normalize_database_url(env("DATABASE_URL", "").strip() or DEFAULT_SQLITE_URL),
        slack_api_url=api_url,
        port=_int("PORT", 3000),
        public_base_url=(env("PUBLIC_BASE_URL", "").strip() or "http://localhost:3000").rstrip("/"),
        secret_key=env("SECRET_KEY") or None,
        db_lock_timeout_ms=_int("DB_LOCK_TIMEOUT_MS", 2000),
        work_start=_hhmm("WORK_HOURS_START", "09:00"),
        work_end=_hhmm("WORK_HOURS_END", "17:00"),
        work_days=_work_days("WORK_DAYS", "mon-fri"),
        reminder_interval_minutes=_int("REMINDER_INTERVAL_MINUTES", 15),
        escalate_after_working_days=_int("ESCALATE_AFTER_WORKING_DAYS", 3),
        signoff_reminder_working_days=_int("SIGNOFF_REMINDER_WORKING_DAYS", 2),
        signoff_settle_minutes=_int("SIGNOFF_SETTLE_MINUTES", 10),
        feedback_reminder_days=_int("FEEDBACK_REMINDER_DAYS", 3),
        weekly_summary_day=weekly,
        report_link_ttl_hours=_int("REPORT_LINK_TTL_HOURS", 24 * 7),
        log_level=(env("LOG_LEVEL", "").strip() or "INFO").upper(),
        send_concurrency=max(1, _int("SEND_CONCURRENCY", 8)),
        currency=_currency("CURRENCY", "USD"),
        canvas=(env("CANVAS", "").strip().lower() or "on") not in ("off", "false", "0", "no"),
    )


def _currency(name: str, default: str) -> str:
    value = (os.environ.get(name, "").strip() or default).upper()
    if len(value) != 3 or not value.isascii() or not value.isalpha():
        raise SettingsError(f"{name} must be a three-letter currency code such as USD or EUR, not {value!r}")
    return value


def exit_on_settings_error(error: SettingsError) -> None:
    """One clear line on stderr, no traceback, and a non-zero exit."""
    print(f"milestone-bot: {error}", file=sys.stderr)
    raise SystemExit(2)
