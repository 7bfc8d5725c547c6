"""Settings: the only module that reads the environment.

Every setting has a `TARRY_*` environment variable and an explicit constructor
argument. `Settings.from_env()` reads the variables once; the result is frozen.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from tarry import errors

__all__ = ["Settings", "SqliteSynchronous"]

SqliteSynchronous = Literal["FULL", "NORMAL", "OFF", "EXTRA"]


@dataclasses.dataclass(frozen=True)
class Settings:
    """How this process runs tarry."""

    home: Path = Path(".tarry")
    """Folder for tarry's own files (the SQLite database by default). `TARRY_HOME`."""

    database_url: str = ""
    """Where runs are stored: `sqlite:///path/to/file.db` or `postgresql://...`;
    empty means `sqlite:///<home>/tarry.db`. `TARRY_DATABASE_URL`."""

    sqlite_synchronous: SqliteSynchronous = "FULL"
    """SQLite `PRAGMA synchronous`. `FULL` makes every finished step survive power
    loss; `NORMAL` survives a process crash only but commits faster.
    `TARRY_SQLITE_SYNCHRONOUS`."""

    lease_seconds: float = 30.0
    """How long a run stays claimed by a process that stops heart-beating.
    `TARRY_LEASE_SECONDS`."""

    worker_poll_seconds: float = 1.0
    """How often a worker looks for runs that became ready. `TARRY_WORKER_POLL_SECONDS`."""

    resident_seconds: float = 5.0
    """How long a wait keeps its run in memory (a parked thread or coroutine) before
    suspending it. `TARRY_RESIDENT_SECONDS`."""

    max_resident_runs: int = 1000
    """The most runs parked in memory at once; further waits suspend at once.
    `TARRY_MAX_RESIDENT_RUNS`."""

    poll_seconds: float = 0.05
    """How often a process looks for due timers and for answers given by other
    processes, while it has something waiting. `TARRY_POLL_SECONDS`."""

    logging_level: str = "INFO"
    """Level of run logs shown on the console and stored. `TARRY_LOGGING_LEVEL`."""

    api_url: str = ""
    """Base URL of a tarry server's API, e.g. `http://127.0.0.1:4300/api`. `TARRY_API_URL`."""

    server_host: str = "127.0.0.1"
    """Address `tarry server` listens on. `TARRY_SERVER_HOST`."""

    server_port: int = 4300
    """Port `tarry server` listens on. `TARRY_SERVER_PORT`."""

    api_token: str = ""
    """When set, every API call must carry it (`Authorization: Bearer ...`) and the
    web UI asks for it once (a login cookie). `TARRY_API_TOKEN`."""

    chatbot_url: str = ""
    """An OpenAI-compatible API root for the chatbot example; empty: its offline
    answerer. `TARRY_CHATBOT_URL`."""

    chatbot_model: str = ""
    """The chatbot example's model. `TARRY_CHATBOT_MODEL`."""

    chatbot_api_key: str = ""
    """The chatbot example's API key, if its endpoint needs one. `TARRY_CHATBOT_API_KEY`."""

    @property
    def resolved_database_url(self) -> str:
        """The database URL, with the default under `home` filled in."""
        return self.database_url or f"sqlite:///{self.home / 'tarry.db'}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read the settings from `TARRY_*` variables.

        Args:
            environ: The variables to read; `os.environ` when omitted.
            **overrides: Explicit values that win over the environment.

        Returns:
            The frozen settings.

        Raises:
            errors.ConfigurationError: A variable holds a value of the wrong kind.
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in dataclasses.fields(cls):
            raw = env.get(f"TARRY_{field.name.upper()}")
            if raw is not None and raw != "":
                values[field.name] = _parse(field.name, raw)
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        if self.sqlite_synchronous not in ("FULL", "NORMAL", "OFF", "EXTRA"):
            raise errors.ConfigurationError(
                f"TARRY_SQLITE_SYNCHRONOUS must be FULL, NORMAL, EXTRA or OFF, "
                f"not {self.sqlite_synchronous!r}"
            )
        if self.lease_seconds <= 0:
            raise errors.ConfigurationError("TARRY_LEASE_SECONDS must be greater than 0")
        if not 0 <= self.server_port <= 65535:
            raise errors.ConfigurationError("TARRY_SERVER_PORT must be a port number, 0 to 65535")


def _parse(name: str, raw: str) -> object:
    kinds: dict[str, type] = {
        "home": Path,
        "lease_seconds": float,
        "worker_poll_seconds": float,
        "resident_seconds": float,
        "max_resident_runs": int,
        "poll_seconds": float,
        "server_port": int,
    }
    kind = kinds.get(name, str)
    try:
        value = kind(raw)
    except ValueError:
        raise errors.ConfigurationError(
            f"TARRY_{name.upper()}={raw!r} is not a valid {kind.__name__}"
        ) from None
    if name in ("sqlite_synchronous", "logging_level"):
        return raw.upper()
    return value
