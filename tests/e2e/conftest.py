"""Fixtures of the end-to-end tests: the browser (see `browser.py`)."""

from __future__ import annotations

from tests.e2e.browser import browser, page

__all__ = ["browser", "page"]
