"""`Client` and `AsyncClient` against a real server: uvicorn on a free port, its worker on."""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

import tarry
from tarry import config, errors, host, loader
from tarry import server as tarry_server
from tarry.client import AsyncClient, Client, get_client
from tarry.states import RunState, WaitStatus
from tarry.web.schemas import InputOut
from tests.conftest import ROOT
from tests.e2e import live
from tests.net import free_port
from tests.polling import until_found

T = TypeVar("T")

CHALLENGE_4 = ROOT / "examples" / "finance" / "challenge_4.py"
DEPLOYMENT = "train-model/challenge-4"
ECHO = f"{ROOT / 'tests' / 'e2e' / 'flows' / 'echo.py'}:echo"
"""A flow that returns the first `n` (2) messages it receives."""
BAD_CODE = ((("code",), "Seven digits, 1 to 9: no zeroes (they look too much like the letter O)."),)
"""A code with a zero, refused in the field's own words (its description), not as a regex."""
TRAINED = "model trained (authorization 1234567)"


@dataclasses.dataclass(frozen=True)
class Server:
    url: str
    hst: host.Host


@contextlib.contextmanager
def _serve(
    home: Path, entrypoints: tuple[str, ...] = (f"{CHALLENGE_4}:train_model",), **settings: Any
) -> Iterator[Server]:
    """`tarry server`'s app on 127.0.0.1 and a free port, with `train_model` deployed."""
    hst = host.Host(
        config.Settings(
            home=home,
            sqlite_synchronous="NORMAL",
            resident_seconds=30,
            worker_poll_seconds=0.05,
            **settings,
        )
    )
    try:
        tarry_server.deploy_entrypoints(hst, entrypoints)
        with live.live_server(hst, worker=True) as base_url:
            yield Server(f"{base_url}/api", hst)
    finally:
        hst.close()


def _run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    # In a thread of its own: the browser tests' Playwright keeps an event loop running
    # in the main thread for the whole session, where asyncio.run() would refuse.
    with cf.ThreadPoolExecutor(1, thread_name_prefix="test-async-client") as pool:
        pool.submit(lambda: asyncio.run(scenario())).result(timeout=120)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with _serve(tmp_path) as running:
        yield running


@pytest.fixture
def api_url(server: Server) -> str:
    return server.url


async def _until_async(get: Callable[[], Awaitable[T | None]], timeout: float = 30) -> T:
    deadline = time.monotonic() + timeout
    while (found := await get()) is None:
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)
    return found


def _named(waits: list[InputOut], name: str) -> InputOut | None:
    return next((w for w in waits if w.name == name), None)


def _open_input(client: Client, run_id: str, name: str) -> InputOut:
    return until_found(lambda: _named(client.list_pending_inputs(run_id), name))


async def _open_input_async(client: AsyncClient, run_id: str, name: str) -> InputOut:
    async def find() -> InputOut | None:
        return _named(await client.list_pending_inputs(run_id), name)

    return await _until_async(find)


def _field_errors(exc: errors.InputInvalid) -> tuple[tuple[tuple[str | int, ...], str], ...]:
    return tuple((e.loc, e.message) for e in exc.field_errors)


def test_a_run_is_started_refused_a_bad_code_and_completed(api_url: str) -> None:
    with Client(api_url, token="") as client:
        assert client.health()
        [deployment] = client.list_deployments()
        assert deployment.name == client.read_deployment(DEPLOYMENT).name == DEPLOYMENT
        run = client.create_flow_run_from_deployment(DEPLOYMENT)
        assert run.state is RunState.PENDING

        approval = _open_input(client, run.id, "approval")
        assert (approval.schema_ or {})["properties"]["decision"]["enum"] == [
            "Approve",
            "Disapprove",
        ]
        answered = client.answer_input(approval.id, {"decision": "Approve"}, responder="cfo")
        assert answered.accepted
        assert answered.wait is not None
        assert (answered.wait.responder, answered.wait.channel) == ("cfo", "api")

        code = _open_input(client, run.id, "authorization")
        with pytest.raises(errors.InputInvalid) as refused:
            client.answer_input(code.id, {"code": "1230567"})
        assert _field_errors(refused.value) == BAD_CODE
        assert client.read_flow_run(run.id).state is RunState.WAITING
        assert client.read_input(code.id).status is WaitStatus.OPEN

        with pytest.raises(TimeoutError, match=r"is still Waiting after 0\.1 s"):
            client.wait_for_flow_run(run.id, timeout=0.1)
        assert client.answer_input(code.id, {"code": "1234567"}).accepted
        done = client.wait_for_flow_run(run.id[:8], timeout=30, poll_interval=0.02)
        assert (done.state, done.result) == (RunState.COMPLETED, TRAINED)

        with pytest.raises(errors.AlreadyAnswered) as twice:
            client.answer_input(code.id, {"code": "7654321"})
        assert twice.value.wait_id == code.id
        assert client.read_input(code.id).answer == {"code": "1234567"}
        detail = client.read_flow_run_detail(run.id[:8])
        assert detail.steps[0].name == "estimate_cost"
        assert [w.name for w in detail.waits] == ["approval", "authorization"]
        logs = [line.message for line in client.read_logs(run.id)]
        assert any("Finished in state Completed" in message for message in logs)
        completed = client.list_runs(states=[RunState.COMPLETED], top_level=True)
        assert [r.id for r in completed] == [run.id]
        assert client.list_runs(states=["Waiting"]) == []


