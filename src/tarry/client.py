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

What each call sends and how its answer is read is decided once, by pure code: a
`Call` describes the request and `read_response` turns the status and JSON body
into a result or a tarry error. `Client` and `AsyncClient` only do the I/O, as
httpx's clients share `Auth.auth_flow`.

Results are the API's own models from `tarry.web.schemas` (`RunOut`,
`RunDetailOut`, `LogOut`, `InputOut`, `AnswerOut`, `MessageOut`, `DeploymentOut`).
List methods return one page as a list: ask for the next one with `offset`
increased by `limit`; a page shorter than `limit` is the last.

Errors are tarry's exceptions, carrying the server's message:

=====================  =============================================================
API error `code`       raised
=====================  =============================================================
`not_found`            `errors.RunNotFound`, `WaitNotFound` or `DeploymentNotFound`,
                       by what the call names (`errors.NotFound` otherwise)
`invalid_input`        `errors.InputInvalid` with its `field_errors`
`invalid_parameters`   `errors.ParameterError`
`already_answered`     `errors.AlreadyAnswered`
`not_waiting`          `errors.NotWaiting`
`run_ended`            `errors.RunEnded`
`invalid_transition`   `errors.InvalidTransition`
`flow_not_loadable`    `errors.FlowLoadError`
`unauthorized`         `errors.ConfigurationError` (set `TARRY_API_TOKEN`)
anything else          `errors.TarryError`
=====================  =============================================================

No server at the URL (connection refused, unknown host) and an address that is
not a tarry API raise `errors.ConfigurationError` too. Other transport failures
(a read timeout, a connection dropped mid-answer) are raised as httpx's own
`httpx.TransportError`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import json
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, Self, TypeVar, overload

import pydantic_core

from tarry import config, errors
from tarry.states import RunState

if TYPE_CHECKING:
    import httpx

    from tarry.web import schemas
else:

    class _Lazy:
        # httpx takes about 200 ms to import (`import tarry` itself about 300) and the
        # API models another 10: the client pays for them on first use, not `import tarry`.
        def __init__(self, name: str) -> None:
            self._name = name

        def __getattr__(self, attr: str) -> Any:
            return getattr(importlib.import_module(self._name), attr)

    httpx = _Lazy("httpx")
    schemas = _Lazy("tarry.web.schemas")

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

T = TypeVar("T")

Subject = Literal["run", "wait", "deployment"]
"""What a call names, which says what a 404 means."""


class _NotJson:
    """The type of `NOT_JSON`."""

    def __repr__(self) -> str:
        return "NOT_JSON"


NOT_JSON = _NotJson()
"""A response body that is not JSON (`None` would be the JSON `null`)."""


# -- the pure core: what to send, how to read the answer ---------------------------------------


@dataclasses.dataclass(frozen=True)
class Call(Generic[T]):
    """One API call, without I/O: the request to send and how to read its answer."""

    method: str
    """HTTP method."""
    path: str
    """Path under the API base URL, with its parts quoted."""
    read: Callable[[Any], T]
    """Turns the JSON body of a successful answer into the result."""
    params: tuple[tuple[str, str | int | bool], ...] = ()
    """Query parameters."""
    body: Any = None
    """The JSON body; `None` sends none."""
    subject: Subject | None = None
    """What `subject_id` names: a 404 raises the matching `NotFound`."""
    subject_id: str = ""
    """The run id, wait id or deployment name the call is about."""


def default_url(settings: config.Settings) -> str:
    """The API base URL: `settings.api_url`, or where `tarry server` listens by default."""
    if settings.api_url:
        return settings.api_url
    host = settings.server_host
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - "listen everywhere" is reached locally
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.server_port}/api"


def decode_body(content_type: str, content: bytes) -> Any:
    """The JSON value of a response body, or `NOT_JSON`."""
    if "json" not in content_type.lower():
        return NOT_JSON
    try:
        return json.loads(content)
    except ValueError:
        return NOT_JSON


def read_response(call: Call[T], status: int, body: Any, *, url: str, token_sent: bool) -> T:
    """The result of `call` from the server's answer, or the tarry error it stands for.

    Args:
        call: The call that was sent.
        status: The HTTP status of the answer.
        body: Its decoded JSON body (see `decode_body`).
        url: The API base URL, for messages.
        token_sent: Whether the request carried an API token, for messages.

    Returns:
        What `call.read` makes of the body.

    Raises:
        errors.TarryError: The server refused the call; see the module's table.
    """
    if body is NOT_JSON:
        raise _not_an_api(url, status)
    if 200 <= status < 300:
        return call.read(body)
    raise _error_for(call, body, url=url, token_sent=token_sent)


