"""Stakeholder feedback: answers, the one-per-person hash, requests and the template's computed metrics.

Plain Python (no Slack imports). Metrics are computed from the stored answers, never typed in.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.core import audit
from bot.core.db import insert_ignore
from bot.core.errors import InvalidInput
from bot.core.fields import parse_fields
from models import Milestone
from models.base import field_spec
from models.feedback import FeedbackGroup, FeedbackRequest, FeedbackResponse, FeedbackTheme

SAMPLE_COMMENTS = 3
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ThemeCount(NamedTuple):
    """(theme, count, sample comments): unpacks like a tuple."""

    theme: FeedbackTheme
    answers: int
    comments: list[str]  # up to SAMPLE_COMMENTS representative comments, newest first


@dataclass(frozen=True)
class FeedbackMetrics:
    """The figures the report's Stakeholder Feedback section shows. None means "no responses yet", not 0."""

    count: int
    avg_satisfaction: Decimal | None  # 1–5, two decimals
    nps: int | None  # -100…100: % promoters (9–10) minus % detractors (0–6), rounded
    promoters: int
    passives: int
    detractors: int
    acceptance_rate: Decimal | None  # percentage (0–100, one decimal) of acceptance testers who accept
    acceptance_yes: int
    acceptance_total: int
    by_group: dict[FeedbackGroup, int] = field(default_factory=dict)
    themes: list[ThemeCount] = field(default_factory=list)

    @property
    def has_responses(self) -> bool:
        return self.count > 0


