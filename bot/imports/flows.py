"""Importing a report, end to end: fetch the file (Slack: files.info, then the private download with the bot
token, 1 MB at most), parse it, match its people (bot.imports.flows_people: users.list and users.lookupByEmail,
once per import, outside any transaction), then create everything in one transaction. The command line and
the modal both come here.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.core.access import next_free_key
from bot.core.errors import DomainError, InvalidInput
from bot.deps import Deps
from bot.imports.flows_people import Directory
from bot.imports.parsed import Parsed
from bot.imports.parser import parse_file
from bot.imports.service import ImportResult, import_report
from bot.imports.text import MAX_BYTES, Problem, ReportFormatError
from bot.imports.views import result_modal
from bot.slack.replies import save_failed, team_of, tell
from bot.slack.submissions import AlreadySaved, claim
from models import Milestone, UserProfile

log = logging.getLogger(__name__)


class FetchFailed(DomainError):
    pass


# ---- the file from Slack --------------------------------------------------------------------------------


def fetch_slack_file(client: WebClient, file_id: str) -> tuple[str, bytes]:
    """(name, bytes) of a file shared with the bot: files.info, then its private URL with the bot token.
    Refused before downloading when Slack says it is over 1 MB, and cut off at 1 MB + 1 byte otherwise."""
    try:
        info = client.files_info(file=file_id)["file"]
    except SlackApiError as error:
        raise FetchFailed(f"I couldn't read that file (Slack said `{error.response.get('error')}`).") from None
    name = str(info.get("name") or "report.md")
    if int(info.get("size") or 0) > MAX_BYTES:
        raise ReportFormatError([Problem(0, f"{name} is {int(info['size']):,} bytes; the limit is 1 MB")])
    url = info.get("url_private_download") or info.get("url_private")
    if not url:
        raise FetchFailed("Slack gave no download link for that file.")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {client.token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            data = response.read(MAX_BYTES + 1)
            kind = response.headers.get("Content-Type", "")
    except (urllib.error.URLError, TimeoutError) as error:
        raise FetchFailed(f"I couldn't download that file ({error}).") from None
    if "text/html" in kind and b"<html" in data[:2000].lower():
        raise FetchFailed("Slack answered with a sign-in page instead of the file (is the token's files:read "
                          "scope granted?).")
    return name, data


# ---- the import -----------------------------------------------------------------------------------------


@dataclass
class Outcome:
    result: ImportResult
    dry_run: bool


def run_import(sessions: sessionmaker[Session], data: bytes, *, team_id: str, owner_id: str | None,
               key: str | None, client: WebClient | None, dry_run: bool = False,
               now: datetime | None = None, claim: Callable[[Session], None] | None = None,
               currency: str = "USD") -> Outcome:
    """Parse, match people (Slack calls before the transaction), create in one transaction (rolled back on
    any problem, and always for a dry run). `currency`: the CURRENCY setting, for a file naming none."""
    now = now or datetime.now(UTC)
    parsed = parse_file(data)
    directory = Directory(client, sessions, team_id)
    people = directory.match(p.text for p in parsed.people())
    owner = owner_id or _preparer(parsed, people)
    if not owner:
        raise DomainError("Who owns the imported milestone? Give --owner U… (the file's preparer is not a "
                          "member I could match).")
    with sessions() as session:
        transaction = session.begin()
        try:
            if claim is not None:
                claim(session)  # a double submit imports once
            result = import_report(session, parsed, team_id=team_id, owner_id=owner, key=key, people=people,
                                   now=now, currency=currency)
            directory.remember(session, people.values())  # their names show in the report at once
        except Exception:
            transaction.rollback()
            raise
        if dry_run:
            transaction.rollback()
        else:
            transaction.commit()
    return Outcome(result, dry_run)


def _preparer(parsed: Parsed, people: dict[str, str | None]) -> str | None:
    person = parsed.fields.get("metadata", {}).get("prepared_by")
    return people.get(person.text) if person is not None else None


def describe(outcome: Outcome) -> list[str]:
    """What was (or would be) created, then the warnings and the names nobody matched: for people."""
    r = outcome.result
    verb = "Would create" if outcome.dry_run else "Created"
    lines = [f"{verb} {r.summary()}.",
             f"State: Draft. {r.open_actions} open action item(s) will be reminded from the next sweep; "
             f"{r.signed_outside} sign-off(s) kept as given outside Slack (they do not count as approvals)."]
    if r.unmatched:
        lines.append("Not matched to anyone in this workspace (kept as text): " + ", ".join(r.unmatched) + ".")
    lines += [f"Warning: {note}" for note in r.notes]
    return lines


def team_of_database(sessions: sessionmaker[Session]) -> str | None:
    """The one workspace in the database, if there is exactly one (the command line's default)."""
    with sessions() as session:
        teams = set(session.scalars(select(Milestone.team_id).distinct()).all())
        teams |= {t for t in session.scalars(select(UserProfile.team_id).distinct()).all() if t}
    return teams.pop() if len(teams) == 1 else None



# ---- the modal ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportRequest:
    file_id: str
    key: str | None
    dry_run: bool


def ensure_key_free(deps: Deps, team_id: str, key: str) -> None:
    with deps.read() as session:
        taken = session.scalar(select(Milestone.id).where(Milestone.team_id == team_id, Milestone.key == key))
        free = next_free_key(session, team_id) if taken is not None else ""
    if taken is not None:
        raise InvalidInput({"key": f"{key} is already taken in this workspace; {free} is free."})


def import_from_modal(deps: Deps, client: WebClient, body: dict[str, Any], request: ImportRequest) -> None:
    """After the ack: fetch, import, and show the outcome in the modal (or tell the person, if it closed)."""
    user_id, team_id, view = body["user"]["id"], team_of(body), body["view"]
    name = "the file"
    try:
        name, data = fetch_slack_file(client, request.file_id)
        outcome = run_import(deps.sessions, data, team_id=team_id, owner_id=user_id, key=request.key,
                             client=client, dry_run=request.dry_run, claim=lambda s: claim(s, view),
                             currency=deps.settings.currency)
    except AlreadySaved:
        return  # the same submission again (a retry): the first one answers
    except ReportFormatError as error:
        _show(client, body, "Nothing was imported", [f"{name}: {len(error.problems)} problem(s)",
                                                     *(str(p) for p in error.problems)])
        return
    except DomainError as error:
        _show(client, body, "Nothing was imported", [str(error)])
        return
    except SQLAlchemyError as error:
        log.exception("importing %s failed", name)
        _show(client, body, "Nothing was imported", [save_failed(error, kept="Try again in a moment")])
        return
    r = outcome.result
    title = f"{r.key} checked: nothing was created" if outcome.dry_run else f"Imported as {r.key}"
    _show(client, body, title, describe(outcome))
    log.info("%s imported %s as %s (dry run: %s)", user_id, name, r.key, outcome.dry_run)


def _show(client: WebClient, body: dict[str, Any], title: str, lines: list[str]) -> None:
    try:
        client.views_update(view_id=body["view"]["id"], view=result_modal(title, lines))
    except (SlackApiError, KeyError):
        tell(client, body, "\n".join([title, *lines])[:3000])
