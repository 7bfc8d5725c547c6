"""Run logs: `get_run_logger()`, their storage per run, the console and `log_prints`."""

from __future__ import annotations

import atexit
import builtins
import logging
import queue
import sys
import threading
from collections.abc import MutableMapping
from typing import Any

from tarry import errors
from tarry.engine import context
from tarry.storage import port, records

__all__ = ["bounded", "get_run_logger", "install_print_capture", "log_run_event", "setup_console"]

RUN_LOGGER = "tarry.runs"
_CONSOLE_FORMAT = "%(asctime)s.%(msecs)03d | %(levelname)-7s | %(tarry_label)s - %(message)s"


class _RunLogAdapter(logging.LoggerAdapter[logging.Logger]):
    """Adds the current run and step to every record logged through it."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return msg, kwargs


class _StoreHandler(logging.Handler):
    """Hands run log records to the run's store, which batches them with its writes."""

    def emit(self, record: logging.LogRecord) -> None:
        store: port.Store | None = getattr(record, "tarry_store", None)
        run_id: str | None = getattr(record, "tarry_run_id", None)
        if store is None or run_id is None:
            return
        limit: int | None = getattr(record, "tarry_max_chars", None)
        line = records.LogRecord(
            run_id=run_id,
            at=record.created,
            level=record.levelno,
            message=bounded(record.getMessage(), limit),
            step_key=getattr(record, "tarry_step_key", None),
            logger=record.name,
        )
        try:
            store.add_logs([line])
        except errors.StoreError:
            self.handleError(record)


def bounded(message: str, limit: int | None) -> str:
    """`message`, cut after `limit` characters with a marker saying how many were cut.

    Args:
        message: A log line.
        limit: The most characters kept (`None`: no limit).
    """
    if limit is None or len(message) <= limit:
        return message
    cut = len(message) - limit
    return f"{message[:limit]}… [log line truncated: {cut:,} more characters]"


_setup_lock = threading.Lock()
_console_ready = False


def _run_logger() -> logging.Logger:
    logger = logging.getLogger(RUN_LOGGER)
    if not any(isinstance(h, _StoreHandler) for h in logger.handlers):
        with _setup_lock:
            if not any(isinstance(h, _StoreHandler) for h in logger.handlers):
                logger.addHandler(_StoreHandler())
                logger.setLevel(logging.DEBUG)
    return logger


def setup_console(level: str) -> None:
    """Show run logs on stderr at `level`, once per process.

    Lines go through a queue to one writer thread, which writes whatever has
    queued up in one go: a write to a terminal or pipe costs far more than a
    run's own bookkeeping and must not hold up runs (or an event loop running
    thousands of them), and batching keeps the writer ahead of them.
    """
    global _console_ready  # noqa: PLW0603 - set up once per process
    with _setup_lock:
        if _console_ready:
            return
        writer = _ConsoleWriter()
        handler = _ConsoleQueueHandler(writer.lines)
        handler.setFormatter(logging.Formatter(_CONSOLE_FORMAT, datefmt="%H:%M:%S"))
        handler.setLevel(level)
        logging.getLogger(RUN_LOGGER).addHandler(handler)
        logging.getLogger(RUN_LOGGER).propagate = False
        _console_ready = True


class _ConsoleQueueHandler(logging.Handler):
    """Formats a console line and queues it; the writer thread does the I/O."""

    def __init__(self, lines: queue.SimpleQueue[str | None]) -> None:
        super().__init__()
        self._lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.put(self.format(record))
        except Exception:  # noqa: BLE001 - logging must never break a run
            self.handleError(record)


class _ConsoleWriter:
    """One daemon thread writing queued console lines to stderr in batches."""

    _BATCH = 1000

    def __init__(self) -> None:
        self.lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="tarry-console", daemon=True)
        self._thread.start()
        atexit.register(self.stop)

    def _run(self) -> None:
        while True:
            batch = [self.lines.get()]
            while len(batch) < self._BATCH and not self.lines.empty():
                batch.append(self.lines.get_nowait())
            text = "\n".join(line for line in batch if line is not None)
            if text:
                sys.stderr.write(text + "\n")
                sys.stderr.flush()
            if None in batch:
                return

    def stop(self) -> None:
        """Write what is queued, then stop (at exit)."""
        self.lines.put(None)
        self._thread.join(timeout=5)


def get_run_logger() -> logging.LoggerAdapter[logging.Logger]:
    """A logger whose lines are stored with the current run and step.

    Outside a run it logs to the console only.
    """
    ctx = context.current_run()
    scope = context.current_scope()
    if ctx is None:
        return _RunLogAdapter(_run_logger(), {"tarry_label": scope.label or "tarry"})
    extra = {
        "tarry_store": ctx.host.store,
        "tarry_run_id": ctx.run.id,
        "tarry_step_key": scope.step_key,
        "tarry_label": scope.label or ctx.label,
        "tarry_max_chars": ctx.host.settings.max_log_line_chars,
    }
    return _RunLogAdapter(_run_logger(), extra)


def log_run_event(
    ctx: context.RunContext,
    level: int,
    msg: str,
    *args: object,
    step_key: str | None = None,
    label: str | None = None,
) -> None:
    """Log one of tarry's own lines about a run (start, finish) or one of its steps.

    Builds the record directly: looking up the caller's frame, as `Logger.info`
    does, would cost more than the rest of a tiny run's bookkeeping.

    Args:
        ctx: The run.
        level: `logging` level number.
        msg: The message, `%`-formatted with `args`.
        *args: Its arguments.
        step_key: The step the line is about (`None`: the run).
        label: How the console names its source (default: the run).
    """
    logger = _run_logger()
    if not logger.isEnabledFor(level):
        return
    extra = {
        "tarry_store": ctx.host.store,
        "tarry_run_id": ctx.run.id,
        "tarry_step_key": step_key,
        "tarry_label": label or ctx.label,
        "tarry_max_chars": ctx.host.settings.max_log_line_chars,
    }
    record = logger.makeRecord(logger.name, level, "tarry", 0, msg, args, None, extra=extra)
    logger.handle(record)


_original_print = builtins.print
_print_installed = False


def _print(
    *args: Any, sep: str | None = " ", end: str | None = "\n", file: Any = None, flush: bool = False
) -> None:
    if context.log_prints_enabled() and file in (None, sys.stdout):
        get_run_logger().info((sep if sep is not None else " ").join(map(str, args)))
        return
    _original_print(*args, sep=sep, end=end, file=file, flush=flush)


def install_print_capture() -> None:
    """Route `print` to the run log wherever `log_prints` is on (installed once)."""
    global _print_installed  # noqa: PLW0603 - installed once per process
    with _setup_lock:
        # Checked every time: a library may put its own print in place meanwhile
        # (Ray's driver does, for its progress bars, when it first shows a worker's line).
        if not _print_installed or builtins.print is not _print:
            builtins.print = _print
            _print_installed = True
