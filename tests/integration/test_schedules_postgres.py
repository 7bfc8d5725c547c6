"""Two schedulers on one PostgreSQL database (two servers) make each scheduled run once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tarry import config, deployments, host, scheduler
from tarry.schedules import Cron
from tarry.states import RunState
from tarry.storage import RunFilter
from tests.conftest import empty_postgres_schema, postgres_session_url
from tests.integration.test_schedules import ping

START = 1_800_000_000.0  # a whole minute
MINUTES = 100


class SharedClock:
    """The time both servers read, moved by the test (not a `FakeClock`: rounds run when told)."""

    def __init__(self, start: float) -> None:
        self.at = start

    def now(self) -> float:
        """See `Clock.now`."""
        return self.at

    def block_for(self, until: float | None) -> float | None:
        """See `Clock.block_for`."""
        return None if until is None else max(0.0, until - self.at)


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[host.Host, host.Host, SharedClock]]:
    empty_postgres_schema()
    clock = SharedClock(START)
    hosts = [
        host.Host(
            config.Settings(home=tmp_path / name, database_url=postgres_session_url()), clock=clock
        )
        for name in ("a", "b")
    ]
    yield hosts[0], hosts[1], clock
    for each in hosts:
        each.close()


def test_two_schedulers_over_100_minutes_make_exactly_100_runs(
    two_servers: tuple[host.Host, host.Host, SharedClock],
) -> None:
    first, second, clock = two_servers
    deployments.deploy(ping, "each-minute", schedules=[Cron("* * * * *")], hst=first)
    schedulers = [scheduler.Scheduler(first), scheduler.Scheduler(second)]
    released: list[list[str]] = [[], []]
    for _ in range(MINUTES):
        clock.at += 60
        both = threading.Barrier(2)

        def round_of(index: int, both: threading.Barrier) -> None:
            both.wait()  # the two rounds race for the same slots
            released[index] += schedulers[index].tick()

        threads = [threading.Thread(target=round_of, args=(i, both)) for i in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    made = first.store.list_runs(RunFilter(flow_name="ping", limit=500))
    started = [run for run in made if run.state is RunState.PENDING]
    assert len(started) == MINUTES
    assert sorted(released[0] + released[1]) == sorted(run.id for run in started)
    for run in started:
        states = [t.to_state for t in first.store.get_transitions(run.id)]
        assert states == [RunState.SCHEDULED, RunState.PENDING]
    ahead = [run for run in made if run.state is RunState.SCHEDULED]
    assert len(made) == MINUTES + len(ahead)  # the rest are made ahead, once each
