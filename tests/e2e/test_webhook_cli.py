"""`tarry webhook ...` run as a user would, in its own process, and a real server receiving."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tarry.storage import events
from tarry.testing import TestHarness
from tests.conftest import run_tarry
from tests.e2e import live

TEMPLATE = (
    '{"event": "shop.order.{{ body.status }}",'
    ' "resource": {"prefect.resource.id": "shop.order.{{ body.order }}"},'
    ' "payload": {"total": {{ body.total }}}}'
)


def _ok(home: Path, *args: str) -> str:
    done = run_tarry(home, *args)
    assert done.returncode == 0, (args, done.stderr)
    return done.stdout.strip()


def _value(output: str, label: str) -> str:
    [line] = [line for line in output.splitlines() if line.startswith(f"{label}: ")]
    return line.removeprefix(f"{label}: ")


def test_create_from_a_file_then_a_request_with_the_secret_makes_an_event(
    harness: TestHarness, tmp_path: Path
) -> None:
    home = harness.host.settings.home
    template = tmp_path / "order.j2"
    template.write_text(TEMPLATE)

    made = _ok(home, "webhook", "create", "shop", "--template", str(template), "--slug", "shop-1")
    secret = _value(made, "secret")
    assert made.splitlines()[0] == "created webhook shop (enabled)"
    assert _value(made, "url").endswith("/api/webhooks/shop-1")

    with live.live_server(harness.host, worker=False) as base:
        url = f"{base}/api/webhooks/shop-1"
        order = {"order": 7, "status": "paid", "total": 12.5}
        sent = httpx.post(url, json=order, headers={"X-Tarry-Webhook-Secret": secret})
        assert sent.status_code == 202, sent.text
        wrong = httpx.post(url, json=order, headers={"X-Tarry-Webhook-Secret": "nope"})
        assert wrong.status_code == 403

    [event] = harness.host.store.list_events(events.EventFilter(names=("shop.*",)))
    assert (event.id, event.event) == (sent.json()["id"], "shop.order.paid")
    assert event.resource_id == "shop.order.7"
    assert json.loads(event.payload) == {"total": 12.5}


def test_ls_inspect_rotate_disable_enable_and_delete(harness: TestHarness) -> None:
    home = harness.host.settings.home
    first = _ok(home, "webhook", "create", "shop", "--template-json", TEMPLATE, "--slug", "s1")

    assert "s1" in _ok(home, "webhook", "ls")
    [listed] = json.loads(_ok(home, "webhook", "ls", "--json"))
    assert "secret" not in listed
    assert listed["slug"] == "s1"
    shown = _ok(home, "webhook", "inspect", "shop")
    assert shown.splitlines()[0].startswith("webhook shop (enabled, id ")
    assert TEMPLATE in shown
    rotated = _ok(home, "webhook", "rotate-secret", "s1")
    assert _value(rotated, "secret") != _value(first, "secret")
    assert harness.host.store.get_webhook("s1").secret == _value(rotated, "secret")  # type: ignore[union-attr]
    assert _ok(home, "webhook", "disable", "shop") == "disabled webhook shop"
    assert harness.host.store.get_webhook("shop").enabled is False  # type: ignore[union-attr]
    assert _ok(home, "webhook", "enable", "shop") == "enabled webhook shop"
    assert _ok(home, "webhook", "delete", "shop", "--yes") == "deleted webhook shop"
    assert harness.host.store.list_webhooks() == []


def test_a_bad_template_is_refused_with_its_reason_and_nothing_is_made(
    harness: TestHarness,
) -> None:
    home = harness.host.settings.home

    broken = run_tarry(home, "webhook", "create", "a", "--template-json", "{{ nope")
    no_id = run_tarry(
        home, "webhook", "create", "b", "--template-json", '{"event": "x", "resource": {}}'
    )
    missing = run_tarry(home, "webhook", "inspect", "nothing")

    assert broken.returncode == 1
    assert "does not compile" in broken.stderr
    assert no_id.returncode == 1
    assert "tarry.resource.id" in no_id.stderr
    assert missing.returncode == 1
    assert "no webhook" in missing.stderr
    assert harness.host.store.list_webhooks() == []
