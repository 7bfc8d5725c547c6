"""A server imports a flow file to check an answer: a file that runs its flow at import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tarry import config, host
from tarry.storage import records
from tests.conftest import ROOT, query, subprocess_env
from tests.polling import until_found
from tests.processes import SLOW, tarry_server

# No `if __name__ == "__main__":` guard: importing the file runs (and waits in) the flow.
RUNS_AT_IMPORT = """
import pydantic
from tarry import flow, wait_for_input
from tarry.input import RunInput


class Word(RunInput):
    word: str = pydantic.Field(pattern="^[a-z]+$")


@flow
def ask() -> str:
    return "got " + wait_for_input("word", Word).word


print(ask(), flush=True)
"""

# Imported by anyone else, the file never returns.
BLOCKS_AT_IMPORT = RUNS_AT_IMPORT.replace(
    "print(ask(), flush=True)",
    'if __name__ == "__main__":\n    print(ask(), flush=True)\n'
    "else:\n    import time\n    time.sleep(3600)",
)


def _open_wait(home: Path) -> records.WaitRecord:
    hst = host.Host(config.Settings(home=home))
    try:
        return until_found(lambda: next(iter(hst.store.open_inputs(limit=1)), None), SLOW)
    finally:
        hst.close()


@pytest.mark.parametrize("source", [RUNS_AT_IMPORT, BLOCKS_AT_IMPORT], ids=["calls", "blocks"])
def test_an_answer_to_a_flow_whose_file_runs_at_import_is_checked_and_accepted(
    tmp_path: Path, tarry_home: Path, source: str
) -> None:
    script = tmp_path / "asks_at_import.py"
    script.write_text(source)
    user = subprocess.Popen(
        [sys.executable, str(script)],
        env=subprocess_env(tarry_home),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait = _open_wait(tarry_home)
        env = {"TARRY_IMPORT_TIMEOUT_SECONDS": "2"}
        with tarry_server(tarry_home, "--max-runs", "0", env=env) as api:
            url = f"{api}/runs/{wait.run_id}/resume"
            # The stored JSON Schema still checks the answer when the file cannot be imported.
            refused = httpx.post(url, json={"input": {"word": "NO!"}}, timeout=SLOW)
            accepted = httpx.post(url, json={"input": {"word": "yes"}}, timeout=SLOW)
            health = httpx.get(f"{api}/health", timeout=SLOW)
        out, err = user.communicate(timeout=SLOW)
    finally:
        if user.poll() is None:
            user.kill()
            user.communicate()
    assert refused.status_code == 422, refused.text
    assert "word" in refused.text
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["accepted"] is True
    assert health.is_success
    assert (user.returncode, out.strip()) == (0, "got yes"), err
    # The server did not run the flow itself while importing its file.
    assert query(tarry_home / "tarry.db", "SELECT count(*) FROM runs") == [(1,)]
