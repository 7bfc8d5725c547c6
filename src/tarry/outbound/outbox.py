"""Queueing notifications and mail, and checking who may reply.

Items are keyed so that queueing them again (a replay after a crash, or a wait
found again) does nothing; the dispatcher sends them.
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import Sequence
from typing import Any

from tarry import host, interrupts
from tarry.outbound import dispatch, notices, smtp, targets, tokens
from tarry.storage import records
from tarry.storage.outbox import OutboxItem

__all__ = ["may_reply", "queue_mail", "queue_wait_notices"]


def queue_mail(hst: host.Host, run_id: str, key: str, payload: dict[str, Any]) -> None:
    """Queue a mail (`smtp.mail_payload`) of `run_id` under `key`, and wake the dispatcher."""
    item = _item(hst, run_id, key, "email", payload, recipients=payload["to"])
    with interrupts.shielded():  # queued and kicked, or neither
        hst.store.queue_outbox([item])
        dispatch.ensure_dispatcher(hst).kick()


def queue_wait_notices(
    hst: host.Host, run: records.RunRecord, wait: records.WaitRecord, to: Sequence[targets.Target]
) -> None:
    """Queue the notices of a newly opened input wait: one per mail address and webhook."""
    spec = json.loads(wait.spec) if wait.spec else None
    items = [item for target in to for item in _notices(hst, run, wait, spec, target)]
    with interrupts.shielded():  # queued and kicked, or neither
        if items and hst.store.queue_outbox(items):
            dispatch.ensure_dispatcher(hst).kick()


def _notices(
    hst: host.Host,
    run: records.RunRecord,
    wait: records.WaitRecord,
    spec: dict[str, Any] | None,
    target: targets.Target,
) -> list[OutboxItem]:
    now = hst.clock.now()
    if isinstance(target, targets.Webhook):
        notice = notices.build_notice(hst.settings, run, wait, spec, responder=None, now=now)
        payload = {"url": target.url, "body": notices.slack_body(notice)}
        key = f"notice:{wait.id}:webhook:{target.url}"
        return [_item(hst, run.id, key, "webhook", payload, recipients=[target.url], wait=wait)]
    return [_mail_notice(hst, run, wait, spec, address) for address in target.addresses]


def _mail_notice(
    hst: host.Host,
    run: records.RunRecord,
    wait: records.WaitRecord,
    spec: dict[str, Any] | None,
    address: str,
) -> OutboxItem:
    now = hst.clock.now()
    notice = notices.build_notice(hst.settings, run, wait, spec, responder=address, now=now)
    text, html = notices.mail_body(notice)
    reply_to = tokens.ReplyTarget("wait", wait.id)
    seed = f"{wait.id}/{address}"
    payload = smtp.mail_payload(
        hst.settings, [address], notice.subject, text, html=html, target=reply_to, seed=seed
    )
    key = f"notice:{wait.id}:email:{address}"
    return _item(hst, run.id, key, "email", payload, recipients=[address], wait=wait)


def _item(
    hst: host.Host,
    run_id: str,
    key: str,
    channel: str,
    payload: dict[str, Any],
    *,
    recipients: Sequence[str],
    wait: records.WaitRecord | None = None,
) -> OutboxItem:
    now = hst.clock.now()
    return OutboxItem(
        key=key,
        run_id=run_id,
        channel=channel,
        payload=json.dumps(payload),
        created_at=now,
        due_at=now,
        wait_id=wait.id if wait else None,
        recipients=",".join(recipients),
    )


def may_reply(hst: host.Host, target: tokens.ReplyTarget, address: str) -> bool:
    """Whether a reply from `address` may answer `target`: it was mailed to that address.

    For a wait: one of its notices went to `address`. For a run: a mail the run
    sent went to it.
    """
    wait_id = target.id if target.kind == "wait" else None
    run_id = target.id
    if wait_id is not None:
        wait = hst.store.get_wait(wait_id)
        if wait is None:
            return False
        run_id = wait.run_id
    sent_to = {
        _bare(recipient)
        for item in hst.store.outbox_of_run(run_id)
        if item.channel == "email" and item.wait_id == wait_id
        for recipient in item.recipient_list
    }
    return _bare(address) in sent_to


def _bare(address: str) -> str:
    return email.utils.parseaddr(address)[1].lower()
