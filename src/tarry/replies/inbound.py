"""Mail replies: find what they answer, read the new text, deliver it.

Every mail tarry sends carries a signed reply token twice: in its Reply-To
(`tarry+<token>@example.com`) and in its Message-ID (`<<token>.<random>@...>`),
so a reply names its wait or run by the address it goes to, and by the
In-Reply-To / References headers when a mail system rewrote the address.

`deliver` is what the SMTP endpoint and the IMAP poller call for each mail:

* a reply to a **wait** is read as an answer (`parse_answer`) and submitted through
  `service.submit_input`, so it is validated like a form; the first answer wins;
* a reply to a **run** becomes a message (`service.send_message`) keyed by the
  reply's Message-ID, so the same mail delivered twice is one message;
* a sender who is not among the mail's recipients is refused, and whoever sent a
  refused answer gets a mail that says why.
"""

from __future__ import annotations

import dataclasses
import email
import email.message
import email.policy
import email.utils
import enum
import hashlib
import html.parser
import json
import logging
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, cast

from tarry import errors, host, service
from tarry.forms import fields as forms
from tarry.outbound import outbox, smtp, tokens

__all__ = [
    "Delivery",
    "Outcome",
    "address_token",
    "deliver",
    "find_target",
    "html_to_text",
    "parse_answer",
    "parse_message",
    "reply_text",
    "sender_address",
    "strip_quotes",
]

_log = logging.getLogger(__name__)

_ADDRESS_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To")
_ID_HEADERS = ("In-Reply-To", "References")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_TRUTH = {
    "yes": True,
    "true": True,
    "approve": True,
    "approved": True,
    "ok": True,
    "no": False,
    "false": False,
    "reject": False,
    "rejected": False,
}
"""Words that answer a yes/no question, by their lower-case spelling."""


# --- what a reply answers -----------------------------------------------------------


def find_target(
    message: email.message.EmailMessage, key: bytes, *, recipients: Iterable[str] = ()
) -> tokens.ReplyTarget | None:
    """The wait or run a reply answers, from the first valid reply token it carries.

    Tokens are looked for in `recipients` (the SMTP envelope), then the local part
    (`name+token`) of the To, Cc, Delivered-To and X-Original-To addresses, then
    the In-Reply-To and References message ids (`<token.random@host>`). Tokens
    that are malformed or signed with another key are skipped.

    Args:
        message: The reply.
        key: The installation's secret key (`tokens.secret_key`).
        recipients: Envelope recipients, when the mail came over SMTP.

    Returns:
        The target, or `None` when the mail carries no valid token.
    """
    for token in _candidate_tokens(message, recipients):
        try:
            return tokens.read_reply_token(key, token)
        except errors.LinkInvalid:
            continue
    return None


def address_token(address: str) -> str | None:
    """The `+token` part of an address's local part (`tarry+abc@x` -> `abc`), if any."""
    local = address.strip().strip("<>").rpartition("@")[0]
    _, plus, token = local.rpartition("+")
    return token if plus and token else None


def _candidate_tokens(
    message: email.message.EmailMessage, recipients: Iterable[str]
) -> Iterator[str]:
    addresses = [*recipients, *_header_addresses(message, _ADDRESS_HEADERS)]
    for address in addresses:
        token = address_token(address)
        if token is not None:
            yield token
    for message_id in _referenced_ids(message):
        # The token is the Message-ID's local part up to its first dot.
        yield message_id.partition("@")[0].partition(".")[0]


def _header_addresses(message: email.message.EmailMessage, names: Sequence[str]) -> list[str]:
    values = [str(value) for name in names for value in message.get_all(name) or ()]
    return [address for _, address in email.utils.getaddresses(values) if address]


def _referenced_ids(message: email.message.EmailMessage) -> list[str]:
    ids = _MESSAGE_ID.findall(str(message.get("In-Reply-To") or ""))
    # References lists the thread oldest first: the mail replied to is the last one.
    ids += reversed(_MESSAGE_ID.findall(str(message.get("References") or "")))
    return ids


def sender_address(message: email.message.EmailMessage) -> str:
    """The address in the From header (`""` when there is none)."""
    addresses = _header_addresses(message, ("From",))
    return addresses[0] if addresses else ""


