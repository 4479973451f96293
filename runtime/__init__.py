"""What runs integration scripts: the script SDK, executor, record store, scheduler and server."""

from __future__ import annotations

__version__ = "0.1.0"