def _error_for(call: Call[Any], body: Any, *, url: str, token_sent: bool) -> errors.TarryError:
    if not isinstance(body, dict) or not isinstance(body.get("code"), str):
        return errors.TarryError(f"unexpected answer from {url}: {body!r}")
    detail, code = str(body.get("detail", "")), body["code"]
    if code == "unauthorized":
        return errors.ConfigurationError(_token_advice(url, token_sent))
    if code == "invalid_input":
        return errors.InputInvalid([_field_error(e) for e in body.get("errors") or []])
    if code == "no_such_route":
        return errors.ConfigurationError(f"{url} has no endpoint {call.path!r}; {_URL_ADVICE}")
    build = _ERRORS.get(code)
    exc = build(call, detail) if build is not None else errors.TarryError(detail)
    # The constructors word their own messages; the server's says the same, with details
    # (such as an ambiguous run id prefix) that the client cannot know.
    exc.args = (detail,)
    return exc


_URL_ADVICE = "TARRY_API_URL should be a tarry server's API, e.g. http://127.0.0.1:4300/api"


def _not_an_api(url: str, status: int) -> errors.ConfigurationError:
    return errors.ConfigurationError(
        f"{url} answered HTTP {status} without JSON: it is not a tarry API; {_URL_ADVICE}"
    )


def _token_advice(url: str, token_sent: bool) -> str:
    if token_sent:
        return f"the server at {url} refused the API token; set TARRY_API_TOKEN to its token"
    return f"the server at {url} needs TARRY_API_TOKEN (its API token), or pass token=..."


def _field_error(data: Any) -> errors.FieldError:
    if not isinstance(data, dict):
        return errors.FieldError((), str(data))
    loc, msg = data.get("loc") or (), data.get("msg") or data
    return errors.FieldError(tuple(loc), str(msg), str(data.get("type") or "value_error"))


def _after(word: str, text: str) -> str:
    found = re.search(rf"\b{word} (\S+)", text)
    return found.group(1) if found else ""


def _run_id(call: Call[Any], detail: str) -> str:
    return call.subject_id if call.subject == "run" else _after("run", detail)


def _not_found(call: Call[Any], detail: str) -> errors.NotFound:
    if call.subject == "run":
        return errors.RunNotFound(call.subject_id)
    if call.subject == "wait":
        return errors.WaitNotFound(call.subject_id)
    if call.subject == "deployment":
        return errors.DeploymentNotFound(call.subject_id)
    return errors.NotFound(detail)


def _parameter_error(_call: Call[Any], detail: str) -> errors.ParameterError:
    flow = re.search(r"flow '([^']+)'", detail)
    return errors.ParameterError(detail, flow_name=flow.group(1) if flow else "")


def _already_answered(call: Call[Any], detail: str) -> errors.AlreadyAnswered:
    wait_id = call.subject_id if call.subject == "wait" else _after("wait", detail)
    by = re.search(r" by (.+)$", detail)
    return errors.AlreadyAnswered(wait_id, by.group(1) if by else None, None)


def _run_ended(call: Call[Any], detail: str) -> errors.RunEnded:
    state = re.search(r"has ended \((\w+)\)", detail)
    return errors.RunEnded(_run_id(call, detail), state.group(1) if state else "", "changed")


def _invalid_transition(call: Call[Any], detail: str) -> errors.InvalidTransition:
    states = re.search(r"from (\w+) to (\w+)", detail)
    before, after = states.groups() if states else ("", "")
    return errors.InvalidTransition(_run_id(call, detail), before, after)


_ERRORS: dict[str, Callable[[Call[Any], str], errors.TarryError]] = {
    "not_found": _not_found,
    "invalid_parameters": _parameter_error,
    "already_answered": _already_answered,
    "not_waiting": lambda call, detail: errors.NotWaiting(_run_id(call, detail), detail),
    "run_ended": _run_ended,
    "invalid_transition": _invalid_transition,
    "flow_not_loadable": lambda _call, detail: errors.FlowLoadError(detail),
}


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def _jsonable(value: Any) -> Any:
    # Pydantic models (a RunInput), dataclasses, enums and datetimes become JSON data.
    return pydantic_core.to_jsonable_python(value)


def _run(body: Any) -> schemas.RunOut:
    return schemas.RunOut.model_validate(body)


def _run_of_detail(body: Any) -> schemas.RunOut:
    return schemas.RunOut.model_validate(body["run"])


