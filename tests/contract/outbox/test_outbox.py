"""Contract: the outbox queues each item once, lends it to one dispatcher at a time,
and keeps how each attempt ended."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tarry.states import DeliveryStatus
from tarry.storage.outbox import OutboxItem, Settlement
from tests.contract.support import T0, run_record

if TYPE_CHECKING:
    from tarry.storage import Store


def _item(run_id: str, key: str, *, due: float = T0, wait_id: str | None = None) -> OutboxItem:
    return OutboxItem(
        key=key,
        run_id=run_id,
        channel="email",
        payload='{"subject": "Approve?"}',
        created_at=T0,
        due_at=due,
        wait_id=wait_id,
        recipients="ann@example.com,bob@example.com",
    )


def _stored_run(store: Store) -> str:
    run = run_record()
    store.insert_run(run)
    return run.id


def test_an_item_queued_twice_is_kept_once(store: Store) -> None:
    run_id = _stored_run(store)

    assert store.queue_outbox([_item(run_id, "k1"), _item(run_id, "k2")]) == 2
    assert store.queue_outbox([_item(run_id, "k1")]) == 0

    kept = store.outbox_of_run(run_id)
    assert [item.key for item in kept] == ["k1", "k2"]
    assert kept[0].status is DeliveryStatus.PENDING
    assert kept[0].recipient_list == ["ann@example.com", "bob@example.com"]
    assert kept[0].payload == '{"subject": "Approve?"}'


def test_a_claimed_item_is_not_lent_to_another_dispatcher_until_its_claim_ends(
    store: Store,
) -> None:
    run_id = _stored_run(store)
    store.queue_outbox([_item(run_id, "k1")])

    first = store.claim_outbox("a", now=T0, until=T0 + 30, limit=10)
    assert [item.key for item in first] == ["k1"]
    assert store.claim_outbox("b", now=T0 + 1, until=T0 + 31, limit=10) == []

    # Dispatcher "a" died: once its claim runs out, "b" may send the item.
    taken_over = store.claim_outbox("b", now=T0 + 31, until=T0 + 61, limit=10)
    assert [item.key for item in taken_over] == ["k1"]


def test_only_due_items_are_claimed_oldest_first_up_to_the_limit(store: Store) -> None:
    run_id = _stored_run(store)
    late, second, first = (("late", T0 + 100), ("b", T0 + 2), ("a", T0 + 1))
    store.queue_outbox([_item(run_id, key, due=due) for key, due in (late, second, first)])

    claimed = store.claim_outbox("a", now=T0 + 50, until=T0 + 80, limit=1)
    assert [item.key for item in claimed] == ["a"]
    assert store.next_outbox_due() == T0 + 1


def test_a_failed_attempt_is_retried_later_and_a_sent_item_is_never_claimed_again(
    store: Store,
) -> None:
    run_id = _stored_run(store)
    store.queue_outbox([_item(run_id, "k1")])
    [item] = store.claim_outbox("a", now=T0, until=T0 + 30, limit=10)
    assert item.id is not None

    retry = Settlement(DeliveryStatus.PENDING, at=T0 + 1, error="refused", retry_at=T0 + 5)
    store.settle_outbox([(item.id, retry)])
    assert store.claim_outbox("b", now=T0 + 2, until=T0 + 30, limit=10) == []
    [again] = store.claim_outbox("b", now=T0 + 5, until=T0 + 30, limit=10)
    assert (again.attempts, again.last_error) == (1, "refused")

    store.settle_outbox([(item.id, Settlement(DeliveryStatus.SENT, at=T0 + 6))])
    [sent] = store.outbox_of_run(run_id)
    assert (sent.status, sent.attempts, sent.sent_at) == (DeliveryStatus.SENT, 2, T0 + 6)
    assert store.claim_outbox("c", now=T0 + 100, until=T0 + 130, limit=10) == []
    assert store.next_outbox_due() is None


def test_given_up_and_skipped_items_stay_visible_with_their_reason(store: Store) -> None:
    run_id = _stored_run(store)
    store.queue_outbox([_item(run_id, "k1"), _item(run_id, "k2", wait_id="w1")])
    one, two = store.claim_outbox("a", now=T0, until=T0 + 30, limit=10)
    assert one.id is not None
    assert two.id is not None

    failure = Settlement(DeliveryStatus.FAILED, at=T0 + 1, error="no such host")
    store.settle_outbox(
        [(one.id, failure), (two.id, Settlement(DeliveryStatus.SKIPPED, at=T0 + 1))]
    )

    failed, skipped = store.outbox_of_run(run_id)
    assert (failed.status, failed.attempts, failed.last_error) == (
        DeliveryStatus.FAILED,
        1,
        "no such host",
    )
    assert (skipped.status, skipped.attempts, skipped.wait_id) == (DeliveryStatus.SKIPPED, 0, "w1")
