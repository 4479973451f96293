"""Where a script's recorded fixtures live in a project: the one rule, for reading and writing.

`<integration>/tests/<script>.test.json` (the unified file `--save` writes), then Nango's
`<integration>/tests/<integration>-<script>.test.json`, then the older `<integration>/mocks/` tree.
Names come from nango.yaml, which refuses names that are not single path segments; a path that
would still leave the project is refused here too.
"""

from __future__ import annotations

from pathlib import Path

from runtime.errors import UserError

__all__ = ["fixture_candidates", "fixture_path"]


def _inside(root: Path, path: Path) -> Path:
    resolved_root = root.resolve()
    resolved = path.resolve()
    if resolved != resolved_root and resolved_root not in resolved.parents:
        raise UserError(
            f"refusing a fixture path outside the project: {path}",
            hint="Integration and script names must be plain names (letters, digits, _ and -).",
        )
    return path


def fixture_path(project_root: Path, integration: str, script: str) -> Path:
    """The unified fixture file of a script: what `--save` writes and `--replay` reads first."""
    return _inside(project_root, project_root / integration / "tests" / f"{script}.test.json")


def fixture_candidates(project_root: Path, integration: str, script: str) -> list[Path]:
    """Where a script's fixtures may be, in the order they are looked for."""
    tests = project_root / integration / "tests"
    return [
        fixture_path(project_root, integration, script),
        _inside(project_root, tests / f"{integration}-{script}.test.json"),
        _inside(project_root, project_root / integration / "mocks"),
    ]
