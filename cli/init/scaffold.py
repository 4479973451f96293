"""`init`: a working example project (a GitHub integration with a sync and an action)."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from cli.codegen.generate import GenerateResult, generate
from cli.project import CONFIG_FILE
from runtime.errors import UserError

_RENAMES = {"env.tmpl": ".env", "gitignore.tmpl": ".gitignore"}


class ProjectExistsError(UserError):
    pass


@dataclass
class InitResult:
    root: Path
    created: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    generated: GenerateResult | None = None


def example_files() -> dict[str, str]:
    """The example project, relative path -> content."""
    files: dict[str, str] = {}
    _collect(resources.files("templates").joinpath("project"), "", files)
    return files


def _collect(folder: Traversable, prefix: str, files: dict[str, str]) -> None:
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            if entry.name != "__pycache__":
                _collect(entry, f"{prefix}{entry.name}/", files)
            continue
        name = _RENAMES.get(entry.name, entry.name.removesuffix(".tmpl"))
        files[f"{prefix}{name}"] = entry.read_text(encoding="utf-8")


def init_project(*, path: Path) -> InitResult:
    """Create the example project in `path` (created if needed) and generate its files.

    Refuses a folder that already is a project; never overwrites an existing file.
    """
    root = path.resolve()
    if (root / CONFIG_FILE).exists() or (root / ".nango").exists():
        raise ProjectExistsError(
            f"{root} is already a Nango project",
            hint="Run `nango generate` there, or choose another folder for `nango init`.",
        )
    if root.exists() and not root.is_dir():
        raise UserError(f"{root} exists and is not a folder", hint="Choose another path.")
    result = InitResult(root)
    try:
        for relative, text in example_files().items():
            target = root / relative
            if target.exists():
                result.kept.append(target)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            result.created.append(target)
    except OSError as exc:
        raise UserError(f"cannot create the project in {root}: {exc}") from exc
    result.generated = generate(project_root=root)
    return result
