"""The web UI: server-rendered pages and the answer forms of waits."""

from __future__ import annotations

__all__: list[str] = []
