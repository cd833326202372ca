"""Alembic, driven from Python: `milestone-bot db upgrade|check|revision` and the tests use this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def upgrade_applied(database_url: str) -> list[str]:
    """Upgrade to head; the migrations it applied, oldest first, as `0002 (what it does)`; [] when current."""
    from alembic.script import ScriptDirectory

    before, _head = pending(database_url)
    if before is None:
        return []
    script = ScriptDirectory.from_config(alembic_config(database_url))
    start = None if before == "empty" else before
    steps = list(script.iterate_revisions("heads", start))  # newest first, down to (not including) start
    upgrade(database_url)
    return [f"{step.revision} ({step.doc})" if step.doc else step.revision for step in reversed(steps)]


def check(database_url: str) -> None:
    """Raise if the models and the migrations disagree (alembic's autogenerate finds a difference)."""
    command.check(alembic_config(database_url))


def revision(database_url: str, message: str) -> None:
    command.revision(alembic_config(database_url), message=message, autogenerate=True)


def pending(database_url: str) -> tuple[str | None, str | None]:
    """(the database's revision, the code's head) when they differ; (None, None) when it is up to date."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    return (None, None) if current == head else (current or "empty", head)
