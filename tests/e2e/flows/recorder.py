"""A receiver that records each message it handles in a file (for the crash tests).

Each execution of `record` first appends the message to `<path>.started`, then waits while
`<path>.hold` exists, then appends it to `path`: a test holds a message in the middle of its
step, where a kill leaves the step unfinished (not journaled), so it runs again.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tarry import flow, receive_input, task

EXIT = "__EXIT__"


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write(text + "\n")


@task
def record(path: str, text: str) -> str:
    _append(Path(path + ".started"), text)
    while Path(path + ".hold").exists():
        time.sleep(0.01)
    _append(Path(path), text)
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
