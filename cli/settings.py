"""Options every command accepts (`--debug`, `--no-interactive`, `--auto-confirm`) and `CI`."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass
class GlobalOptions:
    debug: bool = False
    interactive: bool = True
    auto_confirm: bool = False


def is_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


current = GlobalOptions()


def apply(*, debug: bool, no_interactive: bool, auto_confirm: bool) -> GlobalOptions:
    current.debug = debug or os.environ.get("NANGO_CLI_DEBUG", "").lower() == "true"
    current.interactive = not no_interactive and not is_ci()
    current.auto_confirm = auto_confirm
    return current
