"""Triggers' event names and resource specifications, compiled for the hot path.

An event reaches only the triggers that name it (see `evaluate`); each then checks the
event's resources here. A compiled pattern keeps exact values in a set and the rest
(`prefix*`, `!negated`) as a short list, so the common exact label costs one lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from tarry.triggers import labels, models

__all__ = ["Names", "Spec", "related_matcher"]

_PREFERRED = ("tarry.resource.name", "tarry.resource.id")


class _Values:
    """The values one label may take."""

    __slots__ = ("exact", "others")

    def __init__(self, patterns: Iterable[str]) -> None:
        patterns = list(patterns)
        plain = [p for p in patterns if not p.startswith("!") and not p.endswith("*")]
        self.exact = frozenset(plain)
        self.others = tuple(p for p in patterns if p not in self.exact)

    def fit(self, value: str | None) -> bool:
        if value is None:
            return False
        return value in self.exact or any(labels.matches(p, value) for p in self.others)


class Spec:
    """A compiled `ResourceSpecification`: every label must fit."""

    __slots__ = ("_labels",)

    def __init__(self, spec: models.ResourceSpecification) -> None:
        self._labels = tuple((label, _Values(values)) for label, values in spec.items_as_lists())

    @property
    def matches_all(self) -> bool:
        """Whether it is empty (every resource fits)."""
        return not self._labels

    def exact_key(self) -> tuple[str, frozenset[str]] | None:
        """A label this spec allows only exact values of, and those values, to index it by.

        A name or id tells resources apart best; a role least. None: no label is exact.
        """
        exact = {label: values.exact for label, values in self._labels if not values.others}
        for label in (*_PREFERRED, *sorted(exact)):
            if exact.get(label):
                return label, exact[label]
        return None

    def fits(self, resource: Mapping[str, str]) -> bool:
        """Whether `resource` has every label with a fitting value."""
        return all(values.fit(resource.get(label)) for label, values in self._labels)

    def fits_any(self, resources: Sequence[Mapping[str, str]]) -> bool:
        """Whether some resource of `resources` fits (any does if it is empty)."""
        return not self._labels or any(self.fits(each) for each in resources)


def related_matcher(trigger: models.MetricTrigger | models.EventTrigger) -> tuple[Spec, ...]:
    """The trigger's `match_related` specs, compiled, empty ones left out."""
    compiled = (Spec(spec) for spec in trigger.related_specs())
    return tuple(spec for spec in compiled if not spec.matches_all)


def related_key(specs: Iterable[Spec]) -> tuple[str, frozenset[str]] | None:
    """A label and values some related resource must have for `specs` to fit, or None.

    Every spec must fit, so any one spec's exact label will do.
    """
    keys = [key for key in (spec.exact_key() for spec in specs) if key is not None]
    preferred = [key for key in keys if key[0] in _PREFERRED]
    best = preferred or keys
    return best[0] if best else None


class Names:
    """A set of event names: exact, `prefix*`, or `!negated`; empty matches every name."""

    __slots__ = ("_exact", "_others", "everything")

    def __init__(self, names: Iterable[str]) -> None:
        names = set(names)
        self.everything = not names
        self._exact = frozenset(n for n in names if not n.startswith("!") and not n.endswith("*"))
        self._others = tuple(n for n in names if n not in self._exact)

    def __contains__(self, name: str) -> bool:
        if self.everything or name in self._exact:
            return True
        return any(labels.matches(p, name) for p in self._others)
