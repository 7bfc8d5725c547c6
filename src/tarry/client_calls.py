"""The pure core of tarry's API clients: what each call sends and how its answer is read.

No I/O here: a `Call` describes a request, `read_response` turns a status and a JSON
body into a result or a tarry error, and the `*_call` functions build the calls that
`tarry.client.Client` and `AsyncClient` send (as httpx's clients share `auth_flow`).
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import pydantic_core

from tarry import _lazy, config, errors
from tarry.states import RunState

if TYPE_CHECKING:
    from tarry.web import schemas
else:
    # The API models cost about 10 ms to import: the client pays on first use.
    schemas = _lazy.Lazy("tarry.web.schemas")

__all__ = [
    "NOT_JSON",
    "Call",
    "Subject",
    "Waited",
    "answer_call",
    "decode_body",
    "default_url",
    "deployment_call",
    "deployments_call",
    "encode_body",
    "health_call",
    "input_call",
    "list_runs_call",
    "logs_call",
    "pending_inputs_call",
    "read_response",
    "resume_call",
    "run_action_call",
    "run_call",
    "run_detail_call",
    "schedule_update_call",
    "schedules_call",
    "send_call",
    "start_call",
    "upcoming_call",
]

T = TypeVar("T")

Subject = Literal[
    "run",
    "wait",
    "deployment",
    "schedule",
    "work_pool",
    "work_queue",
    "concurrency_limit",
    "automation",
]
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
    """The run id, wait id, deployment name or work pool name the call is about."""
    subject_name: str = ""
    """The work queue's name, when `subject` is `work_queue`."""


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
    if status == 204:  # No Content: a deletion, answered without a body
        return call.read(None)
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
    if call.subject == "automation" and code in ("invalid_request", "invalid_automation"):
        return errors.AutomationInvalid([_field_error(e) for e in body.get("errors") or []])
    if code in ("invalid_input", "value_refused"):
        found = [_field_error(e) for e in body.get("errors") or []]
        exc: errors.TarryError = (
            errors.ValueRefused("the value", found)
            if code == "value_refused"
            else errors.InputInvalid(found)
        )
        exc.args = (detail,) if code == "value_refused" else exc.args
        return exc
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
    if call.subject == "run":
        return call.subject_id
    # The last "run <id>": Prefect's words ("Cannot resume a run that ...") come first.
    found = re.findall(r"\brun (\S+)", detail)
    return found[-1] if found else ""


def _not_found(call: Call[Any], detail: str) -> errors.NotFound:
    if call.subject == "run":
        return errors.RunNotFound(call.subject_id)
    if call.subject == "wait":
        return errors.WaitNotFound(call.subject_id)
    if call.subject == "schedule" and "no schedule" in detail:
        return errors.ScheduleNotFound(detail)
    if call.subject in ("deployment", "schedule"):
        return errors.DeploymentNotFound(call.subject_id)
    if call.subject == "work_queue" and "has no queue" in detail:
        return errors.WorkQueueNotFound(call.subject_id, call.subject_name)
    if call.subject in ("work_pool", "work_queue"):
        return errors.WorkPoolNotFound(call.subject_id)
    if call.subject == "concurrency_limit":
        return errors.ConcurrencyLimitNotFound(call.subject_id)
    if call.subject == "automation":
        return errors.AutomationNotFound(call.subject_id)
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


def _not_retryable(call: Call[Any], detail: str) -> errors.NotRetryable:
    found = re.search(r" is (\w+): (.*)$", detail)
    state, why = found.groups() if found else ("", detail)
    return errors.NotRetryable(_run_id(call, detail), state, why)


def _invalid_transition(call: Call[Any], detail: str) -> errors.InvalidTransition:
    states = re.search(r"from (\w+) to (\w+)", detail)
    before, after = states.groups() if states else ("", "")
    return errors.InvalidTransition(_run_id(call, detail), before, after)


def _invalid_request(call: Call[Any], detail: str) -> errors.TarryError:
    if call.subject in ("work_pool", "work_queue"):
        return errors.WorkPoolRefused(detail)
    if call.subject == "concurrency_limit":
        return errors.ConcurrencyLimitRefused(detail)
    return errors.TarryError(detail)


