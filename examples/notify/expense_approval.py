"""Approve an expense from your mail: one click on Approve or Reject, or a reply.

The approver gets a mail with Approve and Reject links and a link to the form.
A link asks for a confirm before it decides, so a mail scanner that opens it
changes nothing. Replying "approve" (or "reject, over budget") answers too.

Run it against any SMTP server, e.g. a local debugging one:

    python -m aiosmtpd -n -l 127.0.0.1:8025 &
    TARRY_SMTP_HOST=127.0.0.1 TARRY_SMTP_PORT=8025 TARRY_SMTP_SECURITY=none \\
    TARRY_INBOUND_SMTP_PORT=2525 \\
        tarry server --deploy examples/notify/expense_approval.py:expense_approval

then start a run from the UI or with the API, and follow the links printed by
the debugging server. Replies go to the inbound endpoint on port 2525.
"""

from __future__ import annotations

from tarry import approve, flow, get_run_logger
from tarry.errors import ApprovalRejected


@flow
def expense_approval(amount: int = 1200, approver: str = "finance@example.com") -> str:
    logger = get_run_logger()
    if amount <= 500:
        return "approved automatically"
    try:
        approve(amount, "expense", timeout=2 * 86400, notify=approver)
    except ApprovalRejected as rejected:
        logger.info("rejected: %s", rejected)
        return "rejected"
    return f"approved ${amount:,}"


if __name__ == "__main__":
    print(expense_approval())
