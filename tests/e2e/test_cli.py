"""The `tarry` command, run as a user would, in its own process."""

from __future__ import annotations

import json
from pathlib import Path

from tarry.storage import sqlfiles
from tests.conftest import ROOT, query, run_tarry

PIPELINE = "examples/getting_started.py:pipeline"


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
        ("runs", "show", "0000"): "no run with id '0000'",
    }
    for args, message in cases.items():
        done = run_tarry(tarry_home, *args)
        assert done.returncode == 1, args
        assert message in " ".join(done.stderr.split()), (args, done.stderr)
        assert "Traceback" not in done.stderr


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
