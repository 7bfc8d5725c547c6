"""Contract: task results cached across runs, by key, with expiry and overwrite."""

from __future__ import annotations

import dataclasses
import json
import threading
from typing import TYPE_CHECKING

from tarry.states import StepKind, StepStatus
from tarry.storage import records
from tests.contract.support import T0, new_id, run_record

if TYPE_CHECKING:
    from pathlib import Path

    from tarry.storage import Store
    from tests.contract.support import Adapter


def entry(key: str = "k1", value: object = 42, **fields: object) -> records.CacheEntry:
    base = records.CacheEntry(key, "add", json.dumps(value), T0, None, new_id(), "1")
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def test_a_stored_entry_is_found_by_its_key_and_no_other(store: Store) -> None:
    stored = entry("k1", {"total": 3})
    store.put_cached(stored)

    assert store.get_cached("k1", T0) == stored
    assert store.get_cached("k2", T0) is None


def test_an_entry_is_found_until_it_expires_and_not_from_then_on(store: Store) -> None:
    store.put_cached(entry("k1", expires_at=T0 + 60))

    assert store.get_cached("k1", T0 + 59.9) is not None
    assert store.get_cached("k1", T0 + 60) is None
    assert store.get_cached("k1", T0 + 3600) is None


def test_an_entry_without_expiry_is_found_at_any_time(store: Store) -> None:
    store.put_cached(entry("k1"))

    assert store.get_cached("k1", T0 + 10 * 365 * 86400) is not None


def test_storing_a_key_again_replaces_its_result_and_expiry(store: Store) -> None:
    store.put_cached(entry("k1", 1, expires_at=T0 + 10))
    again = entry("k1", 2, created_at=T0 + 20, expires_at=T0 + 100, task_name="add-v2")
    store.put_cached(again)

    assert store.get_cached("k1", T0 + 50) == again


def test_an_expired_key_stored_again_is_found_again(store: Store) -> None:
    store.put_cached(entry("k1", 1, expires_at=T0 + 10))
    assert store.get_cached("k1", T0 + 20) is None

    store.put_cached(entry("k1", 2, created_at=T0 + 20, expires_at=T0 + 80))

    found = store.get_cached("k1", T0 + 30)
    assert found is not None
    assert json.loads(found.result) == 2


def test_concurrent_writers_of_one_key_leave_one_whole_entry(store: Store) -> None:
    writers = [
        entry("shared", {"writer": n, "pad": "x" * 500}, task_name=f"t{n}") for n in range(16)
    ]
    start = threading.Barrier(len(writers))

    def write(e: records.CacheEntry) -> None:
        start.wait()
        store.put_cached(e)

    threads = [threading.Thread(target=write, args=(e,)) for e in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    found = store.get_cached("shared", T0)
    assert found in writers  # one writer's entry, not a mix of two


def test_concurrent_writers_of_many_keys_all_land(store: Store) -> None:
    keys = [f"k{n}" for n in range(40)]
    threads = [threading.Thread(target=store.put_cached, args=(entry(k, k),)) for k in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    found = {k: store.get_cached(k, T0) for k in keys}
    assert {k: json.loads(e.result) if e else None for k, e in found.items()} == {
        k: k for k in keys
    }


def test_a_step_keeps_the_cache_key_it_was_served_from(store: Store) -> None:
    run = run_record()
    store.insert_run(run)
    step = records.StepRecord(
        run.id,
        "1",
        "add",
        StepKind.TASK,
        "d",
        StepStatus.COMPLETED,
        T0,
        T0,
        result="3",
        attempts=0,
        cached_from="k1",
    )
    store.put_step(step)

    assert store.get_step(run.id, "1") == step
    assert store.get_steps(run.id) == [step]


def test_cached_entries_outlive_the_store_process(durable_adapter: Adapter, tmp_path: Path) -> None:
    first = durable_adapter.open(tmp_path)
    try:
        first.put_cached(entry("k1", [1, 2]))
    finally:
        first.close()
    second = durable_adapter.open(tmp_path)
    try:
        found = second.get_cached("k1", T0)
    finally:
        second.close()
    assert found is not None
    assert json.loads(found.result) == [1, 2]


def test_a_result_and_a_key_come_back_exactly_as_stored(store: Store) -> None:
    result = '{"name":"Zoë 🦦","kanji":"東京","esc":"a\\"b\\\\c\\u0000","n":1.5e300}'
    key = "rate:Łódź/" + "f" * 300
    store.put_cached(entry(key, result=result))

    found = store.get_cached(key, T0)

    assert found is not None
    assert (found.key, found.result) == (key, result)
