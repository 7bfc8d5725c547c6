"""What an `inferred` action acts on: the run, deployment, pool, queue or automation an event names.

Prefect's inferred actions act on the triggering event's resource, or a related
resource of the right kind. tarry's events name them by id (`tarry.flow-run.<id>`,
`tarry.deployment.<flow>/<name>`, `tarry.work-pool.<pool>`,
`tarry.work-queue.<pool>/<queue>`, `tarry.automation.<id>`); the resource itself
comes first, then related resources in the roles that name such a thing (a child
run's `parent` and a message's `sender` are not the run it is about).
"""

from __future__ import annotations

from tarry.triggers import event as event_module

__all__ = ["automation_of", "deployment_of", "run_of", "work_pool_of", "work_queue_of"]

_ROLES = {
    "flow-run": ("flow-run", "receiver"),
    "deployment": ("deployment",),
    "work-pool": ("work-pool",),
    "work-queue": ("work-queue",),
    "automation": ("automation",),
}


def _named(seen: event_module.EventLike | None, kind: str) -> str | None:
    if seen is None:
        return None
    prefix = f"tarry.{kind}."
    resource_id = seen.resource.get("tarry.resource.id", "")
    if resource_id.startswith(prefix):
        return resource_id[len(prefix) :]
    for related in seen.related:
        related_id = related.get("tarry.resource.id", "")
        if related_id.startswith(prefix) and related.get("tarry.resource.role") in _ROLES[kind]:
            return related_id[len(prefix) :]
    return None


def run_of(seen: event_module.EventLike | None) -> str | None:
    """The id of the run the event is about, None if it names none."""
    return _named(seen, "flow-run")


def deployment_of(seen: event_module.EventLike | None) -> str | None:
    """The name of the deployment the event names, None if none."""
    return _named(seen, "deployment")


def work_pool_of(seen: event_module.EventLike | None) -> str | None:
    """The name of the work pool the event names, None if none."""
    return _named(seen, "work-pool")


def work_queue_of(seen: event_module.EventLike | None) -> str | None:
    """The work queue the event names, as `<pool>/<queue>`, None if none."""
    return _named(seen, "work-queue")


def automation_of(seen: event_module.EventLike | None) -> str | None:
    """The id of the automation the event names, None if none."""
    return _named(seen, "automation")
