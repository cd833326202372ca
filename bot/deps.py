"""What listeners need from the process: settings, database sessions, the command router, Home sections."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings
from bot.slack import payloads
from bot.slack.router import CommandRouter
from models.db import make_engine, make_session_factory, read_scope, session_scope

# A Home tab section: (session, user_id, team_id) -> blocks. Features add theirs in register().
HomeSection = Callable[[Session, str, str], list[dict[str, Any]]]
# Called after a transaction that changed report content has committed: (client, milestone_id, actor_id,
# sections changed). Sign-offs use it to mark outdated sign-offs and ask again.
ContentHook = Callable[[Any, int, str, list[str]], None]
# Called after the last required approval has committed: (client, milestone_id, actor_id).
AcceptedHook = Callable[[Any, int, str], None]


@dataclass
class Deps:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    router: CommandRouter = field(default_factory=CommandRouter)
    home_sections: list[HomeSection] = field(default_factory=list)
    on_content_changed: list[ContentHook] = field(default_factory=list)
    on_accepted: list[AcceptedHook] = field(default_factory=list)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed at the end of the block, rolled back if it raises."""
        with session_scope(self.sessions) as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (never writes; on SQLite it runs beside a writer instead of queueing)."""
        with read_scope(self.sessions) as session:
            yield session


def make_deps(settings: Settings) -> Deps:
    key = settings.secret_key or settings.slack_signing_secret
    if key:  # processes without Slack (demo, offline report) never build buttons or modals
        payloads.configure(key)
    engine = make_engine(settings.database_url, lock_timeout_ms=settings.db_lock_timeout_ms)
    return Deps(settings=settings, engine=engine, sessions=make_session_factory(engine))
