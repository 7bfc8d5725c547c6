"""Inbound webhooks' templates: an outside HTTP request rendered, in a sandbox, into an event.

A template is Jinja text that renders to one JSON object, the event:

    {"event": "github.push",
     "resource": {"tarry.resource.id": "github.repo.{{ body.repository.full_name }}"},
     "payload": {"pusher": {{ body.pusher | tojson }}}}

It sees `body` (the parsed JSON body, the fields of a form-encoded one, else the text),
`headers` (names in lower case; the secret header and `Authorization` are left out, so
no template can copy a secret into an event), `query` (the URL's query fields),
`raw_body` (the body as text) and `method`. The object may hold `event` and `resource`
(required; `resource` needs `tarry.resource.id`), `related` (a list of resources, each
with `tarry.resource.id` and `tarry.resource.role`), `payload` (an object), `occurred`
(epoch seconds or ISO 8601 text) and `id` (storing an id again is a no-op, so a sender's
delivery id makes retries safe). Prefect's `prefect.` label and event names read as
`tarry.`.

`check` refuses a template when it is made: one that does not compile, or that does not
render to a valid event for a sample request (in which every field of the request
reads as `0`, which is valid JSON and text alike). `render` refuses a request the
template does not fit. Both raise `ValueError` with the reason; nothing here does I/O.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import urllib.parse
from collections.abc import Mapping
from typing import Any

import jinja2
import jinja2.sandbox

from tarry.triggers import labels

__all__ = [
    "HIDDEN_HEADERS",
    "RenderedEvent",
    "WebhookRequest",
    "check",
    "parse_body",
    "render",
    "sample_request",
]

HIDDEN_HEADERS = frozenset({"authorization", "cookie", "x-tarry-webhook-secret"})
"""Request headers a template never sees: they carry secrets."""

_KEYS = frozenset({"event", "resource", "related", "payload", "occurred", "id"})
_ID = "tarry.resource.id"
_ROLE = "tarry.resource.role"
_SAMPLE = "0"


class _SampleUndefined(jinja2.ChainableUndefined):
    """What a sample request's fields read as: `0`, at any depth (JSON and text alike)."""

    def __str__(self) -> str:
        return _SAMPLE


def _environment(undefined: type[jinja2.Undefined]) -> jinja2.Environment:
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=undefined, autoescape=False)
    # `tojson` of a sample field (an Undefined) writes it as its text.
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "default": str}
    return env


_STRICT = _environment(jinja2.StrictUndefined)
_LENIENT = _environment(_SampleUndefined)


@dataclasses.dataclass(frozen=True)
class WebhookRequest:
    """What a template reads of one HTTP request."""

    body: Any
    """The parsed body: JSON, a form's fields, or the text."""
    headers: Mapping[str, str]
    """The headers, names in lower case, without `HIDDEN_HEADERS`."""
    query: Mapping[str, str]
    """The URL's query fields."""
    raw_body: str
    """The body as text."""
    method: str = "POST"
    """The HTTP method."""

    def context(self) -> dict[str, Any]:
        """The names a template sees."""
        return {
            "body": self.body,
            "headers": dict(self.headers),
            "query": dict(self.query),
            "raw_body": self.raw_body,
            "method": self.method,
        }


@dataclasses.dataclass(frozen=True)
class RenderedEvent:
    """The event a request made, before it is stored."""

    event: str
    """Its name, `prefect.` said as `tarry.`."""
    resource: dict[str, str]
    """The resource's labels (with `tarry.resource.id`)."""
    related: tuple[dict[str, str], ...] = ()
    """Related resources (each with an id and a role)."""
    payload: str = "{}"
    """JSON text of an object."""
    occurred: float | None = None
    """When it happened, if the template says (else when it is received)."""
    id: str | None = None
    """Its id, if the template says (else a new one)."""


