"""tarry's version, in a module of its own.

The client and the server read it from here, so that they need not import the
`tarry` package, which imports the client.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
