"""Contract: every store keeps webhooks with unique slugs and names (migration 0016)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest

from tarry import errors
from tarry.storage import sqlfiles, webhooks

if TYPE_CHECKING:
    from pathlib import Path

    from tarry.storage import Store
    from tests.contract.support import Adapter

WEBHOOKS = 16
"""The number of the migration that adds the webhooks table."""


def hook(id_: str, slug: str, name: str, **changes: object) -> webhooks.WebhookRecord:
    made = webhooks.WebhookRecord(
        id=id_,
        slug=slug,
        name=name,
        description="from the shop",
        template='{"event": "shop.order", "resource": {"tarry.resource.id": "shop"}}',
        secret="s3cret",
        enabled=True,
        created_at=1.0,
        updated_at=1.0,
    )
    return dataclasses.replace(made, **changes)  # type: ignore[arg-type]


def test_the_webhook_migration_is_numbered_16_in_both_dialects() -> None:
    for dialect in ("sqlite", "postgres"):
        by_version = {m.version: m.name for m in sqlfiles.load_migrations(dialect)}
        assert by_version[WEBHOOKS] == "webhooks"


def test_a_created_webhook_reads_back_by_id_slug_and_name(store: Store) -> None:
    made = hook("w1", "abc123", "shop")

    assert store.put_webhook(made, create=True) is True

    assert store.get_webhook("w1") == made
    assert store.get_webhook("abc123") == made
    assert store.get_webhook("shop") == made
    assert store.get_webhook("nope") is None


def test_an_id_prefers_the_id_over_another_webhooks_slug(store: Store) -> None:
    first = hook("w1", "w2", "first")
    second = hook("w2", "other", "second")
    store.put_webhook(first, create=True)
    store.put_webhook(second, create=True)

    assert store.get_webhook("w2") == second


def test_webhooks_are_listed_by_name(store: Store) -> None:
    store.put_webhook(hook("w1", "s1", "zeta"), create=True)
    store.put_webhook(hook("w2", "s2", "alpha", enabled=False), create=True)

    assert [w.name for w in store.list_webhooks()] == ["alpha", "zeta"]
    assert [w.enabled for w in store.list_webhooks()] == [False, True]


def test_creating_an_id_twice_or_updating_a_missing_one_writes_nothing(store: Store) -> None:
    store.put_webhook(hook("w1", "s1", "one"), create=True)

    assert store.put_webhook(hook("w1", "s9", "nine"), create=True) is False
    assert store.put_webhook(hook("w9", "s9", "nine"), create=False) is False
    assert [w.slug for w in store.list_webhooks()] == ["s1"]


@pytest.mark.parametrize(("slug", "name", "what"), [("s1", "new", "slug"), ("s9", "one", "name")])
def test_a_taken_slug_or_name_is_refused_and_nothing_changes(
    store: Store, slug: str, name: str, what: str
) -> None:
    store.put_webhook(hook("w1", "s1", "one"), create=True)
    store.put_webhook(hook("w2", "s2", "two"), create=True)

    with pytest.raises(errors.WebhookTaken) as created:
        store.put_webhook(hook("w3", slug, name), create=True)
    with pytest.raises(errors.WebhookTaken):
        store.put_webhook(hook("w2", slug, name), create=False)

    assert created.value.what == what
    assert store.get_webhook("w3") is None
    assert store.get_webhook("w2") == hook("w2", "s2", "two")


def test_an_update_replaces_all_but_created_at(store: Store) -> None:
    store.put_webhook(hook("w1", "s1", "one"), create=True)
    changed = hook("w1", "s2", "uno", secret="new", enabled=False, template="{}")
    changed = dataclasses.replace(changed, created_at=9.0, updated_at=5.0)

    assert store.put_webhook(changed, create=False) is True

    assert store.get_webhook("w1") == dataclasses.replace(changed, created_at=1.0)
    assert store.get_webhook("s1") is None


def test_a_deleted_webhook_is_gone_and_its_slug_free(store: Store) -> None:
    store.put_webhook(hook("w1", "s1", "one"), create=True)

    assert store.delete_webhook("w1") is True
    assert store.delete_webhook("w1") is False

    assert store.get_webhook("s1") is None
    assert store.put_webhook(hook("w2", "s1", "one"), create=True) is True


def test_webhooks_outlive_the_store(durable_adapter: Adapter, tmp_path: Path) -> None:
    first = durable_adapter.open(tmp_path)
    first.put_webhook(hook("w1", "s1", "kept"), create=True)
    first.close()

    second = durable_adapter.open(tmp_path)
    try:
        second.migrate()
        assert second.get_webhook("kept") == hook("w1", "s1", "kept")
    finally:
        second.close()
