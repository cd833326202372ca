"""The milestone itself, who may edit it, and the audit log of everything done to it."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, Choice, UTCDateTime, field, utcnow

if TYPE_CHECKING:
    from models.actions import ActionItem
    from models.feedback import FeedbackResponse
    from models.imports import ExternalSignoff
    from models.sections import (
        Appendix,
        ArchitectureChange,
        Benchmark,
        BudgetLine,
        DefectCount,
        Deliverable,
        EffortLine,
        HandoverItem,
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
    from models.signoffs import ApprovalSlot


class Version(Choice):
    ALPHA = "alpha", "Alpha"
    BETA = "beta", "Beta"
    RC = "rc", "RC"
    RELEASE = "release", "Release"


class Status(Choice):
    COMPLETE = "complete", "✅ Complete"
    IN_PROGRESS = "in_progress", "🔄 In Progress"
    ON_HOLD = "on_hold", "⏸️ On Hold"
    CANCELLED = "cancelled", "❌ Cancelled"


_CASCADE = "all, delete-orphan"


class Milestone(Base):
    __tablename__ = "milestones"
    __table_args__ = (UniqueConstraint("team_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    key: Mapped[str] = field(
        "Milestone ID", required=True, max_length=16, placeholder="M-042", hint="Unique in this workspace."
    )
    name: Mapped[str] = field("Name", required=True, max_length=150)
    version: Mapped[str] = field("Version", "select", required=True, choices=Version, default=Version.ALPHA)
    status: Mapped[str] = field("Status", "select", required=True, choices=Status, default=Status.IN_PROGRESS)
    planned_start: Mapped[date | None] = field("Original start date", "date")
    planned_end: Mapped[date | None] = field("Original end date", "date")
    actual_start: Mapped[date | None] = field("Actual start date", "date")
    actual_end: Mapped[date | None] = field("Actual end date (completion)", "date")
    report_channel_id: Mapped[str | None] = field("Report channel", "channel")
    # ISO 4217 code of every amount the milestone holds (the budget's), shown in every money cell of the
    # report. A new milestone takes the CURRENCY setting (the forms and the importer give it); "USD", the
    # template's, only where code creates a milestone without saying.
    currency: Mapped[str] = field("Currency", required=True, max_length=3, placeholder="USD", default="USD",
                                  hint="The budget's currency: a three-letter code such as USD or EUR.")
    # The owner's choice: the final report is posted to the channel once, when the milestone is accepted.
    post_final_report: Mapped[bool] = field(
        "Post the final report to the channel when accepted", "bool", type_=Boolean, default=True,
        server_default=true(), nullable=False,
        hint="Posted once, for the owner, with the full report in its thread; a re-acceptance updates that post.",
    )
    owner_id: Mapped[str] = mapped_column(String(32), index=True)

    executive_summary: Mapped[str | None] = field(
        "Executive summary",
        "multiline",
        hint="The milestone's achievement, its significance, impact on the project and key outcomes.",
    )
    scope_original: Mapped[str | None] = field("Original scope", "multiline")
    scope_final: Mapped[str | None] = field("Final scope", "multiline")
    scope_changes: Mapped[str | None] = field("Scope changes and justifications", "multiline")
    critical_path: Mapped[str | None] = field(
        "Critical path analysis",
        "multiline",
        hint="Key activities that determined the timeline and any delays encountered.",
    )
    comments_conditions: Mapped[str | None] = field(
        "Comments & conditions", "multiline", hint="Conditions or comments associated with the sign-off."
    )

    # Document metadata (the template's footer); the document version is the revision.
    prepared_by: Mapped[str | None] = field("Document prepared by", "user")
    preparer_role: Mapped[str | None] = field("Preparer's role", max_length=80, placeholder="Project Manager")
    distribution: Mapped[str | None] = field(
        "Distribution", max_length=200, placeholder="Executive Team, Stakeholders, Development Team"
    )
    confidentiality: Mapped[str | None] = field("Confidentiality", max_length=80, placeholder="Internal Use Only")
    prepared_by_name: Mapped[str | None] = mapped_column(String(200))  # imported: a preparer not in Slack

    revision: Mapped[int] = mapped_column(Integer, default=1)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The revision last accepted; kept when the acceptance is withdrawn, so the report shows "Reopened".
    accepted_revision: Mapped[int | None] = mapped_column(Integer)
    # The one sign-off status message in the channel, updated in place.
    signoff_status_channel: Mapped[str | None] = mapped_column(String(32))
    signoff_status_ts: Mapped[str | None] = mapped_column(String(32))
    # The one final-report post in the channel (bot.reports.flows_final), edited in place after it is out.
    final_report_channel: Mapped[str | None] = mapped_column(String(32))
    final_report_ts: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    editors: Mapped[list[MilestoneEditor]] = relationship(back_populates="milestone", cascade=_CASCADE)
    objectives: Mapped[list[Objective]] = relationship(cascade=_CASCADE, order_by="Objective.position")
    criteria: Mapped[list[SuccessCriterion]] = relationship(
        cascade=_CASCADE, order_by="SuccessCriterion.position"
    )
    deliverables: Mapped[list[Deliverable]] = relationship(cascade=_CASCADE, order_by="Deliverable.position")
    phases: Mapped[list[Phase]] = relationship(cascade=_CASCADE, order_by="Phase.position")
    effort_lines: Mapped[list[EffortLine]] = relationship(cascade=_CASCADE, order_by="EffortLine.position")
    budget_lines: Mapped[list[BudgetLine]] = relationship(cascade=_CASCADE, order_by="BudgetLine.position")
    quality: Mapped[QualityMetrics | None] = relationship(cascade=_CASCADE)
    defects: Mapped[list[DefectCount]] = relationship(cascade=_CASCADE, order_by="DefectCount.position")
    benchmarks: Mapped[list[Benchmark]] = relationship(cascade=_CASCADE, order_by="Benchmark.position")
    risks: Mapped[list[Risk]] = relationship(cascade=_CASCADE, order_by="Risk.position")
    lessons: Mapped[list[Lesson]] = relationship(cascade=_CASCADE, order_by="Lesson.position")
    technical_docs: Mapped[TechnicalDocs | None] = relationship(cascade=_CASCADE)
    architecture_changes: Mapped[list[ArchitectureChange]] = relationship(
        cascade=_CASCADE, order_by="ArchitectureChange.position"
    )
    knowledge_transfer: Mapped[KnowledgeTransfer | None] = relationship(cascade=_CASCADE)
    handover_items: Mapped[list[HandoverItem]] = relationship(cascade=_CASCADE, order_by="HandoverItem.position")
    next_milestone: Mapped[NextMilestone | None] = relationship(cascade=_CASCADE)
    preparatory_tasks: Mapped[list[PreparatoryTask]] = relationship(
        cascade=_CASCADE, order_by="PreparatoryTask.position"
    )
    appendices: Mapped[list[Appendix]] = relationship(cascade=_CASCADE, order_by="Appendix.position")
    stakeholder_validation: Mapped[StakeholderValidation | None] = relationship(cascade=_CASCADE)
    approval_slots: Mapped[list[ApprovalSlot]] = relationship(
        back_populates="milestone", cascade=_CASCADE, order_by="ApprovalSlot.position"
    )
    action_items: Mapped[list[ActionItem]] = relationship(back_populates="milestone", cascade=_CASCADE)
    # Signatures an imported report recorded (bot.imports): shown, never counted as approvals.
    external_signoffs: Mapped[list[ExternalSignoff]] = relationship(
        cascade=_CASCADE, order_by="ExternalSignoff.position"
    )
    feedback: Mapped[list[FeedbackResponse]] = relationship(cascade=_CASCADE)


class MilestoneEditor(Base):
    __tablename__ = "milestone_editors"
    __table_args__ = (UniqueConstraint("milestone_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32), index=True)
    added_by: Mapped[str] = mapped_column(String(32))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    milestone: Mapped[Milestone] = relationship(back_populates="editors")


class AuditEvent(Base):
    """Who did what, when: every change, request, decision and reminder of consequence."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_milestone_at", "milestone_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"))
    actor_id: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    section: Mapped[str | None] = mapped_column(String(64))
    revision: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any] | None]
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessedSubmission(Base):
    """A key per record-creating submission: a second identical submission finds it and does nothing."""

    __tablename__ = "processed_submissions"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    result: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SeenEvent(Base):
    """Event ids already handled, so Slack's retries (X-Slack-Retry-Num) are ignored."""

    __tablename__ = "seen_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserProfile(Base):
    """A cache of users.info: time zone for "today", name for the report, admin flag for permissions."""

    __tablename__ = "user_profiles"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str | None] = mapped_column(String(32))
    real_name: Mapped[str | None] = mapped_column(String(200))
    tz: Mapped[str | None] = mapped_column(String(64))
    tz_offset: Mapped[int | None] = mapped_column(Integer)
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_bot: Mapped[bool] = mapped_column(default=False)
    deleted: Mapped[bool] = mapped_column(default=False)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
