"""Automation documents (a dict, JSON or YAML text) as models, Prefect's names mapped.

`parse_automation` reads one automation (`name`, `trigger`, `actions`, ...),
`parse_automations` a file of one or more, `parse_trigger` a trigger alone (the JSON
Prefect's UI shows, such as seed 003's compound trigger). Fields Prefect's exports
carry that tarry keeps elsewhere (`id`, `tags`, `created`, ...) are dropped; any other
unknown field, a bad value or an unknown `type` raises `pydantic.ValidationError`,
whose messages name the field (the API answers it as a 422).
"""

from __future__ import annotations

import json
from typing import Any

import pydantic

from tarry.triggers import actions as actions_module
from tarry.triggers import models, templates

__all__ = [
    "AutomationSpec",
    "load_document",
    "parse_actions",
    "parse_automation",
    "parse_automations",
    "parse_trigger",
]

#: Fields of Prefect's automation exports that describe the stored row, not the automation.
_EXPORT_FIELDS = frozenset(
    {"id", "tags", "owner_resource", "created", "updated", "account", "workspace"}
)


class AutomationSpec(pydantic.BaseModel):
    """An automation as written: when (`trigger`) and what (`actions`)."""

    model_config = pydantic.ConfigDict(extra="forbid", ser_json_timedelta="float")

    name: str = pydantic.Field(min_length=1, max_length=200)
    """Its name, unique among automations."""
    description: str = ""
    """What it is for."""
    enabled: bool = True
    """Whether it is evaluated."""
    trigger: models.TriggerTypes
    """When it fires."""
    actions: list[actions_module.ActionTypes] = pydantic.Field(default_factory=list)
    """What it does each time it fires (triggered or resolved)."""
    actions_on_trigger: list[actions_module.ActionTypes] = pydantic.Field(default_factory=list)
    """What it does when it becomes triggered."""
    actions_on_resolve: list[actions_module.ActionTypes] = pydantic.Field(default_factory=list)
    """What it does when it resolves (a metric trigger whose breach ended)."""

    @pydantic.model_validator(mode="before")
    @classmethod
    def _drop_export_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if key not in _EXPORT_FIELDS}
        return data

    @pydantic.model_validator(mode="after")
    def _does_something(self) -> AutomationSpec:
        if not (self.actions or self.actions_on_trigger or self.actions_on_resolve):
            raise ValueError("an automation needs at least one action (`do-nothing` is one)")
        return self

    @pydantic.model_validator(mode="after")
    def _templates_compile(self) -> AutomationSpec:
        # A template that cannot compile is refused now, not when the automation fires.
        lists = {
            "actions": self.actions,
            "actions_on_trigger": self.actions_on_trigger,
            "actions_on_resolve": self.actions_on_resolve,
        }
        for field, actions in lists.items():
            for index, action in enumerate(actions):
                for text in _strings(action.model_dump(mode="json", exclude={"type"})):
                    try:
                        templates.check(text)
                    except ValueError as error:
                        raise ValueError(f"{field}[{index}] ({action.label}): {error}") from None
        return self


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if "{{" in value or "{%" in value else []
    if isinstance(value, dict):
        return [text for each in value.values() for text in _strings(each)]
    if isinstance(value, list):
        return [text for each in value for text in _strings(each)]
    return []


_TRIGGER: pydantic.TypeAdapter[models.TriggerTypes] = pydantic.TypeAdapter(models.TriggerTypes)
_ACTIONS: pydantic.TypeAdapter[list[actions_module.ActionTypes]] = pydantic.TypeAdapter(
    list[actions_module.ActionTypes]
)


def load_document(text: str | bytes) -> Any:
    """JSON or YAML text as Python data.

    Raises:
        ValueError: The text is neither JSON nor YAML (YAML needs PyYAML installed).
    """
    try:
        return json.loads(text)
    except ValueError as error:
        json_error = error
    try:
        import yaml  # type: ignore[import-untyped]  # noqa: PLC0415 - optional: only YAML needs PyYAML
    except ImportError:
        raise ValueError(f"not JSON ({json_error}); YAML needs PyYAML installed") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(f"neither JSON nor YAML: {error}") from None


def _data(document: Any) -> Any:
    return load_document(document) if isinstance(document, str | bytes) else document


def parse_trigger(document: Any) -> models.TriggerTypes:
    """A trigger from a dict or JSON/YAML text.

    Raises:
        pydantic.ValidationError: It is not a valid trigger.
        ValueError: The text cannot be read.
    """
    return _TRIGGER.validate_python(_data(document))


def parse_actions(document: Any) -> list[actions_module.ActionTypes]:
    """A list of actions from a list or JSON/YAML text.

    Raises:
        pydantic.ValidationError: One is not a valid action.
        ValueError: The text cannot be read.
    """
    return _ACTIONS.validate_python(_data(document))


def parse_automation(document: Any) -> AutomationSpec:
    """One automation from a dict or JSON/YAML text.

    Raises:
        pydantic.ValidationError: It is not a valid automation.
        ValueError: The text cannot be read.
    """
    return AutomationSpec.model_validate(_data(document))


def parse_automations(document: Any) -> list[AutomationSpec]:
    """The automations of a file: one, a list, or `{"automations": [...]}` (as Prefect's).

    Raises:
        pydantic.ValidationError: One is not a valid automation.
        ValueError: The text cannot be read, or holds no automation.
    """
    data = _data(document)
    if isinstance(data, dict) and "automations" in data:
        data = data["automations"]
    items = data if isinstance(data, list) else [data]
    if not items:
        raise ValueError("the document holds no automation")
    return [AutomationSpec.model_validate(item) for item in items]
