"""Flows of the messaging and client tests: one receives messages, others return values."""

from __future__ import annotations

import datetime as dt

import pydantic

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


class Summary(pydantic.BaseModel):
    """A typed result (for the API's plain JSON)."""

    text: str
    when: dt.date
    words: tuple[str, ...]


@flow
def summarize(text: str) -> Summary:
    return Summary(text=text, when=dt.date(2026, 12, 6), words=tuple(text.split()))
