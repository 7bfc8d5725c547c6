"""The automation methods of `Client` and `AsyncClient` (Prefect's names).

Two mixins, one per client, that send the calls of `tarry.client_automation_calls`
through the client's own `_send`. An automation is given as an `Automation` (or
any model of its shape) or as its JSON data (seed 003's document as it is); one is
named by its id or its name. Results are `automation_schemas.AutomationOut`.
Errors: `errors.AutomationNotFound` (a read by id gives `None` instead, as
Prefect's), `errors.AutomationNameTaken`, `errors.AutomationInvalid`.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, TypeVar

from tarry import client_automation_calls as calls
from tarry import errors
from tarry.client_calls import Call

if TYPE_CHECKING:
    from tarry.web import automation_schemas as schemas

__all__ = ["AsyncAutomationMethods", "AutomationMethods"]

T = TypeVar("T")

Ref = calls.AutomationRef


class AutomationMethods:
    """The automation methods of `Client`."""

    def _send(self, call: Call[T]) -> T:
        raise NotImplementedError  # the client's own

    def create_automation(self, automation: Any) -> uuid.UUID:
        """Make an automation (`tarry automation create -f`).

        Args:
            automation: An `Automation`, or its JSON data.

        Returns:
            Its new id.

        Raises:
            errors.AutomationInvalid: It does not fit; the field errors say where.
            errors.AutomationNameTaken: Another automation has its name.
        """
        return uuid.UUID(self._send(calls.create_automation_call(automation)).id)

    def read_automation(self, automation_id: Ref) -> schemas.AutomationOut | None:
        """The automation with this id (or name), `None` when there is none."""
        try:
            return self._send(calls.automation_call(automation_id))
        except errors.AutomationNotFound:
            return None

    def read_automations(self) -> list[schemas.AutomationOut]:
        """Every automation, by name."""
        return self._send(calls.automations_call())

    def read_automations_by_name(self, name: str) -> list[schemas.AutomationOut]:
        """The automations of this name: one or none, since names are unique."""
        return [each for each in self.read_automations() if each.name == name]

    def update_automation(self, automation_id: Ref, automation: Any) -> None:
        """Replace an automation (its name, trigger, actions, settings); its id stays.

        Raises:
            errors.AutomationNotFound: None has this id or name.
            errors.AutomationInvalid: The new one does not fit.
            errors.AutomationNameTaken: Another automation has the new name.
        """
        self._send(calls.update_automation_call(automation_id, automation))

    def pause_automation(self, automation_id: Ref) -> None:
        """Disable an automation: kept, not evaluated.

        Raises:
            errors.AutomationNotFound: None has this id or name.
        """
        self._send(calls.enabled_call(automation_id, False))

    def resume_automation(self, automation_id: Ref) -> None:
        """Enable an automation again.

        Raises:
            errors.AutomationNotFound: None has this id or name.
        """
        self._send(calls.enabled_call(automation_id, True))

    def delete_automation(self, automation_id: Ref) -> None:
        """Delete an automation; its firings stay readable by its id.

        Raises:
            errors.AutomationNotFound: None has this id or name.
        """
        self._send(calls.delete_automation_call(automation_id))

    def read_automation_firings(
        self, automation_id: Ref, limit: int = 50
    ) -> list[schemas.FiringOut]:
        """An automation's latest firings, newest first, with each action's status.

        Raises:
            errors.AutomationNotFound: No automation (or firing) has this id or name.
        """
        return self._send(calls.firings_call(automation_id, limit))


class AsyncAutomationMethods:
    """Async version of `AutomationMethods`: the automation methods of `AsyncClient`."""

    async def _send(self, call: Call[T]) -> T:
        raise NotImplementedError  # the client's own

    async def create_automation(self, automation: Any) -> uuid.UUID:
        """Async version of `Client.create_automation`."""
        return uuid.UUID((await self._send(calls.create_automation_call(automation))).id)

    async def read_automation(self, automation_id: Ref) -> schemas.AutomationOut | None:
        """Async version of `Client.read_automation`."""
        try:
            return await self._send(calls.automation_call(automation_id))
        except errors.AutomationNotFound:
            return None

    async def read_automations(self) -> list[schemas.AutomationOut]:
        """Async version of `Client.read_automations`."""
        return await self._send(calls.automations_call())

    async def read_automations_by_name(self, name: str) -> list[schemas.AutomationOut]:
        """Async version of `Client.read_automations_by_name`."""
        return [each for each in await self.read_automations() if each.name == name]

    async def update_automation(self, automation_id: Ref, automation: Any) -> None:
        """Async version of `Client.update_automation`."""
        await self._send(calls.update_automation_call(automation_id, automation))

    async def pause_automation(self, automation_id: Ref) -> None:
        """Async version of `Client.pause_automation`."""
        await self._send(calls.enabled_call(automation_id, False))

    async def resume_automation(self, automation_id: Ref) -> None:
        """Async version of `Client.resume_automation`."""
        await self._send(calls.enabled_call(automation_id, True))

    async def delete_automation(self, automation_id: Ref) -> None:
        """Async version of `Client.delete_automation`."""
        await self._send(calls.delete_automation_call(automation_id))

    async def read_automation_firings(
        self, automation_id: Ref, limit: int = 50
    ) -> list[schemas.FiringOut]:
        """Async version of `Client.read_automation_firings`."""
        return await self._send(calls.firings_call(automation_id, limit))