def _half_up(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def compute_metrics(responses: Sequence[FeedbackResponse]) -> FeedbackMetrics:
    """Count, average satisfaction, NPS with its counts, acceptance rate, groups and themes."""
    count = len(responses)
    promoters = sum(1 for r in responses if r.nps >= 9)
    detractors = sum(1 for r in responses if r.nps <= 6)
    passives = count - promoters - detractors
    avg = _half_up(Decimal(sum(r.satisfaction for r in responses)) / count, "0.01") if count else None
    # NPS from exact fractions, rounded once: 100 * (P - D) / N.
    nps = int(_half_up(Decimal(100 * (promoters - detractors)) / count, "1")) if count else None

    testers = [r for r in responses if r.group == FeedbackGroup.ACCEPTANCE_TESTER and r.accepts is not None]
    acceptance_yes = sum(1 for r in testers if r.accepts)
    acceptance_rate = _half_up(Decimal(100 * acceptance_yes) / len(testers), "0.1") if testers else None

    by_group = {g: sum(1 for r in responses if r.group == g) for g in FeedbackGroup}
    newest_first = sorted(responses, key=lambda r: (r.updated_at or _EPOCH, r.id or 0), reverse=True)
    themes: list[ThemeCount] = []
    for theme in FeedbackTheme:
        tagged = [r for r in newest_first if theme.value in (r.themes or [])]
        comments = [r.comment.strip() for r in tagged if r.comment and r.comment.strip()][:SAMPLE_COMMENTS]
        themes.append(ThemeCount(theme=theme, answers=len(tagged), comments=comments))

    return FeedbackMetrics(
        count=count,
        avg_satisfaction=avg,
        nps=nps,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        acceptance_rate=acceptance_rate,
        acceptance_yes=acceptance_yes,
        acceptance_total=len(testers),
        by_group=by_group,
        themes=themes,
    )


# ---- The one-per-person fingerprint -------------------------------------------------------------------


def respondent_hash(signing_key: bytes, team_id: str, milestone_id: int, user_id: str) -> str:
    """HMAC-SHA256 over (team, milestone, user), keyed with SECRET_KEY, which is never in the database.

    A reader of the database alone cannot test "did U123 write this?" (that needs the key), and the value
    differs per milestone, so anonymous answers cannot be linked across milestones either.
    """
    message = f"feedback-respondent:v1:{team_id}:{milestone_id}:{user_id}".encode()
    return hmac.new(signing_key, message, hashlib.sha256).hexdigest()


def find_response(session: Session, signing_key: bytes, milestone: Milestone, user_id: str) -> FeedbackResponse | None:
    digest = respondent_hash(signing_key, milestone.team_id, milestone.id, user_id)
    return session.scalar(
        select(FeedbackResponse).where(
            FeedbackResponse.milestone_id == milestone.id, FeedbackResponse.respondent_hash == digest
        )
    )


def answered_by(session: Session, signing_key: bytes, milestone: Milestone, user_ids: Iterable[str]) -> dict[
    str, bool
]:
    """Which of these people have answered, by their fingerprints: user id → whether the answer is anonymous."""
    by_hash = {respondent_hash(signing_key, milestone.team_id, milestone.id, u): u for u in user_ids}
    if not by_hash:
        return {}
    found = session.execute(
        select(FeedbackResponse.respondent_hash, FeedbackResponse.anonymous).where(
            FeedbackResponse.milestone_id == milestone.id, FeedbackResponse.respondent_hash.in_(list(by_hash))
        )
    ).all()
    return {by_hash[h]: bool(anonymous) for h, anonymous in found}


def answered_set(session: Session, signing_key: bytes, milestone: Milestone, user_ids: Iterable[str]) -> set[str]:
    """Which of these people have answered (anonymously or not)."""
    return set(answered_by(session, signing_key, milestone, user_ids))


# A breakdown (by group, the acceptance testers' rate) of fewer answers than this is not shown: with one or two
# answers in a group, everyone who knows who is in it knows what they answered.
MIN_GROUP_ANSWERS = 3


def shown_count(count: int) -> str:
    """A group's size as a breakdown may show it."""
    return str(count) if count >= MIN_GROUP_ANSWERS else f"fewer than {MIN_GROUP_ANSWERS} answers"


# ---- Answers -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    satisfaction: int
    nps: int
    group: str
    accepts: bool | None
    themes: list[str]
    comment: str | None
    anonymous: bool


ACCEPTS_YES, ACCEPTS_NO = "yes", "no"
ANONYMOUS_OPTION = "anonymous"


def parse_answer(raw: dict[str, Any]) -> Answer:
    """What the modal sent (`read_state` output) → an Answer, or InvalidInput with a message per block."""
    specs = [field_spec(FeedbackResponse, name) for name in ("satisfaction", "nps", "group", "comment")]
    errors: dict[str, str] = {}
    try:
        values = parse_fields(specs, {s.name: raw.get(s.name) for s in specs})
    except InvalidInput as error:
        errors.update(error.errors)
        values = {}
    group = values.get("group")
    accepts_raw = raw.get("accepts")
    accepts: bool | None = None
    if group == FeedbackGroup.ACCEPTANCE_TESTER:
        if accepts_raw not in (ACCEPTS_YES, ACCEPTS_NO):
            errors["accepts"] = "Acceptance testers: say whether you accept this milestone."
        accepts = accepts_raw == ACCEPTS_YES
    # Other groups: the acceptance question is not theirs (the modal says so), so an answer there is ignored.
    known_themes = {t.value for t in FeedbackTheme}
    themes = [t for t in raw.get("themes") or [] if t in known_themes]
    if len(themes) != len(raw.get("themes") or []):
        errors["themes"] = "Pick themes from the list."
    if errors:
        raise InvalidInput(errors)
    comment = values.get("comment")
    return Answer(
        satisfaction=int(values["satisfaction"]),  # type: ignore[arg-type]
        nps=int(values["nps"]),  # type: ignore[arg-type]
        group=str(group),
        accepts=accepts,
        themes=sorted(themes, key=[t.value for t in FeedbackTheme].index),
        comment=str(comment) if comment else None,
        anonymous=ANONYMOUS_OPTION in (raw.get("anonymous") or []),
    )


def _start_of_day(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def save_answer(
    session: Session, signing_key: bytes, milestone: Milestone, user_id: str, answer: Answer, now: datetime
) -> bool:
    """Store the person's one answer for this milestone; True when it replaced an earlier one.

    Anonymous answers keep no user id, and only the date (not the time) they were given, so they cannot be
    matched to someone by timing either. The insert-or-update is one statement pair that two racing
    submissions cannot both "insert".
    """
    digest = respondent_hash(signing_key, milestone.team_id, milestone.id, user_id)
    stamp = _start_of_day(now) if answer.anonymous else now
    values = {
        "user_id": None if answer.anonymous else user_id,
        "anonymous": answer.anonymous,
        "satisfaction": answer.satisfaction,
        "nps": answer.nps,
        "group": answer.group,
        "accepts": answer.accepts,
        "themes": list(answer.themes),
        "comment": answer.comment,
        "updated_at": stamp,
    }
    inserted = insert_ignore(
        session,
        FeedbackResponse.__table__,
        {"milestone_id": milestone.id, "respondent_hash": digest, "submitted_at": stamp, **values},
        conflict=["milestone_id", "respondent_hash"],
    )
    if not inserted:
        # A replaced answer takes the new answer's privacy: going anonymous also coarsens the first date.
        extra = {"submitted_at": stamp} if answer.anonymous else {}
        session.execute(
            update(FeedbackResponse)
            .where(FeedbackResponse.milestone_id == milestone.id, FeedbackResponse.respondent_hash == digest)
            .values(**values, **extra)
            .execution_options(synchronize_session=False)
        )
    # Not audited (an anonymous answer leaves no trace of who gave it), but the report's figures changed.
    audit.report_changed(session, milestone.id, now)
    return not inserted


def responses_for(session: Session, milestone_id: int) -> list[FeedbackResponse]:
    return list(
        session.scalars(
            select(FeedbackResponse)
            .where(FeedbackResponse.milestone_id == milestone_id)
            .order_by(FeedbackResponse.id)
        )
    )


def metrics_for(session: Session, milestone_id: int) -> FeedbackMetrics:
    """The metrics of a milestone's stored answers (what the report and the summary show)."""
    return compute_metrics(responses_for(session, milestone_id))


# ---- Requests and reminders --------------------------------------------------------------------------


class SkipReason(StrEnum):
    ANSWERED = "already answered"
    ASKED = "already asked"
    SELF = "that's you"


@dataclass
class RequestPlan:
    to_ask: list[str] = field(default_factory=list)
    skipped: list[tuple[str, SkipReason]] = field(default_factory=list)
    # People skipped because they answered anonymously: counted, never named (naming them would tie them
    # to "an anonymous answer" for whoever reads the list).
    skipped_unnamed: int = 0


def claim_requests(
    session: Session, signing_key: bytes, milestone: Milestone, requester_id: str, user_ids: Sequence[str],
    now: datetime,
) -> RequestPlan:
    """Claim a request row for each person who has neither answered nor been asked; the rest are skipped.

    The row is claimed (and committed by the caller) before the DM is sent, so a double-run command or two
    owners asking at once DM each person once.
    """
    plan = RequestPlan()
    answered = answered_by(session, signing_key, milestone, user_ids)
    for user_id in dict.fromkeys(user_ids):
        if user_id == requester_id:
            plan.skipped.append((user_id, SkipReason.SELF))
        elif answered.get(user_id):
            plan.skipped_unnamed += 1
        elif user_id in answered:
            plan.skipped.append((user_id, SkipReason.ANSWERED))
        elif insert_ignore(
            session,
            FeedbackRequest.__table__,
            {"milestone_id": milestone.id, "user_id": user_id, "requested_by": requester_id, "requested_at": now},
            conflict=["milestone_id", "user_id"],
        ):
            plan.to_ask.append(user_id)
        else:
            plan.skipped.append((user_id, SkipReason.ASKED))
    return plan


@dataclass(frozen=True)
class RequestCounts:
    asked: int
    answered: int  # of those asked


def request_counts(session: Session, signing_key: bytes, milestone: Milestone) -> RequestCounts:
    asked = session.scalars(select(FeedbackRequest.user_id).where(FeedbackRequest.milestone_id == milestone.id)).all()
    return RequestCounts(asked=len(asked), answered=len(answered_set(session, signing_key, milestone, asked)))


def due_reminders(session: Session, now: datetime, after: timedelta) -> list[tuple[FeedbackRequest, Milestone]]:
    """Requests older than `after` that were never reminded (the caller still checks who has answered)."""
    rows = session.execute(
        select(FeedbackRequest, Milestone)
        .join(Milestone, Milestone.id == FeedbackRequest.milestone_id)
        .where(FeedbackRequest.reminded_at.is_(None), FeedbackRequest.requested_at <= now - after)
        .order_by(FeedbackRequest.id)
    ).all()
    return [(request, milestone) for request, milestone in rows]


def mark_reminded(session: Session, request_id: int, now: datetime) -> None:
    session.execute(update(FeedbackRequest).where(FeedbackRequest.id == request_id).values(reminded_at=now))


def pending_for(session: Session, signing_key: bytes, user_id: str, team_id: str, limit: int = 20) -> list[
    tuple[Milestone, str]
]:
    """Feedback asked of this person and not given yet, newest request first: (milestone, who asked)."""
    rows = session.execute(
        select(Milestone, FeedbackRequest.requested_by)
        .join(FeedbackRequest, FeedbackRequest.milestone_id == Milestone.id)
        .where(FeedbackRequest.user_id == user_id, Milestone.team_id == team_id)
        .order_by(FeedbackRequest.requested_at.desc())
        .limit(limit)
    ).all()
    return [(m, by) for m, by in rows if find_response(session, signing_key, m, user_id) is None]


def request_ids(session: Session, milestone_id: int, user_ids: Sequence[str]) -> dict[str, int]:
    """The request rows of these people for this milestone: user id → request id."""
    if not user_ids:
        return {}
    rows = session.execute(select(FeedbackRequest.user_id, FeedbackRequest.id).where(
        FeedbackRequest.milestone_id == milestone_id, FeedbackRequest.user_id.in_(list(user_ids)))).all()
    return {user_id: request_id for user_id, request_id in rows}


def request_dm(session: Session, milestone_id: int, user_id: str) -> tuple[str, str] | None:
    """Where the request DM to this person landed, if it was sent."""
    row = session.execute(select(FeedbackRequest.dm_channel, FeedbackRequest.dm_ts).where(
        FeedbackRequest.milestone_id == milestone_id, FeedbackRequest.user_id == user_id)).one_or_none()
    return (row[0], row[1]) if row is not None and row[0] and row[1] else None


def record_dm(session: Session, request_id: int, channel: str, ts: str) -> None:
    session.execute(update(FeedbackRequest).where(FeedbackRequest.id == request_id)
                    .values(dm_channel=channel, dm_ts=ts))


def forget_request(session: Session, request_id: int) -> None:
    """The DM could not be sent: drop the claim so the person can be asked again later."""
    session.execute(delete(FeedbackRequest).where(FeedbackRequest.id == request_id))
