"""The reads both SQL stores make the same way: one named query, rows mapped to records.

`SqliteStore` and `PostgresStore` inherit them; each supplies `_read`, which runs
a named query of its dialect (`sql/<dialect>/queries.sql`) and returns rows that
read by column name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tarry.storage import outbox, records, rules
from tarry.storage import rows as mapping
from tarry.storage import schedule_rows as slots_mapping

__all__ = ["NamedReads", "list_runs_params"]


def list_runs_params(where: records.RunFilter, array: Callable[[list[str]], Any]) -> dict[str, Any]:
    """Parameters of the named query `list_runs` that selects what `where` asks for.

    Args:
        where: Which runs.
        array: How the dialect sends a list of strings (SQLite: as JSON text;
            PostgreSQL: as an array, which psycopg makes of a list).
    """
    parent = where.parent_id
    return {
        "any_state": not where.states,
        "states": array([s.value for s in where.states]),
        "flow_name": where.flow_name,
        "name": where.name,
        "deployment": where.deployment,
        "any_parent": isinstance(parent, records.Unset),
        "parent_id": None if isinstance(parent, records.Unset) else parent,
        "limit": where.limit,
        "offset": where.offset,
    }


class NamedReads:
    """`Store` reads made by one named query each."""

    def _read(self, query: str, params: dict[str, Any]) -> Sequence[Any]:
        raise NotImplementedError

    # -- RunStore ---------------------------------------------------------------

    def get_run(self, run_id: str) -> records.RunRecord | None:
        """See `Store.get_run`."""
        rows = self._read("get_run", {"id": run_id})
        return mapping.run_from_row(rows[0]) if rows else None

    def get_transitions(self, run_id: str) -> list[records.TransitionRecord]:
        """See `Store.get_transitions`."""
        rows = self._read("get_transitions", {"run_id": run_id})
        return [mapping.transition_from_row(row) for row in rows]

    # -- JournalStore -----------------------------------------------------------

    def get_steps(self, run_id: str) -> list[records.StepRecord]:
        """See `Store.get_steps`."""
        steps = [mapping.step_from_row(row) for row in self._read("get_steps", {"run_id": run_id})]
        return sorted(steps, key=lambda s: rules.step_order(s.key))

    def get_step(self, run_id: str, key: str) -> records.StepRecord | None:
        """See `Store.get_step`."""
        rows = self._read("get_step", {"run_id": run_id, "key": key})
        return mapping.step_from_row(rows[0]) if rows else None

    # -- WaitStore --------------------------------------------------------------

    def get_wait(self, wait_id: str) -> records.WaitRecord | None:
        """See `Store.get_wait`."""
        rows = self._read("get_wait", {"id": wait_id})
        return mapping.wait_from_row(rows[0]) if rows else None

    def waits_of_run(self, run_id: str) -> list[records.WaitRecord]:
        """See `Store.waits_of_run`."""
        return [mapping.wait_from_row(r) for r in self._read("waits_of_run", {"run_id": run_id})]

    def open_inputs(
        self, run_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[records.WaitRecord]:
        """See `Store.open_inputs`."""
        params = {"run_id": run_id, "limit": limit, "offset": offset}
        return [mapping.wait_from_row(r) for r in self._read("open_inputs", params)]

    def closed_waits_since(self, since: float) -> list[tuple[str, str, float]]:
        """See `Store.closed_waits_since`."""
        rows = self._read("closed_waits_since", {"since": since})
        return [(r["id"], r["run_id"], r["closed_at"]) for r in rows]

    # -- EarlyInputStore --------------------------------------------------------

    def pending_early_inputs(self, run_id: str, name: str) -> list[records.EarlyInput]:
        """See `Store.pending_early_inputs`."""
        params = {"run_id": run_id, "name": name}
        return [mapping.early_from_row(r) for r in self._read("pending_early_inputs", params)]

    # -- MessageStore -----------------------------------------------------------

    def messages_of_run(
        self, run_id: str, *, sent: bool = False, limit: int = 200
    ) -> list[records.MessageRecord]:
        """See `Store.messages_of_run`."""
        query = "messages_from_run" if sent else "messages_to_run"
        rows = self._read(query, {"run_id": run_id, "limit": limit})
        return [mapping.message_from_row(row) for row in rows]

    def message_with_key(self, run_id: str, key: str) -> records.MessageRecord | None:
        """See `Store.message_with_key`."""
        rows = self._read("message_with_key", {"run_id": run_id, "key": key})
        return mapping.message_from_row(rows[0]) if rows else None

    # -- CatalogStore -----------------------------------------------------------

    def get_deployment(self, name: str) -> records.DeploymentRecord | None:
        """See `Store.get_deployment`."""
        rows = self._read("get_deployment", {"name": name})
        return mapping.deployment_from_row(rows[0]) if rows else None

    def list_deployments(self, limit: int = 50, offset: int = 0) -> list[records.DeploymentRecord]:
        """See `Store.list_deployments`."""
        rows = self._read("list_deployments", {"limit": limit, "offset": offset})
        return [mapping.deployment_from_row(row) for row in rows]

    def get_variable(self, name: str) -> str | None:
        """See `Store.get_variable`."""
        rows = self._read("get_variable", {"name": name})
        return str(rows[0]["value"]) if rows else None

    # -- OutboxStore ------------------------------------------------------------

    def outbox_of_run(self, run_id: str) -> list[outbox.OutboxItem]:
        """See `OutboxStore.outbox_of_run`."""
        return [outbox.item_from_row(r) for r in self._read("outbox_of_run", {"run_id": run_id})]

    def next_outbox_due(self) -> float | None:
        """See `OutboxStore.next_outbox_due`."""
        due = self._read("next_outbox_due", {})[0]["due_at"]
        return None if due is None else float(due)

    # -- ScheduleStore (reads) --------------------------------------------------

    def list_schedules(
        self, deployment: str | None = None, *, active_only: bool = False
    ) -> list[records.ScheduleRecord]:
        """See `Store.list_schedules`."""
        params = {"deployment": deployment, "active_only": active_only}
        return [slots_mapping.schedule_from_row(r) for r in self._read("list_schedules", params)]

    def due_slots(self, now: float, limit: int) -> list[records.SlotRecord]:
        """See `Store.due_slots`."""
        rows = self._read("due_slots", {"now": now, "limit": limit})
        return [slots_mapping.slot_from_row(row) for row in rows]

    def upcoming_runs(
        self, deployment: str, limit: int = 50
    ) -> list[tuple[records.SlotRecord, records.RunRecord]]:
        """See `Store.upcoming_runs`."""
        rows = self._read("upcoming_slots", {"deployment": deployment, "limit": limit})
        return [
            (
                records.SlotRecord(
                    deployment, r["slot_at"], r["slug"], r["run_id"], bool(r["released"])
                ),
                mapping.run_from_row(r),
            )
            for r in rows
        ]
