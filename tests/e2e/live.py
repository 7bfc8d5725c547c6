"""The real server on a loopback port, for end-to-end tests and benchmarks."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import uvicorn

from tarry import host
from tarry.server import create_app


@contextlib.contextmanager
def live_server(hst: host.Host, *, worker: bool = True) -> Iterator[str]:
    """Serve `hst` (API, UI and, with `worker`, an embedded worker); yields the base URL."""
    config = uvicorn.Config(
        create_app(hst, worker=worker),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="tarry-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
