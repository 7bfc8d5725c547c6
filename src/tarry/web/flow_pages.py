"""The flow pages: every flow that has deployments or runs, and one flow.

A flow is known by what the store holds of it: its deployments and its runs (there
is no table of flows). The list shows each flow with its deployments, its last run
and how its recent runs ended; a flow's page shows its deployments and recent runs.
Scheduled runs made ahead are left out here: they are on their deployment's page.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from tarry import host, service
from tarry.states import RunState
from tarry.storage import UNSET, records
from tarry.web import login, pages
from tarry.web.schemas import duration

__all__ = ["FlowSummary", "flow_page", "flows_page", "router"]

_RECENT_RUNS = 20
# The store has no list of flow names: the flows are those of the deployments and of
# the newest runs, read up to these counts (a flow with neither is not listed).
_DEPLOYMENT_SCAN = 1000
_RUN_SCAN = 500
_STARTED = [s for s in RunState if s is not RunState.SCHEDULED]

router = APIRouter(include_in_schema=False, dependencies=[Depends(login.require_login)])


@dataclasses.dataclass(frozen=True)
class FlowSummary:
    """One flow as the list shows it."""

    name: str
    """The flow's name."""
    deployments: list[records.DeploymentRecord]
    """Its deployments, by name."""
    runs: list[records.RunRecord]
    """Its most recent runs that have started or wait to, newest first."""

    @property
    def last_run(self) -> records.RunRecord | None:
        """Its newest run, if it has one."""
        return self.runs[0] if self.runs else None

    @property
    def counts(self) -> list[tuple[RunState, int]]:
        """How many of `runs` are in each state, in the states' order."""
        found = Counter(run.state for run in self.runs)
        return [(state, found[state]) for state in RunState if found[state]]


@router.get("/flows")
async def flows_page(
    request: Request, limit: pages.Limit = 50, offset: pages.Offset = 0
) -> Response:
    """Every flow with deployments or recent runs, by name."""
    hst = pages.host_of(request)
    summaries = await run_in_threadpool(_summaries, hst, limit + 1, offset)
    context = {
        "section": "flows",
        "flows": summaries[:limit],
        "recent": _RECENT_RUNS,
        "page_links": pages.pager(request, limit, offset, len(summaries)),
    }
    return pages.render(request, "flows.html", context)


@router.get("/flows/{flow_name:path}")
async def flow_page(request: Request, flow_name: str) -> Response:
    """One flow: its deployments and its recent runs."""
    hst = pages.host_of(request)
    summary = await run_in_threadpool(_summary, hst, flow_name, _deployments(hst))
    if not summary.deployments and not summary.runs:
        detail = f"no flow named {flow_name!r} has deployments or runs"
        return pages.error_page(request, 404, detail)
    now = time.time()
    context = {
        "section": "flows",
        "flow": summary,
        "recent": _RECENT_RUNS,
        "runs": [(run, duration(run, now)) for run in summary.runs],
    }
    return pages.render(request, "flow.html", context)


def _deployments(hst: host.Host) -> list[records.DeploymentRecord]:
    return service.list_deployments(limit=_DEPLOYMENT_SCAN, hst=hst)


def _summaries(hst: host.Host, limit: int, offset: int) -> list[FlowSummary]:
    found = _deployments(hst)
    newest = service.list_runs(states=_STARTED, parent_id=UNSET, limit=_RUN_SCAN, hst=hst)
    names = sorted({d.flow_name for d in found} | {r.flow_name for r in newest})
    return [_summary(hst, name, found) for name in names[offset : offset + limit]]


def _summary(hst: host.Host, name: str, deployments: list[records.DeploymentRecord]) -> FlowSummary:
    runs = service.list_runs(
        states=_STARTED, flow_name=name, parent_id=UNSET, limit=_RECENT_RUNS, hst=hst
    )
    return FlowSummary(name, [d for d in deployments if d.flow_name == name], runs)
