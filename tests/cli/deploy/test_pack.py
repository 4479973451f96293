"""Packing a project for deploy: the modules a script imports, size limits, selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.deploy import pack
from cli.deploy.pack import PackError, project_imports
from tests.helpers import Cli, write_tree


def test_imports_are_followed_through_the_project(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "models.py": "X = 1\n",
            "helpers.py": "import lib.deep\nfrom models import X\n",
            "lib/__init__.py": "",
            "lib/deep.py": "from . import sibling\nfrom .nested.leaf import f\nimport os, json\n",
            "lib/sibling.py": "import helpers  # a cycle\n",
            "lib/nested/leaf.py": "def f(): ...\n",
            "unused.py": "",
            ".venv/lib/site.py": "",
            "github/syncs/issues.py": "import helpers\nfrom github.util import g\nimport yaml\n",
            "github/util.py": "def g(): ...\n",
        },
    )
    found = project_imports(tmp_path, tmp_path / "github" / "syncs" / "issues.py")
    assert found == [
        "github/util.py",
        "helpers.py",
        "lib/__init__.py",
        "lib/deep.py",
        "lib/nested/leaf.py",
        "lib/sibling.py",
    ]


def test_a_script_that_does_not_parse_imports_nothing(tmp_path: Path) -> None:
    write_tree(tmp_path, {"s.py": "import (\n"})
    assert project_imports(tmp_path, tmp_path / "s.py") == []


def test_files_over_the_limit_are_refused(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli.codegen.generate import generate
    from cli.project import find_project

    cli("init", str(tmp_path / "demo"), cwd=tmp_path)
    project = find_project(tmp_path / "demo")
    config = generate(project_root=project.root).config.parsed
    monkeypatch.setattr(pack, "MAX_FILE_BYTES", 100)
    with pytest.raises(PackError, match="larger than"):
        pack.pack_project(project, config, pack.PackOptions())
    monkeypatch.setattr(pack, "MAX_FILE_BYTES", 10**9)
    monkeypatch.setattr(pack, "MAX_PACK_BYTES", 2000)
    with pytest.raises(PackError, match="The deploy is larger than"):
        pack.pack_project(project, config, pack.PackOptions())
    with pytest.raises(PackError, match="No integration 'nope'"):
        pack.pack_project(project, config, pack.PackOptions(integration="nope"))