# --- the new text of a reply --------------------------------------------------------

_ATTRIBUTION = re.compile(
    r"^\s*(?:On|Am|Le|El|Il|Op)\s.*\d.*\b(?:wrote|schrieb|a écrit|escribió|ha scritto|schreef)"
    r"\b[^:]*:\s*$",
    re.IGNORECASE,
)
"""`On <date>, <someone> wrote:` (and its German, French, Spanish, Italian, Dutch
forms); a date has digits, which keeps ordinary sentences from matching."""
_ORIGINAL_MESSAGE = re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.IGNORECASE)
_HEADER_BLOCK_START = re.compile(r"^\s*\**From:\**\s", re.IGNORECASE)
_HEADER_BLOCK_NEXT = re.compile(r"^\s*\**(?:Sent|Date|To|Subject):\**\s", re.IGNORECASE)
_SEPARATOR = re.compile(r"^\s*_{8,}\s*$")
_MOBILE_FOOTER = re.compile(
    r"^\s*(?:Sent from my \w+|Get Outlook for (?:iOS|Android)|Sent from Mail for Windows)",
    re.IGNORECASE,
)
_SIGNATURE_LINES = ("-- ", "--")
"""The signature delimiter is `-- `; some clients trim its space, so `--` counts too."""


def reply_text(message: email.message.EmailMessage) -> str:
    """The new text of a reply, without quoted text and signature.

    The text/plain part is used when there is one, else the HTML part converted to
    text. Removed: lines starting with `>`, an `On <date>, <someone> wrote:` line
    (also wrapped over two lines) and all after it, Outlook's
    `-----Original Message-----` or `From: ... Sent: ...` block and all after it,
    Gmail's quote block, a signature after a `-- ` line, and a trailing "Sent from
    my iPhone" line.

    Args:
        message: The reply.

    Returns:
        The text, stripped of surrounding blank space (may be empty).
    """
    part = message.get_body(preferencelist=("plain", "html"))
    if not isinstance(part, email.message.EmailMessage):
        return ""
    text = _part_text(part)
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    elif str(part.get_param("format", "")).lower() == "flowed":
        text = _unflow(text, str(part.get_param("delsp", "")).lower() == "yes")
    return strip_quotes(text)


