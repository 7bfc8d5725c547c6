"""The concurrency limit calls the clients send, read without a server."""

from __future__ import annotations

import pytest

from tarry import client_limit_calls, concurrency, errors
from tarry.client_calls import read_response


def test_a_tag_limit_is_named_as_the_engine_names_it() -> None:
    assert client_limit_calls.TAG_PREFIX == concurrency.TAG_PREFIX
    assert client_limit_calls.tag_limit_name("db") == "tag:db"


def test_names_are_quoted_whole_in_the_path() -> None:
    assert (
        client_limit_calls.limit_call("tag:a b/?#").path
        == "concurrency-limits/tag%3Aa%20b%2F%3F%23"
    )
    assert client_limit_calls.reset_limit_call("db").path == "concurrency-limits/db/reset"


def test_an_update_sends_only_what_changes() -> None:
    call = client_limit_calls.update_limit_call(
        "db", limit=None, slot_decay_per_second=0.0, active=False
    )
    assert (call.method, call.body) == ("PATCH", {"slot_decay_per_second": 0.0, "active": False})


def test_a_missing_limit_and_a_refusal_are_the_engines_errors() -> None:
    call = client_limit_calls.limit_call("ghost")
    missing = {"detail": "no concurrency limit named 'ghost'", "code": "not_found"}
    with pytest.raises(errors.ConcurrencyLimitNotFound) as found:
        read_response(call, 404, missing, url="http://x/api", token_sent=False)
    assert found.value.name == "ghost"
    create = client_limit_calls.create_limit_call("db", 1, 0.0, True)
    taken = {"detail": "a concurrency limit named 'db' exists", "code": "concurrency_limit_refused"}
    with pytest.raises(errors.ConcurrencyLimitRefused, match="exists"):
        read_response(create, 409, taken, url="http://x/api", token_sent=False)
    bad = {"detail": "invalid request: body.limit: too small", "code": "invalid_request"}
    with pytest.raises(errors.ConcurrencyLimitRefused, match="too small"):
        read_response(create, 422, bad, url="http://x/api", token_sent=False)


def test_the_tag_list_leaves_out_limits_that_are_not_a_tags() -> None:
    row = {
        "limit": 1,
        "active": True,
        "active_slots": 0,
        "slot_decay_per_second": 0.0,
        "denied_slots": 0,
        "holders": [],
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    body = [{**row, "name": "db", "tag": None}, {**row, "name": "tag:io", "tag": "io"}]
    tags = client_limit_calls.limits_call(tags=True)
    assert [limit.name for limit in tags.read(body)] == ["tag:io"]
    assert len(client_limit_calls.limits_call().read(body)) == 2
