"""What the demo milestone holds, as data: its people, the milestone's own fields, every section's rows and
records, the feedback, the sign-offs, the action items and the overdue item's reminder history.

Dates are given relative to the demo's day (`Dates.around(today)`), so the demo always looks current: it
finished twelve days ago, five days late; one action item is overdue, the rest are due soon. bot.demo walks
this data (`create_demo`); nothing here touches a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bot.actions.service import KIND_DIGEST, KIND_ESCALATION
from models import (
    Appendix,
    ArchitectureChange,
    Benchmark,
    BudgetLine,
    DefectCount,
    Deliverable,
    EffortLine,
    HandoverItem,
    Horizon,
    KnowledgeTransfer,
    Lesson,
    NextMilestone,
    Objective,
    Phase,
    PreparatoryTask,
    QualityMetrics,
    Risk,
    StakeholderValidation,
    SuccessCriterion,
    TechnicalDocs,
)
from models.base import Base

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
ROLES = [("Project Sponsor", SPONSOR), ("Project Manager", PM), ("Technical Lead", TECH), ("QA Lead", QA),
         ("Product Owner", PO)]


@dataclass(frozen=True)
class Dates:
    today: date
    planned_start: date
    actual_start: date
    planned_end: date
    actual_end: date

    @classmethod
    def around(cls, today: date) -> Dates:
        actual_end = today - timedelta(days=12)
        planned_end = actual_end - timedelta(days=5)  # five days late
        planned_start = planned_end - timedelta(days=68)
        return cls(today, planned_start, planned_start + timedelta(days=2), planned_end, actual_end)

    def days(self, n: int) -> date:
        """`n` days from today (negative: ago)."""
        return self.today + timedelta(days=n)

    def after_end(self, n: int) -> date:
        return self.actual_end + timedelta(days=n)


def milestone(d: Dates) -> dict[str, Any]:
    """The milestone's own fields (the owner, workspace and channel are the caller's)."""
    return dict(
        key=DEMO_KEY, name="Customer Portal Beta", version="beta", status="complete", currency="USD",
        planned_start=d.planned_start, actual_start=d.actual_start, planned_end=d.planned_end,
        actual_end=d.actual_end, prepared_by=PM, preparer_role="Project Manager",
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


def tables(d: Dates) -> dict[type[Base], list[dict[str, Any]]]:
    """Every section table's rows, in their order (the position is the index)."""
    return {
        Objective: [
            {"priority": "primary", "title": "Self-service invoices",
             "description": "Customers find and download any invoice in under a minute; success: 90% of invoice "
                            "questions answered without a support call."},
            {"priority": "secondary", "title": "Support tickets in the portal",
             "description": "Customers raise and follow tickets online; success: half of new tickets come "
                            "through the portal."},
            {"priority": "tertiary", "title": "Team access management",
             "description": "Admins invite and remove colleagues; success: no access requests by email."},
        ],
        SuccessCriterion: [
            {"criterion": "Invoice questions answered online", "target": "90%", "actual": "93%", "status": "met"},
            {"criterion": "Tickets raised in the portal", "target": "50%", "actual": "58%", "status": "met"},
            {"criterion": "p95 page response time", "target": "< 300 ms", "actual": "240 ms", "status": "met"},
            {"criterion": "Access requests by email", "target": "0", "actual": "4", "status": "partial",
             "notes": "Four admins emailed before the invite button was announced."},
        ],
        Deliverable: [
            {"kind": "completed", "name": "Invoice list and download", "description": "Filter by date | status; PDF",
             "acceptance_criteria": "Criteria met", "status": "complete", "signoff_by": PO,
             "signoff_date": d.after_end(-2)},
            {"kind": "completed", "name": "Support tickets", "description": "Create, comment, close",
             "acceptance_criteria": "Criteria met", "status": "complete", "signoff_by": PO,
             "signoff_date": d.after_end(-2)},
            {"kind": "completed", "name": "Team access", "description": "Invite, remove, change role",
             "acceptance_criteria": "Criteria met", "status": "complete", "signoff_by": TECH,
             "signoff_date": d.after_end(-1)},
            {"kind": "completed", "name": "Billing API adapter", "description": "Cached, rate-limit aware",
             "acceptance_criteria": "Load test passed", "status": "complete", "signoff_by": TECH,
             "signoff_date": d.after_end(-1)},
            {"kind": "deferred", "name": "Single sign-on", "deferral_reason": "Identity vendor contract signed late",
             "new_target": "Next milestone", "impact": "low"},
            {"kind": "additional", "name": "CSV export of invoices", "description": "Download the filtered list",
             "addition_reason": "Business need: finance teams reconcile in spreadsheets"},
        ],
        Phase: [
            {"name": "Planning", "planned_days": Decimal(10), "actual_days": Decimal(10)},
            {"name": "Development", "planned_days": Decimal(40), "actual_days": Decimal(45),
             "notes": "Billing API rate limits needed a cache"},
            {"name": "Testing", "planned_days": Decimal(15), "actual_days": Decimal(15)},
            {"name": "Deployment", "planned_days": Decimal(3), "actual_days": Decimal(3)},
        ],
        EffortLine: [
            {"role": "Development", "planned_hours": Decimal(380), "actual_hours": Decimal(400)},
            {"role": "QA", "planned_hours": Decimal(210), "actual_hours": Decimal(200)},
            {"role": "Design", "planned_hours": Decimal(120), "actual_hours": Decimal(120)},
            {"role": "DevOps", "planned_hours": Decimal(90), "actual_hours": Decimal(100)},
        ],
        BudgetLine: [
            {"category": "Labor", "budgeted": Decimal(85000), "actual": Decimal(82500)},
            {"category": "Infrastructure", "budgeted": Decimal(12000), "actual": Decimal(12000)},
            {"category": "Tools/Licenses", "budgeted": Decimal(4000), "actual": Decimal(4400),
             "notes": "Additional license needed"},
        ],
        DefectCount: [
            {"severity": "critical", "found": 2, "fixed": 2, "outstanding": 0, "deferred": 0},
            {"severity": "high", "found": 12, "fixed": 11, "outstanding": 0, "deferred": 1},
            {"severity": "medium", "found": 25, "fixed": 21, "outstanding": 2, "deferred": 2},
            {"severity": "low", "found": 18, "fixed": 6, "outstanding": 3, "deferred": 9},
        ],
        Benchmark: [
            {"kind": "system", "metric": "Response Time (p95)", "target": "<300ms", "achieved": "240ms",
             "status": "met"},
            {"kind": "system", "metric": "Throughput", "target": ">500 req/s", "achieved": "620 req/s",
             "status": "met"},
            {"kind": "system", "metric": "Error Rate", "target": "<0.1%", "achieved": "0.05%", "status": "met"},
            {"kind": "system", "metric": "Availability", "target": "99.9%", "achieved": "99.95%", "status": "met"},
            {"kind": "ux", "metric": "Page Load Time", "target": "<2s", "achieved": "1.8s", "status": "met"},
            {"kind": "ux", "metric": "Time to Interactive", "target": "<3s", "achieved": "2.5s", "status": "met"},
            {"kind": "ux", "metric": "First Contentful Paint", "target": "<1s", "achieved": "1.1s",
             "status": "partial"},
        ],
        Risk: [
            {"kind": "realized", "risk": "Billing API rate limits", "impact": "medium",
             "management": "Added a read-through cache; five days of extra development",
             "lessons": "Load-test third-party APIs in week 1"},
            {"kind": "mitigated", "risk": "Beta customers overwhelm support", "management":
             "Staged rollout, 50 customers a day", "effectiveness": "Successful"},
            {"kind": "mitigated", "risk": "Invoice data leaks across teams", "management":
             "Row-level access checks and a penetration test", "effectiveness": "Successful"},
            {"kind": "new", "risk": "GA traffic is 10× the beta's", "probability": "low", "impact": "medium",
             "management": "Load test at 2× expected GA traffic before launch"},
        ],
        Lesson: [
            {"kind": "went_well", "title": "Staged rollout",
             "description": "Problems reached 50 customers, not 250."},
            {"kind": "went_well", "title": "Design reviews with customers",
             "description": "Three rounds of clickable prototypes caught the confusing invoice filters early."},
            {"kind": "went_well", "title": "Daily QA builds",
             "description": "Defects found within a day of coding."},
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
        ],
        ArchitectureChange: [
            {"change": "Read-through cache for the billing API", "rationale": "Stay under the vendor's rate limits"},
            {"change": "Portal as a separate service", "rationale": "Deploy the portal without the back office"},
        ],
        HandoverItem: [
            {"component": "Portal web service", "from_team": "Dev Team", "to_team": "Ops Team",
             "status": "complete", "handover_date": d.actual_end},
            {"component": "Support FAQ", "from_team": "Product", "to_team": "Support", "status": "in_progress",
             "handover_date": d.days(3)},
        ],
        PreparatoryTask: [
            {"task": "Sign the SSO vendor's contract", "description": "Legal review done", "timeline": "2 weeks"},
            {"task": "GA load test plan", "description": "2× expected GA traffic", "timeline": "4 weeks"},
        ],
        Appendix: [
            {"kind": "test_report", "url": "https://qa.example.com/portal-beta/tests"},
            {"kind": "performance", "url": "https://qa.example.com/portal-beta/performance"},
            {"kind": "user_feedback", "url": "https://docs.example.com/portal-beta/feedback"},
            {"kind": "architecture", "url": "https://docs.example.com/portal/architecture"},
            {"kind": "release_notes", "url": "https://docs.example.com/portal-beta/release-notes"},
            {"kind": "defect_report", "url": "https://qa.example.com/portal-beta/defects"},
        ],
    }


