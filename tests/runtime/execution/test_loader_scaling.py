"""The loader's bookkeeping per script does not grow with the scripts loaded before it (5,000
scripts took over a minute to compile when each load rescanned every earlier one): counted in
file-system calls, not timed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime.execution.loader import loader_for

SCRIPT = "from models import Item\n\n\nasync def fetch_data(nango):\n    return None\n"


def _project(root: Path, scripts: int) -> list[Path]:
    root.mkdir()
    (root / "models.py").write_text(
        "NANGO_MODELS = {}\n" + "".join(f"# padding {n}\n" for n in range(2000)) + "Item = dict\n",
        encoding="utf-8",
    )
    (root / "helpers.py").write_text("VALUE = 1\n", encoding="utf-8")
    paths = []
    for number in range(scripts):
        path = root / "github" / "syncs" / f"s{number}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(("import helpers\n" if number % 2 else "") + SCRIPT, encoding="utf-8")
        paths.append(path)
    return paths


def test_each_script_load_costs_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _project(tmp_path / "project", 300)
    loader = loader_for(tmp_path / "project")
    calls = {"stat": 0, "read": 0}
    real_stat, real_read = Path.stat, Path.read_bytes

    def stat(self: Path, *args: object, **kwargs: object) -> os.stat_result:
        calls["stat"] += 1
        return real_stat(self, *args, **kwargs)  # type: ignore[arg-type]

    def read_bytes(self: Path) -> bytes:
        calls["read"] += 1
        return real_read(self)

    monkeypatch.setattr(Path, "stat", stat)
    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    per_script = []
    for chunk in (paths[:100], paths[100:200], paths[200:]):
        before = dict(calls)
        for path in chunk:
            loader.script(path)
        per_script.append({k: (calls[k] - before[k]) / len(chunk) for k in calls})
    first, last = per_script[0], per_script[-1]
    assert last["stat"] <= first["stat"] + 1
    assert last["read"] <= first["read"]
    assert first["read"] <= 1.1  # the script itself; models.py is hashed again only when changed
    assert first["stat"] <= 8


def test_a_changed_helper_still_reloads_the_scripts(tmp_path: Path) -> None:
    paths = _project(tmp_path / "project", 3)
    loader = loader_for(tmp_path / "project")
    first = loader.script(paths[1])
    assert loader.script(paths[1]) is first
    helper = tmp_path / "project" / "helpers.py"
    helper.write_text("VALUE = 22\n", encoding="utf-8")
    os.utime(helper, ns=(1, 1))
    again = loader.script(paths[1])
    assert again is not first
    assert again.helpers.VALUE == 22


def test_a_changed_models_file_with_the_same_size_is_seen(tmp_path: Path) -> None:
    paths = _project(tmp_path / "project", 1)
    loader = loader_for(tmp_path / "project")
    first = loader.script(paths[0])
    models = tmp_path / "project" / "models.py"
    models.write_text(models.read_text(encoding="utf-8").replace("dict", "list"), encoding="utf-8")
    os.utime(models, ns=(2, 2))
    again = loader.script(paths[0])
    assert again is not first
    assert again.Item is list


class _CountedModule:
    """A stand-in for a loaded module that counts how often its attributes are read."""

    def __init__(self, file: str) -> None:
        self.reads = 0
        self._file = file

    def __getattr__(self, name: str) -> object:
        self.reads += 1
        if name == "__file__":
            return self._file
        raise AttributeError(name)


def test_modules_marked_foreign_are_never_looked_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run server marks what it loaded as no project's before it forks a run per task: the
    run's loader then looks only at the modules its project brings."""
    import sys

    from runtime.execution import loader as loader_module

    paths = _project(tmp_path / "project", 2)
    monkeypatch.setattr(loader_module, "_foreign", {})
    monkeypatch.setattr(loader_module, "_imported_any", False)
    marked = _CountedModule(str(tmp_path / "project" / "lookalike.py"))
    monkeypatch.setitem(sys.modules, "nango_test_marked", marked)  # type: ignore[arg-type]
    loader_module.mark_modules_foreign()
    later = _CountedModule(str(tmp_path / "project" / "later.py"))
    monkeypatch.setitem(sys.modules, "nango_test_later", later)  # type: ignore[arg-type]

    loader = loader_module.ProjectLoader(tmp_path / "project")
    loader.script(paths[1])  # imports models and helpers
    loader.forget()

    assert marked.reads == 0
    assert later.reads > 0  # loaded after the mark: looked at as before
    assert "nango_test_marked" in sys.modules  # a foreign module is never dropped
    assert "helpers" not in sys.modules and "models" not in sys.modules


def test_a_foreign_name_imported_again_is_looked_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the very module objects marked are skipped: a project module that took a marked
    name later is the project's, and is dropped with it."""
    import sys
    import types

    from runtime.execution import loader as loader_module

    _project(tmp_path / "project", 1)
    monkeypatch.setattr(loader_module, "_foreign", {})
    monkeypatch.setattr(loader_module, "_imported_any", True)
    monkeypatch.setitem(sys.modules, "helpers", types.ModuleType("helpers"))
    loader_module.mark_modules_foreign()
    replaced = types.ModuleType("helpers")
    replaced.__file__ = str((tmp_path / "project" / "helpers.py").resolve())
    sys.modules["helpers"] = replaced

    loader_module.ProjectLoader(tmp_path / "project").forget()

    assert "helpers" not in sys.modules


def test_a_process_that_never_imported_a_project_has_nothing_to_forget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run process forked from the run server has loaded no project: its loader's first
    `forget` looks at no module at all."""
    import sys

    from runtime.execution import loader as loader_module

    monkeypatch.setattr(loader_module, "_imported_any", False)
    unmarked = _CountedModule(str(tmp_path / "project" / "lookalike.py"))
    monkeypatch.setitem(sys.modules, "nango_test_unmarked", unmarked)  # type: ignore[arg-type]
    loader_module.ProjectLoader(tmp_path).forget()
    assert unmarked.reads == 0
    monkeypatch.setattr(loader_module, "_imported_any", True)
    loader_module.ProjectLoader(tmp_path).forget()
    assert unmarked.reads > 0
