"""The `nango` command line: the toolchain (config, code generation, dry runs, deploy, watch)."""

from __future__ import annotations

from runtime import __version__

__all__ = ["__version__"]
