"""The webhook methods of `Client` and `AsyncClient`.

Two mixins, one per client, that send the calls of `tarry.client_webhook_calls`
through the client's own `_send`: what each method sends is decided once. Results
are `webhook_schemas.WebhookOut` (no secret) or, from `create_webhook` and
`rotate_webhook_secret`, `WebhookCreatedOut` with the secret, shown once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from tarry import client_webhook_calls as hook_calls
from tarry.client_calls import Call

if TYPE_CHECKING:
    from tarry.web import webhook_schemas

__all__ = ["AsyncWebhookMethods", "WebhookMethods"]

T = TypeVar("T")


class WebhookMethods:
    """The webhook methods of `Client`."""

    def _send(self, call: Call[T]) -> T:
        raise NotImplementedError  # the client's own

    def create_webhook(
        self,
        name: str,
        template: str,
        *,
        slug: str | None = None,
        description: str = "",
        enabled: bool = True,
    ) -> webhook_schemas.WebhookCreatedOut:
        """Make a webhook (`tarry webhook create`); the answer holds its secret, once.

        Args:
            name: Its name (unique).
            template: Jinja text rendering to the event's JSON object.
            slug: The URL's last part; random when omitted.
            description: What it is for.
            enabled: Whether requests make events from the start.

        Raises:
            errors.TarryError: The template is refused, or the slug or name is taken.
        """
        return self._send(
            hook_calls.create_webhook_call(
                name, template, slug=slug, description=description, enabled=enabled
            )
        )

    def read_webhooks(self) -> list[webhook_schemas.WebhookOut]:
        """Every webhook by name, without secrets."""
        return self._send(hook_calls.webhooks_call())

    def read_webhook(self, key: str) -> webhook_schemas.WebhookOut:
        """One webhook by id, slug or name.

        Raises:
            errors.NotFound: No webhook has it.
        """
        return self._send(hook_calls.webhook_call(key))

    def update_webhook(
        self,
        key: str,
        *,
        name: str | None = None,
        slug: str | None = None,
        description: str | None = None,
        template: str | None = None,
    ) -> webhook_schemas.WebhookOut:
        """Change a webhook: what is not given stays; a new template is checked.

        Raises:
            errors.NotFound: No webhook has this id, slug or name.
            errors.TarryError: The template is refused, or the slug or name is taken.
        """
        return self._send(
            hook_calls.update_webhook_call(
                key, name=name, slug=slug, description=description, template=template
            )
        )

    def enable_webhook(self, key: str) -> webhook_schemas.WebhookOut:
        """Enable a webhook.

        Raises:
            errors.NotFound: No webhook has this id, slug or name.
        """
        return self._send(hook_calls.set_enabled_call(key, True))

    def disable_webhook(self, key: str) -> webhook_schemas.WebhookOut:
        """Disable a webhook: its requests are refused (409).

        Raises:
            errors.NotFound: No webhook has this id, slug or name.
        """
        return self._send(hook_calls.set_enabled_call(key, False))

    def rotate_webhook_secret(self, key: str) -> webhook_schemas.WebhookCreatedOut:
        """Give a webhook a new secret (in the answer, once); the old one stops working.

        Raises:
            errors.NotFound: No webhook has this id, slug or name.
        """
        return self._send(hook_calls.rotate_secret_call(key))

    def delete_webhook(self, key: str) -> None:
        """Delete a webhook; the events it made stay.

        Raises:
            errors.NotFound: No webhook has this id, slug or name.
        """
        self._send(hook_calls.delete_webhook_call(key))


class AsyncWebhookMethods:
    """The webhook methods of `AsyncClient`."""

    async def _send(self, call: Call[T]) -> T:
        raise NotImplementedError  # the client's own

    async def create_webhook(
        self,
        name: str,
        template: str,
        *,
        slug: str | None = None,
        description: str = "",
        enabled: bool = True,
    ) -> webhook_schemas.WebhookCreatedOut:
        """Async version of `Client.create_webhook`."""
        return await self._send(
            hook_calls.create_webhook_call(
                name, template, slug=slug, description=description, enabled=enabled
            )
        )

    async def read_webhooks(self) -> list[webhook_schemas.WebhookOut]:
        """Async version of `Client.read_webhooks`."""
        return await self._send(hook_calls.webhooks_call())

    async def read_webhook(self, key: str) -> webhook_schemas.WebhookOut:
        """Async version of `Client.read_webhook`."""
        return await self._send(hook_calls.webhook_call(key))

    async def update_webhook(
        self,
        key: str,
        *,
        name: str | None = None,
        slug: str | None = None,
        description: str | None = None,
        template: str | None = None,
    ) -> webhook_schemas.WebhookOut:
        """Async version of `Client.update_webhook`."""
        return await self._send(
            hook_calls.update_webhook_call(
                key, name=name, slug=slug, description=description, template=template
            )
        )

    async def enable_webhook(self, key: str) -> webhook_schemas.WebhookOut:
        """Async version of `Client.enable_webhook`."""
        return await self._send(hook_calls.set_enabled_call(key, True))

    async def disable_webhook(self, key: str) -> webhook_schemas.WebhookOut:
        """Async version of `Client.disable_webhook`."""
        return await self._send(hook_calls.set_enabled_call(key, False))

    async def rotate_webhook_secret(self, key: str) -> webhook_schemas.WebhookCreatedOut:
        """Async version of `Client.rotate_webhook_secret`."""
        return await self._send(hook_calls.rotate_secret_call(key))

    async def delete_webhook(self, key: str) -> None:
        """Async version of `Client.delete_webhook`."""
        await self._send(hook_calls.delete_webhook_call(key))
