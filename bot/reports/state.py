"""The report's state for its summary band and banner, read from the sign-off lifecycle.

The lifecycle is decided in one place, bot.signoffs.service.signoff_progress; this only names its states
the way the report prints them.
"""

from __future__ import annotations

from typing import Literal

from bot.signoffs.service import signoff_progress
from models import Milestone

ReportState = Literal["Draft", "In review", "Reopened", "Changes requested", "Accepted"]


def report_state(m: Milestone) -> ReportState:
    """Needs the milestone's approval slots (with sign-offs and requests) and action items loaded."""
    progress = signoff_progress(m)
    if progress.state == "accepted":
        return "Accepted"
    if progress.state == "changes_requested":
        return "Changes requested"
    if progress.state == "in_review":
        return "Reopened" if progress.reopened else "In review"
    return "Draft"