def _part_text(part: email.message.EmailMessage) -> str:
    try:
        return str(part.get_content())
    except (LookupError, UnicodeError):
        # An unknown or wrong charset: read what can be read rather than nothing.
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def strip_quotes(text: str) -> str:
    """Plain reply text without quoted lines, quoted mails below it and signature."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = [line.rstrip() for line in lines[: _end_of_reply(lines)] if not line.startswith(">")]
    while kept and (not kept[-1].strip() or _SEPARATOR.match(kept[-1])):
        kept.pop()
    if kept and _MOBILE_FOOTER.match(kept[-1]):
        kept.pop()
    return "\n".join(kept).strip()


def _end_of_reply(lines: list[str]) -> int:
    """The index of the first line that starts the quoted mail or the signature."""
    for index, line in enumerate(lines):
        following = lines[index + 1 : index + 5]
        if (
            line in _SIGNATURE_LINES
            or _ORIGINAL_MESSAGE.match(line)
            or _ATTRIBUTION.match(line)
            or _wrapped_attribution(line, following)
            or _header_block(line, following)
        ):
            return index
    return len(lines)


def _wrapped_attribution(line: str, following: list[str]) -> bool:
    # Gmail wraps a long attribution line, often inside the sender's <address>.
    if not following or not line.lstrip().lower().startswith(("on ", "am ", "le ")):
        return False
    return bool(_ATTRIBUTION.match(f"{line} {following[0].strip()}"))


def _header_block(line: str, following: list[str]) -> bool:
    # Outlook quotes the original under a From:/Sent:/To:/Subject: block.
    return bool(_HEADER_BLOCK_START.match(line)) and any(
        _HEADER_BLOCK_NEXT.match(next_line) for next_line in following
    )


def _unflow(text: str, delsp: bool) -> str:
    """Join the soft-broken lines of a `format=flowed` text (RFC 3676)."""
    joined: list[str] = []
    paragraph: str | None = None
    for line in text.replace("\r\n", "\n").split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        quote, body = line[:depth], line[depth:]
        body = body.removeprefix(" ")  # space-stuffing
        if paragraph is not None and _depth(paragraph) != depth:
            joined.append(paragraph)
            paragraph = None
        start = paragraph if paragraph is not None else quote
        if body.endswith(" ") and body != "-- ":
            paragraph = start + (body[:-1] if delsp else body)
        else:
            joined.append(start + body)
            paragraph = None
    if paragraph is not None:
        joined.append(paragraph)
    return "\n".join(joined)


def _depth(line: str) -> int:
    return len(line) - len(line.lstrip(">"))


_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "tr", "table", "ul", "ol", "hr", "pre", "h1", "h2", "h3", "h4"}
)
_SKIPPED_TAGS = frozenset({"head", "style", "script", "title", "blockquote"})
_SKIPPED_CLASSES = frozenset({"gmail_quote", "gmail_signature", "moz-signature"})
"""Gmail's quoted mail and signature, Thunderbird's signature."""
_CUT_IDS = frozenset({"appendonsend", "divrplyfwdmsg", "mail-editor-reference-message-container"})
"""Outlook marks where its quoted mail starts; everything after it is old."""


class _HtmlText(html.parser.HTMLParser):
    """Text of an HTML mail body, without quoted blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping: str | None = None
        self._skip_depth = 0
        self._cut = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._cut:
            return
        if self._skipping is not None:
            self._skip_depth += tag == self._skipping
            return
        found = dict(attrs)
        if (found.get("id") or "").lower() in _CUT_IDS:
            self._cut = True
        elif tag in _SKIPPED_TAGS or _SKIPPED_CLASSES & set((found.get("class") or "").split()):
            self._skipping, self._skip_depth = tag, 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skipping is not None:
            self._skip_depth -= tag == self._skipping
            if self._skip_depth == 0:
                self._skipping = None
        elif tag in _BLOCK_TAGS and not self._cut:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skipping is None and not self._cut:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(markup: str) -> str:
    """The text of an HTML mail body: block elements become line breaks, quotes are left out."""
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- answers from text --------------------------------------------------------------

_OMIT: Any = object()
"""A field the reply leaves out (its default applies)."""
_FIELD_LINE = re.compile(r"^\s*(?:[-*•]\s*)?([^:=]{1,80}?)\s*[:=]\s*(.*)$")


def parse_answer(schema: Mapping[str, Any] | None, text: str) -> Any:
    """Turn the text of a reply into answer data for a wait expecting `schema`.

    Nothing is validated here: the result goes through the same validation as a
    form, which reports what does not fit.

    * No schema, or no fields: `None` (the wait only needs a reply).
    * One choice field (Enum, Literal, `bool | None`): the first line, or its first
      word, matched case-insensitively against the option values and labels.
    * One `bool` field: the first word: yes, true, ok, approve(d) or no, false,
      reject(ed).
    * One number field: the first line; one text field: the whole text.
    * Several fields: a JSON object, or one `field: value` line per field (field
      name or title, any case); a multi-line text field continues on the lines
      below its own.

    Args:
        schema: The wait's input JSON Schema (`InputSpec.schema`).
        text: The reply's text (`reply_text`).

    Returns:
        A dict of field values (an empty dict when the text names no field), or
        `None` for a wait without fields.
    """
    spec_json = {"schema": dict(schema or {})}
    fields = forms.form_fields(spec_json)
    text = text.strip()
    if not fields:
        return None
    if len(fields) == 1:
        return _one_field(spec_json, fields[0], text)
    return _json_object(text) or _field_lines(spec_json, fields, text)


def _one_field(spec_json: dict[str, Any], field: forms.FormField, text: str) -> dict[str, Any]:
    if field.widget not in ("text", "textarea", "json"):
        text = _without_field_name(field, _first_line(text))
    value = _field_value(spec_json, field, text)
    return {} if value is _OMIT else {field.name: value}


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0].strip()


def _without_field_name(field: forms.FormField, line: str) -> str:
    # "Decision: Approve" answers a one-field form as well as "Approve" does.
    matched = _FIELD_LINE.match(line)
    if matched and matched.group(1).casefold() in _names(field):
        return matched.group(2).strip()
    return line


