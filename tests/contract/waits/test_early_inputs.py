"""Contract: answers kept for a wait the run has not reached yet (`EarlyInputStore`)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from tests.contract.support import T0, early_input, leased_run

if TYPE_CHECKING:
    from tarry.storage import Store


def test_pending_early_inputs_are_a_runs_answers_for_one_name_oldest_first(
    store: Store,
) -> None:
    run, other = leased_run(store), leased_run(store)
    sent = [
        early_input(run.id, sent_at=T0 + 1, responder="ada"),
        early_input(run.id, sent_at=T0 + 2),
    ]
    ids = [store.add_early_input(e) for e in sent]
    store.add_early_input(early_input(run.id, "veto", sent_at=T0 + 3))
    store.add_early_input(early_input(other.id, sent_at=T0 + 4))

    pending = store.pending_early_inputs(run.id, "approval")

    assert len(set(ids)) == 2
    assert pending == [dataclasses.replace(e, id=i) for e, i in zip(sent, ids, strict=True)]
    assert store.pending_early_inputs(run.id, "nothing-sent") == []


def test_a_rejected_early_input_is_no_longer_pending(store: Store) -> None:
    run = leased_run(store)
    bad = store.add_early_input(early_input(run.id, data='"maybe"', sent_at=T0 + 1))
    good = store.add_early_input(early_input(run.id, sent_at=T0 + 2))

    store.reject_early_input(bad, "Input should be a valid boolean")

    assert [e.id for e in store.pending_early_inputs(run.id, "approval")] == [good]
