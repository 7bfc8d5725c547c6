"""What the current run is, from inside it: `tarry.runtime.flow_run.id` and friends.

Mirrors `prefect.runtime.flow_run`. Outside a run every attribute is `None`
(`parameters` is `{}`).
"""

from __future__ import annotations

from typing import Any

from tarry import serialization
from tarry.engine import context, spec

__all__ = ["flow_run"]


class _FlowRun:
    """Attributes of the run executing the calling code."""

    @property
    def id(self) -> str | None:
        """The run's id."""
        ctx = context.current_run()
        return ctx.run.id if ctx else None

    @property
    def name(self) -> str | None:
        """The run's name, such as `brave-otter`."""
        ctx = context.current_run()
        return ctx.run.name if ctx else None

    @property
    def flow_name(self) -> str | None:
        """The name of the flow it runs."""
        ctx = context.current_run()
        return ctx.run.flow_name if ctx else None

    @property
    def parameters(self) -> dict[str, Any]:
        """The parameters it was called with (also while its `flow_run_name` function runs)."""
        naming = spec.naming_parameters()
        if naming is not None:
            return naming
        ctx = context.current_run()
        return serialization.loads(ctx.run.parameters) if ctx else {}

    @property
    def parent_id(self) -> str | None:
        """The id of the run that started it as a child, if any."""
        ctx = context.current_run()
        return ctx.run.parent_id if ctx else None

    @property
    def run_count(self) -> int | None:
        """Which attempt of the flow this is, from 1."""
        ctx = context.current_run()
        return ctx.journal.attempt if ctx else None


flow_run = _FlowRun()
