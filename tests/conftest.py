"""Fixtures: a real database per backend, the fake Slack Web API, and the real web server process.

Every test that asks for `db` or `bot` runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL.
The web server is `milestone-bot serve` (gunicorn) in a subprocess, one per backend for the whole session;
each test starts from empty tables.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

import models
from bot.settings import Settings, normalize_database_url
from models import migrate
from models.db import make_engine, make_session_factory
from tests.fakeslack import FakeSlack
from tests.harness import SIGNING_SECRET, TEAM_ID, SlackSender, http

BOT_TOKEN = "xoxb-test-token"
ROOT = Path(__file__).resolve().parent.parent
# Short, so a test that holds a lock sees the save fail well inside Slack's 3 seconds.
LOCK_TIMEOUT_MS = 500

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


_SQLITE_ONLY: list[str] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    _SQLITE_ONLY[:] = [item.nodeid for item in items if "sqlite" in item.nodeid and "postgresql" not in BACKENDS]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say it when only half the suite ran: without TEST_DATABASE_URL the PostgreSQL runs are not collected."""
    if _SQLITE_ONLY:
        terminalreporter.write_line(
            f"PostgreSQL half not run: {len(_SQLITE_ONLY)} database tests ran on SQLite only. Set "
            "TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test to run them on PostgreSQL too.",
            yellow=True,
        )

USERS = {
    "UOWNER": {"name": "Olivia Owner", "tz": "America/New_York"},
    "UEDITOR": {"name": "Eddie Editor", "tz": "Europe/London"},
    "USTRANGER": {"name": "Sam Stranger", "tz": "Europe/Berlin"},
    "UADMIN": {"name": "Ada Admin", "tz": "UTC", "is_admin": True},
    "USPONSOR": {"name": "Sonia Sponsor", "tz": "America/Los_Angeles"},
    "UPM": {"name": "Pat Manager", "tz": "America/New_York"},
    "UTECH": {"name": "Tariq Tech", "tz": "Asia/Kolkata"},
    "UQA": {"name": "Quinn QA", "tz": "Australia/Sydney"},
    "UPO": {"name": "Paula Product", "tz": "Asia/Tokyo"},
}
CHANNEL = "C0001"
CHANNEL_NOT_IN = "C0NOTIN"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database with every migration applied: the schema a deploy gets."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'bot.db'}"
        migrate.upgrade(url)
        yield url
        return
    base = make_url(normalize_database_url(os.environ["TEST_DATABASE_URL"]))
    name = f"mb_test_{uuid.uuid4().hex[:10]}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = base.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, lock_timeout_ms=5000)
    yield engine
    engine.dispose()


def _empty_tables(engine: Engine) -> None:
    tables = list(reversed(models.Base.metadata.sorted_tables))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture
def db(engine: Engine) -> sessionmaker[Session]:
    """A session factory on empty tables, for arranging data and checking what the bot stored."""
    _empty_tables(engine)
    return make_session_factory(engine)


@pytest.fixture(scope="session")
def fake_slack_server() -> Iterator[FakeSlack]:
    with FakeSlack(token=BOT_TOKEN, team_id=TEAM_ID) as fake:
        yield fake


@pytest.fixture
def slack(fake_slack_server: FakeSlack) -> FakeSlack:
    """The fake Slack Web API, emptied, with the test workspace's people and channels."""
    fake = fake_slack_server
    deadline = time.monotonic() + 10  # a request of the last test still being answered (latency, a killed
    while fake.in_flight and time.monotonic() < deadline:  # web process's sends) would land in this test
        time.sleep(0.02)
    fake.reset()
    fake.rate_limit_per_channel = None
    for user_id, info in USERS.items():
        fake.add_user(user_id, name=info["name"], tz=info["tz"], is_admin=bool(info.get("is_admin")))
    fake.add_channel(CHANNEL, members=list(USERS), bot_is_member=True, name="general")
    fake.add_channel(CHANNEL_NOT_IN, members=["UOWNER"], bot_is_member=False, name="elsewhere")
    return fake


def bot_env(database_url: str, fake: FakeSlack, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.base_url,
        DATABASE_URL=database_url,
        PORT=str(port),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        SECRET_KEY="test-secret-key",
        DB_LOCK_TIMEOUT_MS=str(LOCK_TIMEOUT_MS),
        LOG_LEVEL="INFO",
    )
    return env


@dataclass
class Server:
    base_url: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(database_url: str, fake: FakeSlack, log_path: Path, *, workers: int = 1) -> Server:
    port = _free_port()
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=bot_env(database_url, fake, port),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if http("GET", base_url + "/healthz").status == 200:
                return Server(base_url, log_path, process)
        except OSError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not become healthy:\n{log_path.read_text()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def server(
    database_url: str, fake_slack_server: FakeSlack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The real web process (gunicorn, one worker) on a free port, for this backend."""
    srv = start_server(database_url, fake_slack_server, tmp_path_factory.mktemp("server") / "server.log")
    yield srv
    stop_server(srv)


def wait_until_quiet(fake: FakeSlack, idle: float = 0.15, limit: float = 3.0) -> None:
    """Wait until the bot has made no Slack call for `idle` seconds: work a listener does after its ack
    must not spill into the next test's calls or tables."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        last = max(fake.calls[-1].at if fake.calls else 0.0, fake.last_answered)
        if fake.in_flight == 0 and time.monotonic() - last >= idle:
            return
        time.sleep(idle / 3)


@pytest.fixture
def bot(server: Server, slack: FakeSlack, db: sessionmaker[Session]) -> Iterator[SlackSender]:
    """Signed requests to the running bot, on empty tables, with the fake Slack reset."""
    yield SlackSender(server.base_url, slack)
    wait_until_quiet(slack)
    wait_until_owed_work_is_done(db)
    wait_until_quiet(slack)


def wait_until_owed_work_is_done(db: sessionmaker[Session], limit: float = 15.0) -> None:
    """Wait until no message is being sent (no claimed outbox row): work that makes no Slack call for a while
    (rendering a PDF before its upload) must not land in the next test's tables."""
    from models import Delivery, DeliveryStatus

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with db() as session:
            claimed = session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.status == DeliveryStatus.CLAIMED))
        if not claimed:
            return
        time.sleep(0.1)


@contextmanager
def hold_write_lock(engine: Engine, *tables: str) -> Iterator[None]:
    """Hold a write lock from outside the bot, so its next save waits and fails (LOCK_TIMEOUT_MS).

    PostgreSQL: the named tables, IN ACCESS EXCLUSIVE MODE. SQLite has no table locks: the whole
    database's write lock (BEGIN IMMEDIATE), whatever `tables` says. Released (rolled back) on exit.
    """
    if not tables:
        raise ValueError("name the tables to lock (PostgreSQL locks only those)")
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("BEGIN IMMEDIATE")
        else:  # psycopg opens the transaction implicitly
            quote = engine.dialect.identifier_preparer.quote
            cursor.execute(f"LOCK TABLE {', '.join(quote(t) for t in tables)} IN ACCESS EXCLUSIVE MODE")
        yield
    finally:
        connection.rollback()
        connection.close()


@pytest.fixture
def settings(database_url: str, slack: FakeSlack) -> Settings:
    """Settings for calling the bot's own code in-process (the sweep, the CLI) against the same services."""
    return replace(
        Settings(),
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.base_url,
        database_url=database_url,
        secret_key="test-secret-key",
        db_lock_timeout_ms=LOCK_TIMEOUT_MS,
    )
