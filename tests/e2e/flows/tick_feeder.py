"""The automation kill suite's feeder: emits `tarry.test.tick` events n = 1, 2, ... at a pace.

Usage: python tick_feeder.py RATE STOP_FILE

Each tick goes through `tarry.events.emit_event` (this process's host, on the database
`TARRY_DATABASE_URL` names), with a resource of one of three tickers (`n % 3`, for the
suite's `for_each` trigger) and `{"n": n}` as its payload. Its id is made from `n`, so the
same tick emitted twice would be stored once. It stops once `STOP_FILE` exists and prints
`fed <last n>`.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

from tarry import events, host

TICKS = uuid.UUID("5a0f3c1e-8d2b-4e6f-9a71-3c5b7d9e1f20")
"""The namespace of tick ids."""


def tick_id(n: int) -> uuid.UUID:
    """The id of tick `n`."""
    return uuid.uuid5(TICKS, str(n))


def main() -> None:
    """Emit ticks at `RATE` per second until the stop file appears."""
    rate, stop = float(sys.argv[1]), Path(sys.argv[2])
    began, n = time.monotonic(), 0
    print("feeding", flush=True)
    while not stop.exists():
        n += 1
        events.emit_event(
            "tarry.test.tick",
            {"tarry.resource.id": f"tarry.test.ticker.{n % 3}"},
            payload={"n": n},
            id=tick_id(n),
        )
        time.sleep(max(0.0, began + n / rate - time.monotonic()))
    host.get_host().close()
    print(f"fed {n}", flush=True)


if __name__ == "__main__":
    main()