def records(d: Dates) -> dict[type[Base], dict[str, Any]]:
    """The one-record sections (quality, technical docs, knowledge transfer, next milestone, validation)."""
    return {
        QualityMetrics: dict(
            total_tests=1250, passed_tests=1198, failed_tests=40, blocked_tests=12, test_coverage_pct=Decimal(87),
            lines_of_code=48200, code_coverage_pct=Decimal("82.5"), tech_debt_hours=Decimal(120),
            cyclomatic_complexity=Decimal("3.4"), code_review_coverage_pct=Decimal(100),
        ),
        TechnicalDocs: dict(
            api_new=14, api_modified=6, api_deprecated=2, api_docs_url="https://docs.example.com/portal/api",
            db_schema_updates="Invoice cache table; ticket attachments table",
            db_migration_url="https://git.example.com/portal/migrations",
            db_optimizations="Composite index on (customer, invoice date): invoice list 40× faster",
            infra_new_services="Portal web (3 instances), invoice cache (Redis)",
            infra_config_changes="CDN in front of the portal; stricter CSP",
            infra_scaling="Autoscaling on CPU 60%, 3 to 12 instances",
        ),
        KnowledgeTransfer: dict(
            documentation_created="Admin guide, support FAQ, runbook",
            training_conducted="Two sessions for Support (14 people), one for Sales (9 people)",
            videos_recorded="Portal tour (https://videos.example.com/portal-tour)",
            support_team_trained=True, runbooks_created=True, monitoring_setup=True, escalation_path_defined=True,
        ),
        NextMilestone: dict(
            name="Customer Portal GA", target_date=d.days(75),
            key_objectives="Open the portal to every customer; single sign-on",
            dependencies="This milestone's conditions and the GA load test",
            risks="Traffic growth (see New Risks Identified)",
        ),
        StakeholderValidation: dict(
            participants="Finance and support leads of 4 beta customers", scenarios_completed=42,
            acceptance_key_feedback="Invoices are easy to find; ticket status emails are too frequent.",
            beta_users=250, business_goals_met=4, business_goals_total=5, roi_projection="on_track",
            market_response="Two prospects asked for the portal in their sales calls.",
        ),
    }


