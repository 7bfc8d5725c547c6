"""The REST API's bodies for concurrency limits (re-exported by `tarry.web.schemas`).

The bounds are those `tarry.concurrency` applies, said in the OpenAPI document: a
value out of them is a 422 before anything is looked up. A name the pattern lets
through but `tarry.concurrency` still refuses (`.`, `..`, only spaces, a character
that does not print) is a 409 with the reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import pydantic

from tarry import boundary, concurrency, limit_service

__all__ = [
    "LIMIT_NAME_PATTERN",
    "ConcurrencyLimitIn",
    "ConcurrencyLimitOut",
    "ConcurrencyLimitUpdate",
    "SlotHolderOut",
]

LIMIT_NAME_PATTERN = r"^[^/%&<>\\\x00-\x1f\x7f]{1,200}$"
"""A limit's name: 1 to 200 characters, none of `/ % & < > \\` or a control character."""

#: A limit's size and decay rate in a body: JSON's `true` is refused, not read as 1.
_NOT_BOOL = pydantic.BeforeValidator(boundary.refuse_bool)
SlotCount = Annotated[int, pydantic.Field(ge=0, le=concurrency.MAX_LIMIT), _NOT_BOOL]
DecayRate = Annotated[float, pydantic.Field(ge=0, allow_inf_nan=False), _NOT_BOOL]


def _at(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


def _limit(default: Any) -> Any:
    return pydantic.Field(
        default,
        description="The most slots in use at once (0 holds everyone back).",
    )


def _decay(default: float | None) -> Any:
    return pydantic.Field(
        default,
        description="How fast slots taken by `rate_limit` free themselves, per second; "
        "0: they do not (a rate limit needs more).",
    )


class SlotHolderOut(pydantic.BaseModel):
    """Slots of a limit held by one holder: a run's task or block, or a process's block."""

    holder: str = pydantic.Field(description="Who holds them (a run's step, or a block).")
    run_id: str | None = pydantic.Field(description="The run holding them, if any.")
    slots: int = pydantic.Field(description="How many.")
    owner: str = pydantic.Field(description="The process whose lease keeps them.")
    acquired_at: dt.datetime = pydantic.Field(description="When they were taken.")
    expires_at: dt.datetime | None = pydantic.Field(
        description="When the lease lapses unless renewed; `null` while the run is suspended."
    )

    @classmethod
    def of(cls, held: concurrency.SlotHolder) -> SlotHolderOut:
        """From a stored holder."""
        return cls(
            holder=held.holder,
            run_id=held.run_id,
            slots=held.slots,
            owner=held.owner,
            acquired_at=_at(held.acquired_at),
            expires_at=None if held.expires_at is None else _at(held.expires_at),
        )


class ConcurrencyLimitOut(pydantic.BaseModel):
    """A global concurrency limit, its slots in use now and who holds them."""

    name: str = pydantic.Field(description="How code names it: `concurrency(name)`.")
    tag: str | None = pydantic.Field(
        description="The task tag it limits (its name is `tag:TAG`), or `null`."
    )
    limit: int = pydantic.Field(description="The most slots in use at once.")
    active: bool = pydantic.Field(description="An inactive limit is not enforced.")
    active_slots: int = pydantic.Field(
        description="Slots in use now: held ones and rate-limit slots not yet decayed."
    )
    slot_decay_per_second: float = pydantic.Field(
        description="How fast rate-limit slots free themselves."
    )
    denied_slots: int = pydantic.Field(description="Slots asked for and refused, over its life.")
    holders: list[SlotHolderOut] = pydantic.Field(description="Who holds slots, oldest first.")
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, status: limit_service.LimitStatus) -> ConcurrencyLimitOut:
        """From a limit as read now."""
        limit = status.limit
        return cls(
            name=limit.name,
            tag=status.tag,
            limit=limit.limit,
            active=limit.active,
            active_slots=status.active_slots,
            slot_decay_per_second=limit.slot_decay_per_second,
            denied_slots=limit.denied_slots,
            holders=[SlotHolderOut.of(held) for held in status.holders],
            created_at=_at(limit.created_at),
            updated_at=_at(limit.updated_at),
        )


class ConcurrencyLimitIn(pydantic.BaseModel):
    """A global concurrency limit to make; a tag's limit is named `tag:TAG`."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: str = pydantic.Field(pattern=LIMIT_NAME_PATTERN, description="Its unique name.")
    limit: SlotCount = _limit(...)
    slot_decay_per_second: DecayRate = _decay(0.0)
    active: bool = pydantic.Field(True, description="An inactive limit is not enforced.")


class ConcurrencyLimitUpdate(pydantic.BaseModel):
    """A change to a limit: fields left out (or `null`) stay; slots held stay held."""

    model_config = pydantic.ConfigDict(extra="forbid")

    limit: SlotCount | None = _limit(None)
    slot_decay_per_second: DecayRate | None = _decay(None)
    active: bool | None = pydantic.Field(None, description="Enforce it, or not.")