def _logs(body: Any) -> list[schemas.LogOut]:
    return [schemas.LogOut.model_validate(line) for line in body]


def _runs(body: Any) -> list[schemas.RunOut]:
    return [schemas.RunOut.model_validate(item) for item in body["items"]]


def _inputs(body: Any) -> list[schemas.InputOut]:
    return [schemas.InputOut.model_validate(item) for item in body["items"]]


def _deployments(body: Any) -> list[schemas.DeploymentOut]:
    return [schemas.DeploymentOut.model_validate(item) for item in body["items"]]


def _health_call() -> Call[bool]:
    return Call("GET", "health", lambda body: isinstance(body, dict) and body.get("status") == "ok")


def _list_runs_call(
    states: Iterable[RunState | str],
    flow_name: str | None,
    top_level: bool,
    limit: int,
    offset: int,
) -> Call[list[schemas.RunOut]]:
    params: list[tuple[str, str | int | bool]] = [("state", RunState(s).value) for s in states]
    if flow_name is not None:
        params.append(("flow", flow_name))
    if top_level:
        params.append(("top_level", True))
    params += [("limit", limit), ("offset", offset)]
    return Call("GET", "runs", _runs, params=tuple(params))


def _run_detail_call(run_id: str) -> Call[schemas.RunDetailOut]:
    read = schemas.RunDetailOut.model_validate
    return Call("GET", f"runs/{_quote(run_id)}", read, subject="run", subject_id=run_id)


def _run_call(run_id: str) -> Call[schemas.RunOut]:
    # The API has no lighter route for one run: its detail carries it.
    path = f"runs/{_quote(run_id)}"
    return Call("GET", path, _run_of_detail, subject="run", subject_id=run_id)


def _logs_call(run_id: str, limit: int) -> Call[list[schemas.LogOut]]:
    path = f"runs/{_quote(run_id)}/logs"
    return Call("GET", path, _logs, params=(("limit", limit),), subject="run", subject_id=run_id)


def _start_call(deployment_name: str, parameters: dict[str, Any] | None) -> Call[schemas.RunOut]:
    body = {"deployment": deployment_name, "parameters": _jsonable(parameters or {})}
    return Call("POST", "runs", _run, body=body, subject="deployment", subject_id=deployment_name)


def _run_action_call(run_id: str, action: str) -> Call[schemas.RunOut]:
    path = f"runs/{_quote(run_id)}/{action}"
    return Call("POST", path, _run, subject="run", subject_id=run_id)


def _resume_call(
    run_id: str, run_input: Any, key: str | None, responder: str | None
) -> Call[schemas.AnswerOut]:
    body = {"input": _jsonable(run_input), "key": key, "responder": responder}
    path = f"runs/{_quote(run_id)}/resume"
    read = schemas.AnswerOut.model_validate
    return Call("POST", path, read, body=body, subject="run", subject_id=run_id)


def _pending_inputs_call(
    run_id: str | None, limit: int, offset: int
) -> Call[list[schemas.InputOut]]:
    params: list[tuple[str, str | int | bool]] = [("limit", limit), ("offset", offset)]
    if run_id is None:
        return Call("GET", "inputs", _inputs, params=tuple(params))
    params.append(("run_id", run_id))
    return Call("GET", "inputs", _inputs, params=tuple(params), subject="run", subject_id=run_id)


def _send_call(
    run_id: str, value: Any, key: str | None, sender: str | None
) -> Call[schemas.MessageOut]:
    body = {"value": _jsonable(value), "key": key, "sender": sender}
    path = f"runs/{_quote(run_id)}/messages"
    read = schemas.MessageOut.model_validate
    return Call("POST", path, read, body=body, subject="run", subject_id=run_id)


def _input_call(wait_id: str) -> Call[schemas.InputOut]:
    read = schemas.InputOut.model_validate
    return Call("GET", f"inputs/{_quote(wait_id)}", read, subject="wait", subject_id=wait_id)


def _answer_call(wait_id: str, data: Any, responder: str | None) -> Call[schemas.AnswerOut]:
    body = {"input": _jsonable(data), "responder": responder}
    path = f"inputs/{_quote(wait_id)}/answer"
    read = schemas.AnswerOut.model_validate
    return Call("POST", path, read, body=body, subject="wait", subject_id=wait_id)


def _deployments_call(limit: int, offset: int) -> Call[list[schemas.DeploymentOut]]:
    return Call("GET", "deployments", _deployments, params=(("limit", limit), ("offset", offset)))


