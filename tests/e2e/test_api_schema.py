"""Schemathesis over every API operation: no 5xx, no undocumented status, responses match."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tarry import config, host, server
from tests.conftest import ROOT, drop_postgres_schema, postgres_schema_url
from tests.e2e.live import live_server

CHALLENGE_4 = str(ROOT / "examples" / "finance" / "challenge_4.py") + ":train_model"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def api_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A server with a deployment, a waiting run and a finished one, for realistic data.

    On both stores: PostgreSQL refuses what SQLite stores (a NUL character), so a 5xx
    may hide on one of them only.
    """
    home: Path = tmp_path_factory.mktemp("schemathesis")
    database = postgres_schema_url() if request.param == "postgres" else ""
    hst = host.Host(config.Settings(home=home, database_url=database, worker_poll_seconds=0.05))
    deployed = server.deploy_entrypoints(hst, [CHALLENGE_4])
    server.start_demo_runs(hst, deployed)
    try:
        with live_server(hst) as url:
            yield url
    finally:
        hst.close()
        if database:
            drop_postgres_schema(database)


Operation = schemathesis.APIOperation[Any, Any, Any, Any]

SHARDS = 4
"""The operations are checked in this many tests, each taking every SHARDS-th one: together
they check every operation, and `pytest -n` runs them on several workers at once."""

EXAMPLES = 30
"""Cases per operation and generation mode (derandomized: the same cases every run)."""


def _operations(url: str) -> list[Operation]:
    loaded = schemathesis.openapi.from_url(url + "/api/openapi.json")
    found = []
    for result in loaded.get_all_operations():
        if isinstance(result, Err):
            raise AssertionError(f"the OpenAPI document is invalid: {result.err()}")
        found.append(result.ok())
    return found


# Schemathesis' negative mode draws from the global `random` module; hypothesis warns
# when a draw moves that state, only on the draws that do, so under "warnings are errors"
# the same case failed once and passed on replay (a "flaky" report with no API fault).
@pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies"
    ":hypothesis.errors.HypothesisDeprecationWarning"
)
# A shard's 9 or so operations, 2 x EXAMPLES cases each, on a busy machine.
@pytest.mark.timeout(600)
@pytest.mark.parametrize("shard", range(SHARDS))
def test_every_operation_conforms_to_its_documentation(api_url: str, shard: int) -> None:
    # Schemathesis' pytest plugin does not run under pytest 9, so each operation's
    # strategy is driven by hypothesis here; failures name the operation.
    operations = _operations(api_url)
    assert len(operations) >= 11
    failures = []
    for operation in operations[shard::SHARDS]:
        if operation.path.endswith("/stream"):
            continue  # never ends by itself: tests/e2e/test_events_api.py reads it
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            try:
                _check(operation, mode)
            except hypothesis.errors.Unsatisfiable:
                continue  # nothing to make invalid (an operation without parameters)
            except BaseException as exc:  # schemathesis raises a group of all it found
                failures.append(f"{operation.label} ({mode.value}): {_described(exc)}")
    assert not failures, "\n\n".join(failures)


@st.composite
def _seeded(draw: st.DrawFn, strategy: st.SearchStrategy[Any]) -> Any:
    """`strategy`'s case, with the global `random` seeded from hypothesis' own data.

    Schemathesis' negative mode draws from the global `random` module too: seeded here,
    a case hypothesis replays (to shrink or to report it) is the same case, not another.
    """
    random.seed(draw(st.integers(min_value=0, max_value=2**32 - 1)))
    return draw(strategy)


def _check(operation: Operation, mode: schemathesis.GenerationMode) -> None:
    @hypothesis.given(case=_seeded(operation.as_strategy(generation_mode=mode)))
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        derandomize=True,
        database=None,
    )
    def call(case: Any) -> None:
        excluded = []
        if _answers(operation) or _automation_document(operation):
            # A schema-valid answer may still not fit the input model of the run its id
            # prefix happens to match (the document cannot know that model): its 422 with
            # field errors is the right reply. Every other check still runs.
            excluded = [positive_data_acceptance]
        if _templates(operation):
            # Whether a schema-valid Jinja text makes a valid event is the template's
            # check, not the schema's: its 422 with the reason is the right reply.
            excluded = [positive_data_acceptance]
        try:
            case.call_and_validate(excluded_checks=excluded)
        except Exception as exc:
            exc.add_note(f"the case: {case.method} {case.formatted_path} {case.body!r}")
            raise

    call()


def _described(exc: BaseException) -> str:
    """The error with every error it groups, so a failure that did not repeat still shows why."""
    inner: tuple[BaseException, ...] = getattr(exc, "exceptions", ())
    notes: list[str] = getattr(exc, "__notes__", [])
    return "\n".join([str(exc), *notes, *(f"  - {_described(sub)}" for sub in inner)])


def _answers(operation: Operation) -> bool:
    """Whether the operation answers a wait (its body is checked against the run's model)."""
    return operation.method.upper() == "POST" and operation.path.endswith(("/resume", "/answer"))


def _templates(operation: Operation) -> bool:
    """Whether the operation makes or changes a webhook (its template is checked on the server)."""
    return operation.method.upper() in ("POST", "PATCH") and operation.path in (
        "/api/webhooks",
        "/api/webhooks/{key}",
    )


def _automation_document(operation: Operation) -> bool:
    """Whether the operation takes an automation document, whose cross-field rules (at least
    one action, `require` no more than the triggers, a proactive window of 10 s or more) a
    schema cannot say: its 422 with field errors is the right reply, as for an answer."""
    return operation.method.upper() in ("POST", "PUT") and operation.path.startswith(
        "/api/automations"
    )
