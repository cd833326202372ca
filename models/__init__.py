"""SQLAlchemy 2 models of the milestone report. Importing this package registers every table."""

from models.actions import ActionItem, ActionStatus, Delivery, DeliveryItem, DeliveryStatus, Horizon
from models.assignments import Assignment, AssignmentState  # noqa: F401
from models.base import Base, Choice, FieldSpec, UTCDateTime, field, field_spec, form_fields, utcnow
from models.canvas import MilestoneCanvas  # noqa: F401
from models.feedback import FeedbackGroup, FeedbackRequest, FeedbackResponse, FeedbackTheme
from models.imports import NAME_KEPT_AS_TEXT, ExternalSignoff
from models.milestone import (
    AuditEvent,
    Milestone,
    MilestoneEditor,
    ProcessedSubmission,
    SeenEvent,
    Status,
    UserProfile,
    Version,
)
from models.reports import ReportPost
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
from models.signoffs import STANDARD_ROLES, ApprovalSlot, Decision, SignOff, SignOffRequest

__all__ = [
    "NAME_KEPT_AS_TEXT",
    "STANDARD_ROLES", "ActionItem", "ActionStatus", "Appendix", "ApprovalSlot", "ArchitectureChange",
    "AuditEvent", "Base", "Benchmark", "BudgetLine", "Choice", "Decision", "DefectCount", "Deliverable",
    "Delivery", "DeliveryItem", "DeliveryStatus", "EffortLine", "ExternalSignoff", "FeedbackGroup", "FeedbackRequest",
    "FeedbackResponse", "FeedbackTheme", "FieldSpec", "HandoverItem", "Horizon", "KnowledgeTransfer",
    "Lesson", "Milestone", "MilestoneEditor", "NextMilestone", "Objective", "Phase", "PreparatoryTask",
    "ProcessedSubmission", "QualityMetrics", "ReportPost", "Risk", "SeenEvent", "SignOff", "SignOffRequest",
    "StakeholderValidation", "Status", "SuccessCriterion", "TechnicalDocs", "UTCDateTime", "UserProfile",
    "Version", "field", "field_spec", "form_fields", "utcnow",
]
