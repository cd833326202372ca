"""The one modal-submission path: validate → save → answer, so a failure never loses what was typed.

`submit()` runs the save; a bad field answers `response_action: errors` next to that field (the block_id of
an input is the field's name), a refusal or a vanished record answers next to the first input, and a
database failure says what happened while the modal keeps every value. The caller acks on success (plain,
`update` or `clear`). `claim()` makes a double submit (double click, Slack's retry) change data once: the
key is claimed inside the saving transaction, so a failed save releases it with the rollback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from slack_bolt import Ack
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.core.db import first_submission
from bot.core.errors import DomainError, InvalidInput
from bot.slack.replies import first_input, save_failed

log = logging.getLogger(__name__)
T = TypeVar("T")


class AlreadySaved(Exception):
    """This exact submission was saved before: acknowledge it and change nothing."""


def submission_key(view: dict[str, Any]) -> str:
    """Slack gives every open view an id and every render a hash: together they name one submission."""
    return f"{view.get('callback_id', '')}:{view.get('id', '')}:{view.get('hash', '')}"


def claim(session: Session, view: dict[str, Any]) -> None:
    """Inside the saving transaction; raises AlreadySaved for a repeat of a submission already saved."""
    if not first_submission(session, submission_key(view)):
        raise AlreadySaved


def submit(ack: Ack, view: dict[str, Any], save: Callable[[], T], *, field: str | None = None) -> T | None:
    """Run `save`; on any failure answer the modal with errors and return None (the modal stays open).

    `field` is where messages about the whole form go (default: the view's first input)."""
    where = field or first_input(view)
    try:
        return save()
    except AlreadySaved:
        ack()
    except InvalidInput as invalid:
        ack(response_action="errors", errors=invalid.errors)
    except DomainError as error:
        ack(response_action="errors", errors={where: str(error)})
    except SQLAlchemyError as error:
        log.exception("saving %s failed", view.get("callback_id"))
        ack(response_action="errors", errors={where: save_failed(error)})
    return None
