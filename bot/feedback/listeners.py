"""Stakeholder feedback in Slack: `/milestone feedback …`, the "Give feedback" button (DM, channel post,
App Home) and the answer modal. Each handler parses its payload, acks and calls bot.feedback.flows."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.core.errors import DomainError
from bot.deps import Deps
from bot.feedback import flows, views
from bot.slack.replies import tell


def give_clicked(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    try:
        target = views.GiveFeedback.unpack((body.get("actions") or [{}])[0].get("value"))
        flows.open_from_button(deps, client, body, target.milestone)
    except DomainError as error:
        tell(client, body, f":warning: {error}")


def submitted(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
    flows.save_answer(deps, ack, body, client, view)


def register(app: App, deps: Deps) -> None:
    deps.router.add(
        "feedback", partial(flows.command, deps),
        summary="Give feedback on a milestone; owners ask people for it and see the computed figures",
        usages=[
            ("feedback <ID>", "feedback M-042"),
            ("feedback request <ID> @people #channel", "feedback request M-042 @ann #beta-testers"),
            ("feedback post <ID> [#channel]", "feedback post M-042 #beta-testers"),
            ("feedback summary <ID>", "feedback summary M-042"),
        ],
        order=60,
    )
    app.action(views.GIVE_ACTION)(partial(give_clicked, deps))
    app.view(views.SUBMIT_CALLBACK)(partial(submitted, deps))