def parse_body(raw: bytes, content_type: str) -> tuple[Any, str]:
    """A request's body as a template reads it, and its text.

    JSON (`application/json`, `...+json`) must parse; a form
    (`application/x-www-form-urlencoded`) gives its fields (a field sent twice: a
    list); any other body is JSON if it parses, else its text.

    Args:
        raw: The body's bytes.
        content_type: The `Content-Type` header ("" if none).

    Raises:
        ValueError: The body is not UTF-8, or a JSON body does not parse.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8 text") from None
    kind = content_type.partition(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        fields = urllib.parse.parse_qs(text, keep_blank_values=True)
        return {k: v[0] if len(v) == 1 else v for k, v in fields.items()}, text
    if kind == "application/json" or kind.endswith("+json"):
        return _json_body(text), text
    try:
        return (_json_body(text) if text.strip() else text), text
    except ValueError:
        return text, text


def _json_body(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_no_constant)
    except ValueError as error:
        raise ValueError(f"the body is not JSON: {error}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def sample_request() -> WebhookRequest:
    """The request `check` renders a template against: every field reads `0`."""
    return WebhookRequest(
        body=_SampleUndefined(), headers={}, query={}, raw_body=_SAMPLE, method="POST"
    )


def check(template: str) -> RenderedEvent:
    """Refuse a template that does not compile or make a valid event for a sample request.

    Args:
        template: The Jinja text.

    Returns:
        The event the sample request makes.

    Raises:
        ValueError: Why the template is refused.
    """
    try:
        compiled = _LENIENT.from_string(template)
    except jinja2.TemplateSyntaxError as error:
        raise ValueError(
            f"the template does not compile: {error.message} (line {error.lineno})"
        ) from None
    sample = sample_request().context()
    sample.update(body=_SampleUndefined(), headers=_SampleUndefined(), query=_SampleUndefined())
    return _event(_render_with(compiled, sample), sample_too=True)


def render(template: str, request: WebhookRequest) -> RenderedEvent:
    """The event `request` makes through `template`.

    Args:
        template: The Jinja text (checked when the webhook was made).
        request: The request.

    Raises:
        ValueError: The request does not fit: a field the template reads is missing,
            or what it renders is not a valid event (the message says which).
    """
    try:
        compiled = _STRICT.from_string(template)
    except jinja2.TemplateSyntaxError as error:
        raise ValueError(f"the template does not compile: {error.message}") from None
    return _event(_render_with(compiled, request.context()), sample_too=False)


def _render_with(compiled: jinja2.Template, values: Mapping[str, Any]) -> str:
    try:
        return compiled.render(values)
    except jinja2.TemplateError as error:
        raise ValueError(f"the template cannot be rendered for this request: {error}") from None
    except (ArithmeticError, LookupError, TypeError, ValueError) as error:
        name = type(error).__name__
        raise ValueError(f"the template cannot be rendered: {name}: {error}") from None


def _event(text: str, *, sample_too: bool) -> RenderedEvent:
    try:
        found = json.loads(text, parse_constant=_no_constant)
    except ValueError as error:
        raise ValueError(
            f"the template renders to text that is not JSON ({error}): {text[:200]}"
        ) from None
    if not isinstance(found, dict):
        raise ValueError(f"the template renders to {type(found).__name__}, not a JSON object")
    unknown = sorted(set(found) - _KEYS)
    if unknown:
        raise ValueError(f"the event has unknown fields {unknown}; allowed: {sorted(_KEYS)}")
    return RenderedEvent(
        event=_name(found.get("event")),
        resource=_resource(found.get("resource"), "resource"),
        related=_related(found.get("related")),
        payload=_payload(found.get("payload")),
        occurred=None if sample_too else _occurred(found.get("occurred")),
        id=_id(found.get("id")),
    )


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("the event needs `event`, a name such as `github.push`")
    return labels.map_name(value.strip())


def _resource(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError(f"`{where}` must be an object of labels, with `tarry.resource.id`")
    found: dict[str, str] = {}
    for key, label in value.items():
        if isinstance(label, dict | list) or label is None:
            raise ValueError(f"`{where}` label {key!r} must be text, not {json.dumps(label)}")
        name = labels.map_name(str(key))
        text = label if isinstance(label, str) else json.dumps(label)
        found[name] = labels.map_name(text) if name == _ID else text
    if not found.get(_ID, "").strip():
        raise ValueError(f"`{where}` needs `tarry.resource.id` (or `prefect.resource.id`)")
    return found


def _related(value: Any) -> tuple[dict[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError("`related` must be a list of resources")
    found = tuple(_resource(each, f"related[{i}]") for i, each in enumerate(value))
    for i, each in enumerate(found):
        if not each.get(_ROLE, "").strip():
            raise ValueError(f"`related[{i}]` needs `tarry.resource.role`")
    return found


def _payload(value: Any) -> str:
    if value is None:
        return "{}"
    if not isinstance(value, dict):
        raise ValueError("`payload` must be a JSON object")
    return json.dumps(value, separators=(",", ":"))


def _occurred(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("`occurred` must be epoch seconds or ISO 8601 text")
    if isinstance(value, int | float):
        return float(value)
    try:
        when = datetime.datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"`occurred` {value!r} is not ISO 8601 text or epoch seconds") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when.timestamp()


def _id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str | int) or len(str(value)) > 200:
        raise ValueError("`id` must be text of at most 200 characters")
    return str(value)
