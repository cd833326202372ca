"""A complete sample milestone, every section filled, for `milestone-bot demo` and the report's golden test.

Its content is data, in bot.demo_content (dates anchored on `today`, so the demo always looks current);
`create_demo` writes it. Running it again replaces the previous demo milestone: the demo lives in its own
workspace id, DEMO_TEAM, with its own people (DEMO_USERS), so it never touches a real team's data.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.demo_content import (
    ACTIONS,
    DEMO_KEY,
    DEMO_REVISION,
    DEMO_USERS,
    FEEDBACK,
    PM,
    PO,
    QA,
    REMINDERS,
    ROLES,
    SIGNOFFS,
    SPONSOR,
    TECH,
    Dates,
    milestone,
    records,
    tables,
)
from bot.reports.rendering import Paper, render_html, render_markdown
from bot.reports.report import Report
from bot.reports.service import find_milestone, load_report
from bot.settings import Settings
from models import (
    ActionItem,
    ActionStatus,
    ApprovalSlot,
    Delivery,
    DeliveryItem,
    DeliveryStatus,
    FeedbackResponse,
    Milestone,
    SignOff,
    UserProfile,
)
from models.db import make_engine, make_session_factory, session_scope

__all__ = ["DEMO_KEY", "DEMO_REVISION", "DEMO_TEAM", "DEMO_USERS", "PM", "PO", "QA", "SPONSOR", "TECH",
           "create_demo", "find_demo", "remove_demo", "render_offline", "run_demo"]

log = logging.getLogger(__name__)
DEMO_TEAM = "TDEMO"


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def remove_demo(session: Session, team_id: str = DEMO_TEAM) -> None:
    """Delete the previous demo (the database cascades to every section) and its reminder records."""
    session.execute(delete(Milestone).where(Milestone.team_id == team_id, Milestone.key == DEMO_KEY))
    session.execute(delete(Delivery).where(Delivery.recipient_id.in_(list(DEMO_USERS))))


def create_demo(
    session: Session, today: date, *, team_id: str = DEMO_TEAM, owner_id: str = PM, channel_id: str | None = None
) -> Milestone:
    """The demo milestone, replacing any earlier one; returns it flushed (it has an id).

    Tests put it in their own workspace, owned by one of their users and reporting to their channel."""
    remove_demo(session, team_id)
    d, now = Dates.around(today), _at(today)
    for user_id, real_name in DEMO_USERS.items():
        session.merge(UserProfile(user_id=user_id, team_id=DEMO_TEAM, real_name=real_name, tz="UTC", tz_offset=0,
                                  fetched_at=now))
    m = Milestone(team_id=team_id, owner_id=owner_id, created_by=owner_id, report_channel_id=channel_id,
                  **milestone(d))
    session.add(m)
    session.flush()
    for model, rows in tables(d).items():
        session.add_all(model(milestone_id=m.id, position=position, **values)
                        for position, values in enumerate(rows))
    session.add_all(model(milestone_id=m.id, **values) for model, values in records(d).items())
    _feedback(session, m.id, now)
    signoffs = _signoffs(session, m, d)
    _actions(session, m, d, signoffs)
    session.flush()
    return m


def _feedback(session: Session, mid: int, now: datetime) -> None:
    people = [user for _role, user in ROLES]
    for i, (sat, nps, group, accepts, themes, comment, anonymous) in enumerate(FEEDBACK):
        user = f"UDEMOFB{i:02d}" if i >= len(people) else people[i]
        session.add(FeedbackResponse(
            milestone_id=mid, respondent_hash=hashlib.sha256(f"demo:{mid}:{user}".encode()).hexdigest(),
            user_id=None if anonymous else user, anonymous=anonymous, satisfaction=sat, nps=nps, group=group,
            accepts=accepts, themes=themes, comment=comment, submitted_at=now - timedelta(days=10 - i),
            updated_at=now - timedelta(days=10 - i),
        ))


def _signoffs(session: Session, m: Milestone, d: Dates) -> dict[str, SignOff]:
    """One approval slot per role; the sign-offs given (decided three days ago), by role."""
    slots = {role: ApprovalSlot(milestone_id=m.id, role=role, position=position, approver_id=user)
             for position, (role, user) in enumerate(ROLES)}
    session.add_all(slots.values())
    session.flush()
    given: dict[str, SignOff] = {}
    for s in SIGNOFFS:
        slot, day = slots[s.role], d.days(-3 - s.days_before_decision_day)
        given[s.role] = SignOff(
            slot_id=slot.id, milestone_id=m.id, approver_id=slot.approver_id, role=s.role, decision=s.decision,
            revision=s.revision, content_hash=hashlib.sha256(f"demo:{s.revision}".encode()).hexdigest(),
            decided_at=_at(day), outdated_at=_at(day + timedelta(days=1)) if s.outdated else None, **dict(s.text),
        )
        session.add(given[s.role])
    session.flush()
    return given


def _actions(session: Session, m: Milestone, d: Dates, signoffs: dict[str, SignOff]) -> None:
    """The action items (created the day the milestone ended), then the overdue one's reminder history."""
    items = []
    for a in ACTIONS:
        done = {} if a.done_after_end is None else {
            "status": ActionStatus.DONE, "done_at": _at(d.after_end(a.done_after_end)), "done_by": a.owner}
        linked = {"signoff_id": signoffs["Project Manager"].id} if a.condition else {}
        items.append(ActionItem(milestone_id=m.id, horizon=a.horizon, description=a.description, owner_id=a.owner,
                                due_date=d.days(a.due), created_by=PM, created_at=_at(d.actual_end),
                                **dict(a.extra), **done, **linked))
    session.add_all(items)
    session.flush()
    overdue = next(item for item, a in zip(items, ACTIONS, strict=True) if a.overdue_with_history)
    for kind, recipient, days_ago in REMINDERS:
        day = d.days(-days_ago)
        delivery = Delivery(kind=kind, recipient_id=recipient, subject=f"demo:{m.id}", local_date=day,
                            status=DeliveryStatus.SENT, claimed_at=_at(day, 9), lease_until=_at(day, 9),
                            sent_at=_at(day, 9), channel=f"D{recipient}", message_ts=f"{_at(day, 9).timestamp():.6f}")
        session.add(delivery)
        session.flush()
        session.add(DeliveryItem(delivery_id=delivery.id, action_item_id=overdue.id))


