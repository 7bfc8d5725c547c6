"""Notifications and webhook calls of automations.

`send-notification` about a run (the triggering event names one) goes through the
outbox, one item per recipient keyed by the action's identity, so it is sent once and
retried by the dispatcher like every notice. One about no run is sent at once by the
action runner (the outbox belongs to runs): a crash between sending and settling the
action sends it again, with the same `Message-ID`. `call-webhook` calls the URL with an
`Idempotency-Key` header of the action's identity, for receivers that deduplicate.
"""

from __future__ import annotations

import json
from typing import Any

from tarry import errors
from tarry.automation_runtime import job as job_module
from tarry.outbound import dispatch, smtp
from tarry.outbound import targets as notify_targets
from tarry.storage.outbox import OutboxItem
from tarry.triggers import actions, targets

__all__ = ["call_webhook", "send_notification"]

Job = job_module.Job
_TIMEOUT_SECONDS = 10.0
#: Answers that say "try later"; any other 4xx says the call itself is wrong.
_RETRY_STATUSES = frozenset({408, 425, 429})


def _text(job: Job, template: str) -> str:
    rendered = job.render(template)
    return rendered if isinstance(rendered, str) else json.dumps(rendered)


def _items(
    job: Job, action: actions.SendNotification, run_id: str, subject: str, body: str
) -> list[OutboxItem]:
    now = job.hst.clock.now()
    wanted = [*action.to, *([action.webhook] if action.webhook else [])]
    found: list[OutboxItem] = []
    for target in notify_targets.targets_of(wanted):
        if isinstance(target, notify_targets.Webhook):
            key = f"automation:{job.identity}:webhook:{target.url}"
            payload: dict[str, Any] = {"url": target.url, "body": _slack(subject, body)}
            found.append(
                OutboxItem(
                    key, run_id, "webhook", json.dumps(payload), now, now, recipients=target.url
                )
            )
            continue
        for address in target.addresses:
            key = f"automation:{job.identity}:email:{address}"
            mail = smtp.mail_payload(job.hst.settings, [address], subject, body, seed=key)
            found.append(
                OutboxItem(key, run_id, "email", json.dumps(mail), now, now, recipients=address)
            )
    return found


def _slack(subject: str, body: str) -> dict[str, Any]:
    return {"text": f"*{subject}*\n{body}"}


def send_notification(job: Job, action: actions.SendNotification) -> str:
    """Send the notification: queued in the outbox for a run, else sent now."""
    subject, body = _text(job, action.subject), _text(job, action.body)
    run_id = targets.run_of(job.event)
    items = _items(job, action, run_id or "", subject, body)
    if run_id is not None and job.hst.store.get_run(run_id) is not None:
        queued = job.hst.store.queue_outbox(items)
        dispatch.ensure_dispatcher(job.hst).kick()
        return f"queued {queued} of {len(items)} notice(s) about run {run_id}"
    for item in items:
        payload = json.loads(item.payload)
        if item.channel == "email":
            smtp.send_now(job.hst.settings, payload)
        else:
            _post(payload["url"], "POST", {}, json.dumps(payload["body"]), job.identity)
    return f"sent {len(items)} notice(s)"


def call_webhook(job: Job, action: actions.CallWebhook) -> str:
    """Call the webhook."""
    url = _text(job, action.url)
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"the webhook's URL {url!r} is not an http(s) URL")
    payload = _text(job, action.payload) if action.payload else ""
    status = _post(url, action.method, action.headers, payload, job.identity)
    return f"{action.method} {url} answered {status}"


def _post(url: str, method: str, headers: dict[str, str], payload: str, identity: str) -> int:
    # httpx costs about 0.4 s to import: only automations that call out pay it.
    import httpx  # noqa: PLC0415

    sent = {**headers, "Idempotency-Key": identity}
    try:
        json.loads(payload)
        sent.setdefault("Content-Type", "application/json")
    except ValueError:
        pass
    try:
        response = httpx.request(
            method, url, headers=sent, content=payload.encode(), timeout=_TIMEOUT_SECONDS
        )
    except httpx.HTTPError as exc:
        raise errors.DeliveryFailed(f"{method} {url}: {exc}") from exc
    if response.is_success:
        return response.status_code
    detail = f"{method} {url} answered {response.status_code}: {response.text[:200]}"
    if 400 <= response.status_code < 500 and response.status_code not in _RETRY_STATUSES:
        raise ValueError(detail)
    raise errors.DeliveryFailed(detail)
