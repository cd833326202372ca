"""Engine and sessions. One engine per process; each unit of work is a `with session_scope(...)` block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, *, lock_timeout_ms: int = 2000, **kwargs: Any) -> Engine:
    """An engine with the connection settings the bot relies on.

    SQLite: foreign keys on, WAL (readers do not block the writer), and a busy timeout so a locked
    database fails a save after `lock_timeout_ms` instead of at once. PostgreSQL: the same bound as
    lock_timeout, so a save that waits on a lock fails in time to answer Slack within 3 s.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": lock_timeout_ms / 1000}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite opens transactions lazily; take control so BEGIN happens when SQLAlchemy says so.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout_ms)}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout instead of
            # one failing with "database is locked" when it upgrades a read transaction.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    options = f"-c lock_timeout={int(lock_timeout_ms)}"
    return create_engine(
        url, pool_pre_ping=True, connect_args={"options": options}, **kwargs
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    with factory() as session, session.begin():
        yield session
