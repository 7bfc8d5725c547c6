"""A flow that receives messages (for the messaging tests)."""

from __future__ import annotations

from tarry import flow, receive_input


@flow
def echo(n: int = 2) -> list[str]:
    heard: list[str] = []
    for text in receive_input(str, timeout=3600):
        heard.append(text)
        if len(heard) == n:
            break
    return heard


@flow
def shout(text: str) -> str:
    return text.upper()
