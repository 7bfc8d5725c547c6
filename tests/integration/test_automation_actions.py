"""Automation actions through the real store: what each does, its retries, its failures."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tarry import flow, pool_service, receive_input
from tarry.automation_runtime import (
    ActionRunner,
    AutomationEvaluator,
    actions,
    effects,
    job,
    loading,
)
from tarry.states import RunState
from tarry.storage import automations as records
from tarry.storage.events import EventRecord
from tarry.testing import TestHarness, tarry_test_harness
from tarry.triggers import parse


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server: Any = self.server
        status = server.statuses.pop(0) if server.statuses else 200
        server.calls.append((status, dict(self.headers), body.decode()))
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        del format, args


@pytest.fixture
def hook() -> Iterator[Any]:
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.statuses, server.calls = [], []
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def harness() -> Iterator[TestHarness]:
    with tarry_test_harness(fake_clock=True, resident_seconds=0) as h:
        yield h


def _automation(harness: TestHarness, actions_: list[dict[str, Any]], name: str = "a") -> str:
    spec = parse.parse_automation(
        {"name": name, "trigger": {"expect": ["test.go"]}, "actions": actions_}
    )
    now = harness.clock.now()
    record = loading.to_record(
        spec, automation_id=str(uuid.uuid4()), created_at=now, updated_at=now
    )
    assert harness.store.put_automation(record, create=True)
    # The first round ever starts at the newest event: what came before is history.
    AutomationEvaluator(harness.host).evaluate_once()
    return record.id


def _go(
    harness: TestHarness, resource: str, payload: dict[str, Any] | None = None, **related: str
) -> None:
    event = EventRecord(
        id=str(uuid.uuid4()),
        occurred=harness.clock.now(),
        event="test.go",
        resource={"tarry.resource.id": resource},
        related=tuple(
            {"tarry.resource.id": value, "tarry.resource.role": role.replace("_", "-")}
            for role, value in related.items()
        ),
        payload=json.dumps(payload or {}),
    )
    harness.store.add_events([event])
    AutomationEvaluator(harness.host).evaluate_once()


def _settled(harness: TestHarness, automation_id: str) -> list[records.ActionRecord]:
    [(_, rows)] = harness.store.firings_of(automation_id)
    return rows


def test_a_failing_webhook_is_retried_with_a_growing_delay_then_succeeds(
    harness: TestHarness, hook: Any
) -> None:
    automation_id = _automation(
        harness,
        [{"type": "call-webhook", "url": hook.url, "payload": '{"saw": "{{ event.payload.n }}"}'}],
    )
    hook.statuses = [503, 500]
    _go(harness, "thing.1", {"n": 7})
    runner = ActionRunner(harness.host)
    assert runner.run_due() == 1
    [row] = _settled(harness, automation_id)
    assert row.status is records.ActionStatus.PENDING
    assert row.due_at == harness.clock.now() + actions.retry_delay(0)
    assert "answered 503" in row.detail
    assert runner.run_due() == 0  # not due yet
    harness.advance(actions.retry_delay(0))
    runner.run_due()
    harness.advance(actions.retry_delay(1))
    runner.run_due()
    [row] = _settled(harness, automation_id)
    assert row.status is records.ActionStatus.DONE
    assert row.attempts == 3
    statuses = [status for status, _, _ in hook.calls]
    assert statuses == [503, 500, 200]
    keys = {headers["Idempotency-Key"] for _, headers, _ in hook.calls}
    assert len(keys) == 1  # the same identity at every try
    assert json.loads(hook.calls[-1][2]) == {"saw": "7"}


def test_a_webhook_that_refuses_the_call_fails_at_once(harness: TestHarness, hook: Any) -> None:
    automation_id = _automation(harness, [{"type": "call-webhook", "url": hook.url}])
    hook.statuses = [404]
    _go(harness, "thing.1")
    ActionRunner(harness.host).run_due()
    [row] = _settled(harness, automation_id)
    assert row.status is records.ActionStatus.FAILED
    assert "answered 404" in row.detail


def test_a_template_that_cannot_render_fails_its_action_with_the_reason(
    harness: TestHarness,
) -> None:
    automation_id = _automation(
        harness,
        [
            {
                "type": "call-webhook",
                "url": "http://127.0.0.1:9/x",
                "payload": "{{ nothing.here }}",
            },
            {"type": "do-nothing"},
        ],
    )
    _go(harness, "thing.1")
    ActionRunner(harness.host).run_due()
    broken, fine = _settled(harness, automation_id)
    assert broken.status is records.ActionStatus.FAILED
    assert "'nothing' is undefined" in broken.detail
    assert fine.status is records.ActionStatus.DONE


@flow
def listener() -> list[str]:
    heard: list[str] = []
    for text in receive_input(str, timeout=3600):
        heard.append(text)
        if len(heard) == 2:
            break
    return heard


def test_send_input_reaches_the_run_once_even_when_run_twice(harness: TestHarness) -> None:
    automation_id = _automation(
        harness, [{"type": "send-input", "value": "hello {{ event.payload.who }}"}]
    )
    run = harness.start(listener)
    run.wait_for(RunState.WAITING)
    _go(harness, "thing.1", {"who": "ada"}, flow_run=f"tarry.flow-run.{run.id}")
    ActionRunner(harness.host).run_due()
    [row] = _settled(harness, automation_id)
    assert row.status is records.ActionStatus.DONE
    [firing_and_rows] = harness.store.firings_of(automation_id)
    # Acting again (a crash before settling) sends nothing new: the key is the same.
    action = parse.parse_actions([json.loads(row.action)])[0]
    effects.perform(job.make_job(harness.host, firing_and_rows[0], row, action))
    harness.send(run.id, "bye")
    assert run.result() == ["hello ada", "bye"]


def test_inferred_targets_pause_the_pool_cancel_the_run_and_disable_the_automation(
    harness: TestHarness,
) -> None:
    pool_service.create_work_pool("gpu", hst=harness.host)
    automation_id = _automation(
        harness,
        [
            {"type": "pause-work-pool", "source": "inferred"},
            {"type": "cancel-flow-run"},
            {"type": "pause-automation", "source": "inferred"},
        ],
    )
    run = harness.start(listener)
    run.wait_for(RunState.WAITING)
    _go(harness, f"tarry.flow-run.{run.id}", work_pool="tarry.work-pool.gpu")
    ActionRunner(harness.host).run_due()
    assert [row.status for row in _settled(harness, automation_id)] == [
        records.ActionStatus.DONE
    ] * 3
    assert pool_service.get_work_pool("gpu", hst=harness.host).pool.paused
    assert run.wait_for(RunState.CANCELLED).state is RunState.CANCELLED
    stored = harness.store.get_automation(automation_id)
    assert stored is not None
    assert not stored.enabled
    # Disabled, it fires no more.
    _go(harness, "thing.2")
    assert len(harness.store.firings_of(automation_id)) == 1


def test_an_action_without_a_target_fails_saying_what_to_give(harness: TestHarness) -> None:
    automation_id = _automation(harness, [{"type": "cancel-flow-run"}])
    _go(harness, "thing.1")
    ActionRunner(harness.host).run_due()
    [row] = _settled(harness, automation_id)
    assert row.status is records.ActionStatus.FAILED
    assert "names no flow run; give `flow_run_id`" in row.detail
