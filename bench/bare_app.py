"""The baseline for bench/ack.py: a Bolt app that only acks /milestone, served exactly like ours."""

from __future__ import annotations

import os

from flask import Flask, request
from slack_bolt import Ack, App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient


def create() -> Flask:
    app = App(
        token=os.environ["SLACK_BOT_TOKEN"],
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        client=WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]),
        token_verification_enabled=False,
    )

    @app.command("/milestone")
    def milestone(ack: Ack) -> None:
        ack()

    handler = SlackRequestHandler(app)
    web = Flask("bare")

    @web.post("/slack/events")
    def events():  # type: ignore[no-untyped-def]
        return handler.handle(request)

    @web.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return {"ok": True}

    return web
