"""Automations in Python, at Prefect's path `prefect.automations`.

    from tarry.automations import Automation, EventTrigger, RunDeployment

    Automation(
        name="rerun-failed-etl",
        trigger=EventTrigger(expect={"tarry.flow-run.Failed"}),
        actions=[RunDeployment(deployment="etl/nightly")],
    ).create()

`Automation` is the document `tarry automation create -f` and `POST /api/automations`
take, with verbs that store it: `create`, `read(id=|name=)`, `list`, `update`,
`enable`, `disable`, `delete`, and their async twins (`acreate`, `aread`, ...). They
work on this process's store (`TARRY_DATABASE_URL`); a program that talks to a
server uses the client's methods (`Client.create_automation`, ...). Names are unique,
so `read(name=...)` finds one. The trigger and action models are re-exported here,
as Prefect does. See [automations](../../docs/automations.md).
"""

from __future__ import annotations

import builtins
import uuid
from typing import Any, Self

import pydantic

from tarry import automation_service, errors, host
from tarry.engine import offloading
from tarry.triggers import parse
from tarry.triggers.actions import (
    CallWebhook,
    CancelFlowRun,
    ChangeFlowRunState,
    DoNothing,
    PauseAutomation,
    PauseDeployment,
    PauseWorkPool,
    PauseWorkQueue,
    ResumeAutomation,
    ResumeDeployment,
    ResumeFlowRun,
    ResumeWorkPool,
    ResumeWorkQueue,
    RunDeployment,
    SendInput,
    SendNotification,
    SuspendFlowRun,
)
from tarry.triggers.models import (
    CompoundTrigger,
    EventTrigger,
    MetricTrigger,
    MetricTriggerQuery,
    Posture,
    ResourceSpecification,
    SequenceTrigger,
)

__all__ = [
    "Automation",
    "CallWebhook",
    "CancelFlowRun",
    "ChangeFlowRunState",
    "CompoundTrigger",
    "DoNothing",
    "EventTrigger",
    "MetricTrigger",
    "MetricTriggerQuery",
    "PauseAutomation",
    "PauseDeployment",
    "PauseWorkPool",
    "PauseWorkQueue",
    "Posture",
    "ResourceSpecification",
    "ResumeAutomation",
    "ResumeDeployment",
    "ResumeFlowRun",
    "ResumeWorkPool",
    "ResumeWorkQueue",
    "RunDeployment",
    "SendInput",
    "SendNotification",
    "SequenceTrigger",
    "SuspendFlowRun",
]

#: Fields of Prefect's exports that describe the stored row (as `triggers.parse` drops them).
_EXPORT_FIELDS = frozenset({"tags", "owner_resource", "created", "updated", "account", "workspace"})


