"""The script loader: each module body runs once per version of its file, a change anywhere in the
project re-imports it all, the project root is importable, and every failure names its file and
line."""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.errors import ScriptLoadError, UserError
from runtime.execution.loader import ProjectLoader, accepts_input, forget_projects, loader_for
from tests.helpers import write_tree

MODELS = """\
import exectests_runs
from runtime.sdk import models as _ms

exectests_runs.bodies.append("models")


class Item(_ms.NangoModel):
    id: _ms.Str


NANGO_MODELS = {"Item": Item}
"""

HELPERS = """\
import exectests_runs

exectests_runs.bodies.append("helpers")
GREETING = "hello"
"""

SCRIPT = """\
import exectests_runs
import helpers
import models
from models import Item

exectests_runs.bodies.append("script")


async def fetch_data(nango):
    return helpers.GREETING
"""


@pytest.fixture
def bodies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The module bodies run, in order: each project module appends its name when it runs."""
    runs = types.ModuleType("exectests_runs")
    runs.bodies = []  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "exectests_runs", runs)
    return runs.bodies  # type: ignore[attr-defined, no-any-return]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "project",
        {"models.py": MODELS, "helpers.py": HELPERS, "github/syncs/items.py": SCRIPT},
    )


@pytest.fixture
def loader(root: Path, bodies: list[str]) -> Iterator[ProjectLoader]:
    yield loader_for(root)
    forget_projects()


def rewrite(path: Path, text: str, *, ns: int) -> None:
    """Change a file and give it a modification time of its own (the loader compares stats)."""
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(ns, ns))


def test_a_module_body_runs_once_while_nothing_changes(
    root: Path, loader: ProjectLoader, bodies: list[str]
) -> None:
    script = root / "github" / "syncs" / "items.py"
    first = loader.script(script)
    for _ in range(3):
        assert loader.script(script) is first
        loader.models()
    assert bodies == ["models", "helpers", "script"]
    assert loader_for(root) is loader


def test_a_changed_script_is_imported_again_alone(
    root: Path, loader: ProjectLoader, bodies: list[str]
) -> None:
    script = root / "github" / "syncs" / "items.py"
    first = loader.script(script)
    rewrite(script, SCRIPT + "VERSION = 2\n", ns=10**9)

    again = loader.script(script)
    assert again is not first
    assert again.VERSION == 2
    assert bodies == ["models", "helpers", "script", "script"]


def test_a_changed_helper_imports_every_module_afresh(
    root: Path, loader: ProjectLoader, bodies: list[str]
) -> None:
    script = root / "github" / "syncs" / "items.py"
    first = loader.script(script)
    rewrite(root / "helpers.py", HELPERS.replace("hello", "bonjour"), ns=10**9)

    again = loader.script(script)
    assert again is not first
    assert again.helpers.GREETING == "bonjour"
    assert bodies == ["models", "helpers", "script", "models", "helpers", "script"]


def test_a_changed_models_file_imports_every_module_afresh(
    root: Path, loader: ProjectLoader, bodies: list[str]
) -> None:
    script = root / "github" / "syncs" / "items.py"
    first = loader.script(script)
    registry = loader.models()
    rewrite(root / "models.py", MODELS.replace('"Item": Item', '"Item": Item, "Other": Item'), ns=1)

    again = loader.script(script)
    assert again is not first
    assert "Other" in loader.models()
    assert loader.models() is not registry
    # the script holds the classes of the models module it was imported with: the new one
    assert again.Item is sys.modules["models"].Item
    assert again.Item is not first.Item
    assert bodies == ["models", "helpers", "script", "models", "helpers", "script"]


def test_a_script_edited_twice_within_a_second_runs_its_new_text(
    root: Path, loader: ProjectLoader, bodies: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python's bytecode cache knows a file by its size and whole second of modification: an edit
    of the same size in the same second must not bring the old code back."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    script = root / "github" / "syncs" / "items.py"
    helper = root / "helpers.py"
    rewrite(script, SCRIPT + "VERSION = 1\n", ns=5 * 10**9)
    rewrite(helper, HELPERS, ns=5 * 10**9)
    assert loader.script(script).VERSION == 1

    rewrite(script, SCRIPT + "VERSION = 2\n", ns=5 * 10**9 + 1000)
    assert loader.script(script).VERSION == 2

    rewrite(helper, HELPERS.replace("hello", "HELLO"), ns=5 * 10**9 + 2000)
    assert loader.script(script).helpers.GREETING == "HELLO"

    models = root / "models.py"
    rewrite(models, MODELS + "VERSION = 1\n", ns=5 * 10**9 + 3000)
    assert loader.script(script).models.VERSION == 1  # type: ignore[attr-defined]
    rewrite(models, MODELS + "VERSION = 2\n", ns=5 * 10**9 + 4000)
    assert loader.script(script).models.VERSION == 2  # type: ignore[attr-defined]


def test_the_project_root_is_importable(root: Path, loader: ProjectLoader) -> None:
    write_tree(
        root,
        {
            "lib/__init__.py": "",
            "lib/text.py": "def shout(s):\n    return s.upper()\n",
            "github/actions/act.py": (
                "import helpers\nfrom lib.text import shout\nfrom models import Item\n\n\n"
                "async def run_action(nango, input):\n    return shout(helpers.GREETING)\n"
            ),
        },
    )
    module = loader.script(root / "github" / "actions" / "act.py")
    assert module.shout("a") == "A"
    assert module.Item is loader.models().get("Item")
    assert sys.path[0] == str(root.resolve())


def test_a_syntax_error_names_the_file_and_line(root: Path, loader: ProjectLoader) -> None:
    path = write_tree(root, {"github/syncs/bad.py": "x = 1\n\ndef broken(:\n    pass\n"})
    with pytest.raises(ScriptLoadError) as caught:
        loader.script(path / "github" / "syncs" / "bad.py")
    error = caught.value
    assert error.line == 3
    assert error.file == (root / "github" / "syncs" / "bad.py").resolve()
    assert error.message.startswith("importing github/syncs/bad.py failed at line 3: SyntaxError")
    assert error.payload == {"name": "SyntaxError", "message": error.payload["message"], "line": 3}


def test_an_exception_at_import_names_the_script_line_and_leaves_no_module(
    root: Path, loader: ProjectLoader
) -> None:
    text = "import helpers\n\n\ndef f():\n    return {}['k']\n\n\nVALUE = f()\n"
    write_tree(root, {"github/syncs/raises.py": text})
    path = root / "github" / "syncs" / "raises.py"
    before = set(sys.modules)
    with pytest.raises(ScriptLoadError) as caught:
        loader.script(path)
    # the last frame in the script itself: the call at line 8 (not the library's frames)
    assert caught.value.line == 5
    assert "failed at line 5: KeyError: 'k'" in caught.value.message
    assert not [n for n in set(sys.modules) - before if n.startswith("_nango_script_")]
    # fixed, it loads
    rewrite(path, "VALUE = 1\n", ns=10**9)
    assert loader.script(path).VALUE == 1


def test_a_file_that_is_not_utf8_is_refused_with_its_line(
    root: Path, loader: ProjectLoader
) -> None:
    path = root / "github" / "syncs" / "latin.py"
    path.write_bytes(b"import helpers\nVALUE = 'caf\xe9'\n")
    with pytest.raises(ScriptLoadError) as caught:
        loader.script(path)
    assert caught.value.message.startswith("importing github/syncs/latin.py failed at line 2:")
    assert "can't decode byte 0xe9" in caught.value.message
    assert caught.value.line == 2
    assert caught.value.file == path.resolve()


def test_a_missing_script_is_refused_by_name(root: Path, loader: ProjectLoader) -> None:
    with pytest.raises(ScriptLoadError) as caught:
        loader.script(root / "github" / "syncs" / "nope.py")
    assert caught.value.message == "github/syncs/nope.py does not exist"
    assert caught.value.line == 1


def test_a_models_file_that_fails_is_a_user_error_naming_it(
    root: Path, loader: ProjectLoader
) -> None:
    (root / "models.py").write_text("raise RuntimeError('half generated')\n", encoding="utf-8")
    with pytest.raises(UserError) as caught:
        loader.models()
    assert "models.py" in caught.value.message
    assert "RuntimeError: half generated" in caught.value.message
    (root / "models.py").unlink()
    with pytest.raises(UserError, match="cannot read"):
        loader.models()


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("def fetch_data(nango):\n    return None\n", "not async"),
        ("async def other(nango):\n    return None\n", "missing"),
        ("fetch_data = 3\n", "not a function"),
    ],
)
def test_entry_refuses_a_missing_or_non_async_entry_function(
    root: Path, loader: ProjectLoader, text: str, why: str
) -> None:
    write_tree(root, {"github/syncs/entry.py": text})
    with pytest.raises(ScriptLoadError) as caught:
        loader.entry(root / "github" / "syncs" / "entry.py", "fetch_data")
    assert caught.value.message == (
        "github/syncs/entry.py does not define `async def fetch_data(...)`"
    ), why


def test_entry_returns_the_coroutine_function(root: Path, loader: ProjectLoader) -> None:
    entry = loader.entry(root / "github" / "syncs" / "items.py", "fetch_data")
    assert entry.__name__ == "fetch_data"
    assert not accepts_input(entry)

    async def action(nango: object, input: object) -> None:
        return None

    assert accepts_input(action)


def test_forget_projects_drops_every_module_of_the_project(
    root: Path, loader: ProjectLoader, bodies: list[str]
) -> None:
    loader.script(root / "github" / "syncs" / "items.py")
    assert {"models", "helpers"} <= set(sys.modules)

    forget_projects()
    assert "models" not in sys.modules
    assert "helpers" not in sys.modules
    assert not [n for n in sys.modules if n.startswith("_nango_script_")]

    fresh = loader_for(root)
    assert fresh is not loader
    fresh.script(root / "github" / "syncs" / "items.py")
    assert bodies == ["models", "helpers", "script"] * 2


def test_switching_projects_drops_the_previous_projects_modules(
    tmp_path: Path, root: Path, loader: ProjectLoader, bodies: list[str]
) -> None:
    loader.script(root / "github" / "syncs" / "items.py")
    first_models = sys.modules["models"]
    other = write_tree(
        tmp_path / "other",
        {
            "models.py": "NANGO_MODELS = {}\nOTHER = True\n",
            "github/syncs/s.py": "import models\n\n\nasync def fetch_data(nango):\n    pass\n",
        },
    )

    second = loader_for(other)
    assert second is not loader
    assert "helpers" not in sys.modules
    module = second.script(other / "github" / "syncs" / "s.py")
    assert module.models.OTHER is True
    assert module.models is not first_models
    assert "Item" not in second.models()
    assert str(root.resolve()) != sys.path[0]
