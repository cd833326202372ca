"""Matching the names a file gives (owners, signers, the preparer) to workspace members. Plain Python: the
caller brings the members (users.list, or the bot's cache of users.info) and an e-mail lookup
(users.lookupByEmail), both fetched outside any transaction."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,30})(?:\|[^>]*)?>$")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")


@dataclass(frozen=True)
class Member:
    user_id: str
    real_name: str | None = None
    display_name: str | None = None
    handle: str | None = None  # users.info `name`


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def email_of(text: str) -> str | None:
    match = _EMAIL.search(text)
    return match.group(0) if match else None


def needs_directory(text: str) -> bool:
    """Whether matching this text needs the workspace's member list (a name or handle, not `<@U…>` or an
    e-mail address)."""
    text = text.strip()
    return not _MENTION.match(text) and email_of(text) is None


def match_one(text: str, members: list[Member], by_email: Callable[[str], str | None]) -> str | None:
    """A member's id for `<@U…>`, an e-mail address, `@handle`, or an exact real or display name; None when
    nobody, or more than one person, matches."""
    text = text.strip()
    mention = _MENTION.match(text)
    if mention:
        return mention.group(1)
    email = email_of(text)
    if email:
        return by_email(email)
    if text.startswith("@"):
        want = _norm(text[1:])
        found = {m.user_id for m in members if want in (_norm(m.handle), _norm(m.display_name))}
    else:
        want = _norm(text)
        found = {m.user_id for m in members if want in (_norm(m.real_name), _norm(m.display_name))}
    return found.pop() if len(found) == 1 else None


def match_all(texts: Iterable[str], members: list[Member],
              by_email: Callable[[str], str | None]) -> dict[str, str | None]:
    """Every distinct text → the member it names, or None (kept as text)."""
    return {text: match_one(text, members, by_email) for text in dict.fromkeys(texts)}


def shown_name(text: str) -> str:
    """The name to keep when nobody matched: `Ann Lee <ann@example.com>` → `Ann Lee`; an address alone stays."""
    email = email_of(text)
    if email and text.strip() != email:
        return text.replace(f"<{email}>", "").replace(email, "").strip(" ()<>,") or email
    return text.strip()
