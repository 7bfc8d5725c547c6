"""The `AutomationStore` protocol: automations, the evaluator's durable state, firings, actions.

Part of the `Store` union (`storage.port`). The records are in
`storage.automations`; storage reads none of their JSON.
"""

from __future__ import annotations

from typing import Protocol

from tarry.storage import automations

__all__ = ["AutomationStore"]


class AutomationStore(Protocol):
    """Automations, their evaluation state and cursor, and their firings' actions."""

    def put_automation(self, record: automations.AutomationRecord, *, create: bool) -> bool:
        """Create an automation, or update the one with `record.id`.

        An update replaces every field but `created_at`, which stays as stored.

        Args:
            record: The automation as it should be stored.
            create: Create it (`True`) or update an existing one (`False`).

        Returns:
            Whether it was written: `False`, and nothing changed, when `create` and
            an automation has this id, or not `create` and none has.

        Raises:
            errors.AutomationNameTaken: Another automation has this name
                (nothing changed).
        """

    def get_automation(self, id_or_name: str) -> automations.AutomationRecord | None:
        """The automation with this id, else the one with this name.

        Args:
            id_or_name: Its id, or its name.

        Returns:
            The automation, or `None` when none has this id or name.
        """

    def list_automations(self) -> list[automations.AutomationRecord]:
        """Every automation, by name.

        Returns:
            The automations, enabled or not.
        """

    def delete_automation(self, automation_id: str) -> bool:
        """Delete an automation, its trigger states and its timers, in one transaction.

        Its firings and their actions are kept as history (`firings_of` still lists
        them; pending actions stay due).

        Args:
            automation_id: Its id.

        Returns:
            Whether it existed.
        """

    def set_automation_enabled(self, automation_id: str, enabled: bool, at: float) -> bool:
        """Enable or disable an automation; `updated_at` becomes `at`.

        Args:
            automation_id: Its id.
            enabled: The new setting.
            at: When it changed.

        Returns:
            Whether the automation exists.
        """

    def evaluator_state(self) -> automations.EvaluatorState:
        """The evaluator's durable state: the cursor, every trigger state and timer.

        The cursor and the count of commits are read first: a commit made while
        the rest is read changes them, so a commit built on this state is refused.

        Returns:
            The state as committed last (cursor 0 and nothing else on a new store).
        """

    def commit_evaluation(self, commit: automations.EvaluationCommit) -> bool:
        """Write one evaluation's outcome in one transaction, if the cursor is unchanged.

        When the stored cursor equals `commit.cursor_before` (and the count of
        commits `commit.commits_before`, when given), the cursor becomes
        `commit.cursor_after`, the count grows by one and, in the same
        transaction, the states and timers are deleted and put and the firings
        and their actions inserted (each action's `firing_id` is its firing's).
        States, timers and firings of an automation deleted meanwhile are left
        out, and a firing or action already stored (same id, same firing and
        index) stays as it is: firing ids are deterministic, so writing one again
        is a no-op, not an error. Otherwise (another evaluator committed) nothing
        is written.

        Args:
            commit: What to write.

        Returns:
            Whether it was written.

        Raises:
            ValueError: An action's status is not an `ActionStatus` (nothing written).
            errors.StoreError: The write failed (nothing written).
        """

    def due_actions(
        self, now: float, limit: int
    ) -> list[tuple[automations.FiringRecord, automations.ActionRecord]]:
        """Pending actions due by `now`, each with its firing (the context it runs in).

        Args:
            now: The time; actions with `due_at <= now` are due.
            limit: The most to return.

        Returns:
            Up to `limit` `(firing, action)` pairs in `(due_at, firing id, index)` order.
        """

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
        """Record how an attempt of a pending action ended; `attempts` grows by one.

        `DONE` or `FAILED` settle it (`settled_at = at`); `PENDING` with `retry_at`
        keeps it pending, due again at `retry_at`.

        Args:
            firing_id: Its firing.
            index: Its index in the firing.
            status: Its new status.
            detail: What the attempt said.
            at: When the attempt ended.
            retry_at: When to try again (only with `PENDING`).
            durable: `False` lets the write return before it reaches the disk: it
                survives a crash of the process, but a power loss may undo it, and
                the action is then due again. Fine for an action whose effect is
                idempotent by its `(firing_id, index)` identity.

        Returns:
            Whether it was changed: `False` when there is no such action or it is not
            pending any more (settled by another runner).

        Raises:
            ValueError: `PENDING` without `retry_at`, or `retry_at` with another status.
        """

    def firings_of(
        self, automation_id: str, limit: int = 50
    ) -> list[tuple[automations.FiringRecord, list[automations.ActionRecord]]]:
        """An automation's latest firings, newest first, each with its actions by index.

        Args:
            automation_id: The automation (deleted ones keep their firings).
            limit: The most firings to return.

        Returns:
            Up to `limit` firings by `fired_at`, newest first (firings of one commit:
            the last written first).
        """