def _deployment_call(name: str) -> Call[schemas.DeploymentOut]:
    # `flow-name/deployment` keeps its slash: the route takes the rest of the path.
    path = f"deployments/{urllib.parse.quote(name, safe='/')}"
    read = schemas.DeploymentOut.model_validate
    return Call("GET", path, read, subject="deployment", subject_id=name)


# -- the I/O: two thin clients -------------------------------------------------------------------


class _BaseClient:
    """What both clients share: where the server is, and reading its answers."""

    def __init__(self, url: str | None, token: str | None, timeout: float) -> None:
        self.url, self._token = _resolve(url, token)
        self.timeout = timeout
        """Seconds to wait for the server to connect and to answer."""

    def _headers(self) -> dict[str, str]:
        from tarry import __version__  # noqa: PLC0415 - tarry/__init__ imports this module

        headers = {"User-Agent": f"tarry-client/{__version__}", "Accept": "application/json"}
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


class _Waited:
    """The clock of a `wait_for_flow_run`: how long to pause before the next read."""

    def __init__(self, run_id: str, timeout: float | None) -> None:
        self.run_id = run_id
        self.timeout = timeout
        self.deadline = None if timeout is None else time.monotonic() + timeout

    def next_pause(self, run: schemas.RunOut, poll_interval: float) -> float:
        """Seconds to sleep before reading `run` again.

        Raises:
            TimeoutError: The deadline has passed.
        """
        if self.deadline is None:
            return poll_interval
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(
                f"run {self.run_id} is still {run.state.value} after {self.timeout:g} s"
            )
        return min(poll_interval, left)


def _resolve(url: str | None, token: str | None) -> tuple[str, str]:
    if url is not None and token is not None:
        return url, token
    settings = config.Settings.from_env()
    return (
        url if url is not None else default_url(settings),
        token if token is not None else settings.api_token,
    )


