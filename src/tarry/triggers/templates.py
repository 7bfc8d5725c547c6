"""Action fields as Jinja templates, rendered in a sandbox against the firing.

A template sees `event` (the triggering event: `event.event`, `event.occurred`,
`event.resource.id`, `event.resource.name`, `event.resource["tarry.resource.id"]`,
`event.related`, `event.resource_in_role["flow"]`, `event.payload` parsed),
`automation` (`id`, `name`, `description`), `firing` (`id`, `kind`, `at`, `labels`,
`metric`, ...), `flow`, `deployment`, `work_pool`, `work_queue` (`name`, `id`, from
the event's related resources) and `flow_run` (`id`, `name`, `parameters`, `state`, for
the run the event is about; the runtime supplies it, looked up only if used). Prefect's
label names (`prefect.resource.id`) read as tarry's.

`render` renders every string inside a value. A string that is one `{{ expression }}`
keeps the expression's own type (a dict stays a dict), so
`"answer": "{{ event.payload.answer }}"` passes the answer itself; Prefect's
`{"__prefect_kind": "jinja", "template": ...}` renders to text and
`{"__prefect_kind": "json", "value": ...}` is taken as it is. An undefined name, a
syntax error or an unsafe operation raises `ValueError` saying which: the action fails
with that reason, and nothing crashes.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jinja2
import jinja2.sandbox

from tarry.triggers import event as event_module
from tarry.triggers import labels, targets

__all__ = ["EventView", "Lookup", "ResourceView", "check", "context", "render", "render_text"]

Lookup = Callable[[str], Mapping[str, Any] | None]
"""A run's facts (`id`, `name`, `parameters`, `state`) by id, None if there is no such run."""

_ENV = jinja2.sandbox.ImmutableSandboxedEnvironment(
    undefined=jinja2.StrictUndefined, autoescape=False
)
_WHOLE = re.compile(r"^\s*\{\{((?:(?!\}\}|\{\{).)*)\}\}\s*$", re.DOTALL)
_NAMED_ROLES = ("flow", "deployment", "work-pool", "work-queue")


class ResourceView(dict[str, str]):
    """A resource's labels, also as `.id`, `.name` and `.role`; Prefect's label names read too."""

    def __missing__(self, key: str) -> str:
        mapped = labels.map_name(key)
        if mapped != key and mapped in self:
            return self[mapped]
        raise KeyError(key)

    @property
    def id(self) -> str:
        """`tarry.resource.id`."""
        return self.get("tarry.resource.id", "")

    @property
    def name(self) -> str:
        """`tarry.resource.name`."""
        return self.get("tarry.resource.name", "")

    @property
    def role(self) -> str:
        """`tarry.resource.role` (of a related resource)."""
        return self.get("tarry.resource.role", "")


class EventView:
    """The triggering event as templates read it."""

    def __init__(self, seen: event_module.EventLike) -> None:
        self.id = seen.id
        self.event = seen.event
        self.occurred = datetime.datetime.fromtimestamp(seen.occurred, datetime.UTC)
        self.resource = ResourceView(seen.resource)
        self.related = [ResourceView(each) for each in seen.related]
        self.payload = _payload(seen.payload)

    @property
    def resource_in_role(self) -> dict[str, ResourceView]:
        """The first related resource of each role."""
        found: dict[str, ResourceView] = {}
        for each in self.related:
            found.setdefault(each.role, each)
        return found

    def __str__(self) -> str:
        return self.event


class _LazyRun(Mapping[str, Any]):
    """`flow_run`, looked up the first time a template reads it."""

    def __init__(self, lookup: Lookup, run_id: str) -> None:
        self._lookup = lookup
        self._run_id = run_id
        self._loaded: Mapping[str, Any] | None = None

    def _facts(self) -> Mapping[str, Any]:
        if self._loaded is None:
            self._loaded = self._lookup(self._run_id) or {"id": self._run_id}
        return self._loaded

    def __getitem__(self, key: str) -> Any:
        return self._facts()[key]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._facts()[name]
        except KeyError:
            raise AttributeError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._facts())

    def __len__(self) -> int:
        return len(self._facts())


def _payload(text: str) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return text


def context(
    seen: event_module.EventLike | None,
    automation: Mapping[str, Any],
    firing: Mapping[str, Any],
    lookup: Lookup | None = None,
) -> dict[str, Any]:
    """What templates see for one firing.

    Args:
        seen: The triggering event, if any.
        automation: The automation's `id`, `name`, `description`.
        firing: The firing's `id`, `kind`, `at` and its context (`labels`, `metric`, ...).
        lookup: Gives a run's facts by id, for `flow_run`.
    """
    view = EventView(seen) if seen is not None else None
    found: dict[str, Any] = {
        "event": view,
        "automation": dict(automation),
        "firing": dict(firing),
        "flow_run": None,
    }
    for role in _NAMED_ROLES:
        related = view.resource_in_role.get(role) if view is not None else None
        found[role.replace("-", "_")] = (
            {"name": related.name, "id": related.id} if related is not None else None
        )
    run_id = targets.run_of(seen)
    if run_id is not None and lookup is not None:
        found["flow_run"] = _LazyRun(lookup, run_id)
    return found


def check(template: str) -> None:
    """Refuse a template that cannot be compiled.

    Raises:
        ValueError: Its syntax is wrong (the message says where).
    """
    try:
        _ENV.parse(template)
    except jinja2.TemplateSyntaxError as error:
        raise ValueError(f"template {template!r}: {error.message} (line {error.lineno})") from None


def render_text(template: str, values: Mapping[str, Any]) -> str:
    """`template` rendered to text.

    Raises:
        ValueError: It cannot be compiled or rendered (an undefined name, an unsafe call).
    """
    try:
        return _ENV.from_string(template).render(values)
    except jinja2.TemplateError as error:
        raise ValueError(f"template {template!r}: {error}") from None
    except (ArithmeticError, LookupError, TypeError, ValueError) as error:
        raise ValueError(f"template {template!r}: {type(error).__name__}: {error}") from None


def render(value: Any, values: Mapping[str, Any]) -> Any:
    """Every string in `value` rendered (see the module's docstring), as JSON-ready data.

    Raises:
        ValueError: A template cannot be compiled or rendered.
    """
    if isinstance(value, str):
        return _render_string(value, values)
    if isinstance(value, list | tuple):
        return [render(each, values) for each in value]
    if isinstance(value, dict):
        kind = value.get("__prefect_kind")
        if kind == "json":
            return value.get("value")
        if kind == "jinja":
            return render_text(str(value.get("template", "")), values)
        return {str(key): render(each, values) for key, each in value.items()}
    return value


def _render_string(template: str, values: Mapping[str, Any]) -> Any:
    if "{{" not in template and "{%" not in template:
        return template
    whole = _WHOLE.match(template)
    if whole is None:
        return render_text(template, values)
    try:
        result = _ENV.compile_expression(whole.group(1), undefined_to_none=False)(values)
    except jinja2.TemplateError as error:
        raise ValueError(f"template {template!r}: {error}") from None
    except (ArithmeticError, LookupError, TypeError, ValueError) as error:
        raise ValueError(f"template {template!r}: {type(error).__name__}: {error}") from None
    if isinstance(result, jinja2.Undefined):
        # Reading it raises the reason ("'flow_run' is undefined", ...).
        try:
            str(result)
        except jinja2.UndefinedError as error:
            raise ValueError(f"template {template!r}: {error}") from None
    return _plain(result)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(key): _plain(each) for key, each in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(each) for each in value]
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value)
