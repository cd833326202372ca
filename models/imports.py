"""Sign-offs given outside Slack, as an imported report recorded them (bot.imports).

They are history, shown in the report as "signed outside Slack": they never count as approvals, never move
the milestone's sign-off state, and nobody can act on them in Slack.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow

# A person field and the column that keeps, as text, the name an imported report gave when it matched no
# member. The name goes when someone picks a member for the field (bot.sections / bot.actions services).
NAME_KEPT_AS_TEXT: dict[str, str] = {
    "prepared_by": "prepared_by_name",  # Milestone
    "signoff_by": "signoff_name",  # Deliverable
    "owner_id": "owner_name",  # ActionItem
}


class ExternalSignoff(Base):
    __tablename__ = "external_signoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    role: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))  # as the file wrote it
    user_id: Mapped[str | None] = mapped_column(String(32))  # the member it matched, if any
    decision: Mapped[str] = mapped_column(String(32))  # models.Decision value
    signed_on: Mapped[date | None]
    note: Mapped[str | None] = mapped_column(Text)  # the condition or comment the file gave with it
    imported_by: Mapped[str] = mapped_column(String(32))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
