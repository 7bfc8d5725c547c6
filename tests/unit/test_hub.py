"""The in-process hub: who is woken, and what a handed-over run becomes."""

from __future__ import annotations

from tarry.hub import Hub
from tarry.states import RunState
from tests.contract.support import run_record


def test_a_run_handed_over_reaches_one_caller_once() -> None:
    hub = Hub()
    run = run_record(state=RunState.RUNNING)
    signal = hub.watch_run(run.id, [run.id, "child"])

    assert hub.hand_over(run)

    assert signal.wait(0)
    assert hub.take_handed(run.id) == run
    assert hub.take_handed(run.id) is None
    assert hub.unwatch_run(run.id, signal) is None


def test_a_run_nobody_awaits_is_not_handed_over() -> None:
    hub = Hub()
    run = run_record(state=RunState.RUNNING)

    assert not hub.hand_over(run)
    assert hub.take_handed(run.id) is None


def test_the_last_caller_to_stop_watching_gets_back_an_untaken_run() -> None:
    hub = Hub()
    run = run_record(state=RunState.RUNNING)
    first, second = hub.watch_run(run.id, []), hub.watch_run(run.id, [])
    hub.hand_over(run)

    assert hub.unwatch_run(run.id, first) is None
    assert hub.unwatch_run(run.id, second) == run
    assert hub.awaited_root(run.id) is None


def test_a_member_of_a_watched_chain_leads_to_its_root() -> None:
    hub = Hub()
    signal = hub.watch_run("root", ["root", "child", "grandchild"])

    assert hub.awaited_root("grandchild") == "root"
    assert hub.awaited_root("root") == "root"
    assert hub.awaited_root("stranger") is None
    hub.unwatch_run("root", signal)
    assert hub.awaited_root("grandchild") is None


def test_closes_made_here_are_remembered_until_the_watcher_passes_them() -> None:
    hub = Hub()
    hub.note_closed_here("old", 10.0)
    hub.note_closed_here("new", 20.0)

    hub.forget_closed_before(15.0)

    assert not hub.was_closed_here("old")
    assert hub.was_closed_here("new")
