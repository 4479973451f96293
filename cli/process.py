"""What the `nango` process does to start and to end quickly (the command's own work aside).

A command's start-up is mostly imports (typer, pydantic, httpx, yaml, the project's modules), which
create hundreds of thousands of objects and no garbage: the cyclic garbage collector's passes over
that growing heap cost ~0.1-0.2 s of CPU, and the interpreter's own passes at exit as much again.
The collector is paused from `at_start` to `resume` (typer parsing the command line imports pydantic
and builds a validator per option) and during the imports a command makes in `paused_collector()`;
what exists at each resumption (and at exit) is frozen out of its reach (`gc.freeze`): later passes
look only at objects made after.

httpx imports its optional command line (`httpx._main`: click, pygments and parts of rich, ~40 ms)
when they are installed; `nango` never runs it, so the process takes the path httpx takes when
they are not (`httpx.main` then says to install `httpx[cli]`).
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator

__all__ = ["at_exit", "at_start", "paused_collector", "resume"]


class _Pause:
    """Whether `at_start` paused the collector (until `resume`)."""

    active = False


def at_start() -> None:
    """Called first thing by `nango`'s entry point."""
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    if gc.isenabled():
        gc.disable()
        _Pause.active = True


def resume() -> None:
    """Called as a command starts (`cli.boundary`): the collector paused by `at_start` runs
    again, what exists now frozen."""
    if _Pause.active:
        _Pause.active = False
        gc.freeze()
        gc.enable()


@contextlib.contextmanager
def paused_collector() -> Iterator[None]:
    """Run the block (imports) without the cyclic garbage collector; freeze what it made."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def at_exit() -> None:
    """Called last by `nango`'s entry point: the interpreter's collections at exit then skip
    every object alive now (finalizers of what is still referenced run as before)."""
    gc.freeze()
