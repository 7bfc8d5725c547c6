"""The `tarry` command, run as a user would, in its own process."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tarry import errors, loader, service
from tarry.definitions import Flow
from tarry.states import RunState, WaitStatus
from tarry.storage import records, sqlfiles
from tarry.testing import RunHandle, TestHarness
from tests.conftest import ROOT, query, run_tarry

PIPELINE = "examples/getting_started.py:pipeline"
CHALLENGE_4 = ROOT / "examples" / "finance" / "challenge_4.py"

CHALLENGE_4_CODE = "Seven digits, 1 to 9: no zeroes (they look too much like the letter O)."
"""Challenge 4's code description: what a code with a zero is refused with."""


def test_run_prints_the_result_and_stores_the_run(tarry_home: Path) -> None:
    done = run_tarry(tarry_home, "run", PIPELINE, "--param", "n=4")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == 12
    assert "Finished in state Completed()" in done.stderr
    [(flow_name, state, entrypoint)] = query(
        tarry_home / "tarry.db", "SELECT flow_name, state, entrypoint FROM runs"
    )
    assert (flow_name, state) == ("pipeline", "Completed")
    assert entrypoint == f"{ROOT / 'examples' / 'getting_started.py'}:pipeline"


def test_run_takes_json_parameters(tarry_home: Path) -> None:
    done = run_tarry(tarry_home, "run", PIPELINE, "--params", '{"n": 2}')
    assert (done.returncode, json.loads(done.stdout)) == (0, 2)


