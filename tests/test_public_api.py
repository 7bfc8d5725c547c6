"""The public surface is curated: a name appearing or vanishing must be deliberate."""

from __future__ import annotations

import tarry

EXPECTED = [
    "AlreadyAnswered",
    "ApprovalRejected",
    "Flow",
    "FlowTimeout",
    "InputInvalid",
    "NondeterminismError",
    "NotWaiting",
    "ParameterError",
    "RunContext",
    "RunFailed",
    "RunState",
    "StepStatus",
    "TarryError",
    "TarryFuture",
    "Task",
    "TaskTimeout",
    "WaitTimeout",
    "apause_flow_run",
    "approve",
    "aresume_flow_run",
    "asend_input",
    "asuspend_flow_run",
    "flow",
    "get_client",
    "get_run_context",
    "get_run_logger",
    "now",
    "pause_flow_run",
    "random",
    "receive_input",
    "resume_flow_run",
    "send_input",
    "sleep",
    "suspend_flow_run",
    "task",
    "unmapped",
    "uuid4",
    "wait_any",
    "wait_for_input",
]


def test_all_is_pinned_and_sorted() -> None:
    assert tarry.__all__ == EXPECTED
    assert sorted(tarry.__all__) == tarry.__all__


def test_every_public_name_exists_and_is_documented() -> None:
    for name in tarry.__all__:
        obj = getattr(tarry, name)
        assert (obj.__doc__ or "").strip(), f"tarry.{name} has no docstring"


def test_prefect_style_module_paths() -> None:
    from tarry.futures import as_completed, wait
    from tarry.runtime import flow_run
    from tarry.task_runners import ThreadPoolTaskRunner
    from tarry.testing import tarry_test_harness, test_harness

    assert callable(wait)
    assert callable(as_completed)
    assert callable(tarry_test_harness)
    assert ThreadPoolTaskRunner(max_workers=3).max_workers == 3
    assert flow_run.id is None
    assert getattr(test_harness, "__test__", True) is False


def test_task_runner_paths_are_prefects() -> None:
    import tarry.task_runners
    from tarry.task_runners import DaskTaskRunner, RayTaskRunner, remote_options

    assert tarry.task_runners.__all__ == [
        "DaskTaskRunner",
        "RayTaskRunner",
        "RemoteCall",
        "RemoteOptions",
        "TaskRunner",
        "ThreadPoolTaskRunner",
        "remote_call",
        "remote_options",
    ]
    assert RayTaskRunner(address="auto").duplicate().address == "auto"
    assert DaskTaskRunner(address="tcp://127.0.0.1:1").duplicate().address == "tcp://127.0.0.1:1"
    assert callable(remote_options)
    for name in set(tarry.task_runners.__all__) - {"RemoteCall"}:  # an alias has no __doc__
        assert (getattr(tarry.task_runners, name).__doc__ or "").strip(), name


def test_prefect_input_paths() -> None:
    import tarry.input
    import tarry.messaging
    from tarry.input.run_input import GetInputHandler, RunInput, receive_input, send_input

    assert (RunInput, receive_input, send_input) == (
        tarry.input.RunInput,
        tarry.messaging.receive_input,
        tarry.messaging.send_input,
    )
    assert GetInputHandler is tarry.messaging.Receiver
    assert {"RunInputMetadata", "asend_input", "receive_input", "send_input"} <= set(
        tarry.input.__all__
    )


def test_testing_module_surface() -> None:
    import tarry.testing
    from tarry import pytest_plugin

    assert tarry.testing.__all__ == [
        "RunHandle",
        "RunRef",
        "TestHarness",
        "tarry_test_harness",
        "test_harness",
    ]
    assert pytest_plugin.__all__ == ["pytest_configure", "tarry_harness"]


def test_concurrency_paths_are_prefects() -> None:
    import tarry.concurrency
    from tarry.concurrency import asyncio as async_limits
    from tarry.concurrency import sync

    for module in (sync, async_limits):
        assert module.__all__ == [
            "AcquireConcurrencySlotTimeoutError",
            "ConcurrencySlotAcquisitionError",
            "concurrency",
            "rate_limit",
        ]
        assert issubclass(module.AcquireConcurrencySlotTimeoutError, TimeoutError)
    assert tarry.concurrency.__all__ == [
        "MAX_LIMIT",
        "TAG_PREFIX",
        "ConcurrencyLimit",
        "SlotHolder",
        "create_limit",
        "create_tag_limit",
        "delete_limit",
        "get_limit",
        "limit_holders",
        "list_limits",
        "reset_limit",
        "update_limit",
    ]


def test_the_clients_have_prefects_concurrency_limit_methods() -> None:
    from tarry.client import AsyncClient, Client

    names = [
        "create_concurrency_limit",
        "create_global_concurrency_limit",
        "delete_concurrency_limit_by_tag",
        "delete_global_concurrency_limit_by_name",
        "read_concurrency_limit_by_tag",
        "read_concurrency_limits",
        "read_global_concurrency_limit_by_name",
        "read_global_concurrency_limits",
        "reset_concurrency_limit_by_tag",
        "reset_global_concurrency_limit_by_name",
        "update_global_concurrency_limit",
    ]
    for client in (Client, AsyncClient):
        found = sorted(n for n in dir(client) if "concurrency_limit" in n)
        assert found == names, client
        assert all((getattr(client, n).__doc__ or "").strip() for n in names)


def test_cache_policy_paths_are_prefects() -> None:
    import tarry.cache_policies
    from tarry.cache_policies import DEFAULT, INPUTS, NO_CACHE, RUN_ID, TASK_SOURCE

    assert DEFAULT == INPUTS + TASK_SOURCE + RUN_ID
    assert NO_CACHE + INPUTS == INPUTS
    assert tarry.cache_policies.__all__ == [
        "DEFAULT",
        "FLOW_PARAMETERS",
        "INPUTS",
        "NO_CACHE",
        "RUN_ID",
        "TASK_SOURCE",
        "CacheKeyContext",
        "CacheKeyFnPolicy",
        "CachePolicy",
        "CompoundCachePolicy",
        "FlowParameters",
        "Inputs",
        "RunId",
        "TaskSource",
    ]


def test_automations_are_at_prefects_path() -> None:
    import tarry.automations
    from tarry.automations import Automation, CompoundTrigger, EventTrigger, RunDeployment

    assert tarry.automations.__all__ == sorted(tarry.automations.__all__)
    assert {"Automation", "EventTrigger", "CompoundTrigger", "SendNotification"} <= set(
        tarry.automations.__all__
    )
    made = Automation(
        name="a",
        trigger=CompoundTrigger(require="all", triggers=[EventTrigger(), EventTrigger()]),
        actions=[RunDeployment(deployment="d")],
    )
    assert made.id is None
    for verb in ("create", "read", "list", "update", "enable", "disable", "delete"):
        assert callable(getattr(Automation, verb))
        assert callable(getattr(Automation, f"a{verb}"))
