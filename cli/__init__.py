"""The `nango` command line: the toolchain (config, code generation, dry runs, deploy, watch)."""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    # Lazy, so that `cli` imports (and the start-up check in cli/guard.py runs) even when another
    # distribution's top-level `runtime` shadows ours.
    if name == "__version__":
        from runtime import __version__

        return __version__
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