def find_demo(session: Session) -> Milestone | None:
    return session.scalar(select(Milestone).where(Milestone.team_id == DEMO_TEAM, Milestone.key == DEMO_KEY))


def run_demo(settings: Settings, out_dir: Path) -> tuple[Path, Path]:
    """`milestone-bot demo`: migrate, (re)create the demo milestone, write report.md, report.html and
    report.pdf (the PDF is skipped, with a warning, where WeasyPrint's system libraries are missing)."""
    from models import migrate

    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url, lock_timeout_ms=settings.db_lock_timeout_ms)
    try:
        with session_scope(make_session_factory(engine)) as session:
            milestone = create_demo(session, datetime.now(UTC).date())
            report = load_report(session, milestone.id)
    finally:
        engine.dispose()
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path, html_path = out_dir / "report.md", out_dir / "report.html"
    md_path.write_text(render_markdown(report), encoding="utf-8")
    html_path.write_text(render_html(report), encoding="utf-8")
    _write_pdf(report, out_dir / "report.pdf")
    return md_path.resolve(), html_path.resolve()


def _write_pdf(report: Report, path: Path) -> None:
    try:
        from bot.reports.pdf import render_pdf

        path.write_bytes(render_pdf(report))
    except OSError as error:  # WeasyPrint without Pango: the other formats are still worth having
        log.warning("report.pdf not written: WeasyPrint needs Pango (Debian: libpango-1.0-0 libpangoft2-1.0-0): %s",
                    error)
    else:
        log.info("wrote %s", path.resolve())


def render_offline(
    settings: Settings, key: str, *, team_id: str | None, fmt: str, paper: Paper = "A4"
) -> str | bytes:
    """`milestone-bot report`: one milestone's report from the database, as Markdown, HTML or PDF (bytes)."""
    engine = make_engine(settings.database_url, lock_timeout_ms=settings.db_lock_timeout_ms)
    try:
        with session_scope(make_session_factory(engine)) as session:
            milestone = find_milestone(session, key, team_id=team_id)
            report = load_report(session, milestone.id)
    finally:
        engine.dispose()
    if fmt == "pdf":
        from bot.reports.pdf import render_pdf

        return render_pdf(report, paper=paper)
    return render_html(report) if fmt == "html" else render_markdown(report)