def _names(field: forms.FormField) -> set[str]:
    return {field.name.casefold(), field.label.casefold()}


def _field_value(spec_json: dict[str, Any], field: forms.FormField, raw: str) -> Any:
    """One field's answer from its text, converted as the form converts it."""
    if field.widget == "checkbox":
        return _truth(raw)
    if field.widget == "select":
        raw = _option_key(field, raw)
    answer = forms.answer_from_form(spec_json, {field.name: [raw]})
    return answer.get(field.name, _OMIT)


def _first_word(text: str) -> str:
    found = re.match(r"\s*([\w'-]+)", text)
    return found.group(1) if found else text.strip()


def _truth(text: str) -> Any:
    """True or False for a yes/no word, else the text (which validation then refuses)."""
    word = _first_word(text)
    truth = _TRUTH.get(word.casefold())
    return truth if truth is not None else text


def _option_key(field: forms.FormField, line: str) -> str:
    """The option a line picks: the longest value or label it is or starts with."""
    wanted = line.casefold()
    best, best_length = None, -1
    for key, label in field.options:
        names = {key.casefold(), label.casefold()} if key else set()  # not the empty option
        for name in names:
            if _starts_with_word(wanted, name) and len(name) > best_length:
                best, best_length = key, len(name)
    if best is not None:
        return best
    truth = _TRUTH.get(_first_word(line).casefold())
    keys = {key for key, _ in field.options}
    if truth is not None and json.dumps(truth) in keys:
        return json.dumps(truth)
    return line


def _starts_with_word(text: str, prefix: str) -> bool:
    if not text.startswith(prefix):
        return False
    rest = text[len(prefix) :]
    return not rest or not (rest[0].isalnum() or rest[0] == "_")


def _json_object(text: str) -> dict[str, Any] | None:
    if not text.startswith("{"):
        return None
    try:
        found = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return cast("dict[str, Any]", found) if isinstance(found, dict) else None


def _field_lines(
    spec_json: dict[str, Any], fields: list[forms.FormField], text: str
) -> dict[str, Any]:
    answer: dict[str, Any] = {}
    for field, lines in _lines_by_field(fields, text):
        value = _field_value(spec_json, field, "\n".join(lines).strip())
        if value is not _OMIT:
            answer[field.name] = value
    return answer


def _lines_by_field(
    fields: list[forms.FormField], text: str
) -> list[tuple[forms.FormField, list[str]]]:
    """Each named field with its value's lines (the last naming of a field wins)."""
    by_name = {name: field for field in fields for name in _names(field)}
    found: dict[str, tuple[forms.FormField, list[str]]] = {}
    current: list[str] | None = None
    for line in text.split("\n"):
        matched = _FIELD_LINE.match(line)
        field = by_name.get(matched.group(1).casefold()) if matched else None
        if matched and field is not None:
            # Only multi-line text continues on the lines below its own.
            current = [matched.group(2).strip()]
            found[field.name] = (field, current)
            current = current if field.widget == "textarea" else None
        elif current is not None:
            current.append(line)
    return list(found.values())


# --- delivering a reply -------------------------------------------------------------


class Outcome(str, enum.Enum):
    """What became of a delivered mail."""

    #: The reply answered its wait; the run resumes.
    ANSWERED = "answered"
    #: The reply was sent to its run as a message (or had been before).
    MESSAGED = "messaged"
    #: The wait was answered first by someone or something else.
    ALREADY_ANSWERED = "already_answered"
    #: The reply does not fit the wait's input; the run keeps waiting.
    INVALID = "invalid"
    #: The mail names no wait or run of this installation.
    UNKNOWN_TARGET = "unknown_target"
    #: The sender is not among the people the question went to.
    NOT_ALLOWED = "not_allowed"
    #: The run has ended or no longer waits for this answer.
    NOT_WAITING = "not_waiting"


_REFUSED = frozenset(
    {Outcome.INVALID, Outcome.NOT_ALLOWED, Outcome.NOT_WAITING, Outcome.ALREADY_ANSWERED}
)


