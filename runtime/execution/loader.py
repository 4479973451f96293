"""The one script loader: a project's generated `models.py` and its scripts, imported by path with
the project root importable (`from models import ...`, `import helpers`).

Each module body runs once per process per version of its file: loading a script again returns
the module already imported while neither the script, `models.py` nor a helper module it
imported from the project has changed. When one has, every module of the project is imported
afresh (scripts hold the classes of the `models` module they were imported with, so nothing
stale survives a change). One project is active at a time: `models` is a process-wide name.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.machinery
import importlib.util
import inspect
import sys
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from runtime.errors import ScriptLoadError, UserError
from runtime.execution.isolation import exits_refused
from runtime.sdk.validation import ModelRegistry

__all__ = [
    "ProjectLoader",
    "accepts_input",
    "forget_projects",
    "loader_for",
    "mark_modules_foreign",
]

_SCRIPT_PREFIX = "_nango_script_"
_NOT_PROJECT_PARTS = frozenset({".venv", "venv", "site-packages", "node_modules", ".nango"})


# Modules known to be no project's (`mark_modules_foreign`): name -> module object.
_foreign: dict[str, ModuleType] = {}
# Whether a loader of this process ever imported a project's module: until one has, forgetting
# has nothing to drop (a run process forked from the run server starts so).
_imported_any = False


def mark_modules_foreign() -> None:
    """Note every module loaded now as no project's own, so that loaders never look at them
    again. A worker's run server calls it once its imports are done, before it forks a process
    per run: each run's loader then looks at the few modules its project brings instead of the
    ~1,600 the server loaded (which also spares copying the memory pages they sit on)."""
    _foreign.update(sys.modules)


@dataclass
class _Loaded:
    digest: str
    models_digest: str
    module: ModuleType


def _digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


# Python's bytecode cache (`__pycache__`) tells the versions of a file apart by its size and the
# whole second it was modified in: a file edited again within that second, to the same size,
# would be imported as its old code. Scripts are stamped to the nanosecond instead; a changed
# helper or models.py has its cached bytecode removed before it is imported again.


class _ScriptFileLoader(importlib.machinery.SourceFileLoader):
    def path_stats(self, path: str) -> Mapping[str, Any]:
        stat = Path(path).stat()
        return {"mtime": stat.st_mtime_ns, "size": stat.st_size}


def _drop_bytecode(file: str | Path) -> None:
    with contextlib.suppress(OSError, ValueError, NotImplementedError):
        Path(importlib.util.cache_from_source(str(file))).unlink(missing_ok=True)


class ProjectLoader:
    """Imports the models and scripts of the project at `root` (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._models_digest = ""
        self._models_stat: tuple[int, int] | None = None
        self._registry: ModelRegistry | None = None
        self._scripts: dict[Path, _Loaded] = {}
        # The project's other modules (helpers, `models`): file -> (mtime, size) when imported.
        # Kept up to date from the modules that appeared since the last look, so that loading
        # each of 5,000 scripts costs the same as loading the first.
        self._helpers: dict[str, tuple[int, int]] = {}
        self._seen_modules: set[str] = set()  # besides the foreign ones
        # Whether a module file is one of the project's: resolving every loaded module's path on
        # each script load costs ~0.1 s in a process that has imported a few hundred modules.
        self._is_ours: dict[str, bool] = {}

    # --- models --------------------------------------------------------------------------------

    def models(self) -> ModelRegistry:
        """The registry of `models.py` (`NANGO_MODELS`), imported again when the file changed."""
        path = self.root / "models.py"
        try:
            stat = path.stat()
            seen = (stat.st_mtime_ns, stat.st_size)
            # hashed only when its stat changed: a project with 5,000 models has a models.py
            # of megabytes, and each script load checks it
            digest = self._models_digest if seen == self._models_stat else _digest(path)
        except OSError as exc:
            raise UserError(
                f"cannot read {path}: {exc.strerror or exc}", hint="Run `nango generate`."
            ) from exc
        self._models_stat = seen
        if self._registry is not None and digest == self._models_digest and not self._stale():
            return self._registry
        if self._registry is not None and digest != self._models_digest:
            _drop_bytecode(path)
        self.forget()
        self._activate()
        global _imported_any
        _imported_any = True
        try:
            with exits_refused():
                module = importlib.import_module("models")
        except Exception as exc:
            raise UserError(
                f"cannot import {path}: {type(exc).__name__}: {exc}",
                hint="Run `nango generate` to regenerate it.",
            ) from exc
        self._models_digest = digest
        self._registry = ModelRegistry(getattr(module, "NANGO_MODELS", {}))
        self._remember_helpers()
        return self._registry

    # --- scripts -------------------------------------------------------------------------------

    def script(self, path: Path) -> ModuleType:
        """The imported module of the script at `path` (see the module docstring)."""
        self.models()
        path = path.resolve()
        try:
            digest = _digest(path)
        except FileNotFoundError as exc:
            raise ScriptLoadError(f"{self._shown(path)} does not exist", file=path) from exc
        except OSError as exc:
            raise ScriptLoadError(
                f"{self._shown(path)} cannot be read: {exc.strerror or exc}", file=path
            ) from exc
        known = self._scripts.get(path)
        if known is not None and (known.digest, known.models_digest) == (
            digest,
            self._models_digest,
        ):
            return known.module
        module = self._import(path)
        self._scripts[path] = _Loaded(digest, self._models_digest, module)
        self._remember_helpers()
        return module

    def entry(self, path: Path, name: str) -> Callable[..., Awaitable[Any]]:
        """The script's `async def <name>(...)`; a `ScriptLoadError` when it has none."""
        module = self.script(path)
        function = getattr(module, name, None)
        if function is None or not inspect.iscoroutinefunction(function):
            raise ScriptLoadError(
                f"{self._shown(path)} does not define `async def {name}(...)`", file=path
            )
        return function  # type: ignore[no-any-return]

    def _import(self, path: Path) -> ModuleType:
        name = _SCRIPT_PREFIX + hashlib.sha1(str(path).encode()).hexdigest()[:16]
        sys.modules.pop(name, None)
        spec = importlib.util.spec_from_file_location(
            name, path, loader=_ScriptFileLoader(name, str(path))
        )
        if spec is None or spec.loader is None:
            raise ScriptLoadError(f"{self._shown(path)} cannot be loaded", file=path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            with exits_refused():
                spec.loader.exec_module(module)
        except BaseException as exc:
            del sys.modules[name]
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise self._load_error(path, exc) from exc
        return module

    def _load_error(self, path: Path, exc: BaseException) -> ScriptLoadError:
        line = _failing_line(exc, path)
        if isinstance(exc, UnicodeDecodeError):
            detail = f"it is not UTF-8 text ({exc.reason} at byte {exc.start})"
        elif isinstance(exc, SyntaxError):
            detail = f"SyntaxError: {exc.msg}"
        else:
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        message = f"importing {self._shown(path)} failed at line {line}: {detail}"
        payload = {"name": type(exc).__name__, "message": str(exc), "line": line}
        return ScriptLoadError(message, file=path, line=line, payload=payload)

    def _shown(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    # --- freshness -----------------------------------------------------------------------------

    def _activate(self) -> None:
        root = str(self.root)
        if sys.path[:1] != [root]:
            if root in sys.path:
                sys.path.remove(root)
            sys.path.insert(0, root)
        importlib.invalidate_caches()

    def _project_modules(self) -> dict[str, str]:
        """Modules imported from the project's own files: name -> file."""
        found: dict[str, str] = {}
        # The project's modules are imported through its sys.path entry, `str(self.root)`: a
        # file named elsewhere is not resolved (resolving each of the ~1,600 modules a worker
        # has loaded took most of a run's CPU).
        prefix = str(self.root)
        for name, module in list(sys.modules.items()):
            if _foreign.get(name) is module:
                continue
            file = getattr(module, "__file__", None)
            if not isinstance(file, str) or not file.startswith(prefix):
                continue
            if self._is_project_file(file):
                found[name] = file
        return found

    def _is_project_file(self, file: str) -> bool:
        ours = self._is_ours.get(file)
        if ours is None:
            ours = self._is_ours[file] = _is_project_file(Path(file), self.root)
        return ours

    def _remember_helpers(self) -> None:
        """Note the project modules (scripts aside) imported since the last call."""
        new = sys.modules.keys() - self._seen_modules - _foreign.keys()
        self._seen_modules.update(new)
        prefix = str(self.root)
        for name in new:
            file = getattr(sys.modules.get(name), "__file__", None)
            if name.startswith(_SCRIPT_PREFIX) or not isinstance(file, str):
                continue
            if not file.startswith(prefix) or not self._is_project_file(file):
                continue
            try:
                stat = Path(file).stat()
            except OSError:
                continue
            self._helpers[file] = (stat.st_mtime_ns, stat.st_size)

    def _stale(self) -> bool:
        """True when a project module other than a script changed since it was imported (the
        bytecode cached for each one that did is removed)."""
        stale = False
        for file, seen in self._helpers.items():
            try:
                stat = Path(file).stat()
            except OSError:
                stale = True
                continue
            if (stat.st_mtime_ns, stat.st_size) != seen:
                _drop_bytecode(file)
                stale = True
        return stale

    def forget(self) -> None:
        """Drop every module imported from the project (`models` included)."""
        if _imported_any:
            self._drop_modules()
        self._scripts.clear()
        self._helpers.clear()
        self._seen_modules = set()
        self._registry = None
        self._models_digest = ""
        self._models_stat = None

    def _drop_modules(self) -> None:
        for name in self._project_modules():
            sys.modules.pop(name, None)
        for name in [n for n in sys.modules if n.startswith(_SCRIPT_PREFIX)]:
            sys.modules.pop(name, None)
        sys.modules.pop("models", None)


def _is_project_file(path: Path, root: Path) -> bool:
    try:
        relative = path.resolve().relative_to(root)
    except (ValueError, OSError):
        return False
    return not any(part in _NOT_PROJECT_PARTS for part in relative.parts)


def _failing_line(exc: BaseException, path: Path) -> int:
    if isinstance(exc, SyntaxError) and exc.lineno and Path(exc.filename or "") == path:
        return exc.lineno
    line = 1
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename) == path and frame.lineno:
            line = frame.lineno
    return line


def accepts_input(function: Callable[..., Any]) -> bool:
    """True when the entry function takes a second parameter (an action's input)."""
    return len(inspect.signature(function).parameters) >= 2


_active: ProjectLoader | None = None


def loader_for(root: Path) -> ProjectLoader:
    """The process's loader of the project at `root` (the one before it is forgotten)."""
    global _active
    resolved = root.resolve()
    if _active is not None and _active.root == resolved:
        return _active
    if _active is not None:
        _active.forget()
    _active = ProjectLoader(resolved)
    return _active


def forget_projects() -> None:
    """Drop the active project's modules (as if no script had been loaded in this process)."""
    global _active
    if _active is not None:
        _active.forget()
    _active = None
