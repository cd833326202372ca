"""The Bolt app, built by one factory for every process (HTTP, Socket Mode, tests)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError

from bot.core.errors import DomainError
from bot.deps import Deps, make_deps
from bot.features import register_listeners
from bot.settings import Settings
from bot.slack.client import make_web_client
from bot.slack.replies import tell
from models import SeenEvent

log = logging.getLogger(__name__)


def create_app(settings: Settings, deps: Deps | None = None) -> tuple[App, Deps]:
    settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    deps = deps or make_deps(settings)
    app = App(
        # The token comes with the client (bolt warns "`token` will be unused" when given both).
        signing_secret=settings.slack_signing_secret,
        client=make_web_client(settings),
        # auth.test runs on the first request instead of at boot, so a start never needs Slack to be up.
        token_verification_enabled=False,
        name="milestone-bot",
    )
    app.middleware(_ignore_seen_events(deps))
    app.error(_handle_error)
    register_listeners(app, deps)
    return app, deps


def _ignore_seen_events(deps: Deps) -> Callable[..., Any]:
    """Slack retries an event it thinks we missed (X-Slack-Retry-Num); handle each event_id once."""

    def middleware(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            try:
                with deps.session() as session:
                    session.add(SeenEvent(event_id=event_id))
            except IntegrityError:
                log.info("ignoring event %s: already handled", event_id)
                return BoltResponse(status=200, body="")
        return next()

    return middleware


def _handle_error(error: Exception, body: dict[str, Any], client: WebClient, logger: logging.Logger) -> None:
    """The global error handler: domain errors become a message only the actor sees, from any surface
    (bot.slack.replies.tell); the rest are logged. Only verified requests get this far (bot.slack.verify)."""
    if isinstance(error, DomainError):
        message = f":warning: {error}"
    else:
        logger.exception("unhandled error", exc_info=error)
        message = ":x: Something went wrong on our side and nothing was changed. Please try again."
    if body.get("type") == "view_submission":
        return  # a modal's answer is its ack; Slack already shows that the submission failed
    tell(client, body, message)