class Client(_BaseClient):
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
        try:
            response = self._http.request(
                call.method, call.path, params=call.params, json=call.body
            )
        except httpx.ConnectError as exc:
            raise self._refused() from exc
        return self._read(call, response)

    def health(self) -> bool:
        """Whether the server answers that it is up.

        Raises:
            errors.ConfigurationError: No server answers at the URL, or it needs a token.
        """
        return self._send(_health_call())

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
        return self._send(_list_runs_call(states, flow_name, top_level, limit, offset))

    def read_flow_run(self, run_id: str) -> schemas.RunOut:
        """One run, by id or unique id prefix.

        Raises:
            errors.RunNotFound: No run matches, or several do.
        """
        return self._send(_run_call(run_id))

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
        waited = _Waited(run_id, timeout)
        while not (run := self.read_flow_run(run_id)).state.is_final:
            time.sleep(waited.next_pause(run, poll_interval))
        return run

    def read_flow_run_detail(self, run_id: str) -> schemas.RunDetailOut:
        """One run with its journal, state changes, waits, child runs and first log lines.

        Raises:
            errors.RunNotFound: No run matches, or several do.
        """
        return self._send(_run_detail_call(run_id))

    def read_logs(self, run_id: str, *, limit: int = 500) -> list[schemas.LogOut]:
        """A run's log lines, oldest first (at most `limit`, up to 500).

        Raises:
            errors.RunNotFound: No run matches, or several do.
        """
        return self._send(_logs_call(run_id, limit))

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
        return self._send(_start_call(deployment_name, parameters))

    def cancel_flow_run(self, run_id: str) -> schemas.RunOut:
        """Cancel a run and its child runs; their open waits close.

        Raises:
            errors.RunNotFound: No run matches.
            errors.RunEnded: The run has already ended.
        """
        return self._send(_run_action_call(run_id, "cancel"))

    def suspend_flow_run(self, run_id: str) -> schemas.RunOut:
        """Take a waiting run out of memory; it resumes by replay when its wait ends.

        Raises:
            errors.RunNotFound: No run matches.
            errors.RunEnded: The run has ended.
            errors.NotWaiting: The run is not waiting, or waits in another process.
        """
        return self._send(_run_action_call(run_id, "suspend"))

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
        return self._send(_resume_call(run_id, run_input, key, responder))

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
        return self._send(_send_call(run_id, value, key, sender))

    def list_pending_inputs(
        self, run_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[schemas.InputOut]:
        """Open input waits across runs (or of one run), oldest first, with their forms.

        Raises:
            errors.RunNotFound: `run_id` matches no run.
        """
        return self._send(_pending_inputs_call(run_id, limit, offset))

    def read_input(self, wait_id: str) -> schemas.InputOut:
        """One input wait, open or closed, with its form and (once closed) its answer.

        Raises:
            errors.WaitNotFound: No input wait has this id.
        """
        return self._send(_input_call(wait_id))

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
        return self._send(_answer_call(wait_id, data, responder))

    def list_deployments(self, limit: int = 50, offset: int = 0) -> list[schemas.DeploymentOut]:
        """Deployments, by name."""
        return self._send(_deployments_call(limit, offset))

    def read_deployment(self, name: str) -> schemas.DeploymentOut:
        """One deployment, by its name `flow-name/deployment`.

        Raises:
            errors.DeploymentNotFound: No deployment has this name.
        """
        return self._send(_deployment_call(name))


class AsyncClient(_BaseClient):
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
        try:
            response = await self._http.request(
                call.method, call.path, params=call.params, json=call.body
            )
        except httpx.ConnectError as exc:
            raise self._refused() from exc
        return self._read(call, response)

    async def health(self) -> bool:
        """Async version of `Client.health`."""
        return await self._send(_health_call())

    async def list_runs(
        self,
        states: Iterable[RunState | str] = (),
        flow_name: str | None = None,
        top_level: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> list[schemas.RunOut]:
        """Async version of `Client.list_runs`."""
        return await self._send(_list_runs_call(states, flow_name, top_level, limit, offset))

    async def read_flow_run(self, run_id: str) -> schemas.RunOut:
        """Async version of `Client.read_flow_run`."""
        return await self._send(_run_call(run_id))

    async def wait_for_flow_run(
        self, run_id: str, timeout: float | None = 10_800, poll_interval: float = 0.2
    ) -> schemas.RunOut:
        """Async version of `Client.wait_for_flow_run`."""
        waited = _Waited(run_id, timeout)
        while not (run := await self.read_flow_run(run_id)).state.is_final:
            await asyncio.sleep(waited.next_pause(run, poll_interval))
        return run

    async def read_flow_run_detail(self, run_id: str) -> schemas.RunDetailOut:
        """Async version of `Client.read_flow_run_detail`."""
        return await self._send(_run_detail_call(run_id))

    async def read_logs(self, run_id: str, *, limit: int = 500) -> list[schemas.LogOut]:
        """Async version of `Client.read_logs`."""
        return await self._send(_logs_call(run_id, limit))

    async def create_flow_run_from_deployment(
        self, deployment_name: str, parameters: dict[str, Any] | None = None
    ) -> schemas.RunOut:
        """Async version of `Client.create_flow_run_from_deployment`."""
        return await self._send(_start_call(deployment_name, parameters))

    async def cancel_flow_run(self, run_id: str) -> schemas.RunOut:
        """Async version of `Client.cancel_flow_run`."""
        return await self._send(_run_action_call(run_id, "cancel"))

    async def suspend_flow_run(self, run_id: str) -> schemas.RunOut:
        """Async version of `Client.suspend_flow_run`."""
        return await self._send(_run_action_call(run_id, "suspend"))

    async def resume_flow_run(
        self,
        run_id: str,
        run_input: Any = None,
        *,
        key: str | None = None,
        responder: str | None = None,
    ) -> schemas.AnswerOut:
        """Async version of `Client.resume_flow_run`."""
        return await self._send(_resume_call(run_id, run_input, key, responder))

    async def send_input(
        self, run_id: str, value: Any, *, key: str | None = None, sender: str | None = None
    ) -> schemas.MessageOut:
        """Async version of `Client.send_input`."""
        return await self._send(_send_call(run_id, value, key, sender))

    async def list_pending_inputs(
        self, run_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[schemas.InputOut]:
        """Async version of `Client.list_pending_inputs`."""
        return await self._send(_pending_inputs_call(run_id, limit, offset))

    async def read_input(self, wait_id: str) -> schemas.InputOut:
        """Async version of `Client.read_input`."""
        return await self._send(_input_call(wait_id))

    async def answer_input(
        self, wait_id: str, data: Any = None, *, responder: str | None = None
    ) -> schemas.AnswerOut:
        """Async version of `Client.answer_input`."""
        return await self._send(_answer_call(wait_id, data, responder))

    async def list_deployments(
        self, limit: int = 50, offset: int = 0
    ) -> list[schemas.DeploymentOut]:
        """Async version of `Client.list_deployments`."""
        return await self._send(_deployments_call(limit, offset))

    async def read_deployment(self, name: str) -> schemas.DeploymentOut:
        """Async version of `Client.read_deployment`."""
        return await self._send(_deployment_call(name))


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
