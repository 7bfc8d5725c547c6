"""A report whose region only the server can check (no form constraint shows it)."""

from __future__ import annotations

import time
from typing import Annotated

from pydantic import AfterValidator

from tarry import flow, task


def _known_region(code: str) -> str:
    if code not in {"eu", "us"}:
        raise ValueError(f"unknown region {code!r}: use eu or us")
    return code


@task
def build(region: str, days: int) -> str:
    time.sleep(1.0)  # long enough for the run page to show it Running
    return f"{days}-day report for {region}"


@flow
def nightly_report(region: Annotated[str, AfterValidator(_known_region)], days: int = 7) -> str:
    """Builds the nightly report of one region."""
    return build(region, days)
