"""Runs that talk: `send_input` and `receive_input` (Prefect's `prefect.input` messaging).

A message goes to one run, which receives it exactly once: each received message
is a journal entry, so a replayed, resumed or recovered run reads it back instead
of receiving another. Messages sent before the receiver asks, or while it is
suspended, wait for it; a new message wakes a waiting receiver like an answer
does. Sending the same key twice sends once, and a flow's sends use keys recorded
in its journal, so a replay never sends twice.

How messages are stored and matched is `tarry.engine.mailbox`, how they are
received `tarry.engine.receiving`; this module is their public path.
"""

from __future__ import annotations

from tarry.engine.mailbox import Message, RunInputMetadata, asend_input, send, send_input
from tarry.engine.receiving import Receiver, receive_input

__all__ = [
    "Message",
    "Receiver",
    "RunInputMetadata",
    "asend_input",
    "receive_input",
    "send",
    "send_input",
]
