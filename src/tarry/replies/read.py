"""Reading a mail reply: the mail, its new text, and the answer that text gives.

`reply_text` is what the person wrote, without the quoted mail below it and the
signature; `parse_answer` turns that text into answer data for a wait's input, the
way the answer form does, and leaves judging it to the same validation.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import html.parser
import json
import re
from collections.abc import Mapping
from typing import Any, cast

from tarry.forms import fields as forms

__all__ = ["html_to_text", "parse_answer", "parse_message", "reply_text", "strip_quotes"]


def parse_message(raw: bytes) -> email.message.EmailMessage:
    """A received mail as an `EmailMessage` (the modern API of `email.policy.default`)."""
    return email.message_from_bytes(raw, policy=email.policy.default)


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
      below its own. When no line names a field and the one required field is a
      `bool` (`approve`'s decision, whose comment is optional), the reply answers
      that field as a one-field form's would.

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
    found = _json_object(text) or _field_lines(spec_json, fields, text)
    # `FormField.required` is what the browser checks: never set for a checkbox.
    listed = set(spec_json["schema"].get("required") or ())
    required = [field for field in fields if field.name in listed]
    if not found and len(required) == 1 and required[0].widget == "checkbox":
        return _one_field(spec_json, required[0], text)
    return found


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
