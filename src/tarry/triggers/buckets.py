"""Event triggers: counting events in windows ("buckets"), one per `for_each` value.

The rules are Prefect's. A bucket is a window `[start, end)` with a count. Reactive:
the event that brings the count to `threshold` fires at once; the next window starts
where this one ends, so the trigger fires at most once per window (with `within` 0 it
has no end and fires every `threshold` events). Proactive: when the window ends with
fewer than `threshold` events, it fires. With `after`, an `after` event opens the
bucket and a closed bucket waits for the next one; without, the next window follows.
A bucket with an end has a timer there: a proactive one is judged, a reactive one
forgotten (a later event opens a fresh one, as Prefect's sweep of closed buckets does).
"""

from __future__ import annotations

import json
from typing import Any

from tarry.triggers import book as book_module
from tarry.triggers import event as event_module
from tarry.triggers import labels, matching, models, nodes

__all__ = ["LOOKBACK", "EventNode"]

#: A first bucket starts this many seconds before its event, so events that arrive a
#: little out of order still count (Prefect's preceding-event lookback).
LOOKBACK = 15.0


class EventNode:
    """A compiled `EventTrigger`.

    Args:
        automation_id: Its automation.
        node_id: `<trigger hash>:<path>`.
        trigger: The trigger.
        emit: Where it reports a firing.
    """

    def __init__(
        self, automation_id: str, node_id: str, trigger: models.EventTrigger, emit: nodes.Emit
    ) -> None:
        self.automation_id = automation_id
        self.node_id = node_id
        self.trigger = trigger
        self._emit = emit
        self._after = matching.Names(trigger.after) if trigger.after else None
        self._expect = matching.Names(trigger.expect)
        self._match = matching.Spec(trigger.match)
        self._related = matching.related_matcher(trigger)
        self.related_key = matching.related_key(self._related)
        self._for_each = sorted(trigger.for_each)
        self._within = trigger.within.total_seconds()
        self._reactive = trigger.posture == models.Posture.Reactive
        self._threshold = trigger.threshold

    @property
    def names(self) -> set[str] | None:
        """The event names it reads (exact or `prefix*`); None: it may read any event."""
        names = self.trigger.expect | self.trigger.after
        if not self.trigger.expect or any(name.startswith("!") for name in names):
            return None
        return names

    def on_event(self, book: book_module.Book, seen: event_module.EventLike) -> None:
        """Count `seen` in its bucket, open one, or fire."""
        if not self._covers(seen):
            return
        key, bucket_labels = self._bucket_key(seen)
        state_key = (self.automation_id, key)
        bucket = book.get(state_key)
        expects = seen.event in self._expect
        now = seen.occurred
        if self._after is not None and seen.event in self._after and bucket is None:
            # An event both `after` and `expect` opens the bucket without counting itself.
            start_count = -1 if expects else 0
            bucket = self._open(now, now, start_count, seen, bucket_labels)
            self._keep(book, state_key, bucket)
        if bucket is None and self._after is None and expects:
            bucket = self._open(now - LOOKBACK, now, 0, seen, bucket_labels)
        if expects and bucket is not None:
            self._judge(book, state_key, bucket, now, seen)

    def on_timer(self, book: book_module.Book, key: str, now: float) -> None:
        """A bucket's window ended: judge it (proactive) or forget it (reactive)."""
        state_key = (self.automation_id, key)
        bucket = book.get(state_key)
        if bucket is None:
            return
        if self._reactive:
            book.delete(state_key)
        else:
            self._judge(book, state_key, bucket, now, None)

    def _covers(self, seen: event_module.EventLike) -> bool:
        if not self._match.fits(seen.resource):
            return False
        return all(spec.fits_any(seen.related) for spec in self._related)

    def _bucket_key(self, seen: event_module.EventLike) -> tuple[str, dict[str, str]]:
        if not self._for_each:
            return self.node_id, {}
        values = {
            label: labels.resource_label(label, seen.resource, seen.related) or ""
            for label in self._for_each
        }
        suffix = json.dumps(list(values.values()), separators=(",", ":"))
        return f"{self.node_id}|{suffix}", values

    def _open(
        self,
        start: float,
        now: float,
        count: int,
        seen: event_module.EventLike | None,
        bucket_labels: dict[str, str],
    ) -> dict[str, Any]:
        immediate = self._reactive and self._within == 0
        return {
            "start": start,
            "end": None if immediate else now + self._within,
            "count": count,
            # A proactive firing has no event of its own: it reports the one that opened it.
            "event": None if self._reactive or seen is None else event_module.event_to_dict(seen),
            "labels": bucket_labels,
        }

    def _keep(
        self, book: book_module.Book, state_key: tuple[str, str], bucket: dict[str, Any]
    ) -> None:
        book.put(state_key, bucket)
        if bucket["end"] is None:
            book.clear_timer(state_key)
        else:
            book.set_timer(state_key, bucket["end"])

    def _judge(
        self,
        book: book_module.Book,
        state_key: tuple[str, str],
        bucket: dict[str, Any],
        now: float,
        seen: event_module.EventLike | None,
    ) -> None:
        spare = 1 if seen is not None else 0
        if now < bucket["start"]:
            return  # late: it belongs to a window already closed or fired
        end = bucket["end"]
        if spare and (end is None or now < end):
            bucket["count"] += 1
            spare = 0
        ready = self._reactive or (end is not None and end <= now)
        if ready and self._meets(bucket["count"]):
            self._fire(book, state_key, bucket, now, seen)
        elif end is None or now < end:
            self._keep(book, state_key, bucket)
            return
        self._next_window(book, state_key, bucket, now, seen, spare=spare)

    def _meets(self, count: int) -> bool:
        return count >= self._threshold if self._reactive else count < self._threshold

    def _fire(
        self,
        book: book_module.Book,
        state_key: tuple[str, str],
        bucket: dict[str, Any],
        now: float,
        seen: event_module.EventLike | None,
    ) -> None:
        if self._reactive and seen is not None:
            triggering: event_module.Event | None = event_module.copy_event(seen)
        else:
            stored = bucket.get("event")
            triggering = None if stored is None else event_module.event_from_dict(stored)
        context = {
            "trigger": self.node_id.partition(":")[2],
            "labels": dict(bucket["labels"]),
            "count": max(bucket["count"], 0),
            "posture": self.trigger.posture,
        }
        book.delete(state_key)
        self._emit(book, nodes.Signal(state_key[1], now, triggering, context))

    def _next_window(
        self,
        book: book_module.Book,
        state_key: tuple[str, str],
        bucket: dict[str, Any],
        now: float,
        seen: event_module.EventLike | None,
        *,
        spare: int,
    ) -> None:
        if self._after is not None or self._within == 0:
            book.delete(state_key)  # it waits for the next `after` event, or fired at once
            return
        start = max(bucket["end"], now)
        following = {**bucket, "start": start, "end": start + self._within, "count": 0}
        if self._reactive and spare:
            # The event came after the window: it opens (and may fill) the next one.
            self._judge(book, state_key, following, now, seen)
            return
        following["count"] = spare
        if seen is not None and not self._reactive:
            following["event"] = event_module.event_to_dict(seen)
        self._keep(book, state_key, following)
