"""Finding milestones and deciding who may change them."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.errors import NotAllowed, NotFound
from models import Milestone, MilestoneEditor

KEY_PATTERN = re.compile(r"^M-[0-9]{1,6}$")  # ASCII digits only: `int()` refuses "²"


def normalize_key(raw: str) -> str:
    """`m-42`, `M-042`, `42` → `M-042` (three digits at least, as the template writes them)."""
    raw = raw.strip().upper()
    digits = raw[2:] if raw.startswith("M-") else raw
    return f"M-{int(digits):03d}" if digits.isascii() and digits.isdigit() and len(digits) <= 6 else raw


def get_by_key(session: Session, team_id: str, key: str) -> Milestone:
    """The milestone with this ID. Only a well-formed ID is echoed back: typed text never reaches a message
    unescaped (and `M-²` is no ID)."""
    normalized = normalize_key(key)
    if not KEY_PATTERN.match(normalized):
        raise NotFound("No milestone has that ID: IDs look like M-042. `/milestone list` shows them.")
    milestone = session.scalar(select(Milestone).where(Milestone.team_id == team_id, Milestone.key == normalized))
    if milestone is None:
        raise NotFound(f"No milestone `{normalized}` in this workspace. `/milestone list` shows them.")
    return milestone


def next_free_key(session: Session, team_id: str) -> str:
    keys = session.scalars(select(Milestone.key).where(Milestone.team_id == team_id)).all()
    numbers = [int(k[2:]) for k in keys if KEY_PATTERN.match(k)]
    return f"M-{(max(numbers) + 1) if numbers else 1:03d}"


def is_editor(session: Session, milestone: Milestone, user_id: str) -> bool:
    if milestone.owner_id == user_id:
        return True
    return (
        session.scalar(
            select(MilestoneEditor.id).where(
                MilestoneEditor.milestone_id == milestone.id, MilestoneEditor.user_id == user_id
            )
        )
        is not None
    )


def ensure_can_edit(
    session: Session, milestone: Milestone, user_id: str, *, is_admin: bool, action: str = "change it"
) -> None:
    """Owners, editors and workspace admins edit; anyone else is refused and nothing changes."""
    if is_admin or is_editor(session, milestone, user_id):
        return
    raise NotAllowed(
        f"Only the owner and editors of {milestone.key} (or a workspace admin) can {action}. "
        f"Ask <@{milestone.owner_id}> to add you as an editor."
    )
