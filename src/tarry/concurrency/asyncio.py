"""`concurrency` and `rate_limit` for async code (Prefect's `prefect.concurrency.asyncio`).

For example:

    from tarry.concurrency.asyncio import concurrency, rate_limit

    async with concurrency("db", occupy=2, timeout_seconds=30):
        await write_rows()

    await rate_limit("api")

They take the same arguments as `tarry.concurrency.sync`'s.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

from tarry import errors, host
from tarry.engine import context
from tarry.engine import limits as engine_limits
from tarry.engine.offloading import offload
from tarry.storage import limits

__all__ = [
    "AcquireConcurrencySlotTimeoutError",
    "ConcurrencySlotAcquisitionError",
    "concurrency",
    "rate_limit",
]

AcquireConcurrencySlotTimeoutError = errors.AcquireConcurrencySlotTimeoutError
ConcurrencySlotAcquisitionError = errors.ConcurrencySlotAcquisitionError


@contextlib.asynccontextmanager
async def concurrency(  # noqa: PLR0917 - Prefect's signature, positional as there
    names: str | Sequence[str],
    occupy: int = 1,
    timeout_seconds: float | None = None,
    max_retries: int | None = None,
    lease_duration: float | None = None,
    strict: bool = False,
) -> AsyncIterator[None]:
    """Async version of `tarry.concurrency.sync.concurrency` (same arguments and errors)."""
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
    held = await engine_limits.acquire_async(hst, acquisition)
    outcome: BaseException | None = None
    try:
        yield
    except BaseException as exc:
        outcome = exc
        raise
    finally:
        await offload(held.settle, outcome)


async def rate_limit(
    names: str | Sequence[str],
    occupy: int = 1,
    timeout_seconds: float | None = None,
    strict: bool = False,
) -> None:
    """Async version of `tarry.concurrency.sync.rate_limit` (same arguments and errors)."""
    hst = _host()
    acquisition = engine_limits.new_acquisition(
        names,
        occupy,
        limits.SlotMode.RATE_LIMIT,
        timeout_seconds=timeout_seconds,
        strict=strict,
        host=hst,
    )
    await engine_limits.acquire_async(hst, acquisition)


def _host() -> host.Host:
    ctx = context.current_run()
    return ctx.host if ctx is not None else host.get_host()
