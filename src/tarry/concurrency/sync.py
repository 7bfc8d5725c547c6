"""`concurrency` and `rate_limit` for sync code (Prefect's `prefect.concurrency.sync`).

For example:

    from tarry.concurrency.sync import concurrency, rate_limit

    with concurrency("db", occupy=2, timeout_seconds=30):
        write_rows()

    rate_limit("api")  # waits until the limit's decay lets one more through
    call_api()

The async twins are in `tarry.concurrency.asyncio`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from tarry import errors, host
from tarry.engine import context
from tarry.engine import limits as engine_limits
from tarry.storage import limits

__all__ = [
    "AcquireConcurrencySlotTimeoutError",
    "ConcurrencySlotAcquisitionError",
    "concurrency",
    "rate_limit",
]

AcquireConcurrencySlotTimeoutError = errors.AcquireConcurrencySlotTimeoutError
ConcurrencySlotAcquisitionError = errors.ConcurrencySlotAcquisitionError


@contextlib.contextmanager
def concurrency(  # noqa: PLR0917 - Prefect's signature, positional as there
    names: str | Sequence[str],
    occupy: int = 1,
    timeout_seconds: float | None = None,
    max_retries: int | None = None,
    lease_duration: float | None = None,
    strict: bool = False,
) -> Iterator[None]:
    """Hold `occupy` slots of each limit in `names` for the block's length.

    Args:
        names: A limit's name, or several (all are taken at once, or none).
        occupy: Slots of each limit to hold.
        timeout_seconds: Wait at most this long for room (`None`: as long as it takes).
        max_retries: Give up after this many refused tries.
        lease_duration: Seconds the slots stay held if this process stops renewing
            them (it dies); the host's lease (`TARRY_LEASE_SECONDS`) by default.
        strict: Fail when a limit does not exist (else a missing limit does not limit).

    Raises:
        AcquireConcurrencySlotTimeoutError: No room in time (a `TimeoutError`).
        errors.ConcurrencyLimitMissing: `strict`, and a limit does not exist.
        ConcurrencySlotAcquisitionError: The slots can never be taken (more than the limit).
    """
    hst = _host()
    acquisition = engine_limits.new_acquisition(
        names,
        occupy,
        limits.SlotMode.CONCURRENCY,
        timeout_seconds=timeout_seconds,
        max_retries=max_retries,
        lease_duration=lease_duration,
        strict=strict,
        host=hst,
    )
    held = engine_limits.acquire(hst, acquisition)
    outcome: BaseException | None = None
    try:
        yield
    except BaseException as exc:
        outcome = exc
        raise
    finally:
        held.settle(outcome)


def rate_limit(
    names: str | Sequence[str],
    occupy: int = 1,
    timeout_seconds: float | None = None,
    strict: bool = False,
) -> None:
    """Wait until each limit in `names` lets `occupy` more through, and take them.

    The slots are not given back: they free themselves at the limit's
    `slot_decay_per_second`, which must be more than 0.

    Raises:
        AcquireConcurrencySlotTimeoutError: No room in time (a `TimeoutError`).
        errors.ConcurrencyLimitMissing: `strict`, and a limit does not exist.
        ConcurrencySlotAcquisitionError: A limit has no decay, or fewer slots than `occupy`.
    """
    hst = _host()
    acquisition = engine_limits.new_acquisition(
        names,
        occupy,
        limits.SlotMode.RATE_LIMIT,
        timeout_seconds=timeout_seconds,
        strict=strict,
        host=hst,
    )
    engine_limits.acquire(hst, acquisition)


def _host() -> host.Host:
    ctx = context.current_run()
    return ctx.host if ctx is not None else host.get_host()