# One answer each, from the five role holders first, then from UDEMOFB05…: satisfaction, NPS answer, group,
# accepts, themes, comment, anonymous. Submitted one a day, the last one yesterday.
FEEDBACK = [
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


@dataclass(frozen=True)
class GivenSignoff:
    role: str
    decision: str
    revision: int
    days_before_decision_day: int = 0  # the decision day is three days ago
    outdated: bool = False  # outdated the day after it was given
    text: tuple[tuple[str, str], ...] = ()  # comments / conditions


CONDITION = "Fix the two outstanding Medium defects before GA."
SIGNOFFS = [  # the Product Owner has not decided
    GivenSignoff("Project Sponsor", "approved", DEMO_REVISION),
    GivenSignoff("Project Manager", "approved_with_conditions", DEMO_REVISION,
                 text=(("conditions", CONDITION),)),
    GivenSignoff("Technical Lead", "approved", DEMO_REVISION - 1, 2, outdated=True,
                 text=(("comments", "Architecture looks good."),)),
    GivenSignoff("QA Lead", "approved", DEMO_REVISION, text=(("comments", "Test evidence is in appendix A."),)),
]


@dataclass(frozen=True)
class DemoAction:
    horizon: str
    description: str
    owner: str
    due: int  # days from today
    extra: tuple[tuple[str, Any], ...] = ()
    done_after_end: int | None = None  # done this many days after the milestone ended (by its owner)
    overdue_with_history: bool = False  # the item the reminder history below is about
    condition: bool = False  # the Project Manager's condition


ACTIONS = [
    DemoAction(Horizon.WEEK1, "Publish the release notes on the portal", PM, -9, done_after_end=2),
    DemoAction(Horizon.WEEK1, "Rotate the staging API keys used during the beta", TECH, -7,
               (("priority", "high"),), overdue_with_history=True),
    DemoAction(Horizon.WEEK1, "Hand the on-call runbook over to Support", QA, 2),
    DemoAction(Horizon.MONTH1, "Run the post-beta satisfaction survey", PO, 14),
    DemoAction(Horizon.MONTH1, "Close the outstanding Medium and Low defects", QA, 10),
    DemoAction(Horizon.QUARTER, "Plan the GA load test at 2× beta traffic", TECH, 60),
    DemoAction(Horizon.TECH_DEBT, "Replace the legacy session store", TECH, 30,
               (("priority", "high"), ("effort_days", Decimal(5)), ("planned_sprint", "Sprint 14"))),
    DemoAction(Horizon.TECH_DEBT, "Remove the beta feature flags", TECH, 45,
               (("priority", "medium"), ("effort_days", Decimal(2)), ("planned_sprint", "Sprint 15"))),
    DemoAction(Horizon.CONDITION, "Fix the two outstanding Medium defects before GA", PM, 7, condition=True),
]
# The overdue item's reminder history: three daily digests to its owner, then one escalation to the PM.
REMINDERS = [(KIND_DIGEST, TECH, 6), (KIND_DIGEST, TECH, 5), (KIND_DIGEST, TECH, 4), (KIND_ESCALATION, PM, 1)]
