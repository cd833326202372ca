"""The web process: Slack's events URL, a health check, and the report pages, as one WSGI app."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, jsonify, request
from slack_bolt.adapter.flask import SlackRequestHandler
from sqlalchemy import text

from bot.app import create_app
from bot.deps import Deps
from bot.settings import Settings
from bot.slack.verify import is_signed_by_slack, parse_body, shape_problem

log = logging.getLogger(__name__)

# Features that serve pages add a function here: (flask_app, deps) -> None. Each such feature module adds
# itself when imported, and is imported below, after the list exists (they import it from this module).
WEB_ROUTES: list[Callable[[Flask, Deps], None]] = []

import bot.reports.pages  # noqa: E402, F401  (adds /reports/<token>)


def create_web_app(settings: Settings) -> Flask:
    bolt_app, deps = create_app(settings)
    handler = SlackRequestHandler(bolt_app)
    web = Flask("milestone-bot")

    @web.post("/slack/events")
    def slack_events():  # type: ignore[no-untyped-def]
        body = request.get_data(cache=True)
        if not is_signed_by_slack(
            settings.slack_signing_secret or "", body,
            request.headers.get("X-Slack-Request-Timestamp"), request.headers.get("X-Slack-Signature"),
        ):
            return Response("invalid request", status=401, mimetype="text/plain")
        parsed = parse_body(body, request.content_type or "")
        problem = "unparsable body" if parsed is None else shape_problem(parsed)
        if problem:
            log.warning("refused a signed but malformed request: %s", problem)
            return Response("malformed request", status=400, mimetype="text/plain")
        return handler.handle(request)

    @web.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        try:
            with deps.read() as session:
                session.execute(text("SELECT 1"))
        except Exception as error:  # any database failure means "not healthy", with the reason
            log.warning("health check failed: %s", error)
            return jsonify(ok=False, database="unreachable"), 503
        return jsonify(ok=True, database="ok")

    for add_routes in WEB_ROUTES:
        add_routes(web, deps)
    return web
