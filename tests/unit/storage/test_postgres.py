"""PostgreSQL adapter specifics: many processes at once, wake-up notifications, set-up errors.

Each store here stands for another process: it has its own connections, and the
threads that use the stores at once race as separate workers would.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg
import pytest

from tarry import errors, storage
from tarry.states import RunState, WaitStatus
from tarry.storage import (
    MessageRecord,
    RunRecord,
    StateChange,
    events,
    open_store,
    postgres_ops,
    records,
)
from tarry.storage.postgres import PostgresStore, _describe
from tests.conftest import empty_postgres_schema, postgres_session_url
from tests.contract.support import (
    LEASE,
    NOW,
    T0,
    eventually,
    leased_run,
    log_record,
    receive,
    run_record,
    wait_close,
    wait_record,
    waiting_change,
)

T = TypeVar("T")
WORKERS = 4


@pytest.fixture
def url() -> str:
    empty_postgres_schema()
    return postgres_session_url()


@pytest.fixture
def stores(url: str) -> Iterator[list[PostgresStore]]:
    """One store per simulated process."""
    opened = [PostgresStore(url, max_connections=2) for _ in range(WORKERS)]
    yield opened
    for store in opened:
        store.close()


def at_once(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run the calls in threads released together; their results in order."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(run, call) for call in calls]]


def waiting_run(store: PostgresStore, *, suspended: bool = False) -> tuple[RunRecord, str]:
    run = leased_run(store)
    wait = wait_record(run.id, created_at=NOW)
    store.open_waits([wait], waiting_change(release=suspended))
    return run, wait.id


# -- many workers at once --------------------------------------------------------------


def test_each_pending_run_is_claimed_by_exactly_one_of_many_workers(
    stores: list[PostgresStore],
) -> None:
    runs = {run_record(created_at=T0 + i % 7).id for i in range(120)}
    for run_id in runs:
        stores[0].insert_run(run_record(run_id), durable=False)

    def drain(store: PostgresStore, owner: str) -> list[str]:
        claimed: list[str] = []
        while batch := store.claim_runs(owner, LEASE, NOW, (), limit=5):
            claimed += [run.id for run in batch]
        return claimed

    per_worker = at_once(
        [functools.partial(drain, store, f"host:{n}:1") for n, store in enumerate(stores)]
    )

    claimed = [run_id for worker in per_worker for run_id in worker]
    assert sorted(claimed) == sorted(runs)
    for run_id in runs:
        assert [t.to_state for t in stores[0].get_transitions(run_id)] == [
            RunState.PENDING,
            RunState.RUNNING,
        ]


@pytest.mark.parametrize("suspended", [False, True], ids=["resident", "suspended"])
def test_of_concurrent_answers_to_one_wait_exactly_one_wins(
    stores: list[PostgresStore], suspended: bool
) -> None:
    for _ in range(5):
        run, wait_id = waiting_run(stores[0], suspended=suspended)
        wait = stores[0].get_wait(wait_id)
        assert wait is not None
        closes = [wait_close(wait, at=NOW + 5, responder=f"r{n}") for n in range(WORKERS)]

        outcomes = at_once(
            [functools.partial(s.close_wait, c) for s, c in zip(stores, closes, strict=True)]
        )

        winners = [o for o in outcomes if o is not None and o.won]
        assert len(winners) == 1
        stored = stores[0].get_wait(wait_id)
        assert stored is not None
        assert stored.responder == winners[0].wait.responder
        assert all(o is not None and o.wait == stored for o in outcomes)
        assert len(stores[0].get_steps(run.id)) == 1
        moved_on = [
            t for t in stores[0].get_transitions(run.id) if t.from_state is RunState.WAITING
        ]
        assert len(moved_on) == 1


def test_a_cancel_racing_an_answer_leaves_one_consistent_outcome(
    stores: list[PostgresStore],
) -> None:
    for _ in range(8):
        run, wait_id = waiting_run(stores[0], suspended=True)
        wait = stores[0].get_wait(wait_id)
        assert wait is not None

        calls: list[Callable[[], object]] = [
            functools.partial(stores[1].close_wait, wait_close(wait, at=NOW + 5)),
            functools.partial(stores[2].cancel_run, run.id, NOW + 5, "stop"),
        ]
        answered, cancelled = at_once(calls)

        assert isinstance(answered, records.WaitClosed)
        assert isinstance(cancelled, records.RunsCancelled)
        stored = stores[0].get_wait(wait_id)
        assert stored is not None
        if answered.won:
            assert (stored.status, cancelled.wait_ids) == (WaitStatus.ANSWERED, [])
        else:
            assert (stored.status, cancelled.wait_ids) == (WaitStatus.CANCELLED, [wait_id])
        final = stores[0].get_run(run.id)
        assert final is not None
        assert final.state is RunState.CANCELLED


def test_of_concurrent_sends_of_one_key_one_is_stored(stores: list[PostgresStore]) -> None:
    run = leased_run(stores[0])
    for round_ in range(5):
        messages = [
            MessageRecord(run_id=run.id, key=f"k{round_}", data=json.dumps(n), sent_at=NOW)
            for n in range(WORKERS)
        ]

        sent = at_once(
            [functools.partial(s.send_message, m) for s, m in zip(stores, messages, strict=True)]
        )

        assert sum(s.created for s in sent) == 1
        assert len({s.message for s in sent}) == 1
    assert len(stores[0].messages_of_run(run.id)) == 5


def test_of_concurrent_sends_to_one_receive_exactly_one_is_delivered(
    stores: list[PostgresStore],
) -> None:
    run = leased_run(stores[0])
    stores[0].open_waits([receive(run)], waiting_change(label="message"))
    messages = [
        MessageRecord(run_id=run.id, key=f"m{n}", data=json.dumps(n), sent_at=NOW)
        for n in range(WORKERS)
    ]

    sent = at_once(
        [functools.partial(s.send_message, m) for s, m in zip(stores, messages, strict=True)]
    )

    assert sum(s.closed is not None for s in sent) == 1
    statuses = sorted(m.status for m in stores[0].messages_of_run(run.id))
    assert statuses == ["pending"] * (WORKERS - 1) + ["received"]
    assert len(stores[0].get_steps(run.id)) == 1


def test_of_concurrent_ends_of_one_run_exactly_one_wins(stores: list[PostgresStore]) -> None:
    for _ in range(5):
        run = leased_run(stores[0])
        ends = [
            StateChange(RunState.COMPLETED, NOW, result=f'"{n}"', require_owner=run.lease_owner)
            for n in range(WORKERS)
        ]

        outcomes = at_once(
            [
                functools.partial(s.transition, run.id, (RunState.RUNNING,), end)
                for s, end in zip(stores, ends, strict=True)
            ]
        )

        winners = [o for o in outcomes if o is not None]
        assert len(winners) == 1
        assert stores[0].get_run(run.id) == winners[0]
        assert winners[0].lease_owner is None
        ended = [t for t in stores[0].get_transitions(run.id) if t.to_state.is_final]
        assert len(ended) == 1


def test_a_claim_without_limits_and_a_transition_are_one_statement_each(
    stores: list[PostgresStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each statement outside a transaction commits by itself: one round trip, one commit.
    # A claim reads its pool's plan first (one read, no transaction).
    sent: list[str] = []
    real = psycopg.Cursor.execute

    def execute(
        cur: psycopg.Cursor[Any], query: str, params: Any = None, **kw: Any
    ) -> psycopg.Cursor[Any]:
        sent.append(query)
        done: psycopg.Cursor[Any] = real(cur, query, params, **kw)
        return done

    run = run_record()
    stores[0].insert_run(run)
    monkeypatch.setattr(psycopg.Cursor, "execute", execute)

    [claimed] = stores[0].claim_runs("host:1:1", LEASE, NOW, (), limit=5)
    end = StateChange(RunState.COMPLETED, NOW + 1, result="1", require_owner="host:1:1")
    ended = stores[0].transition(claimed.id, (RunState.RUNNING,), end)
    refused = stores[0].transition(claimed.id, (RunState.RUNNING,), end)

    queries = postgres_ops.QUERIES
    assert sent == [
        queries["claim_plan"],
        queries["claim_runs"],
        queries["transition_run"],
        queries["transition_run"],
    ]
    assert ended is not None
    assert (ended.state, ended.result, ended.ended_at) == (RunState.COMPLETED, "1", NOW + 1)
    assert refused is None


def test_a_deadlock_is_retried(
    stores: list[PostgresStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = postgres_ops.in_transaction
    tries: list[int] = []

    def deadlocked_once(
        conn: psycopg.Connection[object], op: Callable[[object], T], **kw: bool
    ) -> T:
        tries.append(1)
        if len(tries) == 1:
            raise psycopg.errors.DeadlockDetected("deadlock detected")
        return real(conn, op, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(postgres_ops, "in_transaction", deadlocked_once)
    run = run_record()
    stores[0].insert_run(run)

    # A transaction of several statements (a transition of one is never in a deadlock).
    cancelled = stores[0].cancel_run(run.id, NOW, "no longer wanted")

    assert cancelled is not None
    assert [r.state for r in cancelled.runs] == [RunState.CANCELLED]
    assert len(tries) == 2


# -- wake-up notifications -------------------------------------------------------------


@pytest.fixture
def heard(url: str) -> Iterator[Callable[[set[str]], list[dict[str, str]]]]:
    """`heard(run_ids)`: the `tarry_wake` payloads about those runs so far, in order."""
    conn = psycopg.connect(url, autocommit=True)
    conn.execute("LISTEN tarry_wake")
    payloads: list[dict[str, str]] = []

    def read(run_ids: set[str]) -> list[dict[str, str]]:
        # Other test sessions may share the database: keep only these runs' news.
        for notify in conn.notifies(timeout=0.2):
            payloads.append(json.loads(notify.payload))
        return [p for p in payloads if p["run_id"] in run_ids]

    yield read
    conn.close()


def test_a_pending_run_is_announced_when_stored(
    stores: list[PostgresStore], heard: Callable[[set[str]], list[dict[str, str]]]
) -> None:
    pending, running = run_record(), leased_run(stores[0])
    stores[0].insert_run(pending)
    stores[0].insert_run(dataclasses.replace(run_record(), state=RunState.SCHEDULED))

    assert heard({pending.id, running.id}) == [{"event": "run_ready", "run_id": pending.id}]


def test_an_answer_is_announced_and_a_losing_one_is_not(
    stores: list[PostgresStore], heard: Callable[[set[str]], list[dict[str, str]]]
) -> None:
    run, wait_id = waiting_run(stores[0], suspended=True)
    wait = stores[0].get_wait(wait_id)
    assert wait is not None

    stores[0].close_wait(wait_close(wait, at=NOW + 5))
    stores[1].close_wait(wait_close(wait, at=NOW + 6, responder="late"))

    assert heard({run.id}) == [
        {"event": "wait_closed", "run_id": run.id, "wait_id": wait_id},
        {"event": "run_ready", "run_id": run.id},
    ]


def test_an_end_is_announced_and_a_refused_one_is_not(
    stores: list[PostgresStore], heard: Callable[[set[str]], list[dict[str, str]]]
) -> None:
    run = leased_run(stores[0])
    end = StateChange(RunState.FAILED, NOW, error='"boom"', require_owner=run.lease_owner)

    stores[0].transition(run.id, (RunState.RUNNING,), end)
    stores[1].transition(run.id, (RunState.RUNNING,), end)

    assert heard({run.id}) == [{"event": "run_ended", "run_id": run.id}]


def test_a_cancel_announces_the_run_and_its_closed_waits(
    stores: list[PostgresStore], heard: Callable[[set[str]], list[dict[str, str]]]
) -> None:
    run, wait_id = waiting_run(stores[0])

    stores[1].cancel_run(run.id, NOW + 5, "stop")

    assert heard({run.id}) == [
        {"event": "run_cancelled", "run_id": run.id},
        {"event": "wait_closed", "run_id": run.id, "wait_id": wait_id},
    ]


# -- opening, and what the adapter stores --------------------------------------------


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_open_store_picks_postgres_for_its_urls(url: str, scheme: str) -> None:
    store = open_store(url.replace("postgresql://", f"{scheme}://", 1))
    try:
        assert isinstance(store, PostgresStore)
    finally:
        store.close()


def test_without_psycopg_a_postgres_url_is_a_configuration_error(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if the postgres extra were not installed, and tarry's adapter not imported yet.
    monkeypatch.setitem(sys.modules, "psycopg", None)
    for module in ("tarry.storage.postgres", "tarry.storage.postgres_ops"):
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.delattr(storage, "postgres")
    monkeypatch.delattr(storage, "postgres_ops")

    with pytest.raises(errors.ConfigurationError, match=r"tarry\[postgres\]"):
        open_store(url)


def test_an_unreachable_server_is_reported_at_once_with_its_address() -> None:
    started = time.monotonic()

    with pytest.raises(errors.StoreError, match=r"127\.0\.0\.1:1/nowhere"):
        PostgresStore("postgresql://postgres:secret@127.0.0.1:1/nowhere")

    assert time.monotonic() - started < 5


def test_the_store_names_its_database_without_the_password(url: str) -> None:
    assert _describe("postgresql://ada:secret@db.example:6543/tarry") == "db.example:6543/tarry"
    store = PostgresStore(url)
    try:
        assert repr(store).startswith("PostgresStore('127.0.0.1:5432/")
    finally:
        store.close()


def test_a_lazy_run_is_seen_by_another_process_at_once(stores: list[PostgresStore]) -> None:
    run = run_record()

    assert stores[0].insert_run(run, durable=False) is True

    assert stores[1].get_run(run.id) == run
    assert stores[0].insert_run(run, durable=False) is False


def test_log_lines_reach_other_processes_without_another_write(
    stores: list[PostgresStore],
) -> None:
    run = run_record()
    stores[0].insert_run(run)
    lines = [log_record(run.id, f"line {n}") for n in range(3)]

    stores[0].add_logs(lines)

    assert eventually(lambda: stores[1].get_logs(run.id), lambda got: len(got) == 3) == lines


def test_a_nul_in_a_log_line_is_marked_and_lines_of_unknown_runs_are_dropped(
    stores: list[PostgresStore],
) -> None:
    run = run_record()
    stores[0].insert_run(run)

    stores[0].add_logs([log_record("no-such-run", "lost"), log_record(run.id, "a\x00b")])

    assert [log.message for log in stores[0].get_logs(run.id)] == ["a\ufffdb"]


# -- events ------------------------------------------------------------------------------


def _event(name: str) -> events.EventRecord:
    return events.EventRecord(
        str(uuid.uuid4()), NOW, name, {events.RESOURCE_ID: "shop.order.1"}, received=NOW
    )


def test_events_stored_by_one_process_ring_the_others(stores: list[PostgresStore]) -> None:
    rung = threading.Event()
    stop = stores[1].subscribe_events(rung.set)
    try:
        time.sleep(0.3)  # the listener's LISTEN takes a turn of its loop
        stores[0].add_events([_event("shop.order.placed")])
        assert rung.wait(5.0)
    finally:
        stop()


def test_a_reader_never_passes_an_event_still_in_flight(
    stores: list[PostgresStore], url: str
) -> None:
    start = stores[0].last_event_seq()
    early = _event("shop.early")
    with psycopg.connect(url) as conn:  # a transaction that took its seq and has not committed
        conn.execute(postgres_ops.QUERIES["event_lock"])
        conn.execute(
            postgres_ops.QUERIES["add_events"],
            postgres_ops.columns([events.to_params(early)]),
        )
        stores[1].add_events([_event("shop.late")])  # a higher seq, committed first

        assert stores[2].events_after(start, 10) == []
        conn.commit()

    found = stores[2].events_after(start, 10)
    assert [e.event for e in found] == ["shop.early", "shop.late"]
