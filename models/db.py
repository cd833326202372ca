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
            # Under WAL, NORMAL loses no committed data on a process crash (only, at worst, the last
            # transactions on a power cut) and makes each commit far cheaper than FULL's fsync.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout_ms)}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout instead of
            # one failing with "database is locked" when it upgrades a read transaction. Read-only units
            # of work (READ_ONLY, see read_scope) begin DEFERRED and run beside a writer under WAL.
            read_only = conn.get_execution_options().get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    options = f"-c lock_timeout={int(lock_timeout_ms)}"
    return create_engine(
        url, pool_pre_ping=True, connect_args={"options": options}, **kwargs
    )


READ_ONLY = "milestone_bot_read_only"


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def read_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A read-only unit of work: on SQLite it takes no write lock, so it never waits behind a save."""
    with factory() as session:
        session.connection(execution_options={READ_ONLY: True})
        try:
            yield session
        finally:
            session.rollback()


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    with factory() as session, session.begin():
        yield session
