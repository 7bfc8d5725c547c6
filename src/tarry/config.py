"""Settings: the only module that reads the environment.

Every setting has a `TARRY_*` environment variable and an explicit constructor
argument. `Settings.from_env()` reads the variables once; the result is frozen.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal

from tarry import errors

__all__ = ["MailSecurity", "Settings", "SqliteSynchronous"]

SqliteSynchronous = Literal["FULL", "NORMAL", "OFF", "EXTRA"]
MailSecurity = Literal["starttls", "ssl", "none"]


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

    import_timeout_seconds: float = 5.0
    """The most seconds a server (or any process checking an answer) waits for a user's
    flow file to import, to check an answer with the file's own model; past it the
    answer is checked against the JSON Schema stored with the wait, and a warning names
    the file. A file that calls its flow at import, outside
    `if __name__ == "__main__":`, would otherwise never return.
    `TARRY_IMPORT_TIMEOUT_SECONDS`."""

    worker_import_timeout_seconds: float = 60.0
    """The most seconds a worker (`tarry worker`, `tarry server`'s own) waits for a
    run's flow file to import. Past it the load fails with an error naming the file,
    the run goes back to Pending, and the worker tries again with its backoff (the
    import goes on meanwhile, so a slow one is found done later); any worker that
    can load the flow may run it. Larger than `TARRY_IMPORT_TIMEOUT_SECONDS`: a worker
    has no schema to fall back on, and a file importing a heavy library must load the
    first time. `TARRY_WORKER_IMPORT_TIMEOUT_SECONDS`."""

    shutdown_grace_seconds: float = 5.0
    """How long `tarry worker` and `tarry server`, asked to stop (SIGTERM, Ctrl-C), let
    the runs in progress finish before handing them back (Pending, for any worker,
    which resumes them from their journal). `TARRY_SHUTDOWN_GRACE_SECONDS`."""

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

    public_url: str = ""
    """The address people reach this server at, used in links sent by mail or
    webhook; empty: `http://<server_host>:<server_port>`. `TARRY_PUBLIC_URL`."""

    secret_key: str = ""
    """Signs answer links and reply addresses. Empty: a random key is made once and
    kept in `<home>/secret_key`; every process of one installation must share it.
    `TARRY_SECRET_KEY`."""

    link_max_age_seconds: float = 7 * 86400.0
    """How long an answer link stays valid when its wait has no deadline (with a
    deadline, the link expires with it). `TARRY_LINK_MAX_AGE_SECONDS`."""

    smtp_host: str = ""
    """Mail server for notifications and `tarry.notify.email.send`; empty: mail is
    not sent (each attempt is logged as failed). `TARRY_SMTP_HOST`."""

    smtp_port: int = 587
    """The mail server's port. `TARRY_SMTP_PORT`."""

    smtp_security: MailSecurity = "starttls"
    """`starttls`, `ssl` (implicit TLS, usually port 465) or `none`. `TARRY_SMTP_SECURITY`."""

    smtp_username: str = ""
    """User name for the mail server; empty: no login. `TARRY_SMTP_USERNAME`."""

    smtp_password: str = ""
    """Password for the mail server. `TARRY_SMTP_PASSWORD`."""

    mail_from: str = "tarry@localhost"
    """The sender of tarry's mail, e.g. `Approvals <tarry@example.com>`. `TARRY_MAIL_FROM`."""

    mail_reply_to: str = ""
    """The mailbox replies go to; each mail's Reply-To is this address with a signed
    `+token` added to its local part, so a reply finds its wait or run. Empty: the
    address of `mail_from`. `TARRY_MAIL_REPLY_TO`."""

    inbound_smtp_port: int = 0
    """Port of the SMTP endpoint that receives replies in `tarry server`; 0: off.
    `TARRY_INBOUND_SMTP_PORT`."""

    inbound_smtp_host: str = "127.0.0.1"
    """Address the inbound SMTP endpoint listens on. `TARRY_INBOUND_SMTP_HOST`."""

    imap_host: str = ""
    """IMAP server to poll for replies; empty: no polling. `TARRY_IMAP_HOST`."""

    imap_port: int = 993
    """The IMAP server's port. `TARRY_IMAP_PORT`."""

    imap_security: MailSecurity = "ssl"
    """`ssl`, `starttls` or `none`. `TARRY_IMAP_SECURITY`."""

    imap_username: str = ""
    """IMAP user name. `TARRY_IMAP_USERNAME`."""

    imap_password: str = ""
    """IMAP password. `TARRY_IMAP_PASSWORD`."""

    imap_folder: str = "INBOX"
    """The folder polled for replies. `TARRY_IMAP_FOLDER`."""

    imap_poll_seconds: float = 30.0
    """How often the IMAP folder is read. `TARRY_IMAP_POLL_SECONDS`."""

    notify_max_attempts: int = 8
    """How many times a notification or mail is tried before it is given up (each
    failure is logged to its run). `TARRY_NOTIFY_MAX_ATTEMPTS`."""

    notify_retry_seconds: float = 2.0
    """Delay before the first retry of a failed notification; it doubles after each
    failure, up to 10 minutes. `TARRY_NOTIFY_RETRY_SECONDS`."""

    max_body_bytes: int = 1_048_576
    """The largest request body the server reads (1 MiB); a larger one gets 413.
    `TARRY_MAX_BODY_BYTES`."""

    max_field_chars: int = 65_536
    """The longest text one field may hold: a string in an answer, a message or
    parameters, a responder's name, a message key (longer: 422).
    `TARRY_MAX_FIELD_CHARS`."""

    max_value_chars: int = 524_288
    """The most JSON (in characters, about) one answer, message or set of run
    parameters may hold (more: 422). `TARRY_MAX_VALUE_CHARS`."""

    max_json_depth: int = 64
    """How deep lists and objects may nest in an answer, a message or parameters
    (deeper: 422). `TARRY_MAX_JSON_DEPTH`."""

    max_log_line_chars: int = 16_384
    """The longest run log line stored (a `print` with `log_prints`, a line of
    `get_run_logger()`); a longer one is cut there and ends with a marker saying how
    many characters were cut. A log line is never refused: a flow does not fail for
    logging. 16 KiB holds a traceback or a printed table of a few hundred lines,
    while a runaway `print(big_value)` costs the store 16 KiB, not megabytes per line.
    `TARRY_MAX_LOG_LINE_CHARS`."""

    events_retention: float = 7 * 86400.0
    """How long events are kept, in seconds (`TARRY_EVENTS_RETENTION`: seconds, or a
    number with `s`, `m`, `h` or `d`, such as `7d`); older ones are deleted a few
    thousand at a time by the scheduler. 0 keeps them for ever."""

    @property
    def resolved_public_url(self) -> str:
        """The public URL, with the server's own address filled in when unset."""
        return (self.public_url or f"http://{self.server_host}:{self.server_port}").rstrip("/")

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
        for name in (
            "max_body_bytes",
            "max_field_chars",
            "max_value_chars",
            "max_json_depth",
            "max_log_line_chars",
        ):
            if getattr(self, name) < 1:
                raise errors.ConfigurationError(f"TARRY_{name.upper()} must be at least 1")
        for name in ("server_port", "smtp_port", "inbound_smtp_port", "imap_port"):
            if not 0 <= getattr(self, name) <= 65535:
                raise errors.ConfigurationError(
                    f"TARRY_{name.upper()} must be a port number, 0 to 65535"
                )
        for name in ("smtp_security", "imap_security"):
            if getattr(self, name) not in ("starttls", "ssl", "none"):
                raise errors.ConfigurationError(
                    f"TARRY_{name.upper()} must be starttls, ssl or none"
                )


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _duration(name: str, raw: str) -> float:
    text = raw.strip().lower()
    unit = _UNITS.get(text[-1:], 0.0)
    try:
        seconds = float(text[:-1] if unit else text) * (unit or 1.0)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise errors.ConfigurationError(
            f"TARRY_{name.upper()}={raw!r} is not a duration (seconds, or like 90s, 30m, 12h, 7d)"
        )
    return seconds


def _parse(name: str, raw: str) -> object:
    if name == "events_retention":
        return _duration(name, raw)
    # A setting's default tells its kind: Path, float, int or str.
    kind: Callable[[str], object] = type(_DEFAULTS[name])
    try:
        value = kind(raw)
    except ValueError:
        raise errors.ConfigurationError(
            f"TARRY_{name.upper()}={raw!r} is not a valid {type(_DEFAULTS[name]).__name__}"
        ) from None
    if name in ("sqlite_synchronous", "logging_level"):
        return raw.upper()
    if name in ("smtp_security", "imap_security"):
        return raw.lower()
    return value


_DEFAULTS: dict[str, object] = {field.name: field.default for field in dataclasses.fields(Settings)}
