"""The embedded database as several threads of one web worker use it."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.deps import make_deps
from bot.settings import Settings
from models import Milestone
from tests.conftest import TEAM_ID


def test_sqlite_reads_run_beside_a_save_while_writers_queue(
    settings: Settings, database_url: str, db: sessionmaker[Session]
) -> None:
    if not database_url.startswith("sqlite"):
        return  # PostgreSQL readers never wait for writers; nothing to show there
    deps = make_deps(replace(settings, db_lock_timeout_ms=400))
    holding, release = threading.Event(), threading.Event()

    def save() -> None:
        with deps.session() as session:
            session.add(Milestone(team_id=TEAM_ID, key="M-001", name="Held", owner_id="U1", created_by="U1"))
            session.flush()
            holding.set()
            release.wait(3)

    writer = threading.Thread(target=save)
    writer.start()
    holding.wait(3)
    try:
        started = time.monotonic()
        with deps.read() as session:  # sees the last committed state at once
            assert session.scalars(select(Milestone)).all() == []
        assert time.monotonic() - started < 0.2
        started = time.monotonic()
        try:
            with deps.session() as session:
                session.execute(text("SELECT 1"))
            raise AssertionError("a second writer did not queue behind the first")
        except Exception as error:  # the write lock is taken at BEGIN and times out after the lock timeout
            assert "locked" in str(error)
        assert time.monotonic() - started >= 0.35
    finally:
        release.set()
        writer.join()
    with deps.read() as session:
        assert [m.name for m in session.scalars(select(Milestone))] == ["Held"]
    deps.engine.dispose()
