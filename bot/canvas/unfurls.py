"""Pasted report links unfurl (`link_shared` → `chat.unfurl`) into a small card: name, report state, sign-off
progress, open and overdue actions, and "View report". Only links the bot signed are unfurled: a forged or
altered token is left alone, as is a link to another workspace's milestone. A link made for an older revision
says so; an expired one says how to get a fresh one and shows nothing of the report."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot.canvas import service, views
from bot.core.errors import NotFound
from bot.deps import Deps
from bot.reports.service import LinkExpired, LinkInvalid, load_report, verify_link
from models import Milestone, MilestoneCanvas, utcnow

log = logging.getLogger(__name__)
MAX_LINKS = 5  # Slack sends a handful per message; each costs one report load


def token_of(url: str, base: str) -> str | None:
    """The token of `<PUBLIC_BASE_URL>/reports/<token>`, or None for any other address."""
    prefix = base.rstrip("/") + "/reports/"
    if not url.startswith(prefix):
        return None
    token = url[len(prefix):].split("?", 1)[0].split("#", 1)[0].rstrip("/")
    return token if token and "/" not in token else None


def card_for(deps: Deps, team_id: str, url: str) -> dict[str, Any] | None:
    """The unfurl of one URL, or None when it is not ours to unfurl."""
    token = token_of(url, deps.settings.public_base_url)
    if token is None:
        return None
    now = utcnow()
    try:
        target = verify_link(deps.settings.signing_key, token, now=now)
    except LinkInvalid:
        log.info("link_shared: not unfurling a report link we did not sign")
        return None
    except LinkExpired as expired:
        with deps.read() as session:
            milestone = session.get(Milestone, expired.milestone_id)
            if milestone is None or milestone.team_id != team_id:
                return None
            return views.expired_card(milestone.key)
    with deps.read() as session:
        milestone = session.get(Milestone, target.milestone_id)
        if milestone is None or milestone.team_id != team_id:
            return None
        try:
            report = load_report(session, target.milestone_id, now=now)
        except NotFound:
            return None
        canvas_id = session.scalar(select(MilestoneCanvas.canvas_id)
                                   .where(MilestoneCanvas.milestone_id == target.milestone_id))
    canvas_url = service.canvas_link(team_id, canvas_id) if canvas_id else None
    return views.unfurl_card(report, url, link_revision=target.revision, canvas_url=canvas_url)


def unfurl_links(deps: Deps, client: WebClient, team_id: str, event: dict[str, Any]) -> None:
    unfurls: dict[str, Any] = {}
    for link in (event.get("links") or [])[:MAX_LINKS]:
        url = str((link or {}).get("url") or "")
        card = card_for(deps, team_id, url) if url else None
        if card is not None:
            unfurls[url] = card
    if not unfurls:
        return
    # A link still in the composer has no message yet: it is named by unfurl_id; a posted one by its message.
    composer = event.get("source") == "composer" or not event.get("message_ts")
    where: dict[str, Any] = (
        {"unfurl_id": event.get("unfurl_id"), "source": event.get("source") or "composer"} if composer
        else {"channel": event.get("channel"), "ts": event.get("message_ts")})
    try:
        client.api_call("chat.unfurl", json={**where, "unfurls": unfurls})
    except SlackApiError as error:  # nothing to retry for: the link simply shows without a card
        log.warning("chat.unfurl refused: %s", error.response.get("error"))
