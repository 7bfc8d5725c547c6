"""`tarry events ls` and `tarry events stream`, run as a user would, on the SQLite file this
process writes events to."""

from __future__ import annotations

import json
import subprocess
import sys

from tarry.events import emit_event
from tarry.storage.events import EventFilter
from tarry.testing import TestHarness
from tests.conftest import ROOT, run_tarry, subprocess_env


def test_ls_lists_events_newest_first_with_filters(harness: TestHarness) -> None:
    home = harness.host.settings.home
    emit_event(
        "shop.order.placed", {"tarry.resource.id": "shop.order.1", "tarry.resource.name": "one"}
    )
    emit_event("shop.order.paid", {"tarry.resource.id": "shop.order.1"})
    emit_event("shop.cart.filled", {"tarry.resource.id": "shop.cart.1"})

    done = run_tarry(home, "events", "ls", "--event", "shop.order.*", "--json")
    assert done.returncode == 0, done.stderr
    assert [e["event"] for e in json.loads(done.stdout)] == ["shop.order.paid", "shop.order.placed"]
    table = run_tarry(home, "events", "ls", "--resource", "shop.cart.*")
    assert "shop.cart.filled" in table.stdout
    assert "shop.order" not in table.stdout
    bad = run_tarry(home, "events", "ls", "--event", "shop.*.paid")
    assert bad.returncode == 1
    assert "--event: '*' is only at the end, for a prefix" in bad.stderr


def test_stream_prints_new_events_as_json_lines_as_they_are_stored(harness: TestHarness) -> None:
    home = harness.host.settings.home
    emit_event("shop.old", {"tarry.resource.id": "shop.1"})  # before the stream: not printed
    args = ["events", "stream", "--event", "shop.order.*", "--format", "json", "--count", "2"]
    stream = subprocess.Popen(
        [sys.executable, "-m", "tarry", *args],
        env=subprocess_env(home),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert stream.stderr is not None
        # Its first line says where it starts: events stored from then on are printed.
        assert stream.stderr.readline().startswith("following events after seq ")
        emit_event("shop.other", {"tarry.resource.id": "shop.2"})
        emit_event("shop.order.placed", {"tarry.resource.id": "shop.order.7"})
        emit_event("shop.order.paid", {"tarry.resource.id": "shop.order.7"})
        printed, errors = stream.communicate(timeout=30)
    finally:
        stream.kill()
    assert stream.returncode == 0, errors
    lines = [json.loads(line) for line in printed.splitlines()]
    assert [line["event"] for line in lines] == ["shop.order.placed", "shop.order.paid"]
    assert lines[0]["resource"]["tarry.resource.id"] == "shop.order.7"


def test_stream_text_after_a_seq_prints_one_line_each(harness: TestHarness) -> None:
    home = harness.host.settings.home
    first = emit_event("shop.a", {"tarry.resource.id": "shop.1", "tarry.resource.name": "one"})
    emit_event("shop.b", {"tarry.resource.id": "shop.2"})
    assert first is not None
    [stored] = harness.host.store.list_events(EventFilter(names=("shop.a",)))

    done = run_tarry(home, "events", "stream", "--after", str(stored.seq - 1), "--count", "2")

    assert done.returncode == 0, done.stderr
    [a, b] = done.stdout.splitlines()
    assert a.endswith("shop.a  shop.1 (one)")
    assert b.endswith("shop.b  shop.2")
