"""Reaching people where they are: notifications, signed answer links and mail."""

from __future__ import annotations
