"""Contract: owners a store knows are gone, so their runs are taken over before leases expire.

A process holds its owner's liveness lock (`hold_owner`); a store that can tell (PostgreSQL)
names that owner in `gone_owners` once the process's connection ends, and never before. A
store that cannot tell (memory, SQLite) says so and names no one: leases alone decide there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tarry.states import RunState
from tests.contract.leases.test_leases import running
from tests.contract.support import LEASE, ME, NOW, OTHER, eventually

if TYPE_CHECKING:
    from pathlib import Path

    from tarry.storage import Store
    from tests.contract.support import Adapter

GONE_WITHIN_SECONDS = 10.0
"""Generous: PostgreSQL releases the lock as soon as the closed session's backend exits."""


def test_an_owner_held_here_is_never_gone(store: Store) -> None:
    lost: list[str] = []
    store.hold_owner(ME, lambda: lost.append(ME), wait=True)
    running(store, ME, expires=LEASE)

    assert store.gone_owners() == []
    assert lost == []


def test_a_live_owner_is_not_gone_and_one_whose_process_closed_is(
    durable_adapter: Adapter, tmp_path: Path
) -> None:
    store = durable_adapter.open(tmp_path)
    other = durable_adapter.open(tmp_path)
    lost: list[str] = []
    try:
        can_tell = other.hold_owner(OTHER, lambda: lost.append(OTHER), wait=True)
        theirs = running(store, OTHER, expires=LEASE)

        assert store.gone_owners() == []  # alive: its lock is held
        other.close()
        gone = eventually(store.gone_owners, bool, timeout=GONE_WITHIN_SECONDS)

        assert gone == ([OTHER] if can_tell else [])
        # Its run is claimable at once, though its lease runs until LEASE.
        claimed = store.claim_runs(ME, LEASE + 30, NOW, gone, limit=10)
        assert [c.id for c in claimed] == ([theirs.id] if can_tell else [])
        assert lost == []  # a process that closes its store has lost nothing
    finally:
        other.close()
        store.close()


def test_a_gone_owner_that_leases_nothing_is_forgotten(
    durable_adapter: Adapter, tmp_path: Path
) -> None:
    store = durable_adapter.open(tmp_path)
    other = durable_adapter.open(tmp_path)
    try:
        can_tell = other.hold_owner(OTHER, lambda: None, wait=True)
        theirs = running(store, OTHER, expires=LEASE)
        other.close()
        eventually(store.gone_owners, bool, timeout=GONE_WITHIN_SECONDS if can_tell else 0.01)
        store.claim_runs(ME, LEASE, NOW, [OTHER], limit=10)
        stored = store.get_run(theirs.id)
        assert stored is not None
        assert stored.state is RunState.RUNNING

        assert store.gone_owners() == []
        # Forgotten, not merely leasing nothing now: a run leased to that name later
        # (a clock-skewed or late write) is left to its lease.
        running(store, OTHER, expires=LEASE)
        assert store.gone_owners() == []
    finally:
        other.close()
        store.close()


def test_a_gone_owner_leasing_only_child_runs_is_not_named(
    durable_adapter: Adapter, tmp_path: Path
) -> None:
    # Claims never take a child run (its parent's replay re-enters it): naming its holder
    # would wake every worker for nothing, four times a second.
    store = durable_adapter.open(tmp_path)
    other = durable_adapter.open(tmp_path)
    try:
        can_tell = other.hold_owner(OTHER, lambda: None, wait=True)
        parent = running(store, ME, expires=LEASE)
        running(store, OTHER, expires=LEASE, parent_id=parent.id)
        other.close()

        assert eventually(store.gone_owners, bool, timeout=1.0 if can_tell else 0.01) == []
    finally:
        other.close()
        store.close()
