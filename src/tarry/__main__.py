"""`python -m tarry`: the `tarry` command."""

from __future__ import annotations

from tarry.cli import main

main()
