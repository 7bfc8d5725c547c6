"""Prefect's `@flow` and `@task` options: accepted, honoured where tarry keeps them, hooks refused.

Prefect 3's `flow()` takes `version`, `flow_run_name`, `description`,
`validate_parameters`, `persist_result`, `result_storage`, `result_serializer`,
`cache_result_in_memory`, `log_prints` and the state hooks; `task()` takes
`cache_key_fn`, `cache_expiration`, `refresh_cache`, `persist_result`,
`result_storage`, ... . Code written for Prefect decorates without a TypeError; the
caching options cache across runs (tests/integration/test_task_cache.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tarry import errors, flow, task
from tarry.runtime import flow_run
from tarry.states import RunState
from tarry.storage import RunFilter
from tarry.testing import TestHarness

calls: list[str] = []


def _backoff(retries: int) -> list[float]:
    """What Prefect's `exponential_backoff(backoff_factor=0)` returns for `retries`."""
    return [0.0] * retries


@task(
    description="Counts its calls.",
    version="1",
    cache_policy=None,
    cache_key_fn=lambda context, parameters: "always",
    cache_expiration=dt.timedelta(hours=1),
    task_run_name="count-{what}",
    retries=None,
    retry_jitter_factor=0.5,
    persist_result=True,
    result_storage="local-file-system/results",
    result_serializer="json",
    result_storage_key="{parameters[what]}.json",
    cache_result_in_memory=False,
    refresh_cache=False,
    viz_return_value="x",
    asset_deps=[],
)
def counted(what: str) -> str:
    calls.append(what)
    return what.upper()


attempts: list[int] = []


@task(retries=2, retry_delay_seconds=_backoff)
def flaky() -> str:
    attempts.append(1)
    if len(attempts) < 3:
        raise RuntimeError("not yet")
    return "ok"


@flow(
    name="prefect-options",
    version="2024.1",
    description="Uses every option Prefect users pass.",
    validate_parameters=True,
    persist_result=True,
    result_storage="s3-bucket/results",
    result_serializer="json",
    cache_result_in_memory=False,
    log_prints=True,
    retries=None,
    retry_delay_seconds=None,
    on_completion=[],
    on_failure=None,
)
def uses_prefect_options(what: str) -> str:
    print(f"counting {what}")
    return counted(what) + counted(what)


def test_flow_and_task_options_are_accepted_and_the_run_works(harness: TestHarness) -> None:
    calls.clear()
    run = harness.start(uses_prefect_options, "a")
    assert run.result() == "AA"
    run.assert_logged("counting a")  # log_prints is honoured
    # cache_key_fn gives both calls the key "always": the second is a cache hit, as in Prefect.
    assert calls == ["a"]
    assert [s.cached_from for s in run.steps()] == [None, "always"]
    assert uses_prefect_options.version == "2024.1"
    assert uses_prefect_options.description == "Uses every option Prefect users pass."


def test_a_callable_retry_delay_is_prefects_exponential_backoff(harness: TestHarness) -> None:
    attempts.clear()

    @flow
    def retries_a_task() -> str:
        return flaky()

    assert retries_a_task() == "ok"
    assert len(attempts) == 3


def test_the_description_defaults_to_the_docstring() -> None:
    @flow
    def documented() -> None:
        """Sends the weekly report."""

    assert documented.description == "Sends the weekly report."
    assert documented.version is None


@flow(flow_run_name="report-{day}-{n}")
def named_by_template(day: str, n: int = 1) -> str:
    return day


@flow(flow_run_name=lambda: "from-a-function")
def named_by_function() -> None:
    pass


def _name_from_parameters() -> str:
    # Prefect's documented idiom: the function reads the new run's parameters.
    return f"greet-{flow_run.parameters['who']}"


@flow(flow_run_name=_name_from_parameters)
def named_from_runtime(who: str) -> str:
    return who


@flow
def calls_a_named_child() -> str:
    return named_from_runtime("child")


def test_a_run_name_function_reads_the_new_runs_parameters(harness: TestHarness) -> None:
    run = harness.start(named_from_runtime, "ann")
    run.result()
    assert run.run.name == "greet-ann"
    parent = harness.start(calls_a_named_child)
    parent.result()
    (child,) = [
        r for r in harness.store.list_runs(RunFilter(limit=100)) if r.parent_id == parent.id
    ]
    assert child.name == "greet-child"


def test_flow_run_name_names_the_runs(harness: TestHarness) -> None:
    run = harness.start(named_by_template, "monday")
    run.result()
    assert run.run.name == "report-monday-1"
    given = harness.start(named_by_template, "tuesday", n=2)
    given.result()
    assert given.run.name == "report-tuesday-2"
    other = harness.start(named_by_function)
    other.result()
    assert other.run.name == "from-a-function"


@flow(flow_run_name="report-{week}")
def names_a_missing_parameter(day: str) -> str:
    return day


def test_a_run_name_template_with_an_unknown_parameter_is_refused(harness: TestHarness) -> None:
    with pytest.raises(errors.ParameterError, match="week"):
        names_a_missing_parameter("monday")


def _hook(*args: Any) -> None:
    calls.append("hook")


@pytest.mark.parametrize(
    "option", ["on_completion", "on_failure", "on_cancellation", "on_crashed", "on_running"]
)
def test_a_flow_hook_fails_loudly_at_decoration(option: str) -> None:
    with pytest.raises(errors.NotSupported, match=f"{option}= is not supported") as refused:
        flow(**{option: [_hook]})  # type: ignore[call-overload]
    assert isinstance(refused.value, NotImplementedError)
    assert refused.value.option == option


@pytest.mark.parametrize(
    "option", ["on_completion", "on_failure", "on_rollback", "on_commit", "retry_condition_fn"]
)
def test_a_task_hook_fails_loudly_at_decoration(option: str) -> None:
    value: Any = _hook if option == "retry_condition_fn" else [_hook]
    with pytest.raises(errors.NotSupported, match=f"{option}= is not supported"):
        task(**{option: value})


def test_with_options_takes_prefects_options_too() -> None:
    quiet = uses_prefect_options.with_options(persist_result=False, name="quiet")
    assert quiet.name == "quiet"
    assert counted.with_options(refresh_cache=True, retries=1).retries == 1
    with pytest.raises(errors.NotSupported):
        uses_prefect_options.with_options(on_failure=[_hook])
    with pytest.raises(errors.NotSupported):
        counted.with_options(on_completion=[_hook])


def test_an_option_neither_tarry_nor_prefect_has_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="retires"):
        flow(retires=3)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="cache_ky_fn"):
        task(cache_ky_fn=None)  # type: ignore[call-overload]


def test_the_run_of_a_flow_with_no_op_options_ends_completed(harness: TestHarness) -> None:
    run = harness.start(uses_prefect_options, "b")
    run.result()
    run.assert_state(RunState.COMPLETED)
