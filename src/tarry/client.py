"""Python client of a tarry server's REST API: `Client`, `AsyncClient` and `get_client`.

Start runs of deployments, read runs and their logs, list the inputs runs wait for
and answer them, send runs messages, cancel, suspend and resume runs, from any
process that reaches the server (as FlyteRemote or the Durable Task client do)::

    from tarry import get_client

    with get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment("train-model/challenge-4")
        [wait] = client.list_pending_inputs(run.id)
        client.answer_input(wait.id, {"decision": "Approve"}, responder="finance@corp")

    async with get_client() as client:
        runs = await client.list_runs(states=["Waiting"])

The server is `TARRY_API_URL` (for example `http://127.0.0.1:4300/api`; when it is
unset, the address `tarry server` listens on by default) and `TARRY_API_TOKEN` is
sent as `Authorization: Bearer ...`; arguments win over both.

What each call sends and how its answer is read is decided once, by pure code in
`tarry.client_calls` (a `Call`, and `read_response`, its answer as a result or a tarry
error); `Client` and `AsyncClient` only do the I/O, as httpx's clients share `auth_flow`.

Results are the API's own models from `tarry.web.schemas` (`RunOut`,
`RunDetailOut`, `LogOut`, `InputOut`, `AnswerOut`, `MessageOut`, `DeploymentOut`,
`WorkPoolOut`, `WorkQueueOut` of `tarry.client_pools`, `ConcurrencyLimitOut` of
`tarry.client_limits`, `Event` of `tarry.client_events`, `WebhookOut` of
`tarry.client_webhooks`, `AutomationOut` of `tarry.client_automations`).
List methods return one page as a list: the next has `offset` increased by `limit`.

Errors are tarry's exceptions, carrying the server's message: the API's error `code`
picks the class (`not_found` raises `RunNotFound`, `WaitNotFound` or
`DeploymentNotFound` by what the call names; `invalid_input` raises `InputInvalid`
with its `field_errors`; the table is in `docs/server.md`, "Python client").
No server at the URL (connection refused, unknown host) and an address that is not a
tarry API raise `errors.ConfigurationError` too. Other transport failures (a read
timeout, a connection dropped mid-answer) are raised as httpx's `httpx.TransportError`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar, overload

from tarry import _lazy, _version, client_areas, config, errors
from tarry import client_calls as calls
from tarry.client_calls import NOT_JSON, Call, Subject, decode_body, default_url, read_response
from tarry.states import RunState

if TYPE_CHECKING:
    import httpx

    from tarry.web import schemas
else:
    # httpx takes about 200 ms to import (`import tarry` itself about 300): the
    # client pays for it on first use, not `import tarry`.
    httpx = _lazy.Lazy("httpx")

__all__ = [
    "NOT_JSON",
    "AsyncClient",
    "Call",
    "Client",
    "Subject",
    "decode_body",
    "default_url",
    "get_client",
    "read_response",
]

_JSON = {"content-type": "application/json"}

T = TypeVar("T")


# -- the I/O: two thin clients -------------------------------------------------------------------


class _BaseClient:
    """What both clients share: where the server is, and reading its answers."""

    def __init__(self, url: str | None, token: str | None, timeout: float) -> None:
        self.url, self._token = _resolve(url, token)
        self.timeout = timeout
        """Seconds to wait for the server to connect and to answer."""

    def _headers(self) -> dict[str, str]:
        headers = {
            "User-Agent": f"tarry-client/{_version.__version__}",
            "Accept": "application/json",
        }
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _read(self, call: Call[T], response: httpx.Response) -> T:
        body = decode_body(response.headers.get("content-type", ""), response.content)
        token_sent = bool(self._token)
        return read_response(call, response.status_code, body, url=self.url, token_sent=token_sent)

    def _refused(self) -> errors.ConfigurationError:
        return errors.ConfigurationError(
            f"no tarry server answers at {self.url}; start one with `tarry server`, "
            "or set TARRY_API_URL to a running server's API"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


def _resolve(url: str | None, token: str | None) -> tuple[str, str]:
    if url is not None and token is not None:
        return url, token
    settings = config.Settings.from_env()
    return (
        url if url is not None else default_url(settings),
        token if token is not None else settings.api_token,
    )


class Client(_BaseClient, client_areas.AreaMethods):
    """A synchronous client of a tarry server's API; use it as a context manager.

    Args:
        url: The API base URL; `TARRY_API_URL` (or `http://127.0.0.1:4300/api`) when omitted.
        token: The API token; `TARRY_API_TOKEN` when omitted.
        timeout: Seconds to wait for the server to connect and to answer.
    """

    def __init__(
        self, url: str | None = None, *, token: str | None = None, timeout: float = 30.0
    ) -> None:
        super().__init__(url, token, timeout)
        self._http = httpx.Client(base_url=self.url, headers=self._headers(), timeout=timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def _send(self, call: Call[T]) -> T:
        body = calls.encode_body(call)
        headers = _JSON if body is not None else None
        try:
            response = self._http.request(
                call.method, call.path, params=call.params, content=body, headers=headers
            )
        except httpx.ConnectError as exc:
            raise self._refused() from exc
        return self._read(call, response)

    def health(self) -> bool:
        """Whether the server answers that it is up.

        Raises:
            errors.ConfigurationError: No server answers at the URL, or it needs a token.
        """
        return self._send(calls.health_call())

    def list_runs(
        self,
        states: Iterable[RunState | str] = (),
        flow_name: str | None = None,
        top_level: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> list[schemas.RunOut]:
        """Runs, newest first.

        Args:
            states: Only runs in these states (all when empty).
            flow_name: Only runs of this flow.
            top_level: Only runs that are not child runs.
            limit: Page size, 1 to 500.
            offset: Runs to skip.
        """
        return self._send(calls.list_runs_call(states, flow_name, top_level, limit, offset))

    def read_flow_run(self, run_id: str) -> schemas.RunOut:
        """One run, by id or unique id prefix.

        Raises:
            errors.RunNotFound: No run matches, or several do.
        """
        return self._send(calls.run_call(run_id))

    def wait_for_flow_run(
        self, run_id: str, timeout: float | None = 10_800, poll_interval: float = 0.2
    ) -> schemas.RunOut:
        """The run once it has ended (Completed, Failed, Cancelled or Crashed).

        As Prefect's `wait_for_flow_run`: it reads the run every `poll_interval` seconds.

        Args:
            run_id: The run's id or a unique prefix.
            timeout: Seconds to wait at most; `None` waits for ever.
            poll_interval: Seconds between reads.

        Raises:
            TimeoutError: The run had not ended after `timeout` seconds.
            errors.RunNotFound: No run matches.
        """
        waited = calls.Waited(run_id, timeout)
        while not (run := self.read_flow_run(run_id)).state.is_final:
            time.sleep(waited.next_pause(run, poll_interval))
        return run

    def read_flow_run_detail(self, run_id: str) -> schemas.RunDetailOut:
        """One run with its journal, state changes, waits, child runs and first log lines.

        Raises:
            errors.RunNotFound: No run matches, or several do.
        """
        return self._send(calls.run_detail_call(run_id))

    def read_logs(self, run_id: str, *, limit: int = 500) -> list[schemas.LogOut]:
        """A run's log lines, oldest first (at most `limit`, up to 500).

        Raises:
            errors.RunNotFound: No run matches, or several do.
        """
        return self._send(calls.logs_call(run_id, limit))

    def create_flow_run_from_deployment(
        self, deployment_name: str, parameters: dict[str, Any] | None = None
    ) -> schemas.RunOut:
        """Start a run of a deployment; the server's worker executes it.

        Args:
            deployment_name: `flow-name/deployment`.
            parameters: Parameters, over the deployment's defaults.

        Returns:
            The new run, Pending.

        Raises:
            errors.DeploymentNotFound: No deployment has this name.
            errors.ParameterError: The parameters do not fit the flow.
            errors.FlowLoadError: The server cannot import the flow.
        """
        return self._send(calls.start_call(deployment_name, parameters))

    def cancel_flow_run(self, run_id: str) -> schemas.RunOut:
        """Cancel a run and its child runs; their open waits close.

        Raises:
            errors.RunNotFound: No run matches.
            errors.RunEnded: The run has already ended.
        """
        return self._send(calls.run_action_call(run_id, "cancel"))

    def retry_flow_run(self, run_id: str) -> schemas.RunOut:
        """Continue a Failed or Crashed run from its journal (finished steps are kept).

        Raises:
            errors.RunNotFound: No run matches.
            errors.NotRetryable: The run is not Failed or Crashed, or is a child run.
        """
        return self._send(calls.run_action_call(run_id, "retry"))

    def rerun_flow_run(self, run_id: str) -> schemas.RunOut:
        """Start a new run of the same flow with the same parameters.

        Raises:
            errors.RunNotFound: No run matches.
        """
        return self._send(calls.run_action_call(run_id, "rerun"))

    def suspend_flow_run(self, run_id: str) -> schemas.RunOut:
        """Take a waiting run out of memory; it resumes by replay when its wait ends.

        Raises:
            errors.RunNotFound: No run matches.
            errors.RunEnded: The run has ended.
            errors.NotWaiting: The run is not waiting, or waits in another process.
        """
        return self._send(calls.run_action_call(run_id, "suspend"))

    def resume_flow_run(
        self,
        run_id: str,
        run_input: Any = None,
        *,
        key: str | None = None,
        responder: str | None = None,
    ) -> schemas.AnswerOut:
        """Answer the wait a run is on (or the one named `key`), like `tarry.resume_flow_run`.

        Args:
            run_id: The run's id or a unique prefix.
            run_input: The answer: fields as a dict (or a `RunInput`), a bare value for a
                plain-type input, or `None` to accept the form's initial data.
            key: The wait's name, when the run may wait on several.
            responder: Who answers, stored with the answer.

        Raises:
            errors.InputInvalid: The answer does not fit; the run keeps waiting.
            errors.AlreadyAnswered: Someone answered first.
            errors.NotWaiting: The run has no wait this answer could go to.
            errors.RunNotFound: No run matches.
        """
        return self._send(calls.resume_call(run_id, run_input, key, responder))

    def send_input(
        self, run_id: str, value: Any, *, key: str | None = None, sender: str | None = None
    ) -> schemas.MessageOut:
        """Send a message to a run, which takes it with `receive_input` (as `tarry.send_input`).

        Messages sent before the run listens are kept; each is received exactly once.

        Args:
            run_id: The run's id or a unique prefix.
            value: What to send: JSON data, or a pydantic model (a `RunInput`) sent as
                its fields.
            key: Unique per run: a message with a key already sent is not sent again,
                and the one sent first is returned.
            sender: Who sends it, shown with the message; `"api"` when omitted.

        Returns:
            The message as stored (`status` `received` if the run took it at once).

        Raises:
            errors.RunNotFound: No run matches, or several do.
        """
        return self._send(calls.send_call(run_id, value, key, sender))

    def list_pending_inputs(
        self, run_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[schemas.InputOut]:
        """Open input waits across runs (or of one run), oldest first, with their forms.

        Raises:
            errors.RunNotFound: `run_id` matches no run.
        """
        return self._send(calls.pending_inputs_call(run_id, limit, offset))

    def read_input(self, wait_id: str) -> schemas.InputOut:
        """One input wait, open or closed, with its form and (once closed) its answer.

        Raises:
            errors.WaitNotFound: No input wait has this id.
        """
        return self._send(calls.input_call(wait_id))

    def answer_input(
        self, wait_id: str, data: Any = None, *, responder: str | None = None
    ) -> schemas.AnswerOut:
        """Answer one input wait; the first valid answer wins.

        Args:
            wait_id: The wait's id.
            data: The answer, as for `resume_flow_run`.
            responder: Who answers, stored with the answer.

        Raises:
            errors.InputInvalid: The answer does not fit; the run keeps waiting.
            errors.AlreadyAnswered: The wait was answered (or closed) before.
            errors.WaitNotFound: No input wait has this id.
        """
        return self._send(calls.answer_call(wait_id, data, responder))

    def list_deployments(self, limit: int = 50, offset: int = 0) -> list[schemas.DeploymentOut]:
        """Deployments, by name."""
        return self._send(calls.deployments_call(limit, offset))

    def read_deployment(self, name: str) -> schemas.DeploymentOut:
        """One deployment, by its name `flow-name/deployment`.

        Raises:
            errors.DeploymentNotFound: No deployment has this name.
        """
        return self._send(calls.deployment_call(name))

    def read_deployment_schedules(self, name: str) -> list[schemas.ScheduleOut]:
        """A deployment's schedules, by slug.

        Raises:
            errors.DeploymentNotFound: No deployment has this name.
        """
        return self._send(calls.schedules_call(name))

    def update_deployment_schedule(
        self, name: str, slug: str, *, active: bool
    ) -> schemas.ScheduleOut:
        """Pause (`active=False`) or resume a schedule of a deployment.

        Raises:
            errors.DeploymentNotFound: No deployment has this name.
            errors.ScheduleNotFound: The deployment has no schedule of this slug.
        """
        return self._send(calls.schedule_update_call(name, slug, active))

    def read_upcoming_runs(self, name: str, limit: int = 50) -> list[schemas.UpcomingRunOut]:
        """A deployment's runs made ahead by its schedules, earliest first.

        Raises:
            errors.DeploymentNotFound: No deployment has this name.
        """
        return self._send(calls.upcoming_call(name, limit))


class AsyncClient(_BaseClient, client_areas.AsyncAreaMethods):
    """Async version of `Client`; use it as an async context manager.

    Args:
        url: The API base URL; `TARRY_API_URL` (or `http://127.0.0.1:4300/api`) when omitted.
        token: The API token; `TARRY_API_TOKEN` when omitted.
        timeout: Seconds to wait for the server to connect and to answer.
    """

    def __init__(
        self, url: str | None = None, *, token: str | None = None, timeout: float = 30.0
    ) -> None:
        super().__init__(url, token, timeout)
        self._http = httpx.AsyncClient(base_url=self.url, headers=self._headers(), timeout=timeout)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Async version of `Client.close`."""
        await self._http.aclose()

    async def _send(self, call: Call[T]) -> T:
        body = calls.encode_body(call)
        headers = _JSON if body is not None else None
        try:
            response = await self._http.request(
                call.method, call.path, params=call.params, content=body, headers=headers
            )
        except httpx.ConnectError as exc:
            raise self._refused() from exc
        return self._read(call, response)

    async def health(self) -> bool:
        """Async version of `Client.health`."""
        return await self._send(calls.health_call())

    async def list_runs(
        self,
        states: Iterable[RunState | str] = (),
        flow_name: str | None = None,
        top_level: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> list[schemas.RunOut]:
        """Async version of `Client.list_runs`."""
        return await self._send(calls.list_runs_call(states, flow_name, top_level, limit, offset))

    async def read_flow_run(self, run_id: str) -> schemas.RunOut:
        """Async version of `Client.read_flow_run`."""
        return await self._send(calls.run_call(run_id))

    async def wait_for_flow_run(
        self, run_id: str, timeout: float | None = 10_800, poll_interval: float = 0.2
    ) -> schemas.RunOut:
        """Async version of `Client.wait_for_flow_run`."""
        waited = calls.Waited(run_id, timeout)
        while not (run := await self.read_flow_run(run_id)).state.is_final:
            await asyncio.sleep(waited.next_pause(run, poll_interval))
        return run

    async def read_flow_run_detail(self, run_id: str) -> schemas.RunDetailOut:
        """Async version of `Client.read_flow_run_detail`."""
        return await self._send(calls.run_detail_call(run_id))

    async def read_logs(self, run_id: str, *, limit: int = 500) -> list[schemas.LogOut]:
        """Async version of `Client.read_logs`."""
        return await self._send(calls.logs_call(run_id, limit))

    async def create_flow_run_from_deployment(
        self, deployment_name: str, parameters: dict[str, Any] | None = None
    ) -> schemas.RunOut:
        """Async version of `Client.create_flow_run_from_deployment`."""
        return await self._send(calls.start_call(deployment_name, parameters))

    async def cancel_flow_run(self, run_id: str) -> schemas.RunOut:
        """Async version of `Client.cancel_flow_run`."""
        return await self._send(calls.run_action_call(run_id, "cancel"))

    async def retry_flow_run(self, run_id: str) -> schemas.RunOut:
        """Async version of `Client.retry_flow_run`."""
        return await self._send(calls.run_action_call(run_id, "retry"))

    async def rerun_flow_run(self, run_id: str) -> schemas.RunOut:
        """Async version of `Client.rerun_flow_run`."""
        return await self._send(calls.run_action_call(run_id, "rerun"))

    async def suspend_flow_run(self, run_id: str) -> schemas.RunOut:
        """Async version of `Client.suspend_flow_run`."""
        return await self._send(calls.run_action_call(run_id, "suspend"))

    async def resume_flow_run(
        self,
        run_id: str,
        run_input: Any = None,
        *,
        key: str | None = None,
        responder: str | None = None,
    ) -> schemas.AnswerOut:
        """Async version of `Client.resume_flow_run`."""
        return await self._send(calls.resume_call(run_id, run_input, key, responder))

    async def send_input(
        self, run_id: str, value: Any, *, key: str | None = None, sender: str | None = None
    ) -> schemas.MessageOut:
        """Async version of `Client.send_input`."""
        return await self._send(calls.send_call(run_id, value, key, sender))

    async def list_pending_inputs(
        self, run_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[schemas.InputOut]:
        """Async version of `Client.list_pending_inputs`."""
        return await self._send(calls.pending_inputs_call(run_id, limit, offset))

    async def read_input(self, wait_id: str) -> schemas.InputOut:
        """Async version of `Client.read_input`."""
        return await self._send(calls.input_call(wait_id))

    async def answer_input(
        self, wait_id: str, data: Any = None, *, responder: str | None = None
    ) -> schemas.AnswerOut:
        """Async version of `Client.answer_input`."""
        return await self._send(calls.answer_call(wait_id, data, responder))

    async def list_deployments(
        self, limit: int = 50, offset: int = 0
    ) -> list[schemas.DeploymentOut]:
        """Async version of `Client.list_deployments`."""
        return await self._send(calls.deployments_call(limit, offset))

    async def read_deployment(self, name: str) -> schemas.DeploymentOut:
        """Async version of `Client.read_deployment`."""
        return await self._send(calls.deployment_call(name))

    async def read_deployment_schedules(self, name: str) -> list[schemas.ScheduleOut]:
        """Async version of `Client.read_deployment_schedules`."""
        return await self._send(calls.schedules_call(name))

    async def update_deployment_schedule(
        self, name: str, slug: str, *, active: bool
    ) -> schemas.ScheduleOut:
        """Async version of `Client.update_deployment_schedule`."""
        return await self._send(calls.schedule_update_call(name, slug, active))

    async def read_upcoming_runs(self, name: str, limit: int = 50) -> list[schemas.UpcomingRunOut]:
        """Async version of `Client.read_upcoming_runs`."""
        return await self._send(calls.upcoming_call(name, limit))


@overload
def get_client(sync_client: Literal[False] = False) -> AsyncClient: ...
@overload
def get_client(sync_client: Literal[True]) -> Client: ...
@overload
def get_client(sync_client: bool) -> AsyncClient | Client: ...
def get_client(sync_client: bool = False) -> AsyncClient | Client:
    """A client of the server at `TARRY_API_URL`, with `TARRY_API_TOKEN` (as Prefect's).

    Args:
        sync_client: Return a `Client` instead of an `AsyncClient`.

    Returns:
        An `AsyncClient` (`async with get_client() as client:`) or a `Client`
        (`with get_client(sync_client=True) as client:`).
    """
    return Client() if sync_client else AsyncClient()
