"""One protocol for the context Slack hands back to us: `private_metadata` and button values.

Each kind of context is a frozen dataclass with readable field names. `pack()` turns it into a signed,
versioned token (itsdangerous, keyed with SECRET_KEY); `unpack()` checks the signature, the version, the
kind and every field's type, so a client that edits a modal's metadata or a button's value is refused with
a clear message instead of being trusted. Nothing in a payload is a URL or a permission: ids are pointers,
checked again against the database and against who is acting.
"""

from __future__ import annotations

import hmac
import types
import typing
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Literal, Self, get_args, get_origin, get_type_hints

from itsdangerous import BadSignature, Serializer, Signer, URLSafeSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.signer import HMACAlgorithm

from bot.core.errors import DomainError

VERSION = 1
PRIVATE_METADATA_LIMIT = 3000
BUTTON_VALUE_LIMIT = 2000
_SALT = "milestone-bot.payload"
_serializer: URLSafeSerializer | None = None


class ForgedPayload(DomainError):
    """The context did not come from us unchanged (or is from an older version of the bot)."""

    def __init__(self) -> None:
        super().__init__("That form or button is out of date or was changed. Open it again from the latest message.")


class _OneShotHMAC(HMACAlgorithm):
    """itsdangerous's HMAC-SHA1, through OpenSSL's one-shot `hmac.digest` (the same bytes, a third the time)."""

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return hmac.digest(key, value, "sha1")


class _Serializer(URLSafeSerializer):
    """itsdangerous's URL-safe serializer with the cost taken out of signing many small tokens (a digest
    signs six per item): one signer per salt instead of one per token, and no zlib attempt for JSON under
    COMPRESS_FROM bytes (it never comes out shorter). Tokens are the same format; `loads` is unchanged."""

    COMPRESS_FROM = 100

    def __init__(self, secret_key: str, salt: str) -> None:
        super().__init__(secret_key, salt=salt, signer_kwargs={"algorithm": _OneShotHMAC()})
        self._signers: dict[str | bytes | None, Signer] = {}

    def make_signer(self, salt: str | bytes | None = None) -> Signer:
        signer = self._signers.get(salt)
        if signer is None:
            signer = self._signers[salt] = super().make_signer(salt)
        return signer

    def dump_payload(self, obj: Any) -> bytes:
        data = Serializer.dump_payload(self, obj)
        return base64_encode(data) if len(data) < self.COMPRESS_FROM else super().dump_payload(obj)


def configure(secret_key: str) -> None:
    """Set the signing key once per process (bot.deps.make_deps does it)."""
    global _serializer
    _serializer = _Serializer(secret_key, salt=_SALT)


def _signer() -> URLSafeSerializer:
    if _serializer is None:
        raise RuntimeError("bot.slack.payloads.configure() was not called")
    return _serializer


def _matches(value: Any, hint: Any) -> bool:
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in get_args(hint))
    if origin is Literal:
        return value in get_args(hint)
    if hint is type(None):
        return value is None
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint in (str, bool):
        return isinstance(value, hint)
    raise TypeError(f"payload fields are int, str, bool, Literal or optional: {hint!r}")




@dataclass(frozen=True)
class Payload:
    """Base of every payload kind; subclasses set KIND and declare their fields."""

    KIND: ClassVar[str] = ""

    def pack(self, *, limit: int = BUTTON_VALUE_LIMIT) -> str:
        token = _signer().dumps({"v": VERSION, "k": self.KIND, **asdict(self)})
        if len(token) > limit:
            raise ValueError(f"{self.KIND} payload is {len(token)} characters, over Slack's {limit}")
        return str(token)

    @classmethod
    def unpack(cls, token: object) -> Self:
        """The payload, or ForgedPayload for anything we did not sign as this kind with these field types."""
        if not isinstance(token, str) or not token:
            raise ForgedPayload()
        try:
            data = _signer().loads(token)
        except BadSignature:
            raise ForgedPayload() from None
        if not isinstance(data, dict) or data.get("v") != VERSION or data.get("k") != cls.KIND:
            raise ForgedPayload()
        hints = get_type_hints(cls)
        values = {}
        for spec in fields(cls):
            if spec.name not in data or not _matches(data[spec.name], hints[spec.name]):
                raise ForgedPayload()
            values[spec.name] = data[spec.name]
        return cls(**values)