def test_async_client_suspends_and_resumes_by_key(server: Server) -> None:
    authorization_code = loader.load_object(f"{CHALLENGE_4}:AuthorizationCode")

    async def scenario() -> None:
        async with AsyncClient(server.url, token="") as client:
            assert await client.health()
            run = await client.create_flow_run_from_deployment(DEPLOYMENT)
            await _open_input_async(client, run.id, "approval")

            suspended = await client.suspend_flow_run(run.id)
            assert suspended.state is RunState.WAITING
            stored = server.hst.store.get_run(run.id)
            assert stored is not None
            assert stored.lease_owner is None, "a suspended run holds no process"

            answer = await client.resume_flow_run(
                run.id, {"decision": "Approve"}, key="approval", responder="cfo"
            )
            assert answer.accepted
            code = await _open_input_async(client, run.id, "authorization")
            with pytest.raises(errors.InputInvalid) as refused:
                await client.resume_flow_run(run.id, {"code": "1230567"})
            assert _field_errors(refused.value) == BAD_CODE
            assert (await client.read_flow_run(run.id)).state is RunState.WAITING

            # A RunInput instance is sent as its fields.
            await client.resume_flow_run(run.id[:8], authorization_code(code="1234567"))

            done = await client.wait_for_flow_run(run.id, timeout=30, poll_interval=0.02)
            assert (done.state, done.result) == (RunState.COMPLETED, TRAINED)
            with pytest.raises(errors.AlreadyAnswered):
                await client.answer_input(code.id, {"code": "7654321"})
            assert [r.id for r in await client.list_runs(flow_name="train-model")] == [run.id]
            assert (await client.read_flow_run_detail(run.id)).run.result == TRAINED
            assert await client.read_logs(run.id)
            assert [d.name for d in await client.list_deployments()] == [DEPLOYMENT]
            assert (await client.read_input(code.id)).status is WaitStatus.ANSWERED

    _run(scenario)


def test_messages_sent_by_the_client_are_received_once(tmp_path: Path) -> None:
    with _serve(tmp_path, (ECHO,)) as running, Client(running.url, token="") as client:
        run = client.create_flow_run_from_deployment("echo/echo")
        sent = client.send_input(run.id[:8], "first", key="k1", sender="tester")
        assert (sent.run_id, sent.key, sent.value) == (run.id, "k1", "first")
        assert sent.sender == "tester"
        again = client.send_input(run.id, "ignored", key="k1")
        assert (again.id, again.value) == (sent.id, "first"), "a key is sent once"
        assert client.send_input(run.id, "second").sender == "api"

        done = client.wait_for_flow_run(run.id, timeout=30, poll_interval=0.02)
        assert (done.state, done.result) == (RunState.COMPLETED, ["first", "second"])
        with pytest.raises(errors.RunNotFound) as missing:
            client.send_input("no-such-run", "hello")
        assert missing.value.run_id == "no-such-run"

        async def scenario() -> None:
            async with AsyncClient(running.url, token="") as aclient:
                started = await aclient.create_flow_run_from_deployment("echo/echo", {"n": 1})
                message = await aclient.send_input(started.id, "async", sender="coroutine")
                assert (message.value, message.sender) == ("async", "coroutine")

                done = await aclient.wait_for_flow_run(started.id, timeout=30)
                assert done.result == ["async"]
                with pytest.raises(errors.RunNotFound):
                    await aclient.send_input("no-such-run", "hello")

        _run(scenario)