class Automation(parse.AutomationSpec):
    """An automation: when its `trigger` fires, it takes its `actions` (Prefect's model).

    Args:
        name: Unique among automations.
        description: What it is for.
        enabled: Whether it is evaluated.
        trigger: When it fires (`EventTrigger`, `CompoundTrigger`, ...).
        actions: What it does each time it fires or resolves.
        actions_on_trigger: What it does when it fires.
        actions_on_resolve: What it does when it resolves.
        id: Its id once stored (`None` before `create`).
    """

    id: uuid.UUID | None = None
    """Its id once stored; `None` until `create`."""

    @pydantic.model_validator(mode="before")
    @classmethod
    def _drop_export_fields(cls, data: Any) -> Any:
        # As the document's, but an `Automation` keeps its `id`: it names the stored one.
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if key not in _EXPORT_FIELDS}
        return data

    def _spec(self) -> parse.AutomationSpec:
        return parse.AutomationSpec.model_validate(self.model_dump(exclude={"id"}))

    @classmethod
    def _of(cls, stored: automation_service.StoredAutomation) -> Self:
        return cls.model_validate({**stored.document(), "id": stored.id})

    def _stored_id(self) -> str:
        if self.id is None:
            raise ValueError("this automation is not stored yet: call create() first")
        return str(self.id)

    # -- the one core: each verb once, run as is or off the event loop ------------------------

    def _create(self, hst: host.Host | None) -> Self:
        stored = automation_service.create_automation(self._spec(), hst=hst)
        self.id = uuid.UUID(stored.id)
        return self

    @classmethod
    def _read(cls, id: uuid.UUID | str | None, name: str | None, hst: host.Host | None) -> Self:
        if (id is None) == (name is None):
            raise ValueError("give one of id= or name=")
        wanted = str(id) if id is not None else str(name)
        found = automation_service.get_automation(wanted, hst=hst)
        if name is not None and found.name != name:  # a name that is another's id
            raise errors.AutomationNotFound(name)
        return cls._of(found)

    @classmethod
    def _list(cls, hst: host.Host | None) -> builtins.list[Self]:
        return [cls._of(each) for each in automation_service.list_automations(hst=hst)]

    def _update(self, hst: host.Host | None) -> None:
        automation_service.update_automation(self._stored_id(), self._spec(), hst=hst)

    def _set_enabled(self, enabled: bool, hst: host.Host | None) -> bool:
        try:
            automation_service.set_enabled(self._stored_id(), enabled, hst=hst)
        except errors.AutomationNotFound:
            return False
        self.enabled = enabled
        return True

    def _delete(self, hst: host.Host | None) -> bool:
        try:
            automation_service.delete_automation(self._stored_id(), hst=hst)
        except errors.AutomationNotFound:
            return False
        return True

    # -- sync -----------------------------------------------------------------------------------

    def create(self, *, hst: host.Host | None = None) -> Self:
        """Store it as a new automation; its `id` is set.

        Returns:
            Itself, with its `id`.

        Raises:
            errors.AutomationNameTaken: Another automation has this name.
            errors.ValueRefused: It holds what tarry cannot store (a NUL, too large).
        """
        return self._create(hst)

    @classmethod
    def read(
        cls,
        id: uuid.UUID | str | None = None,
        name: str | None = None,
        *,
        hst: host.Host | None = None,
    ) -> Self:
        """The stored automation with this id, or this name (give one).

        Raises:
            errors.AutomationNotFound: None has it (also a `ValueError`, as Prefect's).
            ValueError: Neither or both of `id` and `name` were given.
        """
        return cls._read(id, name, hst)

    @classmethod
    def list(cls, *, hst: host.Host | None = None) -> builtins.list[Self]:
        """Every stored automation, by name."""
        return cls._list(hst)

    def update(self, *, hst: host.Host | None = None) -> None:
        """Store its fields over the stored automation of its `id` (its name may change).

        Raises:
            errors.AutomationNotFound: It was deleted.
            errors.AutomationNameTaken: Another automation has its new name.
            ValueError: It is not stored yet (no `id`).
        """
        self._update(hst)

    def enable(self, *, hst: host.Host | None = None) -> bool:
        """Enable it (it is evaluated again).

        Returns:
            Whether it is stored (`False`: it was deleted).
        """
        return self._set_enabled(True, hst)

    def disable(self, *, hst: host.Host | None = None) -> bool:
        """Disable it: kept, but not evaluated.

        Returns:
            Whether it is stored (`False`: it was deleted).
        """
        return self._set_enabled(False, hst)

    def delete(self, *, hst: host.Host | None = None) -> bool:
        """Delete it; its firings stay as history.

        Returns:
            Whether it was stored.
        """
        return self._delete(hst)

    # -- async ----------------------------------------------------------------------------------

    async def acreate(self, *, hst: host.Host | None = None) -> Self:
        """Async version of `create`."""
        return await offloading.offload(self._create, hst)

    @classmethod
    async def aread(
        cls,
        id: uuid.UUID | str | None = None,
        name: str | None = None,
        *,
        hst: host.Host | None = None,
    ) -> Self:
        """Async version of `read`."""
        return await offloading.offload(cls._read, id, name, hst)

    @classmethod
    async def alist(cls, *, hst: host.Host | None = None) -> builtins.list[Self]:
        """Async version of `list`."""
        return await offloading.offload(cls._list, hst)

    async def aupdate(self, *, hst: host.Host | None = None) -> None:
        """Async version of `update`."""
        await offloading.offload(self._update, hst)

    async def aenable(self, *, hst: host.Host | None = None) -> bool:
        """Async version of `enable`."""
        return await offloading.offload(self._set_enabled, True, hst)

    async def adisable(self, *, hst: host.Host | None = None) -> bool:
        """Async version of `disable`."""
        return await offloading.offload(self._set_enabled, False, hst)

    async def adelete(self, *, hst: host.Host | None = None) -> bool:
        """Async version of `delete`."""
        return await offloading.offload(self._delete, hst)
