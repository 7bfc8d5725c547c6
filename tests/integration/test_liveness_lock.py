"""The liveness lock's rule on PostgreSQL: a process that loses it gives its owner name up.

A worker's runs are taken over at once when PostgreSQL releases its liveness lock, which it
does when the connection holding it ends: the process died, or only that connection broke.
In the second case the process still lives, and another may be taking its runs over already;
so it must never act under that name again. It stops the runs executing under it (at their
next step) and goes on under a new name, and the old name's runs are taken over as a dead
process's (by any process, this one too).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tarry import config, host
from tarry.states import RunState
from tarry.storage import Store, open_store
from tests.contract.support import eventually, run_record

ELSEWHERE = "tarry-elsewhere:1:1"
"""Another process, on another host."""
FAR = 4_000_000_000.0
"""A lease that lasts long past the test: only the lock can free the run."""
SECONDS = 10.0
"""Generous: the listening thread looks every quarter of a second."""


@pytest.fixture
def hst(postgres_url: str) -> Iterator[host.Host]:
    made = host.Host(config.Settings(database_url=postgres_url))
    yield made
    made.close()


@pytest.fixture
def other(postgres_url: str, hst: host.Host) -> Iterator[Store]:
    del hst  # migrates the schema first
    opened = open_store(postgres_url)
    yield opened
    opened.close()


_LOCK_SESSIONS = (
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted"
    " AND ((classid::bigint << 32) | objid::bigint)"
    " = hashtextextended(current_schema() || '/' || %s, 0)"
)
"""The session holding an owner's liveness lock (a bigint key: high and low halves)."""


def _lock_sessions(url: str, owner: str) -> list[int]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [int(str(pid)) for (pid,) in conn.execute(_LOCK_SESSIONS, (owner,))]


def _break_lock_connection(url: str, owner: str) -> None:
    """End the session that holds `owner`'s liveness lock, as a network cut or a restart would."""
    [pid] = _lock_sessions(url, owner)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


def _leased(store: Store, owner: str) -> str:
    run = run_record(state=RunState.RUNNING, lease_owner=owner, lease_expires_at=FAR)
    store.insert_run(run)
    return run.id


def test_a_live_holder_is_never_taken_for_gone(hst: host.Host, other: Store) -> None:
    hst.hold_owner(wait=True)
    _leased(other, hst.owner)

    assert eventually(other.gone_owners, bool, timeout=1.0) == []


def test_a_process_that_loses_its_lock_stops_its_runs_and_they_are_taken_over(
    hst: host.Host, other: Store, postgres_url: str
) -> None:
    hst.hold_owner(wait=True)
    first = hst.owner
    run_id = _leased(other, first)
    hst.track(run_id)
    try:
        _break_lock_connection(postgres_url, first)

        eventually(lambda: hst.owner, lambda owner: owner != first, timeout=SECONDS)
        assert hst.owner == f"{first}~2"
        reason = hst.hub.aborted(run_id)
        assert reason is not None
        assert "lost its lock" in reason
        gone = eventually(other.gone_owners, bool, timeout=SECONDS)
        assert gone == [first]
        [taken] = other.claim_runs(ELSEWHERE, FAR, 1.0, gone, limit=10)
        assert (taken.id, taken.lease_owner) == (run_id, ELSEWHERE)
        # The new name holds a lock of its own: its runs are not taken for a gone process's.
        eventually(lambda: _lock_sessions(postgres_url, hst.owner), bool, timeout=SECONDS)
        _leased(other, hst.owner)
        assert eventually(other.gone_owners, bool, timeout=1.0) == []
    finally:
        hst.untrack(run_id)