@dataclasses.dataclass(frozen=True)
class Delivery:
    """The result of `deliver`."""

    outcome: Outcome
    """What became of the mail."""
    run_id: str | None = None
    """The run it went to, when known."""
    wait_id: str | None = None
    """The wait it answered, for a reply to a wait."""
    detail: str = ""
    """Why, in words for the sender (the body of the mail telling them of a refusal)."""
    field_errors: list[errors.FieldError] = dataclasses.field(default_factory=list)
    """For `invalid`: what does not fit, per field."""
    answered_by: str | None = None
    """For `already_answered`: who answered first, when a person did."""


def deliver(raw: bytes, hst: host.Host, *, recipients: Sequence[str] = ()) -> Delivery:
    """Deliver one received mail: answer its wait or send it to its run as a message.

    A refused answer (invalid, from someone the question did not go to, too late)
    changes nothing, and its sender gets a mail that says why, unless the mail was
    sent automatically (auto-replies are never answered, so two robots cannot
    write to each other for ever).

    Args:
        raw: The mail as received (RFC 5322 bytes).
        hst: The host whose store and settings to use.
        recipients: The SMTP envelope's recipients, when the mail came over SMTP.

    Returns:
        What became of it.
    """
    message = parse_message(raw)
    key = tokens.secret_key(hst.settings)
    target = find_target(message, key, recipients=recipients)
    if target is None:
        return Delivery(Outcome.UNKNOWN_TARGET, detail="this mail names no question or run here")
    sender = sender_address(message)
    if target.kind == "wait":
        delivery = _answer(hst, message, target, sender)
    else:
        delivery = _send(hst, message, raw, target, sender)
    _log.info(
        "mail from %s to %s %s: %s", sender or "?", target.kind, target.id, delivery.outcome.value
    )
    if delivery.outcome in _REFUSED:
        _tell_sender(hst, message, sender, delivery)
    return delivery


def parse_message(raw: bytes) -> email.message.EmailMessage:
    """A received mail as an `EmailMessage` (the modern API of `email.policy.default`)."""
    return email.message_from_bytes(raw, policy=email.policy.default)


def _answer(
    hst: host.Host, message: email.message.EmailMessage, target: tokens.ReplyTarget, sender: str
) -> Delivery:
    try:
        item = service.get_inbox_item(target.id, hst=hst)
    except errors.WaitNotFound:
        return Delivery(Outcome.UNKNOWN_TARGET, detail="the question this answers is gone")
    run_id, wait_id = item.run.id, item.wait.id
    if not sender or not outbox.may_reply(hst, target, sender):
        return Delivery(Outcome.NOT_ALLOWED, run_id, wait_id, _not_allowed(sender))
    schema = item.spec.get("schema") if item.spec else None
    data = parse_answer(schema, reply_text(message))
    try:
        service.submit_input(
            run_id, data, wait_id=wait_id, responder=sender, channel="email", hst=hst
        )
    except errors.InputInvalid as exc:
        detail = _invalid(schema, exc.field_errors)
        return Delivery(Outcome.INVALID, run_id, wait_id, detail, exc.field_errors)
    except errors.AlreadyAnswered as exc:
        detail = _already(exc)
        return Delivery(
            Outcome.ALREADY_ANSWERED, run_id, wait_id, detail, answered_by=exc.responder
        )
    except (errors.NotWaiting, errors.RunEnded) as exc:
        detail = f"Your answer came too late: {exc}."
        return Delivery(Outcome.NOT_WAITING, run_id, wait_id, detail)
    return Delivery(Outcome.ANSWERED, run_id, wait_id, "answered")


def _send(
    hst: host.Host,
    message: email.message.EmailMessage,
    raw: bytes,
    target: tokens.ReplyTarget,
    sender: str,
) -> Delivery:
    try:
        run = service.get_run(target.id, hst=hst)
    except errors.RunNotFound:
        return Delivery(Outcome.UNKNOWN_TARGET, detail="the run this answers is gone")
    if not sender or not outbox.may_reply(hst, target, sender):
        return Delivery(Outcome.NOT_ALLOWED, run_id=run.id, detail=_not_allowed(sender))
    if run.state.is_final:
        detail = f"Your reply came too late: the run has ended ({run.state.value})."
        return Delivery(Outcome.NOT_WAITING, run_id=run.id, detail=detail)
    key = "email:" + _message_key(message, raw)
    service.send_message(run.id, reply_text(message), key=key, sender=sender, hst=hst)
    return Delivery(Outcome.MESSAGED, run_id=run.id, detail="sent to the run")


