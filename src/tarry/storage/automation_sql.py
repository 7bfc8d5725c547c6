"""Automations on both SQL stores: rows, the reads they share, and writes by named query.

`SqliteStore` and `PostgresStore` inherit `AutomationWrites` through their mixins
(`sqlite_automations`, `postgres_automations`); each runs a write in one
transaction of its dialect through the named queries of
`sql/<dialect>/automations.sql`, which have the same names and columns in both.
`commit_evaluation` is the dialect's own (`commit_statements` says what it writes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from tarry import errors
from tarry.storage import automations

__all__ = [
    "AutomationReads",
    "AutomationWrites",
    "Execute",
    "action_from_row",
    "automation_from_row",
    "automation_params",
    "commit_statements",
    "cursor_params",
    "firing_from_row",
]

T = TypeVar("T")

Execute = Callable[[str, dict[str, Any]], Sequence[Any]]
"""Runs a named query with parameters; returns rows that read by column name."""

_ACTION_COLUMNS = ("action", "attempts", "detail", "due_at", "settled_at")
_FIRING_COLUMNS = ("automation_id", "fired_at", "kind", "key", "triggering_event", "context")


def automation_params(record: automations.AutomationRecord) -> dict[str, Any]:
    """Query parameters of an automation."""
    return dataclasses.asdict(record)


def automation_from_row(row: Any) -> automations.AutomationRecord:
    """The automation an `automations` row holds."""
    fields = {f.name: row[f.name] for f in dataclasses.fields(automations.AutomationRecord)}
    return automations.AutomationRecord(**{**fields, "enabled": bool(row["enabled"])})


def firing_from_row(row: Any) -> automations.FiringRecord:
    """The firing a row of `due_actions` or `firings_of` holds (its id is column `id`)."""
    return automations.FiringRecord(id=row["id"], **{c: row[c] for c in _FIRING_COLUMNS})


def action_from_row(row: Any) -> automations.ActionRecord:
    """The action a row of `due_actions` or `firings_of` holds."""
    return automations.ActionRecord(
        firing_id=row["id"],
        index=row["action_index"],
        status=automations.ActionStatus(row["status"]),
        **{c: row[c] for c in _ACTION_COLUMNS},
    )


def cursor_params(commit: automations.EvaluationCommit) -> dict[str, Any]:
    """Parameters of `move_automation_cursor` for `commit`."""
    return {
        "before": commit.cursor_before,
        "after": commit.cursor_after,
        "commits": commit.commits_before,
        "at": commit.at,
    }


def commit_statements(
    commit: automations.EvaluationCommit,
) -> list[tuple[str, list[dict[str, Any]]]]:
    """What `commit` writes once the cursor moved: `(named query, parameter rows)` in order.

    Deletes come before puts, so a key deleted and put again is stored; each
    action takes its firing's id.
    """
    firings = [dataclasses.asdict(f) for f, _ in commit.firings]
    actions = [{**_action_params(a), "firing_id": f.id} for f, of in commit.firings for a in of]
    return [
        ("delete_trigger_state", [_key_params(key) for key in commit.delete_states]),
        ("delete_automation_timer", [_key_params(key) for key in commit.delete_timers]),
        ("put_trigger_state", [dataclasses.asdict(s) for s in commit.put_states]),
        ("put_automation_timer", [dataclasses.asdict(t) for t in commit.put_timers]),
        ("insert_firing", firings),
        ("insert_firing_action", actions),
    ]


def _record(kind: type[T], row: Any) -> T:
    # The dataclass of `kind` whose fields are all columns of `row`.
    return kind(**{f.name: row[f.name] for f in dataclasses.fields(kind)})  # type: ignore[arg-type]


def _key_params(key: automations.StateKey) -> dict[str, Any]:
    return {"automation_id": key[0], "key": key[1]}


def _action_params(action: automations.ActionRecord) -> dict[str, Any]:
    params = {c: getattr(action, c) for c in _ACTION_COLUMNS}
    status = automations.ActionStatus(action.status).value
    return {**params, "action_index": action.index, "status": status}


def _firings(
    rows: Sequence[Any],
) -> list[tuple[automations.FiringRecord, list[automations.ActionRecord]]]:
    found: dict[str, tuple[automations.FiringRecord, list[automations.ActionRecord]]] = {}
    for row in rows:
        _, actions = found.setdefault(row["id"], (firing_from_row(row), []))
        if row["action_index"] is not None:
            actions.append(action_from_row(row))
    return list(found.values())


class AutomationReads:
    """The `AutomationStore` reads of both SQL stores."""

    def _read(self, query: str, params: dict[str, Any]) -> Sequence[Any]:
        raise NotImplementedError

    def get_automation(self, id_or_name: str) -> automations.AutomationRecord | None:
        """See `Store.get_automation`."""
        rows = self._read("get_automation", {"id_or_name": id_or_name})
        return automation_from_row(rows[0]) if rows else None

    def list_automations(self) -> list[automations.AutomationRecord]:
        """See `Store.list_automations`."""
        return [automation_from_row(row) for row in self._read("list_automations", {})]

    def evaluator_state(self) -> automations.EvaluatorState:
        """See `Store.evaluator_state`."""
        # The cursor first: a commit made while the rest is read moves it.
        (cursor,) = self._read("automation_cursor", {})
        states = [
            automations.TriggerStateRecord(
                r["automation_id"], r["key"], r["state"], r["updated_at"]
            )
            for r in self._read("trigger_states", {})
        ]
        timers = [
            automations.AutomationTimer(r["automation_id"], r["key"], r["due_at"])
            for r in self._read("automation_timers", {})
        ]
        return automations.EvaluatorState(cursor["seq"], states, timers, cursor["commits"])

    def due_actions(
        self, now: float, limit: int
    ) -> list[tuple[automations.FiringRecord, automations.ActionRecord]]:
        """See `Store.due_actions`."""
        rows = self._read("due_actions", {"now": now, "limit": limit})
        return [(firing_from_row(row), action_from_row(row)) for row in rows]

    def firings_of(
        self, automation_id: str, limit: int = 50
    ) -> list[tuple[automations.FiringRecord, list[automations.ActionRecord]]]:
        """See `Store.firings_of`."""
        return _firings(self._read("firings_of", {"automation_id": automation_id, "limit": limit}))


class AutomationWrites(AutomationReads):
    """The `AutomationStore` writes of both SQL stores but `commit_evaluation`."""

    def _automation_write(self, op: Callable[[Execute], T], *, durable: bool = True) -> T:
        raise NotImplementedError

    def _automation_statement(
        self, query: str, params: dict[str, Any], *, durable: bool = True
    ) -> Sequence[Any]:
        """Run one named write as its own transaction; the rows it returned."""
        return self._automation_write(lambda execute: execute(query, params), durable=durable)

    def put_automation(self, record: automations.AutomationRecord, *, create: bool) -> bool:
        """See `Store.put_automation`."""
        params = automation_params(record)

        def op(execute: Execute) -> bool:
            if bool(execute("automation_exists", {"id": record.id})) == create:
                return False
            if execute("automation_name_taken", {"name": record.name, "id": record.id}):
                raise errors.AutomationNameTaken(record.name)
            return bool(execute("insert_automation" if create else "update_automation", params))

        return self._automation_write(op)

    def delete_automation(self, automation_id: str) -> bool:
        """See `Store.delete_automation`."""

        def op(execute: Execute) -> bool:
            # The automation's row first: from then on, a commit that would write a
            # state for it waits for this delete, then writes none (PostgreSQL).
            found = bool(execute("delete_automation", {"id": automation_id}))
            execute("delete_automation_states", {"id": automation_id})
            execute("delete_automation_timers", {"id": automation_id})
            return found

        return self._automation_write(op)

    def set_automation_enabled(self, automation_id: str, enabled: bool, at: float) -> bool:
        """See `Store.set_automation_enabled`."""
        params = {"id": automation_id, "enabled": enabled, "at": at}
        return bool(self._automation_statement("set_automation_enabled", params))

    def settle_action(
        self,
        firing_id: str,
        index: int,
        status: automations.ActionStatus,
        detail: str,
        *,
        at: float,
        retry_at: float | None = None,
        durable: bool = True,
    ) -> bool:
        """See `Store.settle_action`."""
        automations.check_settlement(status, retry_at)
        settled = automations.ActionStatus(status) is not automations.ActionStatus.PENDING
        params = {
            "firing_id": firing_id,
            "action_index": index,
            "status": automations.ActionStatus(status).value,
            "detail": detail,
            "retry_at": retry_at,
            "settled_at": at if settled else None,
        }
        return bool(self._automation_statement("settle_action", params, durable=durable))