_ERRORS: dict[str, Callable[[Call[Any], str], errors.TarryError]] = {
    "not_found": _not_found,
    "invalid_parameters": _parameter_error,
    "already_answered": _already_answered,
    "not_waiting": lambda call, detail: errors.NotWaiting(
        _run_id(call, detail), detail, message=detail
    ),
    "run_ended": _run_ended,
    "invalid_transition": _invalid_transition,
    "not_retryable": _not_retryable,
    "flow_not_loadable": lambda _call, detail: errors.FlowLoadError(detail),
    "work_pool_refused": lambda _call, detail: errors.WorkPoolRefused(detail),
    "concurrency_limit_refused": lambda _call, detail: errors.ConcurrencyLimitRefused(detail),
    "invalid_request": _invalid_request,
    "automation_name_taken": lambda call, _detail: errors.AutomationNameTaken(call.subject_id),
}


def encode_body(call: Call[Any]) -> bytes | None:
    """The call's body as JSON bytes (`None`: no body).

    JSON has no `NaN` or `Infinity`; the server would refuse them (422
    `value_refused`), so the client refuses them before sending, with the same error.

    Raises:
        errors.ValueRefused: The body holds a number that is not finite.
    """
    if call.body is None:
        return None
    try:
        text = json.dumps(call.body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        problem = errors.FieldError((), "NaN and Infinity are not JSON numbers", "not_finite")
        raise errors.ValueRefused("the request", [problem]) from None
    return text.encode("utf-8", "surrogatepass")


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


def health_call() -> Call[bool]:
    """The call of `Client.health`."""
    return Call("GET", "health", lambda body: isinstance(body, dict) and body.get("status") == "ok")


def list_runs_call(
    states: Iterable[RunState | str],
    flow_name: str | None,
    top_level: bool,
    limit: int,
    offset: int,
) -> Call[list[schemas.RunOut]]:
    """The call of `Client.list_runs`."""
    params: list[tuple[str, str | int | bool]] = [("state", RunState(s).value) for s in states]
    if flow_name is not None:
        params.append(("flow", flow_name))
    if top_level:
        params.append(("top_level", True))
    params += [("limit", limit), ("offset", offset)]
    return Call("GET", "runs", _runs, params=tuple(params))


def run_detail_call(run_id: str) -> Call[schemas.RunDetailOut]:
    """The call of `Client.read_flow_run_detail`."""
    read = schemas.RunDetailOut.model_validate
    return Call("GET", f"runs/{_quote(run_id)}", read, subject="run", subject_id=run_id)


def run_call(run_id: str) -> Call[schemas.RunOut]:
    """The call of `Client.read_flow_run`."""
    # The API has no lighter route for one run: its detail carries it.
    path = f"runs/{_quote(run_id)}"
    return Call("GET", path, _run_of_detail, subject="run", subject_id=run_id)


def logs_call(run_id: str, limit: int) -> Call[list[schemas.LogOut]]:
    """The call of `Client.read_logs`."""
    path = f"runs/{_quote(run_id)}/logs"
    return Call("GET", path, _logs, params=(("limit", limit),), subject="run", subject_id=run_id)


def start_call(deployment_name: str, parameters: dict[str, Any] | None) -> Call[schemas.RunOut]:
    """The call of `Client.create_flow_run_from_deployment`."""
    body = {"deployment": deployment_name, "parameters": _jsonable(parameters or {})}
    return Call("POST", "runs", _run, body=body, subject="deployment", subject_id=deployment_name)


def run_action_call(run_id: str, action: str) -> Call[schemas.RunOut]:
    """The call of `Client.cancel_flow_run`, `suspend_flow_run`, `retry_flow_run`, `rerun`."""
    path = f"runs/{_quote(run_id)}/{action}"
    return Call("POST", path, _run, subject="run", subject_id=run_id)


def resume_call(
    run_id: str, run_input: Any, key: str | None, responder: str | None
) -> Call[schemas.AnswerOut]:
    """The call of `Client.resume_flow_run`."""
    body = {"input": _jsonable(run_input), "key": key, "responder": responder}
    path = f"runs/{_quote(run_id)}/resume"
    read = schemas.AnswerOut.model_validate
    return Call("POST", path, read, body=body, subject="run", subject_id=run_id)


def pending_inputs_call(
    run_id: str | None, limit: int, offset: int
) -> Call[list[schemas.InputOut]]:
    """The call of `Client.list_pending_inputs`."""
    params: list[tuple[str, str | int | bool]] = [("limit", limit), ("offset", offset)]
    if run_id is None:
        return Call("GET", "inputs", _inputs, params=tuple(params))
    params.append(("run_id", run_id))
    return Call("GET", "inputs", _inputs, params=tuple(params), subject="run", subject_id=run_id)


def send_call(
    run_id: str, value: Any, key: str | None, sender: str | None
) -> Call[schemas.MessageOut]:
    """The call of `Client.send_input`."""
    body = {"value": _jsonable(value), "key": key, "sender": sender}
    path = f"runs/{_quote(run_id)}/messages"
    read = schemas.MessageOut.model_validate
    return Call("POST", path, read, body=body, subject="run", subject_id=run_id)


def input_call(wait_id: str) -> Call[schemas.InputOut]:
    """The call of `Client.read_input`."""
    read = schemas.InputOut.model_validate
    return Call("GET", f"inputs/{_quote(wait_id)}", read, subject="wait", subject_id=wait_id)


def answer_call(wait_id: str, data: Any, responder: str | None) -> Call[schemas.AnswerOut]:
    """The call of `Client.answer_input`."""
    body = {"input": _jsonable(data), "responder": responder}
    path = f"inputs/{_quote(wait_id)}/answer"
    read = schemas.AnswerOut.model_validate
    return Call("POST", path, read, body=body, subject="wait", subject_id=wait_id)


def deployments_call(limit: int, offset: int) -> Call[list[schemas.DeploymentOut]]:
    """The call of `Client.list_deployments`."""
    return Call("GET", "deployments", _deployments, params=(("limit", limit), ("offset", offset)))


def deployment_call(name: str) -> Call[schemas.DeploymentOut]:
    """The call of `Client.read_deployment`."""
    # `flow-name/deployment` keeps its slash: the route takes the rest of the path.
    path = f"deployments/{urllib.parse.quote(name, safe='/')}"
    read = schemas.DeploymentOut.model_validate
    return Call("GET", path, read, subject="deployment", subject_id=name)


def _deployment_path(name: str, rest: str) -> str:
    return f"deployments/{urllib.parse.quote(name, safe='/')}/{rest}"


def _schedules(body: Any) -> list[schemas.ScheduleOut]:
    return [schemas.ScheduleOut.model_validate(item) for item in body]


def _upcoming(body: Any) -> list[schemas.UpcomingRunOut]:
    return [schemas.UpcomingRunOut.model_validate(item) for item in body]


def schedules_call(name: str) -> Call[list[schemas.ScheduleOut]]:
    """The call of `Client.read_deployment_schedules`."""
    path = _deployment_path(name, "schedules")
    return Call("GET", path, _schedules, subject="deployment", subject_id=name)


def schedule_update_call(name: str, slug: str, active: bool) -> Call[schemas.ScheduleOut]:
    """The call of `Client.update_deployment_schedule`."""
    path = _deployment_path(name, f"schedules/{urllib.parse.quote(slug, safe='')}")
    read = schemas.ScheduleOut.model_validate
    body = {"active": active}
    return Call("PATCH", path, read, body=body, subject="schedule", subject_id=name)


def upcoming_call(name: str, limit: int) -> Call[list[schemas.UpcomingRunOut]]:
    """The call of `Client.read_upcoming_runs`."""
    path = _deployment_path(name, "upcoming")
    params = (("limit", limit),)
    return Call("GET", path, _upcoming, params=params, subject="deployment", subject_id=name)


class Waited:
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
