"""Reading a project's `.env` again while `nango dev` runs: what the file set before is replaced
by what it says now, and variables set outside it (in the shell) still win."""

from __future__ import annotations

import os
from pathlib import Path

from cli.project import ENV_FILE

__all__ = ["EnvFile"]


def _values(path: Path) -> dict[str, str]:
    from dotenv import dotenv_values

    try:
        found = dotenv_values(path, encoding="utf-8") if path.is_file() else {}
    except (OSError, UnicodeDecodeError):
        return {}
    return {key: value for key, value in found.items() if value is not None}


class EnvFile:
    """The `.env` of a project and the variables it put into the environment."""

    def __init__(self, root: Path) -> None:
        self.path = root / ENV_FILE
        # Read at start by the CLI: a variable holding the file's value is taken to be from it.
        self._applied = {k: v for k, v in _values(self.path).items() if os.environ.get(k) == v}

    def reload(self) -> list[str]:
        """Apply the file as it is now; the names of the variables that changed."""
        before = dict(self._applied)
        for key, value in before.items():
            if os.environ.get(key) == value:
                del os.environ[key]
        self._applied = {}
        for key, value in _values(self.path).items():
            if key not in os.environ:
                os.environ[key] = value
                self._applied[key] = value
        keys = set(before) | set(self._applied)
        return sorted(k for k in keys if before.get(k) != self._applied.get(k))
