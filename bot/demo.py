"""A complete sample milestone, every section filled, for `milestone-bot demo` and the report's golden test.

Dates are anchored on `today` so the demo always looks current (one action overdue, the rest due soon).
Running it again replaces the previous demo milestone: the demo lives in its own workspace id, DEMO_TEAM,
with its own people (DEMO_USERS), so it never touches a real team's data.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.actions.service import KIND_DIGEST, KIND_ESCALATION
from bot.reports.rendering import Paper, render_html, render_markdown
from bot.reports.report import Report
from bot.reports.service import find_milestone, load_report
from bot.settings import Settings
from models import (
    ActionItem,
    ActionStatus,
    Appendix,
    ApprovalSlot,
    ArchitectureChange,
    Benchmark,
    BudgetLine,
    DefectCount,
    Deliverable,
    Delivery,
    DeliveryItem,
    DeliveryStatus,
    EffortLine,
    FeedbackResponse,
    HandoverItem,
    Horizon,
    KnowledgeTransfer,
    Lesson,
    Milestone,
    NextMilestone,
    Objective,
    Phase,
    PreparatoryTask,
    QualityMetrics,
    Risk,
    SignOff,
    StakeholderValidation,
    SuccessCriterion,
    TechnicalDocs,
    UserProfile,
)
from models.db import make_engine, make_session_factory, session_scope

log = logging.getLogger(__name__)
DEMO_TEAM = "TDEMO"
DEMO_KEY = "M-042"
DEMO_REVISION = 7
SPONSOR, PM, TECH, QA, PO = "UDEMOSPONSOR", "UDEMOPM", "UDEMOTECH", "UDEMOQA", "UDEMOPO"
DEMO_USERS = {
    SPONSOR: "Sofia Alvarez",
    PM: "Liam Patel",
    TECH: "Ava Johnson",
    QA: "Noah Kim",
    PO: "Emma Rossi",
}


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
    now = _at(today)
    for user_id, real_name in DEMO_USERS.items():
        session.merge(UserProfile(user_id=user_id, team_id=DEMO_TEAM, real_name=real_name, tz="UTC", tz_offset=0,
                                  fetched_at=now))

    actual_end = today - timedelta(days=12)
    planned_end = actual_end - timedelta(days=5)  # five days late
    planned_start = planned_end - timedelta(days=68)
    m = Milestone(
        team_id=team_id, key=DEMO_KEY, name="Customer Portal Beta", version="beta", status="complete",
        planned_start=planned_start, actual_start=planned_start + timedelta(days=2), planned_end=planned_end,
        actual_end=actual_end, owner_id=owner_id, created_by=owner_id, prepared_by=PM, preparer_role="Project Manager",
        report_channel_id=channel_id,
        distribution="Executive Team, Stakeholders, Development Team", confidentiality="Internal Use Only",
        revision=DEMO_REVISION,
        executive_summary=(
            "The Customer Portal Beta shipped to 250 beta customers, five days after the planned date.\n\n"
            "Customers can now see their invoices, raise support tickets and manage their team's access "
            "without calling us. Support calls about invoices fell by a third during the beta, and the "
            "portal met every performance target but one."
        ),
        scope_original="Invoices, support tickets and team access for all customers on the Business plan.",
        scope_final="The same three areas, plus CSV export of invoices; single sign-on moved to GA.",
        scope_changes="Single sign-on deferred (vendor contract late); CSV export added at the request of "
                      "the finance beta group.",
        critical_path=(
            "Billing API integration → invoice views → load test → beta rollout.\n"
            "The billing API's rate limits were discovered in week 6 and added five days to development."
        ),
        comments_conditions="Approved for beta. General availability depends on the conditions below.",
    )
    session.add(m)
    session.flush()
    mid = m.id

    def rows(model: type, items: list[dict[str, object]]) -> None:
        for position, values in enumerate(items):
            session.add(model(milestone_id=mid, position=position, **values))

    rows(Objective, [
        {"priority": "primary", "title": "Self-service invoices",
         "description": "Customers find and download any invoice in under a minute; success: 90% of invoice "
                        "questions answered without a support call."},
        {"priority": "secondary", "title": "Support tickets in the portal",
         "description": "Customers raise and follow tickets online; success: half of new tickets come "
                        "through the portal."},
        {"priority": "tertiary", "title": "Team access management",
         "description": "Admins invite and remove colleagues; success: no access requests by email."},
    ])
    rows(SuccessCriterion, [
        {"criterion": "Invoice questions answered online", "target": "90%", "actual": "93%", "status": "met"},
        {"criterion": "Tickets raised in the portal", "target": "50%", "actual": "58%", "status": "met"},
        {"criterion": "p95 page response time", "target": "< 300 ms", "actual": "240 ms", "status": "met"},
        {"criterion": "Access requests by email", "target": "0", "actual": "4", "status": "partial",
         "notes": "Four admins emailed before the invite button was announced."},
    ])
    rows(Deliverable, [
        {"kind": "completed", "name": "Invoice list and download", "description": "Filter by date | status; PDF",
         "acceptance_criteria": "Criteria met", "status": "complete", "signoff_by": PO,
         "signoff_date": actual_end - timedelta(days=2)},
        {"kind": "completed", "name": "Support tickets", "description": "Create, comment, close",
         "acceptance_criteria": "Criteria met", "status": "complete", "signoff_by": PO,
         "signoff_date": actual_end - timedelta(days=2)},
        {"kind": "completed", "name": "Team access", "description": "Invite, remove, change role",
         "acceptance_criteria": "Criteria met", "status": "complete", "signoff_by": TECH,
         "signoff_date": actual_end - timedelta(days=1)},
        {"kind": "completed", "name": "Billing API adapter", "description": "Cached, rate-limit aware",
         "acceptance_criteria": "Load test passed", "status": "complete", "signoff_by": TECH,
         "signoff_date": actual_end - timedelta(days=1)},
        {"kind": "deferred", "name": "Single sign-on", "deferral_reason": "Identity vendor contract signed late",
         "new_target": "Next milestone", "impact": "low"},
        {"kind": "additional", "name": "CSV export of invoices", "description": "Download the filtered list",
         "addition_reason": "Business need: finance teams reconcile in spreadsheets"},
    ])
    rows(Phase, [
        {"name": "Planning", "planned_days": Decimal(10), "actual_days": Decimal(10)},
        {"name": "Development", "planned_days": Decimal(40), "actual_days": Decimal(45),
         "notes": "Billing API rate limits needed a cache"},
        {"name": "Testing", "planned_days": Decimal(15), "actual_days": Decimal(15)},
        {"name": "Deployment", "planned_days": Decimal(3), "actual_days": Decimal(3)},
    ])
    rows(EffortLine, [
        {"role": "Development", "planned_hours": Decimal(380), "actual_hours": Decimal(400)},
        {"role": "QA", "planned_hours": Decimal(210), "actual_hours": Decimal(200)},
        {"role": "Design", "planned_hours": Decimal(120), "actual_hours": Decimal(120)},
        {"role": "DevOps", "planned_hours": Decimal(90), "actual_hours": Decimal(100)},
    ])
    rows(BudgetLine, [
        {"category": "Labor", "budgeted": Decimal(85000), "actual": Decimal(82500)},
        {"category": "Infrastructure", "budgeted": Decimal(12000), "actual": Decimal(12000)},
        {"category": "Tools/Licenses", "budgeted": Decimal(4000), "actual": Decimal(4400),
         "notes": "Additional license needed"},
    ])
    session.add(QualityMetrics(
        milestone_id=mid, total_tests=1250, passed_tests=1198, failed_tests=40, blocked_tests=12,
        test_coverage_pct=Decimal(87), lines_of_code=48200, code_coverage_pct=Decimal("82.5"),
        tech_debt_hours=Decimal(120), cyclomatic_complexity=Decimal("3.4"), code_review_coverage_pct=Decimal(100),
    ))
    rows(DefectCount, [
        {"severity": "critical", "found": 2, "fixed": 2, "outstanding": 0, "deferred": 0},
        {"severity": "high", "found": 12, "fixed": 11, "outstanding": 0, "deferred": 1},
        {"severity": "medium", "found": 25, "fixed": 21, "outstanding": 2, "deferred": 2},
        {"severity": "low", "found": 18, "fixed": 6, "outstanding": 3, "deferred": 9},
    ])
    rows(Benchmark, [
        {"kind": "system", "metric": "Response Time (p95)", "target": "<300ms", "achieved": "240ms", "status": "met"},
        {"kind": "system", "metric": "Throughput", "target": ">500 req/s", "achieved": "620 req/s", "status": "met"},
        {"kind": "system", "metric": "Error Rate", "target": "<0.1%", "achieved": "0.05%", "status": "met"},
        {"kind": "system", "metric": "Availability", "target": "99.9%", "achieved": "99.95%", "status": "met"},
        {"kind": "ux", "metric": "Page Load Time", "target": "<2s", "achieved": "1.8s", "status": "met"},
        {"kind": "ux", "metric": "Time to Interactive", "target": "<3s", "achieved": "2.5s", "status": "met"},
        {"kind": "ux", "metric": "First Contentful Paint", "target": "<1s", "achieved": "1.1s",
         "status": "partial"},
    ])
    rows(Risk, [
        {"kind": "realized", "risk": "Billing API rate limits", "impact": "medium",
         "management": "Added a read-through cache; five days of extra development",
         "lessons": "Load-test third-party APIs in week 1"},
        {"kind": "mitigated", "risk": "Beta customers overwhelm support", "management":
         "Staged rollout, 50 customers a day", "effectiveness": "Successful"},
        {"kind": "mitigated", "risk": "Invoice data leaks across teams", "management":
         "Row-level access checks and a penetration test", "effectiveness": "Successful"},
        {"kind": "new", "risk": "GA traffic is 10× the beta's", "probability": "low", "impact": "medium",
         "management": "Load test at 2× expected GA traffic before launch"},
    ])
    rows(Lesson, [
        {"kind": "went_well", "title": "Staged rollout", "description": "Problems reached 50 customers, not 250."},
        {"kind": "went_well", "title": "Design reviews with customers",
         "description": "Three rounds of clickable prototypes caught the confusing invoice filters early."},
        {"kind": "went_well", "title": "Daily QA builds", "description": "Defects found within a day of coding."},
        {"kind": "improve", "title": "Third-party API discovery",
         "description": "Rate limits found late; proposed: a spike on every external API in planning."},
        {"kind": "improve", "title": "Estimating integrations",
         "description": "Integration work was estimated like UI work; proposed: separate estimates."},
        {"kind": "improve", "title": "Announcing features",
         "description": "Admins missed the invite button; proposed: in-app announcements."},
        {"kind": "best_practice", "title": "Feature flags per customer",
         "description": "Let us turn features on for the beta group only; use for every rollout."},
        {"kind": "best_practice", "title": "Performance budget in CI",
         "description": "Page weight checked on every merge; adopt in all front-end projects."},
        {"kind": "process", "title": "External dependencies",
         "description": "Current: found during development. Proposed: listed and spiked in planning."},
        {"kind": "process", "title": "Sign-off",
         "description": "Current: email thread. Proposed: sign-off in Slack with Milestone Bot."},
    ])
    session.add(TechnicalDocs(
        milestone_id=mid, api_new=14, api_modified=6, api_deprecated=2, api_docs_url="https://docs.example.com/portal/api",
        db_schema_updates="Invoice cache table; ticket attachments table",
        db_migration_url="https://git.example.com/portal/migrations",
        db_optimizations="Composite index on (customer, invoice date): invoice list 40× faster",
        infra_new_services="Portal web (3 instances), invoice cache (Redis)",
        infra_config_changes="CDN in front of the portal; stricter CSP",
        infra_scaling="Autoscaling on CPU 60%, 3 to 12 instances",
    ))
    rows(ArchitectureChange, [
        {"change": "Read-through cache for the billing API", "rationale": "Stay under the vendor's rate limits"},
        {"change": "Portal as a separate service", "rationale": "Deploy the portal without the back office"},
    ])
    session.add(KnowledgeTransfer(
        milestone_id=mid, documentation_created="Admin guide, support FAQ, runbook",
        training_conducted="Two sessions for Support (14 people), one for Sales (9 people)",
        videos_recorded="Portal tour (https://videos.example.com/portal-tour)",
        support_team_trained=True, runbooks_created=True, monitoring_setup=True, escalation_path_defined=True,
    ))
    rows(HandoverItem, [
        {"component": "Portal web service", "from_team": "Dev Team", "to_team": "Ops Team", "status": "complete",
         "handover_date": actual_end},
        {"component": "Support FAQ", "from_team": "Product", "to_team": "Support", "status": "in_progress",
         "handover_date": today + timedelta(days=3)},
    ])
    session.add(NextMilestone(
        milestone_id=mid, name="Customer Portal GA", target_date=today + timedelta(days=75),
        key_objectives="Open the portal to every customer; single sign-on",
        dependencies="This milestone's conditions and the GA load test",
        risks="Traffic growth (see New Risks Identified)",
    ))
    rows(PreparatoryTask, [
        {"task": "Sign the SSO vendor's contract", "description": "Legal review done", "timeline": "2 weeks"},
        {"task": "GA load test plan", "description": "2× expected GA traffic", "timeline": "4 weeks"},
    ])
    session.add(StakeholderValidation(
        milestone_id=mid, participants="Finance and support leads of 4 beta customers", scenarios_completed=42,
        acceptance_key_feedback="Invoices are easy to find; ticket status emails are too frequent.",
        beta_users=250, business_goals_met=4, business_goals_total=5, roi_projection="on_track",
        market_response="Two prospects asked for the portal in their sales calls.",
    ))
    rows(Appendix, [
        {"kind": "test_report", "url": "https://qa.example.com/portal-beta/tests"},
        {"kind": "performance", "url": "https://qa.example.com/portal-beta/performance"},
        {"kind": "user_feedback", "url": "https://docs.example.com/portal-beta/feedback"},
        {"kind": "architecture", "url": "https://docs.example.com/portal/architecture"},
        {"kind": "release_notes", "url": "https://docs.example.com/portal-beta/release-notes"},
        {"kind": "defect_report", "url": "https://qa.example.com/portal-beta/defects"},
    ])
    _feedback(session, mid, now)
    _signoffs_and_actions(session, m, today, now)
    session.flush()
    return m


# satisfaction, NPS answer, group, accepts, themes, comment, anonymous
_FEEDBACK = [
    (5, 10, "acceptance_tester", True, ["positive"], "Finding an invoice takes seconds now.", False),
    (4, 9, "acceptance_tester", True, ["positive", "improvement"], "Too many ticket status emails.", False),
    (5, 8, "acceptance_tester", True, ["positive"], None, True),
    (4, 7, "acceptance_tester", False, ["improvement"], "Team roles are confusing.", False),
    (3, 9, "beta_user", None, ["feature_request"], "Please add single sign-on.", True),
    (5, 10, "beta_user", None, ["positive"], "Best part of the product.", False),
    (4, 6, "beta_user", None, ["improvement"], "Search is slow on old invoices.", False),
    (4, 9, "beta_user", None, ["feature_request"], "Export to our accounting tool.", False),
    (5, 3, "business", None, [], None, True),
    (3, 8, "business", None, ["positive"], None, False),
]


def _feedback(session: Session, mid: int, now: datetime) -> None:
    people = [SPONSOR, PM, TECH, QA, PO]
    for i, (sat, nps, group, accepts, themes, comment, anonymous) in enumerate(_FEEDBACK):
        user = f"UDEMOFB{i:02d}" if i >= len(people) else people[i]
        session.add(FeedbackResponse(
            milestone_id=mid, respondent_hash=hashlib.sha256(f"demo:{mid}:{user}".encode()).hexdigest(),
            user_id=None if anonymous else user, anonymous=anonymous, satisfaction=sat, nps=nps, group=group,
            accepts=accepts, themes=themes, comment=comment, submitted_at=now - timedelta(days=10 - i),
            updated_at=now - timedelta(days=10 - i),
        ))


def _signoffs_and_actions(session: Session, m: Milestone, today: date, now: datetime) -> None:
    roles = [("Project Sponsor", SPONSOR), ("Project Manager", PM), ("Technical Lead", TECH), ("QA Lead", QA),
             ("Product Owner", PO)]
    slots = {}
    for position, (role, user) in enumerate(roles):
        slot = ApprovalSlot(milestone_id=m.id, role=role, position=position, approver_id=user)
        session.add(slot)
        slots[role] = slot
    session.flush()
    decided = today - timedelta(days=3)

    def sign(role: str, decision: str, revision: int, day: date, outdated: bool = False, **text: str) -> SignOff:
        slot = slots[role]
        signoff = SignOff(
            slot_id=slot.id, milestone_id=m.id, approver_id=slot.approver_id, role=role, decision=decision,
            revision=revision, content_hash=hashlib.sha256(f"demo:{revision}".encode()).hexdigest(),
            decided_at=_at(day), outdated_at=_at(day + timedelta(days=1)) if outdated else None, **text,
        )
        session.add(signoff)
        return signoff

    sign("Project Sponsor", "approved", DEMO_REVISION, decided)
    conditional = sign("Project Manager", "approved_with_conditions", DEMO_REVISION, decided,
                       conditions="Fix the two outstanding Medium defects before GA.")
    sign("Technical Lead", "approved", DEMO_REVISION - 1, decided - timedelta(days=2), outdated=True,
         comments="Architecture looks good.")
    sign("QA Lead", "approved", DEMO_REVISION, decided, comments="Test evidence is in appendix A.")
    session.flush()

    end = m.actual_end or today

    def action(horizon: str, description: str, owner: str, due: date, **extra: object) -> ActionItem:
        item = ActionItem(milestone_id=m.id, horizon=horizon, description=description, owner_id=owner, due_date=due,
                          created_by=PM, created_at=_at(end), **extra)
        session.add(item)
        return item

    action(Horizon.WEEK1, "Publish the release notes on the portal", PM, end + timedelta(days=3),
           status=ActionStatus.DONE, done_at=_at(end + timedelta(days=2)), done_by=PM)
    overdue = action(Horizon.WEEK1, "Rotate the staging API keys used during the beta", TECH,
                     today - timedelta(days=7), priority="high")
    action(Horizon.WEEK1, "Hand the on-call runbook over to Support", QA, today + timedelta(days=2))
    action(Horizon.MONTH1, "Run the post-beta satisfaction survey", PO, today + timedelta(days=14))
    action(Horizon.MONTH1, "Close the outstanding Medium and Low defects", QA, today + timedelta(days=10))
    action(Horizon.QUARTER, "Plan the GA load test at 2× beta traffic", TECH, today + timedelta(days=60))
    action(Horizon.TECH_DEBT, "Replace the legacy session store", TECH, today + timedelta(days=30),
           priority="high", effort_days=Decimal(5), planned_sprint="Sprint 14")
    action(Horizon.TECH_DEBT, "Remove the beta feature flags", TECH, today + timedelta(days=45),
           priority="medium", effort_days=Decimal(2), planned_sprint="Sprint 15")
    action(Horizon.CONDITION, "Fix the two outstanding Medium defects before GA", PM, today + timedelta(days=7),
           signoff_id=conditional.id)
    session.flush()

    # Reminder history of the overdue item: three daily digests to its owner, then one escalation.
    def delivered(kind: str, recipient: str, day: date) -> None:
        delivery = Delivery(kind=kind, recipient_id=recipient, subject=f"demo:{m.id}", local_date=day,
                            status=DeliveryStatus.SENT, claimed_at=_at(day, 9), lease_until=_at(day, 9),
                            sent_at=_at(day, 9), channel=f"D{recipient}", message_ts=f"{_at(day, 9).timestamp():.6f}")
        session.add(delivery)
        session.flush()
        session.add(DeliveryItem(delivery_id=delivery.id, action_item_id=overdue.id))

    for days_ago in (6, 5, 4):
        delivered(KIND_DIGEST, TECH, today - timedelta(days=days_ago))
    delivered(KIND_ESCALATION, PM, today - timedelta(days=1))


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
