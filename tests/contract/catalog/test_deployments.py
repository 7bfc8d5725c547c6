"""Contract: registering deployments and reading them back."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from tarry.storage import DeploymentRecord
from tests.contract.support import T0

if TYPE_CHECKING:
    from tarry.storage import Store


def deployment(name: str = "train-model/finance", **fields: object) -> DeploymentRecord:
    values: dict[str, object] = {
        "name": name,
        "flow_name": name.split("/", maxsplit=1)[0],
        "entrypoint": "examples/finance/challenge_4.py:train_model",
        "created_at": T0,
        "updated_at": T0,
        "description": "Finance approves **expensive** training.",
        "parameters": '{"cost": 1500}',
        "parameter_schema": '{"type": "object"}',
        "tags": ("finance", "ml"),
    }
    values.update(fields)
    return DeploymentRecord(**values)  # type: ignore[arg-type]


def test_a_registered_deployment_reads_back_field_for_field(store: Store) -> None:
    registered = deployment()

    assert store.put_deployment(registered) == registered
    assert store.get_deployment(registered.name) == registered
    assert store.get_deployment("no-such/deployment") is None


def test_registering_again_updates_it_and_keeps_its_creation_time(store: Store) -> None:
    store.put_deployment(deployment())
    changed = deployment(entrypoint="other.py:train_model", updated_at=T0 + 60, tags=())

    stored = store.put_deployment(changed)

    assert stored == dataclasses.replace(changed, created_at=T0)
    assert store.list_deployments() == [stored]


def test_deployments_are_listed_by_name_a_page_at_a_time(store: Store) -> None:
    for name in ("c/x", "a/x", "b/x"):
        store.put_deployment(deployment(name))

    assert [d.name for d in store.list_deployments()] == ["a/x", "b/x", "c/x"]
    assert [d.name for d in store.list_deployments(limit=1, offset=1)] == ["b/x"]
