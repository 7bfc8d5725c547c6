"""Contract: JSON payloads are opaque text that comes back exactly as stored."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tarry.states import RunState, StepStatus
from tarry.storage import StateChange
from tests.contract.support import T0, log_record, run_record, step_record

if TYPE_CHECKING:
    from tarry.storage import Store

UNICODE = '{"name":"Zoë 🦦","city":"Łódź","kanji":"東京","rtl":"שלום","esc":"a\\"b\\\\c\\u0000"}'

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def round_trip(store: Store, payload: str) -> tuple[str, str | None, str | None]:
    """Store `payload` as parameters, run result, step result and step error; read them back."""
    run = run_record(state=RunState.RUNNING, parameters=payload, started_at=T0)
    store.insert_run(run)
    store.transition(
        run.id, {RunState.RUNNING}, StateChange(RunState.COMPLETED, T0, result=payload)
    )
    store.put_step(step_record(run.id, "1", status=StepStatus.FAILED, result=None, error=payload))
    stored = store.get_run(run.id)
    assert stored is not None
    (step,) = store.get_steps(run.id)
    return stored.parameters, stored.result, step.error


def test_unicode_payload_comes_back_unchanged(store: Store) -> None:
    assert round_trip(store, UNICODE) == (UNICODE, UNICODE, UNICODE)


def test_large_payload_comes_back_unchanged(store: Store) -> None:
    payload = json.dumps({"rows": [f"row {i} ✓" for i in range(60_000)]}, ensure_ascii=False)
    assert len(payload) > 500_000

    assert round_trip(store, payload) == (payload, payload, payload)


def test_json_text_is_not_reformatted(store: Store) -> None:
    payload = '{ "b" : 1.50,\n  "a" : [1e3, -0.0] }'

    assert round_trip(store, payload) == (payload, payload, payload)


def test_unicode_log_message_comes_back_unchanged(store: Store) -> None:
    run = run_record()
    store.insert_run(run)
    store.add_logs([log_record(run.id, f"processed {UNICODE}\nsecond line\ttab")])
    store.put_step(step_record(run.id, "1"))

    assert [log.message for log in store.get_logs(run.id)] == [
        f"processed {UNICODE}\nsecond line\ttab"
    ]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=_json_values, ascii_only=st.booleans())
def test_any_json_payload_comes_back_unchanged(
    store: Store, value: object, ascii_only: bool
) -> None:
    payload = json.dumps(value, ensure_ascii=ascii_only, separators=(",", ":"))

    assert round_trip(store, payload) == (payload, payload, payload)