def _message_key(message: email.message.EmailMessage, raw: bytes) -> str:
    # Without a Message-ID, the same bytes delivered again still make one message.
    message_id = str(message.get("Message-ID") or "").strip()
    return message_id or "sha256:" + hashlib.sha256(raw).hexdigest()


# --- telling the sender -------------------------------------------------------------


def _not_allowed(sender: str) -> str:
    who = sender or "a sender without an address"
    return (
        f"Your reply was not accepted: the question was not sent to {who}. "
        "Only the people it was sent to can answer it by mail."
    )


def _already(exc: errors.AlreadyAnswered) -> str:
    if exc.responder is None:
        return f"This question is closed ({exc}); your reply changed nothing."
    when = ""
    if exc.answered_at is not None:
        when = time.strftime(" on %Y-%m-%d at %H:%M UTC", time.gmtime(exc.answered_at))
    return (
        f"This question was already answered by {exc.responder}{when}; your reply changed nothing."
    )


def _invalid(schema: Mapping[str, Any] | None, field_errors: list[errors.FieldError]) -> str:
    fields = forms.form_fields({"schema": dict(schema or {})})
    labels = {field.name: field.label for field in fields}
    problems = [
        f"- {_label(error, labels, len(fields))}: {error.message}" for error in field_errors
    ]
    return "\n".join(
        [
            "Your reply could not be used as an answer:",
            "",
            *problems,
            "",
            _how_to_answer(fields),
        ]
    )


def _label(error: errors.FieldError, labels: dict[str, str], count: int) -> str:
    # A one-field form's field is the answer itself (often named just "value").
    if not error.loc or count == 1:
        return "Your answer"
    name = str(error.loc[0])
    return labels.get(name, name)


def _how_to_answer(fields: list[forms.FormField]) -> str:
    if len(fields) == 1:
        return f"Reply with {_expected(fields[0])} as the first line of your mail."
    lines = [f"  {field.label}: {_expected(field)}" for field in fields]
    return "Reply with one line per field, for example:\n" + "\n".join(lines)


def _expected(field: forms.FormField) -> str:
    if field.widget == "select":
        return "one of " + ", ".join(label for key, label in field.options if key)
    if field.widget == "checkbox":
        return "yes or no"
    if field.widget == "number":
        return "a number"
    return "your text" + (f" ({field.help})" if field.help else "")


def _tell_sender(
    hst: host.Host, message: email.message.EmailMessage, sender: str, delivery: Delivery
) -> None:
    if not sender or _sent_automatically(message) or _is_own_address(hst, sender):
        return
    if delivery.answered_by is not None and _plain(delivery.answered_by) == _plain(sender):
        return  # their own answer came first (say, the same mail delivered again)
    try:
        smtp.send_reply(hst, message, delivery.detail, target=_thread_target(delivery))
    except errors.TarryError:
        _log.exception("could not tell %s why their reply was refused", sender)


def _thread_target(delivery: Delivery) -> tokens.ReplyTarget | None:
    """Where a reply to our explanation should go: the same wait or run."""
    if delivery.wait_id is not None:
        return tokens.ReplyTarget("wait", delivery.wait_id)
    return tokens.ReplyTarget("run", delivery.run_id) if delivery.run_id else None


def _sent_automatically(message: email.message.EmailMessage) -> bool:
    auto = str(message.get("Auto-Submitted") or "no").strip().lower()
    precedence = str(message.get("Precedence") or "").strip().lower()
    return auto != "no" or precedence in ("bulk", "junk", "list", "auto_reply")


def _is_own_address(hst: host.Host, sender: str) -> bool:
    own = [hst.settings.mail_from, hst.settings.mail_reply_to]
    mine = {_plain(address) for _, address in email.utils.getaddresses(own) if address}
    return _plain(sender) in mine


def _plain(address: str) -> str:
    """An address without its `+tag`, in lower case."""
    local, at, domain = address.casefold().rpartition("@")
    return local.partition("+")[0] + at + domain
