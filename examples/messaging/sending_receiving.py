"""Two flows that talk: a greeter and a sender (seeds/000 part 2).

The greeter receives names and answers each with a greeting; the sender sends
names and prints the greetings. `__EXIT__` ends both. Unlike a key/value poll,
every name is received exactly once, in order, even when the greeter leaves
memory between names or its process is restarted.

    python examples/messaging/sending_receiving.py greeter   # serves the greeter
    python examples/messaging/sending_receiving.py sender    # asks your name, prints greetings
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from tarry import flow, receive_input, send_input
from tarry.deployments import run_deployment

EXIT_SIGNAL = "__EXIT__"
GREETER = "greeter/sending-receiving"


@flow
def greeter() -> int:
    greeted = 0
    for name_input in receive_input(str, with_metadata=True, timeout=None):
        if name_input.value == EXIT_SIGNAL:
            print("Goodbye!")
            return greeted
        name_input.respond(f"Hello, {name_input.value}!")
        greeted += 1
    return greeted


@flow
def sender(names: list[str] | None = None) -> list[str]:
    greeter_run = run_deployment(GREETER, timeout=0, as_subflow=False)
    replies = receive_input(str, timeout=None)
    greetings = []
    for name in names if names is not None else _ask():
        send_input(name, flow_run_id=greeter_run.id)
        greetings.append(replies.next())
        print(greetings[-1])
    send_input(EXIT_SIGNAL, flow_run_id=greeter_run.id)
    return greetings


def _ask() -> Iterator[str]:
    while (name := input("What is your name? (q to quit) ").strip()) not in ("q", "quit"):
        if name:
            yield name


if __name__ == "__main__":
    if sys.argv[1:] == ["greeter"]:
        greeter.serve(name="sending-receiving")
    elif sys.argv[1:] == ["sender"]:
        sender()
    else:
        raise SystemExit("usage: sending_receiving.py greeter|sender")
