"""The report's state for its summary band: Draft, In review, Changes requested or Accepted.

One small function over the milestone's sign-off data, so that it can later be pointed at the sign-off
lifecycle (bot.signoffs) without touching the report.
"""

from __future__ import annotations

from typing import Literal

from models import Decision, Milestone

ReportState = Literal["Draft", "In review", "Changes requested", "Accepted"]


def report_state(m: Milestone) -> ReportState:
    """Accepted once accepted; Changes requested while a current rejection stands; In review once sign-off
    was asked for (a request or any decision); Draft before that. Needs approval_slots with their signoffs
    and requests loaded."""
    if m.accepted_at is not None:
        return "Accepted"
    current = [s for slot in m.approval_slots for s in slot.signoffs if s.outdated_at is None]
    if any(s.decision == Decision.REJECTED for s in current):
        return "Changes requested"
    if any(slot.requests or slot.signoffs for slot in m.approval_slots):
        return "In review"
    return "Draft"