def test_user_errors_exit_non_zero_with_one_line(tarry_home: Path) -> None:
    cases = {
        ("run", PIPELINE, "-p", "n=abc"): "parameter 'n' = 'abc' is invalid",
        ("run", PIPELINE, "-p", "size=3"): "unexpected keyword argument 'size'",
        ("run", PIPELINE, "-p", "oops"): "must look like name=value",
        ("run", "examples/getting_started.py:nope"): "has no attribute 'nope'",
        ("run", "no_such_module:flow"): "cannot import no_such_module",
        ("run", "examples/getting_started.py:load"): "is a Task, not a @flow",
        ("runs", "show", "0000"): "no run with id or name '0000'",
    }
    for args, message in cases.items():
        done = run_tarry(tarry_home, *args)
        assert done.returncode == 1, args
        assert message in " ".join(done.stderr.split()), (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_deployment_runs_and_worker_commands_refuse_a_wrong_argument_in_one_line(
    tarry_home: Path,
) -> None:
    cases = {
        ("deployment", "inspect", "no/such"): "no deployment named 'no/such'",
        ("deployment", "run", "no/such"): "no deployment named 'no/such'",
        ("deployment", "run", "no/such", "--param", "oops"): "must look like name=value",
        ("deployment", "pause", "no/such"): "no deployment named 'no/such'",
        ("deployment", "resume", "no/such"): "no deployment named 'no/such'",
        ("deployment", "schedule", "pause", "no/such"): "no deployment named 'no/such'",
        ("deployment", "schedule", "resume", "no/such", "s"): "no deployment named 'no/such'",
        ("runs", "retry", "0000"): "no run with id or name '0000'",
        ("runs", "rerun", "0000"): "no run with id or name '0000'",
        ("worker", "--pool", "bad name", "--burst"): "work pool name 'bad name' is not valid",
    }
    for args, message in cases.items():
        done = run_tarry(tarry_home, *args)
        assert done.returncode == 1, (args, done.stderr)
        assert done.stderr.count("\n") == 1, (args, done.stderr)
        assert message in done.stderr, (args, done.stderr)


def test_a_failing_flow_exits_non_zero(tmp_path: Path, tarry_home: Path) -> None:
    script = tmp_path / "boom.py"
    script.write_text(
        "from tarry import flow\n\n@flow\ndef boom():\n    raise ValueError('no luck')\n"
    )
    done = run_tarry(tarry_home, "run", f"{script}:boom")
    assert done.returncode == 1
    assert "the flow failed: ValueError: no luck" in done.stderr
    assert query(tarry_home / "tarry.db", "SELECT state FROM runs") == [("Failed",)]


def test_runs_ls_and_show(tarry_home: Path) -> None:
    run_tarry(tarry_home, "run", PIPELINE, "-p", "n=3")
    [(run_id, name)] = query(tarry_home / "tarry.db", "SELECT id, name FROM runs")
    listing = run_tarry(tarry_home, "runs", "ls")
    assert listing.returncode == 0
    assert str(name) in listing.stdout
    assert str(run_id)[:8] in listing.stdout
    for id_or_prefix in (str(run_id), str(run_id)[:6]):
        shown = run_tarry(tarry_home, "runs", "show", id_or_prefix)
        assert shown.returncode == 0, shown.stderr
        for text in ("Completed", "extract", "transform", "load", "loaded 3 rows", '{"n":3}'):
            assert text in shown.stdout


def test_db_upgrade_creates_the_schema(tarry_home: Path) -> None:
    done = run_tarry(tarry_home, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    latest = len(sqlfiles.load_migrations("sqlite"))
    assert latest >= 2
    versions = query(tarry_home / "tarry.db", "SELECT max(version) FROM tarry_migrations")
    assert versions == [(latest,)]


def _train_model() -> Flow[..., Any]:
    found = loader.load_object(f"{CHALLENGE_4}:train_model")
    assert isinstance(found, Flow)
    return found


def _open_wait(harness: TestHarness, handle: RunHandle, name: str) -> records.WaitRecord:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [w for w in harness.store.open_inputs(handle.id) if w.name == name]
        if found:
            return found[0]
        time.sleep(0.01)
    raise AssertionError(f"run {handle.id} never waited for {name!r}: {handle.run.state}")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_resume_from_another_process_answers_with_set_flags(harness: TestHarness) -> None:
    home = harness.host.settings.home
    handle = harness.start(_train_model())
    _open_wait(harness, handle, "approval")

    listing = run_tarry(home, "inputs", "ls")
    assert listing.returncode == 0, listing.stderr
    for text in (handle.run.name, handle.id[:8], "train-model", "approval", "decision"):
        assert text in listing.stdout

    approve = ("--key", "approval", "--set", "decision=Approve", "--responder", "cfo")
    done = run_tarry(home, "resume", handle.id[:8], *approve)
    assert done.returncode == 0, done.stderr
    assert f"answered 'approval' of run {handle.id}" in _one_line(done.stdout)

    code = _open_wait(harness, handle, "authorization")
    refused = run_tarry(home, "resume", handle.id, "--set", "code=1230567")
    assert refused.returncode == 1
    # The field's own words (its description), not the regex.
    assert f"code: {CHALLENGE_4_CODE}" in refused.stderr.splitlines()
    assert "the run keeps waiting" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert handle.run.state is RunState.WAITING
    still = harness.store.get_wait(code.id)
    assert still is not None
    assert still.status is WaitStatus.OPEN

    # --set goes over --input; a string field keeps digits as text.
    base_input = json.dumps({"code": "9"})
    accepted = run_tarry(home, "resume", handle.id, "-i", base_input, "-s", "code=1234567")
    assert accepted.returncode == 0, accepted.stderr
    assert handle.result(timeout=30) == "model trained (authorization 1234567)"
    answered = {w.name: (w.responder, w.channel, w.answer) for w in handle.waits()}
    assert answered == {
        "approval": ("cfo", "cli", '{"decision":"Approve"}'),
        "authorization": (None, "cli", '{"code":"1234567"}'),
    }


def test_resume_rejects_malformed_set_flags(tarry_home: Path) -> None:
    cases = {
        ("resume", "0000", "--set", "oops"): "--set 'oops' must look like field=value",
        ("resume", "0000", "-i", "5", "--set", "a=1"): "--set adds fields to an object",
        ("resume", "0000", "--set", "a=1"): "no run with id or name '0000'",
    }
    for args, message in cases.items():
        done = run_tarry(tarry_home, *args)
        assert done.returncode == 1, args
        assert message in _one_line(done.stderr), (args, done.stderr)


def test_runs_cancel_cancels_a_waiting_run(harness: TestHarness) -> None:
    home = harness.host.settings.home
    handle = harness.start(_train_model())
    wait = _open_wait(harness, handle, "approval")

    done = run_tarry(home, "runs", "cancel", handle.id[:8])
    assert done.returncode == 0, done.stderr
    assert _one_line(done.stdout) == f"cancelled run {handle.run.name} ({handle.id})"
    assert handle.wait_for(RunState.CANCELLED).state_reason == "cancelled by cli"
    with pytest.raises(errors.RunFailed, match="Cancelled"):
        handle.result(timeout=30)
    closed = harness.store.get_wait(wait.id)
    assert closed is not None
    assert closed.status is not WaitStatus.OPEN

    again = run_tarry(home, "runs", "cancel", handle.id)
    assert again.returncode == 1
    assert f"run {handle.id} has ended (Cancelled)" in _one_line(again.stderr)
    unknown = run_tarry(home, "runs", "cancel", "0000")
    assert (unknown.returncode, "no run with id or name '0000'" in unknown.stderr) == (1, True)


def test_resume_and_send_refuse_nul_and_infinity_and_the_run_keeps_waiting(
    harness: TestHarness,
) -> None:
    home = harness.host.settings.home
    handle = harness.start(_train_model())
    wait = _open_wait(harness, handle, "approval")

    nul = run_tarry(home, "resume", handle.id, "-i", '{"decision": "Appro\\u0000ve"}')
    infinite = run_tarry(home, "send", handle.id, "1e999")

    assert nul.returncode == 1
    assert "decision: text cannot hold a NUL character" in _one_line(nul.stderr)
    assert "the run keeps waiting" in nul.stderr
    assert infinite.returncode == 1
    assert "inf is not a JSON number" in _one_line(infinite.stderr)
    assert "Traceback" not in nul.stderr + infinite.stderr
    assert handle.run.state is RunState.WAITING
    assert harness.store.get_wait(wait.id).status is WaitStatus.OPEN  # type: ignore[union-attr]
    assert harness.store.messages_of_run(handle.id) == []


def test_a_run_is_named_by_its_name_wherever_its_id_is(harness: TestHarness) -> None:
    home = harness.host.settings.home
    handle = harness.start(_train_model())
    _open_wait(harness, handle, "approval")
    name = handle.run.name

    shown = run_tarry(home, "runs", "show", name, "--json")
    answered = run_tarry(home, "resume", name, "--key", "approval", "--set", "decision=Approve")

    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["run"]["id"] == handle.id
    assert answered.returncode == 0, answered.stderr
    assert f"answered 'approval' of run {handle.id}" in _one_line(answered.stdout)


def test_list_and_show_commands_print_the_apis_json(harness: TestHarness) -> None:
    home = harness.host.settings.home
    handle = harness.start(_train_model())
    _open_wait(harness, handle, "approval")

    runs = json.loads(run_tarry(home, "runs", "ls", "--json").stdout)
    inputs = json.loads(run_tarry(home, "inputs", "ls", "--json").stdout)
    detail = json.loads(run_tarry(home, "runs", "show", handle.id[:8], "--json").stdout)

    assert [(r["id"], r["state"]) for r in runs] == [(handle.id, "Waiting")]
    assert [(i["run_id"], i["name"]) for i in inputs] == [(handle.id, "approval")]
    assert detail["run"]["flow_name"] == "train-model"
    assert [w["name"] for w in detail["waits"]] == ["approval"]


def test_an_unknown_key_is_refused_with_what_is_open_unless_kept_ahead(
    harness: TestHarness,
) -> None:
    home = harness.host.settings.home
    handle = harness.start(_train_model())
    _open_wait(harness, handle, "approval")

    typo = run_tarry(home, "resume", handle.id, "--key", "aproval", "--set", "decision=Approve")
    ahead = run_tarry(home, "resume", handle.id, "--key", "authorization", "--ahead")

    assert typo.returncode == 1
    assert "no open wait named 'aproval' (open: 'approval')" in _one_line(typo.stderr)
    assert "--ahead" in typo.stderr
    assert [w.name for w in harness.store.open_inputs(handle.id)] == ["approval"]
    assert ahead.returncode == 0, ahead.stderr
    assert "kept for 'authorization'" in ahead.stdout


def test_a_message_to_an_ended_run_is_refused(harness: TestHarness) -> None:
    home = harness.host.settings.home
    handle = harness.start(_train_model())
    _open_wait(harness, handle, "approval")
    assert run_tarry(home, "runs", "cancel", handle.id).returncode == 0
    handle.wait_for(RunState.CANCELLED)

    sent = run_tarry(home, "send", handle.id, '"too late"')

    assert sent.returncode == 1
    assert f"run {handle.id} has ended (Cancelled)" in _one_line(sent.stderr)
    assert harness.store.messages_of_run(handle.id, sent=False, limit=10) == []


def test_a_key_sent_again_to_an_ended_run_gets_the_message_it_sent(harness: TestHarness) -> None:
    handle = harness.start(_train_model())
    _open_wait(harness, handle, "approval")
    first = service.send_message(handle.id, "hello", key="k1", hst=harness.host)
    service.cancel_run(handle.id, hst=harness.host)
    handle.wait_for(RunState.CANCELLED)

    again = service.send_message(handle.id, "hello", key="k1", hst=harness.host)

    assert again == first
    with pytest.raises(errors.RunEnded):
        service.send_message(handle.id, "hello", key="k2", hst=harness.host)
