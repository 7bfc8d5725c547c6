"""Resource labels and event names as triggers read them: Prefect's names mapped, and matching.

A trigger written for Prefect names `prefect.flow-run.Completed` and labels such as
`prefect.resource.name`; tarry's events say `tarry.` where Prefect says `prefect.`, so
every name a trigger holds is mapped once, when the trigger is made. Matching follows
Prefect: an expected value matches equal text, a value ending in `*` matches by prefix,
and a leading `!` negates; a label the resource lacks never matches, negated or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["map_label", "map_labels", "map_name", "matches", "resource_label"]

_PREFECT = "prefect."
_TARRY = "tarry."


def map_name(name: str) -> str:
    """`name` with a leading `prefect.` (after any `!`) said as `tarry.`.

    Args:
        name: An event name, label name or resource id, perhaps negated with `!`.

    Returns:
        The tarry spelling; a name that does not start with `prefect.` is returned as it is.
    """
    bang = "!" if name.startswith("!") else ""
    bare = name[len(bang) :]
    if bare.startswith(_PREFECT):
        return bang + _TARRY + bare[len(_PREFECT) :]
    return name


def map_label(label: str) -> str:
    """A `for_each` label (`related:flow:prefect.resource.name`, say) in tarry's names."""
    head, colon, tail = label.rpartition(":")
    return f"{head}{colon}{map_name(tail)}" if colon else map_name(label)


def map_labels(labels: Mapping[str, str | list[str]]) -> dict[str, str | list[str]]:
    """Labels to match, their names mapped and, for resource ids, their values too.

    A value is mapped only under a label that names a resource id (`tarry.resource.id`),
    because there it names tarry's own resources (`prefect.flow-run.*`); other values
    (a flow's name, a role) are the user's words and stay as given.
    """
    mapped: dict[str, str | list[str]] = {}
    for name, value in labels.items():
        key = map_name(name)
        if not key.endswith(".resource.id"):
            mapped[key] = value
        elif isinstance(value, str):
            mapped[key] = map_name(value)
        else:
            mapped[key] = [map_name(each) for each in value]
    return mapped


def matches(expected: str, value: str | None) -> bool:
    """Whether `value` fits `expected` (equal, `prefix*`, or `!` for not).

    Args:
        expected: The pattern a trigger holds.
        value: The label's value on the resource, None if it has none.
    """
    if value is None:
        return False
    positive = not expected.startswith("!")
    pattern = expected if positive else expected[1:]
    found = value.startswith(pattern[:-1]) if pattern.endswith("*") else value == pattern
    return found is positive


def resource_label(
    label: str, resource: Mapping[str, str], related: Iterable[Mapping[str, str]]
) -> str | None:
    """The value of `label` on an event, None if it has none.

    `related:<role>:<label>` reads the first related resource in that role, any other
    label the primary resource (as Prefect's `for_each`).
    """
    directive, _, inner = label.rpartition(":")
    kind, _, role = directive.partition(":")
    if kind == "related":
        for each in related:
            if each.get("tarry.resource.role") == role:
                return each.get(inner)
        return None
    return resource.get(label)
