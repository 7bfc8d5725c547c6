"""`Client` and `AsyncClient`'s webhook methods, on a real server with an API token."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tarry import errors, host
from tarry.client import AsyncClient, Client
from tarry.storage import events
from tests.e2e.test_webhooks_api import PUSH, _push, served

__all__ = ["served"]


def test_a_client_makes_reads_changes_rotates_and_deletes_webhooks(
    served: tuple[str, host.Host],
) -> None:
    api, hst = served
    with Client(api, token="admin-token") as client:
        made = client.create_webhook("gh", PUSH, slug="gh-1", description="pushes")
        assert (made.slug, made.enabled) == ("gh-1", True)
        assert httpx.post(made.url, json={}).status_code == 401  # the URL is the live one
        assert [w.name for w in client.read_webhooks()] == ["gh"]
        assert client.read_webhook("gh-1").description == "pushes"
        assert client.disable_webhook("gh").enabled is False
        assert client.enable_webhook("gh").enabled is True
        changed = client.update_webhook("gh", description="all pushes")
        assert changed.description == "all pushes"
        rotated = client.rotate_webhook_secret("gh")
        assert rotated.secret != made.secret
        assert _push(made.url, rotated.secret).status_code == 202
        with pytest.raises(errors.TarryError, match="does not compile"):
            client.create_webhook("bad", "{{ nope")
        client.delete_webhook("gh")
        with pytest.raises(errors.NotFound, match="no webhook"):
            client.read_webhook("gh")
    assert len(hst.store.list_events(events.EventFilter(names=("github.*",)))) == 1
    assert hst.store.list_webhooks() == []


def test_the_async_client_has_the_same_methods(served: tuple[str, host.Host]) -> None:
    api, hst = served

    async def main() -> list[str]:
        async with AsyncClient(api, token="admin-token") as client:
            made = await client.create_webhook("gh", PUSH)
            await client.disable_webhook(made.id)
            names = [w.name for w in await client.read_webhooks()]
            await client.delete_webhook(made.slug)
            return names

    assert asyncio.run(main()) == ["gh"]
    assert hst.store.list_webhooks() == []
