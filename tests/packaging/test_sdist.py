"""The source distribution holds the packages and the whole test suite, and its copy of the tests
runs (built with the installed hatchling, so no network is needed)."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.helpers import outside_env

REPO_ROOT = Path(__file__).resolve().parents[2]
TOP_LEVEL = {"cli", "runtime", "templates", "tests", "README.md", "pyproject.toml"}
# Written by the build itself (PKG-INFO) or always added by hatchling (.gitignore).
BUILD_FILES = {"PKG-INFO", ".gitignore"}
IGNORED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def _files_under(folder: str) -> set[str]:
    return {
        path.relative_to(REPO_ROOT).as_posix()
        for path in (REPO_ROOT / folder).rglob("*")
        if path.is_file() and not IGNORED_PARTS & set(path.parts) and path.suffix != ".pyc"
    }


def _env() -> dict[str, str]:
    dropped = {"CI", "PYTHONPATH"}
    return outside_env(drop=dropped)


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The built sdist, extracted, and the names in it relative to its top folder."""
    out = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(out)]
    found = subprocess.run(
        [*command, str(REPO_ROOT)], capture_output=True, text=True, check=False, env=_env()
    )
    assert found.returncode == 0, found.stdout + found.stderr
    (archive,) = out.glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # 3.11.4+
        tar.extractall(out, members=members, **safe)
    top = members[0].name.split("/", 1)[0]
    return out / top, sorted(m.name.split("/", 1)[1] for m in members)


@pytest.mark.slow
def test_sdist_holds_only_the_packages_the_tests_and_their_config(
    sdist: tuple[Path, list[str]],
) -> None:
    _, names = sdist
    assert {name.split("/", 1)[0] for name in names} == TOP_LEVEL | BUILD_FILES
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


@pytest.mark.slow
@pytest.mark.parametrize("folder", ["cli", "runtime", "templates", "tests"])
def test_sdist_holds_every_file_of_each_folder(sdist: tuple[Path, list[str]], folder: str) -> None:
    _, names = sdist
    shipped = {name for name in names if name.startswith(f"{folder}/")}
    assert shipped == _files_under(folder)


@pytest.mark.slow
def test_sdist_ships_every_conftest(sdist: tuple[Path, list[str]]) -> None:
    _, names = sdist
    assert "tests/conftest.py" in names
    assert {n for n in names if n.endswith("conftest.py")} == {
        n for n in _files_under("tests") if n.endswith("conftest.py")
    }


@pytest.mark.slow
def test_the_sdist_copy_of_the_tests_runs(sdist: tuple[Path, list[str]]) -> None:
    """Tests that need the root conftest's fixtures pass from the unpacked copy, importing the
    copy's own packages."""
    root, _ = sdist
    probe = root / "tests" / "test_where_from.py"
    probe.write_text(
        "import cli, runtime\n\n\ndef test_where_from(cli):\n"
        "    assert __import__('pathlib').Path(runtime.__file__).is_relative_to("
        f"{str(root)!r})\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"]
    tests = ["tests/test_where_from.py", "tests/cli/commands/test_init.py"]
    found = subprocess.run(
        [*command, *tests], cwd=root, capture_output=True, text=True, check=False, env=_env()
    )
    assert found.returncode == 0, found.stdout + found.stderr
    assert " passed" in found.stdout and "error" not in found.stdout.lower()
