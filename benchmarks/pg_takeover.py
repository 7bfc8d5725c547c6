"""Failover on PostgreSQL (issue 25): SIGKILL the worker that holds a running run; how soon
does another worker have it Running again?

Usage: python pg_takeover.py [TRIALS=20]

Two `tarry worker` processes with the default 30 s lease (`TARRY_LEASE_SECONDS=30`) on a
fresh schema, each under a host name of its own (a UTS namespace, `pg_fleet.elsewhere`), so
neither can see by pid that the other died, as on two machines; where no namespace can be
made they share this host's name and `hosts` says `same`. A trial starts a run of
`pg_flows:takeover` (one 3 s step), waits until a worker holds it in the middle of its step,
SIGKILLs that worker and reads when the run was taken over: the `at` of its transition
"recovered from <victim>, which stopped", the claiming worker's `time.time()`. Takeover =
that minus the `time.time()` just before the kill (same machine, same clock). A new worker then
replaces the killed one (the next trial starts once it holds its liveness lock, a row of
`lease_holders`), and the run completes in the background.

Fields: `n`, `median`, `p95`, `min`, `max` (seconds from the kill to Running again under
another worker), `lease_seconds` (30: what the takeover waited for before issue 25),
`hosts` (`other` or `same`), and the engine fields.
"""

from __future__ import annotations

import re
import sys
import time

import pg_flows
import tarry_env
from common import emit, summary
from pg_fleet import Fleet, Proc, elsewhere, fleet, until

from tarry import deployments

LEASE_SECONDS = 30
STEP_SECONDS = 3.0
"""Long enough to be killed in the middle of; short, so the taken-over runs end soon."""
_OWNER = re.compile(r"tarry worker (\S+) on ")


class Workers:
    """The two workers of the fleet, each replaced by a new one when it is killed."""

    def __init__(self, f: Fleet) -> None:
        self.fleet = f
        self.started = 0
        self.owners: dict[str, Proc] = {}
        self.hosts = "other" if elsewhere("tarry-probe") is not None else "same"
        for _ in range(2):
            self.start()

    def start(self) -> None:
        """Start one worker; return once it holds its liveness lock."""
        self.started += 1
        prefix = elsewhere(f"tarry-far-{self.started}") or []
        env = {"TARRY_LEASE_SECONDS": str(LEASE_SECONDS)}
        proc = self.fleet.worker(f"worker-{self.started}", 8, prefix, **env)
        found = until(lambda: _OWNER.search(proc.tail()), bool, "the worker's owner", 60)
        assert found is not None
        owner = found[1]
        registered = "SELECT count(*) FROM lease_holders WHERE owner = %s"
        until(lambda: self.fleet.value(registered, owner), bool, f"{owner}'s lock", 60)
        self.owners[owner] = proc


def trial(f: Fleet, workers: Workers, deployment: str) -> float:
    """One kill; seconds from the kill to the run Running under another worker."""
    run_id = deployments.start(deployment, {"seconds": STEP_SECONDS}, hst=f.host).id
    held = "SELECT lease_owner FROM runs WHERE id = %s AND state = 'Running'"

    def holder() -> str | None:
        rows = f.rows(held, run_id)
        return str(rows[0][0]) if rows else None

    victim = until(holder, lambda owner: owner in workers.owners, "a worker to hold it", 60)
    assert victim is not None
    time.sleep(STEP_SECONDS / 3)  # in the middle of its step
    proc = workers.owners.pop(victim)
    killed_at = time.time()
    proc.popen.kill()
    proc.popen.wait(10)
    recovered = (
        "SELECT at FROM run_transitions WHERE run_id = %s AND to_state = 'Running' AND reason = %s"
    )
    reason = f"recovered from {victim}, which stopped"
    rows = until(lambda: f.rows(recovered, run_id, reason), bool, "the takeover", 120)
    workers.start()
    return float(rows[0][0]) - killed_at


def main() -> None:
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with fleet("tarry-pg-takeover-") as f:
        deployment = f.deploy(pg_flows.takeover)
        workers = Workers(f)
        takeovers = [trial(f, workers, deployment) for _ in range(trials)]
        result = {
            "bench": "pg_takeover",
            **summary(takeovers),
            "lease_seconds": LEASE_SECONDS,
            "hosts": workers.hosts,
            **tarry_env.versions(f.host.settings),
        }
    emit(result)


if __name__ == "__main__":
    main()
