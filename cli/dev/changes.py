"""Which files of a project a save touched, and which of them matter: nango.yaml, `.env`, a
script or another module of the project, a recorded fixture. The generated files (`models.py`,
`.nango/`) are ours and never start a cycle."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cli.project import CONFIG_FILE, ENV_FILE

__all__ = ["FIXTURE_FOLDERS", "ChangeSet", "ContentTracker", "classify"]

FIXTURE_FOLDERS = frozenset({"tests", "mocks"})
_GENERATED = frozenset({"models.py"})
_IGNORED_PARTS = frozenset({".nango", "__pycache__", ".git", ".venv", "venv", "node_modules"})


@dataclass
class ChangeSet:
    """Changed files by what they are (paths resolved; `fixtures` maps an integration to its
    changed fixture files)."""

    config: bool = False
    env: bool = False
    modules: set[Path] = field(default_factory=set)
    fixtures: dict[str, set[Path]] = field(default_factory=dict)
    paths: list[Path] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.paths)


def classify(root: Path, paths: Iterable[Path]) -> ChangeSet:
    """Sort `paths` (absolute) by what they are; paths that do not matter are left out."""
    changes = ChangeSet()
    for path in sorted(set(paths)):
        try:
            parts = path.relative_to(root).parts
        except ValueError:
            continue
        if not parts or _IGNORED_PARTS.intersection(parts) or parts[0] in _GENERATED:
            continue
        if parts == (CONFIG_FILE,):
            changes.config = True
        elif parts == (ENV_FILE,):
            changes.env = True
        elif len(parts) > 2 and parts[1] in FIXTURE_FOLDERS:
            changes.fixtures.setdefault(parts[0], set()).add(path)
        elif path.suffix == ".py":
            changes.modules.add(path)
        else:
            continue
        changes.paths.append(path)
    return changes


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha1(path.read_bytes()).hexdigest()
    except OSError:
        return None


class ContentTracker:
    """The content last seen of each file, so that a save that changes nothing (an editor's
    touch, a file we wrote ourselves) starts no cycle."""

    def __init__(self) -> None:
        self._seen: dict[Path, str | None] = {}

    def remember(self, paths: Iterable[Path]) -> None:
        for path in paths:
            self._seen[path] = _digest(path)

    def changed(self, paths: Iterable[Path]) -> list[Path]:
        """The paths whose content differs from what was last seen (now remembered)."""
        found = []
        for path in paths:
            digest = _digest(path)
            if path in self._seen and self._seen[path] == digest:
                continue
            self._seen[path] = digest
            found.append(path)
        return found
