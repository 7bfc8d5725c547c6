"""Contract: `Store.list_runs` filters, order and paging."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest

from tarry.states import RunState
from tarry.storage import UNSET, RunFilter
from tests.contract.support import T0, run_record

if TYPE_CHECKING:
    from tarry.storage import RunRecord, Store


@pytest.fixture
def family(store: Store) -> dict[str, RunRecord]:
    """Two top-level runs of different flows, children of each, and a grandchild."""
    runs: dict[str, RunRecord] = {}

    def add(
        label: str,
        created: float,
        *,
        flow: str = "etl",
        state: RunState = RunState.PENDING,
        parent: str | None = None,
    ) -> None:
        record = run_record(
            created_at=T0 + created,
            flow_name=flow,
            state=state,
            parent_id=runs[parent].id if parent else None,
        )
        store.insert_run(record)
        runs[label] = record

    add("etl", 1, state=RunState.COMPLETED)
    add("report", 2, flow="report", state=RunState.WAITING)
    add("etl.child1", 3, parent="etl", flow="extract", state=RunState.COMPLETED)
    add("etl.child2", 4, parent="etl", flow="extract", state=RunState.FAILED)
    add("report.child", 5, parent="report", flow="render")
    add("etl.child1.grandchild", 6, parent="etl.child1", flow="load")
    return runs


def labels(found: list[RunRecord], runs: dict[str, RunRecord]) -> list[str]:
    by_id = {run.id: label for label, run in runs.items()}
    return [by_id[run.id] for run in found]


def test_without_filters_lists_every_run_newest_first(
    store: Store, family: dict[str, RunRecord]
) -> None:
    found = store.list_runs(RunFilter())

    assert labels(found, family) == [
        "etl.child1.grandchild",
        "report.child",
        "etl.child2",
        "etl.child1",
        "report",
        "etl",
    ]
    assert found[-1] == family["etl"]


def test_parent_none_lists_top_level_runs_only(store: Store, family: dict[str, RunRecord]) -> None:
    found = store.list_runs(RunFilter(parent_id=None))

    assert labels(found, family) == ["report", "etl"]


def test_parent_id_lists_that_runs_children_only(
    store: Store, family: dict[str, RunRecord]
) -> None:
    found = store.list_runs(RunFilter(parent_id=family["etl"].id))

    assert labels(found, family) == ["etl.child2", "etl.child1"]


def test_unset_parent_lists_runs_at_every_depth(store: Store, family: dict[str, RunRecord]) -> None:
    assert len(store.list_runs(RunFilter(parent_id=UNSET))) == len(family)


def test_states_filter(store: Store, family: dict[str, RunRecord]) -> None:
    finished = store.list_runs(RunFilter(states={RunState.COMPLETED, RunState.FAILED}))
    pending = store.list_runs(RunFilter(states=[RunState.PENDING]))
    running = store.list_runs(RunFilter(states=(RunState.RUNNING,)))

    assert labels(finished, family) == ["etl.child2", "etl.child1", "etl"]
    assert labels(pending, family) == ["etl.child1.grandchild", "report.child"]
    assert running == []


def test_flow_name_filter(store: Store, family: dict[str, RunRecord]) -> None:
    assert labels(store.list_runs(RunFilter(flow_name="extract")), family) == [
        "etl.child2",
        "etl.child1",
    ]
    assert store.list_runs(RunFilter(flow_name="no-such-flow")) == []


def test_name_filter_finds_every_run_of_that_name(store: Store) -> None:
    older = dataclasses.replace(run_record(created_at=T0 + 1), name="quiet-lynx")
    newer = dataclasses.replace(run_record(created_at=T0 + 2), name="quiet-lynx")
    for record in (older, newer, run_record(created_at=T0 + 3)):
        store.insert_run(record)

    found = store.list_runs(RunFilter(name="quiet-lynx"))

    assert [run.id for run in found] == [newer.id, older.id]
    assert store.list_runs(RunFilter(name="quiet")) == []


def test_filters_combine(store: Store, family: dict[str, RunRecord]) -> None:
    found = store.list_runs(
        RunFilter(states={RunState.COMPLETED}, flow_name="extract", parent_id=family["etl"].id)
    )

    assert labels(found, family) == ["etl.child1"]


def test_limit_and_offset_page_through_the_runs(store: Store, family: dict[str, RunRecord]) -> None:
    everything = store.list_runs(RunFilter())
    pages = [store.list_runs(RunFilter(limit=4, offset=offset)) for offset in (0, 4, 8)]

    assert [len(page) for page in pages] == [4, 2, 0]
    assert pages[0] + pages[1] == everything
    assert store.list_runs(RunFilter(limit=2, offset=1)) == everything[1:3]


def test_default_limit_is_fifty(store: Store) -> None:
    for i in range(55):
        store.insert_run(run_record(created_at=T0 + i))

    found = store.list_runs(RunFilter())

    assert len(found) == 50
    assert [run.created_at for run in found] == [T0 + i for i in range(54, 4, -1)]


def test_runs_created_at_the_same_moment_are_listed_in_a_stable_order(store: Store) -> None:
    for _ in range(6):
        store.insert_run(run_record(created_at=T0))

    pages = [store.list_runs(RunFilter(limit=2, offset=offset)) for offset in (0, 2, 4)]

    assert len({run.id for page in pages for run in page}) == 6
    assert [run for page in pages for run in page] == store.list_runs(RunFilter())
