"""The pure parts of events: filters, the read horizon, the stream's reader."""

from __future__ import annotations

from tarry.client_event_calls import StreamReader
from tarry.storage import events


def _event(name: str, resource: str = "shop.1", seq: int = 1) -> events.EventRecord:
    return events.EventRecord("id", 10.0, name, {events.RESOURCE_ID: resource}, seq=seq)


def test_a_filter_matches_names_and_resources_exactly_or_by_prefix() -> None:
    where = events.EventFilter(names=("shop.order.*", "shop.cart.filled"), resource_id="shop.*")

    assert events.matches(_event("shop.order.placed"), where)
    assert events.matches(_event("shop.cart.filled"), where)
    assert not events.matches(_event("shop.cart.emptied"), where)
    assert not events.matches(_event("shop.order.placed", resource="crm.1"), where)


def test_the_horizon_holds_back_seqs_while_their_writers_are_in_flight() -> None:
    horizon = events.Horizon()

    assert horizon.advance(5, frozenset()) == 5  # nobody writes: all given out is final
    assert horizon.advance(9, frozenset({"a"})) == 5  # 6..9 may be a's, not committed yet
    assert horizon.advance(12, frozenset({"a", "b"})) == 5  # a still in flight
    assert horizon.advance(14, frozenset({"b"})) == 9  # a is gone: what it could hold is final
    assert horizon.advance(14, frozenset()) == 14


def test_the_stream_reader_returns_each_event_when_its_frame_ends() -> None:
    reader = StreamReader()
    lines = [
        ": tarry event stream",
        "",
        "id: 7",
        'data: {"event": "shop.x", "resource": {"tarry.resource.id": "shop.1"}, "seq": 7}',
        "",
        ": heartbeat",
        "",
    ]

    found = [e for e in map(reader.feed, lines) if e is not None]

    assert [(e.event, e.seq) for e in found] == [("shop.x", 7)]
    assert reader.last_seq == 7
