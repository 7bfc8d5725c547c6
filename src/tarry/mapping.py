"""What `Task.map` maps over, as Prefect decides it: every iterable argument, by name.

`task.map(xs, y=ys)` makes one call per position of the iterables (positional and
keyword alike), all of the same length; any other argument, and any argument wrapped
in `unmapped(...)`, is passed whole to every call. Strings and bytes are values, not
iterables of characters. A future given whole is resolved first, so a task's list
result can be mapped without `.result()`.
"""

from __future__ import annotations

import io
from typing import Any, Generic, NamedTuple, TypeVar

from tarry import futures
from tarry.errors import MappingLengthMismatch, MappingMissingIterable

__all__ = ["Call", "calls", "unmapped"]

T = TypeVar("T")


class Call(NamedTuple):
    """The arguments of one call a `map` makes."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]


# Lower case as Prefect's: it reads as a call wrapping the argument.
class unmapped(Generic[T]):
    """An argument of `Task.map` passed whole to every call instead of mapped over.

    Args:
        value: What each call receives.

    Example:
        `add.map([1, 10], unmapped(2))` calls `add(1, 2)` and `add(10, 2)`.
    """

    def __init__(self, value: T) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"unmapped({self.value!r})"


def calls(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Call]:
    """The arguments of each call `map(*args, **kwargs)` makes, in order.

    Raises:
        errors.MappingMissingIterable: No argument is iterable.
        errors.MappingLengthMismatch: The iterables differ in length.
    """
    given = {**{f"argument {i + 1}": value for i, value in enumerate(args)}, **kwargs}
    split = {name: _split(value) for name, value in given.items()}
    lengths = {name: len(items) for name, (mapped, items) in split.items() if mapped}
    if not lengths:
        raise MappingMissingIterable(
            "map needs at least one iterable argument to map over; got " + _show(given)
        )
    if len(set(lengths.values())) > 1:
        raise MappingLengthMismatch(
            f"the iterable arguments of map differ in length: {lengths}; give them one"
            " length, or wrap the ones every call shares in unmapped(...)"
        )
    return [_call(args, kwargs, split, i) for i in range(next(iter(lengths.values())))]


def _call(
    args: tuple[Any, ...], kwargs: dict[str, Any], split: dict[str, tuple[bool, Any]], i: int
) -> Call:
    values = [
        mapped_items[i] if mapped else mapped_items for mapped, mapped_items in split.values()
    ]
    return Call(tuple(values[: len(args)]), dict(zip(kwargs, values[len(args) :], strict=True)))


def _split(value: Any) -> tuple[bool, Any]:
    # (True, the items) for an argument mapped over, (False, the value) for one passed whole.
    if isinstance(value, futures.TarryFuture):
        value = value.result()
    if isinstance(value, unmapped):
        return False, value.value
    if _iterable(value):
        return True, list(value)
    return False, value


def _iterable(value: Any) -> bool:
    if isinstance(value, (str, bytes, io.IOBase)):
        return False
    try:
        iter(value)
    except TypeError:
        return False
    return True


def _show(given: dict[str, Any]) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in given.items()) or "no arguments"
