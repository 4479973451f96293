"""`nango` refuses to start, naming the culprit, when another distribution owns one of our import
names (`cli`, `runtime`, `templates`). Each case runs `nango --help` in a subprocess over a fake
site folder: a copy of our packages installed with a RECORD, plus another distribution."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from cli.guard import check_import_names

REPO_ROOT = Path(__file__).resolve().parents[2]
OURS = ("cli", "runtime", "templates")
RUN_HELP = "import sys; sys.argv = ['nango', '--help']; from cli.app import main; main()"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _dist_info(site: Path, name: str, version: str, files: list[str]) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = [f"{f},sha256={_sha256(site / f)},{(site / f).stat().st_size}" for f in files]
    (info / "RECORD").write_text("\n".join([*lines, f"{info.name}/RECORD,,"]) + "\n", "utf-8")


def _install_ours(site: Path) -> None:
    """Our three packages as pip would lay them out, with our RECORD."""
    for name in OURS:
        shutil.copytree(REPO_ROOT / name, site / name, ignore=shutil.ignore_patterns("__pycache__"))
    files = sorted(p.relative_to(site).as_posix() for n in OURS for p in (site / n).rglob("*.py"))
    _dist_info(site, "nango-py", "0.1.0", files)


def _foreign_runtime(site: Path) -> None:
    """Another distribution's top-level `runtime`, written over whatever is there."""
    (site / "runtime").mkdir(exist_ok=True)
    (site / "runtime" / "__init__.py").write_text('"""Their runtime."""\n', encoding="utf-8")
    _dist_info(site, "agent-runtime", "2.3.0", ["runtime/__init__.py"])


def _nango_help(tmp_path: Path, *path: Path) -> subprocess.CompletedProcess[str]:
    """`nango --help` with only `path` and the third-party packages importable (-S keeps the
    editable install's .pth, which points at this checkout, out)."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "CI", "NO_COLOR"}}
    env["PYTHONPATH"] = os.pathsep.join([*map(str, path), sysconfig.get_paths()["purelib"]])
    return subprocess.run(
        [sys.executable, "-S", "-c", RUN_HELP],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site-packages"
    folder.mkdir()
    _install_ours(folder)
    return folder


def _assert_refused(found: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert found.returncode == 1, found.stdout + found.stderr
    assert found.stdout == ""
    assert "Traceback" not in found.stderr
    assert "\x1b[" not in found.stderr  # not a terminal: no colour codes
    for text in (*expected, "pipx install nango-py", "uv tool install nango-py"):
        assert text in found.stderr, found.stderr


def test_a_clean_install_starts(tmp_path: Path, site: Path) -> None:
    found = _nango_help(tmp_path, site)
    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith("Usage: nango")


def test_another_runtime_earlier_on_the_path_is_named(tmp_path: Path, site: Path) -> None:
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    _foreign_runtime(shadow)
    found = _nango_help(tmp_path, shadow, site)
    _assert_refused(
        found,
        f"nango cannot start: import name 'runtime' ({shadow / 'runtime' / '__init__.py'})",
        "another package of that name comes first",
        "It belongs to agent-runtime 2.3.0.",
    )


def test_our_init_overwritten_by_another_distribution_is_named(tmp_path: Path, site: Path) -> None:
    _foreign_runtime(site)  # installed after ours, into the same folder
    found = _nango_help(tmp_path, site)
    _assert_refused(
        found,
        "import name 'runtime'",
        "our __init__.py was overwritten by another distribution's",
        "It belongs to agent-runtime 2.3.0.",
    )
    assert "cannot import name '__version__'" not in found.stderr


def test_our_init_removed_with_another_distribution_is_reported(tmp_path: Path, site: Path) -> None:
    (site / "templates" / "__init__.py").unlink()  # what uninstalling the other one leaves
    found = _nango_help(tmp_path, site)
    _assert_refused(found, "import name 'templates'", "our __init__.py is missing")


def test_this_checkout_passes_the_check() -> None:
    assert check_import_names() == []


# --- the same checks in-process ------------------------------------------------------------------


def test_in_process_shadowing_and_owner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli import guard

    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "templates").mkdir()
    (shadow / "templates" / "__init__.py").write_text("", encoding="utf-8")
    _dist_info(shadow, "site-templates", "1.0", ["templates/__init__.py"])
    monkeypatch.syspath_prepend(str(shadow))
    monkeypatch.delitem(sys.modules, "templates", raising=False)
    [problem] = guard.check_import_names()
    assert (problem.name, problem.found) == ("templates", str(shadow / "templates" / "__init__.py"))
    assert guard._owners("templates") == ["site-templates 1.0"]
    assert "nango-py" not in " ".join(guard._owners("cli"))


def test_in_process_overwritten_file_against_our_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli import guard

    info = tmp_path / "nango_py-0.1.0.dist-info"
    info.mkdir()
    ours = REPO_ROOT / "cli" / "__init__.py"
    (info / "RECORD").write_text(
        f"cli/__init__.py,sha256={_sha256(ours)},1\nruntime/__init__.py,sha256=bogus,1\n"
        "templates/__init__.py,,\n",
        encoding="utf-8",
    )
    hashes = guard._record_hashes(tmp_path)
    assert set(hashes) == {"cli/__init__.py", "runtime/__init__.py"}
    monkeypatch.setattr(guard, "_record_hashes", lambda _root: hashes)
    [problem] = guard.check_import_names()
    assert problem.name == "runtime" and "overwritten" in problem.reason


def test_in_process_refusal_message_and_exit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli import guard

    problem = guard.ImportNameProblem("runtime", "/elsewhere/runtime/__init__.py", "why not")
    monkeypatch.setattr(guard, "check_import_names", lambda: [problem])
    monkeypatch.setattr(guard, "_owners", lambda name: ["other 1.0"])
    with pytest.raises(SystemExit) as caught:
        guard.ensure_own_import_names()
    assert caught.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "nango cannot start: import name 'runtime' (/elsewhere/runtime/__init__.py): why not. "
        "It belongs to other 1.0.\n"
    )
    assert "pipx install nango-py" in err


def test_cli_version_is_still_available() -> None:
    import cli
    from runtime import __version__

    assert cli.__version__ == __version__
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = cli.nope  # type: ignore[attr-defined]
