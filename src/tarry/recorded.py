"""Values that differ on every execution, recorded once per run: `now`, `uuid4`, `random`.

Flow code between steps re-runs on replay; reading the clock or a random number
there directly would make replay take another path. These helpers record the
value in the journal the first time and return the recorded one after.
"""

from __future__ import annotations

import datetime as dt
import random as _random
import uuid as _uuid

from tarry.engine import steps

__all__ = ["now", "random", "uuid4"]


def now() -> dt.datetime:
    """The current UTC time, the same on every replay of this point of the run."""
    return steps.record_value("tarry.now", lambda: dt.datetime.now(dt.UTC))


def uuid4() -> _uuid.UUID:
    """A random UUID, the same on every replay of this point of the run."""
    return steps.record_value("tarry.uuid4", _uuid.uuid4)


def random() -> float:
    """A random float in [0, 1), the same on every replay of this point of the run."""
    return steps.record_value("tarry.random", _random.random)