def test_unknown_ids_raise_not_found_errors(api_url: str) -> None:
    with Client(api_url, token="") as client:
        for read in (
            client.read_flow_run,
            client.read_flow_run_detail,
            client.read_logs,
            client.cancel_flow_run,
            client.suspend_flow_run,
            client.resume_flow_run,
            client.list_pending_inputs,
        ):
            with pytest.raises(errors.RunNotFound) as missing:
                read("no-such-run")
            assert missing.value.run_id == "no-such-run"
            assert "no run with id or name 'no-such-run'" in str(missing.value)
        for wait_call in (client.read_input, client.answer_input):
            with pytest.raises(errors.WaitNotFound) as no_wait:
                wait_call("no-such-wait")
            assert no_wait.value.wait_id == "no-such-wait"
        for deployment_call in (client.read_deployment, client.create_flow_run_from_deployment):
            with pytest.raises(errors.DeploymentNotFound) as no_deployment:
                deployment_call("nope/nope")
            assert no_deployment.value.name == "nope/nope"

    async def scenario() -> None:
        async with AsyncClient(api_url, token="") as client:
            with pytest.raises(errors.RunNotFound):
                await client.read_flow_run("no-such-run")
            with pytest.raises(errors.WaitNotFound):
                await client.answer_input("no-such-wait", {"code": "1234567"})
            with pytest.raises(errors.DeploymentNotFound):
                await client.create_flow_run_from_deployment("nope/nope")

    _run(scenario)


def test_refusals_raise_the_matching_tarry_errors(api_url: str) -> None:
    with Client(api_url, token="") as client:
        with pytest.raises(errors.ParameterError) as bad_parameters:
            client.create_flow_run_from_deployment(DEPLOYMENT, {"budget": 5})
        assert bad_parameters.value.flow_name == "train-model"
        assert "unexpected keyword argument 'budget'" in str(bad_parameters.value)

        run = client.create_flow_run_from_deployment(DEPLOYMENT)
        approval = _open_input(client, run.id, "approval")
        cancelled = client.cancel_flow_run(run.id)
        assert cancelled.state is RunState.CANCELLED

        with pytest.raises(errors.RunEnded) as ended:
            client.cancel_flow_run(run.id)
        assert (ended.value.run_id, ended.value.state) == (run.id, "Cancelled")
        with pytest.raises(errors.RunEnded):
            client.suspend_flow_run(run.id)
        with pytest.raises(errors.RunEnded, match="cannot be answered"):
            client.answer_input(approval.id, {"decision": "Approve"})
        with pytest.raises(errors.NotWaiting) as not_waiting:
            client.resume_flow_run(run.id, {"code": "1234567"}, key="authorization")
        assert not_waiting.value.run_id == run.id
        with pytest.raises(errors.TarryError, match="less than or equal to 500"):
            client.list_runs(limit=1000)


def test_a_server_with_a_token_refuses_clients_without_it(tmp_path: Path) -> None:
    with _serve(tmp_path, api_token="s3cret") as running:
        with (
            Client(running.url, token="") as anonymous,
            pytest.raises(errors.ConfigurationError, match="needs TARRY_API_TOKEN"),
        ):
            anonymous.list_runs()
        with (
            Client(running.url, token="wrong") as wrong,
            pytest.raises(errors.ConfigurationError, match="refused the API token"),
        ):
            wrong.health()
        with Client(running.url, token="s3cret") as client:
            assert client.health()
            assert [d.name for d in client.list_deployments()] == [DEPLOYMENT]

        async def scenario() -> None:
            async with AsyncClient(running.url, token="") as anonymous:
                with pytest.raises(errors.ConfigurationError, match="TARRY_API_TOKEN"):
                    await anonymous.health()
            async with AsyncClient(running.url, token="s3cret") as client:
                assert await client.health()

        _run(scenario)


def test_get_client_reads_the_url_and_token_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _serve(tmp_path, api_token="s3cret") as running:
        monkeypatch.setenv("TARRY_API_URL", running.url)
        monkeypatch.setenv("TARRY_API_TOKEN", "s3cret")
        with tarry.get_client(sync_client=True) as client:
            assert isinstance(client, Client)
            assert client.url == running.url
            assert client.health()

        async def scenario() -> None:
            async with get_client() as client:
                assert isinstance(client, AsyncClient)
                assert await client.health()

        _run(scenario)


def test_no_server_at_the_url_says_how_to_start_one() -> None:
    url = f"http://127.0.0.1:{free_port()}/api"
    with Client(url, token="") as client:
        with pytest.raises(errors.ConfigurationError, match="`tarry server`") as refused:
            client.health()
        assert url in str(refused.value)

    async def scenario() -> None:
        async with AsyncClient(url, token="") as client:
            with pytest.raises(errors.ConfigurationError, match="no tarry server answers"):
                await client.list_pending_inputs()

    _run(scenario)


def test_a_url_that_is_not_the_api_is_a_configuration_error(api_url: str) -> None:
    with (
        Client(api_url.removesuffix("/api"), token="") as client,
        pytest.raises(errors.ConfigurationError, match="TARRY_API_URL"),
    ):
        client.health()
