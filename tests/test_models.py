"""Model behaviour the rest of the bot relies on, on each backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session, sessionmaker

from models import AuditEvent, Milestone, Status, field_spec, form_fields
from models.sections import SuccessCriterion


def test_times_are_stored_utc_and_come_back_aware(db: sessionmaker[Session]) -> None:
    tokyo = timezone(timedelta(hours=9))
    at = datetime(2026, 11, 24, 9, 30, tzinfo=tokyo)
    with db() as session, session.begin():
        session.add(AuditEvent(team_id="T1", actor_id="U1", action="test", at=at))
    with db() as session:
        stored = session.query(AuditEvent).one().at
    assert stored.tzinfo is not None
    assert stored == at
    assert stored.astimezone(UTC).hour == 0


def test_naive_datetimes_are_refused(db: sessionmaker[Session]) -> None:
    with pytest.raises(Exception, match="naive datetime"), db() as session, session.begin():
        session.add(AuditEvent(team_id="T1", actor_id="U1", action="test", at=datetime(2026, 1, 1)))


def test_fields_carry_label_kind_limits_and_choices() -> None:
    name = field_spec(Milestone, "name")
    assert (name.label, name.kind, name.required, name.max_length) == ("Name", "text", True, 150)
    status = field_spec(Milestone, "status")
    assert status.choices is Status
    assert ("complete", "✅ Complete") in Status.choices()
    assert Milestone.__table__.c.name.type.length == 150
    assert [f.name for f in form_fields(SuccessCriterion)] == ["criterion", "target", "actual", "status", "notes"]
