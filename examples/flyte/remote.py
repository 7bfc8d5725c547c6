"""The seed's `FlyteRemote` example on tarry's client: start `conditional_wf`, answer its waits.

Start a server with the workflow deployed, then run this script in another terminal::

    tarry server --deploy examples/flyte/waiting_for_external_inputs.py:conditional_wf
    python examples/flyte/remote.py          # TARRY_API_URL / TARRY_API_TOKEN: another server

What FlyteRemote does, and what does it here:

=====================================================  =====================================
FlyteRemote                                            `tarry.get_client(sync_client=True)`
=====================================================  =====================================
`remote.fetch_workflow(name=...)`, `remote.execute`    `client.create_flow_run_from_deployment`
`remote.list_signals(execution.id.name)`               `client.list_pending_inputs(run.id)`
`remote.set_signal(name, execution.id.name, value)`    `client.resume_flow_run(run.id, value,
                                                       key=name)`
=====================================================  =====================================

A Flyte execution runs both gate nodes at once, so it lists both signals from the
start; a tarry run waits in program order, so it lists the wait it is on. Either
way the answers may come in any order: one for a wait the run has not reached yet
is kept for it (`kept_for_later`), and validated when the run gets there.
"""

from __future__ import annotations

import time
from typing import Any

from tarry import get_client
from tarry.client import Client
from tarry.web.schemas import InputOut

DEPLOYMENT = "conditional-wf/waiting-for-external-inputs"
"""`--deploy examples/flyte/waiting_for_external_inputs.py:conditional_wf` deploys it so."""


def main(client: Client, title: str = "my report", review_passes: bool = True) -> Any:
    """Start `conditional_wf`, answer `title-input` and `review-passes`, return its result."""
    # First kick off the workflow
    run = client.create_flow_run_from_deployment(
        DEPLOYMENT, parameters={"data": [1.0, 2.0, 3.0, 4.0, 5.0]}
    )

    # Get a list of signals available for the run (once it reaches its first wait)
    signals = signals_of(client, run.id)
    print(f"run {run.name} ({run.id}) waits for: {', '.join(s.name for s in signals)}")

    # Set a signal value for the "title-input" wait.
    client.resume_flow_run(run.id, title, key="title-input")

    # Set the value of the "review-passes" wait: taken at once if the run is there
    # already, kept for it otherwise.
    client.resume_flow_run(run.id, review_passes, key="review-passes")

    done = client.wait_for_flow_run(run.id, timeout=30)
    print(f"run {run.name} ended {done.state.value}: {done.result}")
    return done.result


def signals_of(client: Client, run_id: str, timeout: float = 30) -> list[InputOut]:
    """The run's open waits, once it has one (a new run starts by making its report)."""
    deadline = time.monotonic() + timeout
    while not (signals := client.list_pending_inputs(run_id)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} opened no wait within {timeout:g} s")
        time.sleep(0.1)
    return signals


if __name__ == "__main__":
    with get_client(sync_client=True) as tarry_client:
        main(tarry_client)
