"""A receiver that records each message it handles in a file (for the crash tests)."""

from __future__ import annotations

import sys
from pathlib import Path

from tarry import flow, receive_input, task

EXIT = "__EXIT__"


@task
def record(path: str, text: str) -> str:
    with Path(path).open("a", encoding="utf-8") as out:
        out.write(text + "\n")
    return text


@flow
def recorder(path: str) -> int:
    handled = 0
    for text in receive_input(str, timeout=3600):
        if text == EXIT:
            break
        record(path, text)
        handled += 1
    return handled


if __name__ == "__main__":
    print(recorder(sys.argv[1]))
