"""Database idioms the services share."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, FromClause, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import ProcessedSubmission


def insert_ignore(
    session: Session, table: FromClause, values: dict[str, Any], conflict: list[str] | None = None
) -> bool:
    """`INSERT … ON CONFLICT DO NOTHING`; True if this call inserted the row.

    Unlike catching IntegrityError, this leaves a PostgreSQL transaction usable, and two processes racing
    for the same key get exactly one winner.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(cast(Table, table)).values(**values).on_conflict_do_nothing(index_elements=conflict)
    # SQLAlchemy only promises rowcount for INSERT when asked (psycopg otherwise reports -1).
    result = cast(CursorResult[Any], session.execute(statement, execution_options={"preserve_rowcount": True}))
    return result.rowcount == 1


def upsert(session: Session, table: FromClause, values: dict[str, Any], key: list[str]) -> None:
    """`INSERT … ON CONFLICT (key) DO UPDATE`: two processes caching the same row both succeed."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(cast(Table, table)).values(**values)
    changes = {name: statement.excluded[name] for name in values if name not in key}
    session.execute(statement.on_conflict_do_update(index_elements=key, set_=changes))


def first_submission(session: Session, key: str, result: str | None = None) -> bool:
    """Claim a submission key inside the saving transaction: False means this exact submission was
    already saved (double click, Slack retry) and must change nothing. A failed save rolls the claim back."""
    return insert_ignore(session, ProcessedSubmission.__table__, {"key": key[:200], "result": result})
