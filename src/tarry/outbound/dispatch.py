"""The dispatcher: sends what the outbox holds, retrying failures, never blocking a run.

One thread per process, started when the process queues something or runs a
worker. It claims due items for a short lease (so two processes never send the
same item at once), sends them over one SMTP connection per batch, and settles
each: sent; skipped, when the question it announces was answered meanwhile; retried
with a doubling delay; or, after `notify_max_attempts`, given up. Every failure is
logged to the item's run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tarry import clock as clock_module
from tarry import daemon, errors, host
from tarry.outbound import smtp
from tarry.states import DeliveryStatus, WaitStatus
from tarry.storage import records
from tarry.storage.outbox import OutboxItem, Settlement

if TYPE_CHECKING:
    import httpx

__all__ = ["Dispatcher", "ensure_dispatcher"]

# Named as before the move out of tarry.notify, so logging settings that name it still apply.
_log = logging.getLogger("tarry.notify.dispatch")
_BATCH = 50
_CLAIM_SECONDS = 120.0
_IDLE_SECONDS = 2.0
_MAX_RETRY_SECONDS = 600.0
_DRAIN_ON_CLOSE_SECONDS = 10.0


class Dispatcher(daemon.Daemon):
    """Sends one host's outbox items, on a thread of its own."""

    def __init__(self, hst: host.Host) -> None:
        super().__init__("tarry-notify")
        self.host = hst
        self._http: httpx.Client | None = None
        hst.on_close(self.stop)
        if isinstance(hst.clock, clock_module.FakeClock):
            hst.clock.on_advance(self.kick)

    def stop(self) -> None:
        """Send what is due (for a few seconds at most), then stop the thread."""
        super().stop()
        if self._http is not None:
            self._http.close()

    def _step(self) -> float:
        with _logged("the tarry notification dispatcher failed; trying again"):
            while self.drain() and not self.stopping:
                pass
        return self._idle_seconds()

    def _finish(self) -> None:
        give_up_at = time.monotonic() + _DRAIN_ON_CLOSE_SECONDS
        with _logged("the tarry notification dispatcher failed while closing"):
            while time.monotonic() < give_up_at and self.drain():
                pass

    def _idle_seconds(self) -> float:
        due = self.host.store.next_outbox_due()
        if due is None:
            return _IDLE_SECONDS
        return min(_IDLE_SECONDS, max(0.0, due - self.host.clock.now()))

    def drain(self) -> int:
        """Send one batch of due items and settle them in one write; how many were claimed."""
        now = self.host.clock.now()
        store = self.host.store
        items = store.claim_outbox(self.host.owner, now, now + _CLAIM_SECONDS, _BATCH)
        mails = [item for item in items if item.channel == "email"]
        outcomes = [(item, self._attempt(item, None)) for item in items if item.channel != "email"]
        if mails:
            outcomes += self._send_mails(mails)
        if outcomes:
            store.settle_outbox([(item.id or 0, outcome) for item, outcome in outcomes])
            for item, outcome in outcomes:
                if outcome.error:
                    self._log_failure(item, outcome)
        return len(items)

    def _send_mails(self, items: list[OutboxItem]) -> list[tuple[OutboxItem, Settlement]]:
        try:
            with smtp.smtp_connection(self.host.settings) as connection:
                return [(item, self._attempt(item, connection)) for item in items]
        except errors.DeliveryFailed as exc:
            # No connection at all: every mail of the batch failed the same way.
            return [(item, self._failed(item, str(exc))) for item in items]

    def _attempt(self, item: OutboxItem, connection: smtp.SmtpConnection | None) -> Settlement:
        if self._answered(item):
            return Settlement(DeliveryStatus.SKIPPED, at=self.host.clock.now())
        try:
            payload: dict[str, Any] = json.loads(item.payload)
            if connection is not None:
                connection.send(smtp.build_message(self.host.settings, payload))
            else:
                self._post(payload)
        except errors.DeliveryFailed as exc:
            return self._failed(item, str(exc))
        return Settlement(DeliveryStatus.SENT, at=self.host.clock.now())

    def _answered(self, item: OutboxItem) -> bool:
        if item.wait_id is None:
            return False
        wait = self.host.store.get_wait(item.wait_id)
        return wait is None or wait.status is not WaitStatus.OPEN

    def _post(self, payload: dict[str, Any]) -> None:
        # httpx (and the rich it loads) costs about 0.4 s to import: only webhooks pay it,
        # not every `import tarry`.
        import httpx  # noqa: PLC0415

        if self._http is None:
            self._http = httpx.Client(timeout=10.0, follow_redirects=False)
        url = payload["url"]
        try:
            response = self._http.post(url, json=payload["body"])
        except httpx.HTTPError as exc:
            raise errors.DeliveryFailed(f"webhook {url}: {exc}") from exc
        if not response.is_success:
            detail = response.text[:200]
            raise errors.DeliveryFailed(f"webhook {url} answered {response.status_code}: {detail}")

    def _failed(self, item: OutboxItem, error: str) -> Settlement:
        now = self.host.clock.now()
        settings = self.host.settings
        if item.attempts + 1 >= settings.notify_max_attempts:
            return Settlement(DeliveryStatus.FAILED, at=now, error=error)
        delay = min(_MAX_RETRY_SECONDS, settings.notify_retry_seconds * 2**item.attempts)
        return Settlement(DeliveryStatus.PENDING, at=now, error=error, retry_at=now + delay)

    def _log_failure(self, item: OutboxItem, outcome: Settlement) -> None:
        attempt = f"attempt {item.attempts + 1} of {self.host.settings.notify_max_attempts}"
        if outcome.status is DeliveryStatus.FAILED:
            message = f"gave up sending {_what(item)} after {attempt}: {outcome.error}"
        else:
            wait = (outcome.retry_at or outcome.at) - outcome.at
            message = f"sending {_what(item)} failed ({attempt}), retrying in {wait:g} s: "
            message += outcome.error
        level = logging.ERROR if outcome.status is DeliveryStatus.FAILED else logging.WARNING
        _log.log(level, "run %s: %s", item.run_id, message)
        record = records.LogRecord(item.run_id, outcome.at, level, message, logger=__name__)
        self.host.store.add_logs([record])


def _what(item: OutboxItem) -> str:
    kind = "the notification" if item.wait_id else "the mail"
    return f"{kind} to {item.recipients.replace(',', ', ')}"


@contextlib.contextmanager
def _logged(message: str) -> Iterator[None]:
    try:
        yield
    except Exception:  # noqa: BLE001 - a failing store or sender must not end the thread
        _log.exception(message)
        time.sleep(_IDLE_SECONDS)


def ensure_dispatcher(hst: host.Host) -> Dispatcher:
    """The host's dispatcher, started on first use."""
    found = hst.service(Dispatcher)
    found.start()
    return found
