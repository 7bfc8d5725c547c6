"""Signed tokens that let people answer without logging in.

Two kinds, both signed with the installation's secret key:

* **Link tokens** (itsdangerous) ride in one-click answer links. Each binds a wait,
  an optional decision, the person it was sent to, a nonce and its own expiry, so
  a link cannot be edited into another answer, another wait or a longer life.
* **Reply tokens** ride in the local part of a Reply-To address
  (`tarry+w3f2...@example.com`) and in Message-IDs, so a mail reply finds the wait
  or run it answers. They are lower-case hex, because mail systems may change the
  case of an address, and short enough for a 64-character local part.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import secrets
import uuid
from pathlib import Path
from typing import Any, Literal

import itsdangerous

from tarry import errors
from tarry.config import Settings

__all__ = [
    "NO_DECISION",
    "LinkClaim",
    "ReplyTarget",
    "read_link",
    "read_reply_token",
    "reply_token",
    "secret_key",
    "sign_link",
]

_LINK_SALT = "tarry.answer-link"
_REPLY_SALT = b"tarry.reply-address"
_REPLY_SIGNATURE_CHARS = 20
TargetKind = Literal["wait", "run"]
_KIND_OF_TARGET: dict[TargetKind, str] = {"wait": "w", "run": "r"}
_TARGET_OF_KIND: dict[str, TargetKind] = {letter: kind for kind, letter in _KIND_OF_TARGET.items()}

NO_DECISION: Any = object()
"""The `decision` of a link that opens the form instead of answering."""


@dataclasses.dataclass(frozen=True)
class LinkClaim:
    """What a link token says, once its signature is checked."""

    wait_id: str
    """The wait the link answers."""
    expires_at: float
    """Unix time after which the link is refused (410)."""
    decision: Any = NO_DECISION
    """The answer the link gives (for a one-field form: that field's value; else a
    dict of field values to pre-fill), or `NO_DECISION` for a link to the form."""
    responder: str | None = None
    """Whom the link was sent to; recorded as who answered."""
    nonce: str = dataclasses.field(default_factory=lambda: secrets.token_hex(8))
    """Makes every link distinct, even two for the same wait and decision."""

    @property
    def has_decision(self) -> bool:
        """Whether following the link answers (after a confirm) rather than opening a form."""
        return self.decision is not NO_DECISION


def secret_key(settings: Settings) -> bytes:
    """The installation's signing key: `TARRY_SECRET_KEY`, else one kept under `home`.

    The kept key is made once, readable only by its owner, and shared by every
    process that uses the same `home`.
    """
    if settings.secret_key:
        return settings.secret_key.encode()
    return _kept_key(settings.home.resolve() / "secret_key")


@functools.lru_cache(maxsize=8)
def _kept_key(path: Path) -> bytes:
    # Read once per process: every mail and link is signed with it.
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _create_private(path, secrets.token_hex(32))
    return path.read_text().strip().encode()


def _create_private(path: Path, text: str) -> None:
    # Written to a private temporary file and linked into place, so two processes
    # starting together agree on one key and nobody reads a half-written file.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    temporary.touch(mode=0o600)
    temporary.write_text(text)
    try:
        path.hardlink_to(temporary)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def sign_link(key: bytes, claim: LinkClaim) -> str:
    """A URL-safe token carrying `claim`."""
    payload: dict[str, Any] = {"w": claim.wait_id, "e": round(claim.expires_at, 3)}
    payload["n"] = claim.nonce
    if claim.has_decision:
        payload["d"] = claim.decision
    if claim.responder is not None:
        payload["r"] = claim.responder
    return _link_serializer(key).dumps(payload)


def read_link(key: bytes, token: str, now: float) -> LinkClaim:
    """The claim a link token carries.

    Raises:
        errors.LinkInvalid: The token was altered or signed with another key.
        errors.LinkExpired: Its expiry has passed.
    """
    try:
        payload = _link_serializer(key).loads(token)
        claim = _claim_of(payload)
    except (itsdangerous.BadData, KeyError, TypeError, ValueError):
        raise errors.LinkInvalid() from None
    if now > claim.expires_at:
        raise errors.LinkExpired(claim.expires_at)
    return claim


def _claim_of(payload: dict[str, Any]) -> LinkClaim:
    return LinkClaim(
        wait_id=str(payload["w"]),
        expires_at=float(payload["e"]),
        decision=payload.get("d", NO_DECISION),
        responder=payload.get("r"),
        nonce=str(payload["n"]),
    )


def _link_serializer(key: bytes) -> itsdangerous.URLSafeSerializer:
    return itsdangerous.URLSafeSerializer(key, salt=_LINK_SALT)


@dataclasses.dataclass(frozen=True)
class ReplyTarget:
    """Where a mail reply goes: a wait (an answer) or a run (a message)."""

    kind: TargetKind
    id: str


def reply_token(key: bytes, target: ReplyTarget) -> str:
    """A short lower-case token naming `target`, e.g. `w` + 32 hex + 20 hex."""
    body = _KIND_OF_TARGET[target.kind] + uuid.UUID(target.id).hex
    return body + _reply_signature(key, body)


def read_reply_token(key: bytes, token: str) -> ReplyTarget:
    """The wait or run a reply token names.

    Raises:
        errors.LinkInvalid: The token is malformed or its signature is wrong.
    """
    token = token.strip().lower()
    body, signature = token[:33], token[33:]
    kind = _TARGET_OF_KIND.get(body[:1])
    if kind is None or not hmac.compare_digest(signature, _reply_signature(key, body)):
        raise errors.LinkInvalid()
    try:
        return ReplyTarget(kind, str(uuid.UUID(hex=body[1:])))
    except ValueError:
        raise errors.LinkInvalid() from None


def _reply_signature(key: bytes, body: str) -> str:
    digest = hmac.new(key, _REPLY_SALT + body.encode(), hashlib.sha256).hexdigest()
    return digest[:_REPLY_SIGNATURE_CHARS]
