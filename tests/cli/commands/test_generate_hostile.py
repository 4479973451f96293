"""`nango generate` on hostile or careless nango.yaml files: a positioned error, or valid output.

Never an "unexpected error", never a file outside the project, never a stub that does not
compile, never a generated JSON file that is not strict JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cli.config.yaml_source import parse_yaml
from tests.conftest import Cli

SYNC = """\
integrations:
  {integration}:
    syncs:
      issues:
        runs: every hour
        output: Issue
        endpoint: GET /issues
        description: {description}
    on-events:
      post-connection-creation:
        - {on_event}
models:
  Issue:
    id: string
"""


def config(
    integration: str = "github", description: str = "Issues.", on_event: str = "setup"
) -> str:
    return SYNC.format(integration=integration, description=description, on_event=on_event)


def quoted(name: str) -> str:
    return (
        '"'
        + "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else f"\\u{ord(c):04x}" for c in name)
        + '"'
    )


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def strict_json(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


# `{tmp}` stands for the test's temporary folder: an absolute path outside the project.
HOSTILE_NAMES = [
    "../escaped",
    "{tmp}/abs",
    "{tmp}/abs/x",
    "..",
    "$(touch x)",
    "a\x1bb",
    "a\nb",
    "a\u202eb",
    "a\x00b",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=repr)
@pytest.mark.parametrize("where", ["integration", "on_event"])
def test_a_name_that_would_become_a_path_outside_is_a_positioned_error(
    cli: Cli, tmp_path: Path, name: str, where: str
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    name = name.replace("{tmp}", str(tmp_path))
    (root / "nango.yaml").write_text(config(**{where: quoted(name)}), encoding="utf-8")
    result = cli("generate", cwd=root, expect=1)
    position = "2:3" if where == "integration" else "11:11"
    assert f"nango.yaml:{position} error" in result.stderr
    code = "invalid_integration_id" if where == "integration" else "invalid_script_name"
    assert f"[{code}]" in result.stderr
    assert "unexpected error" not in result.output
    assert files_under(tmp_path) == {"project", "project/nango.yaml"}


@pytest.mark.parametrize("name", ["a\x1bb", "a\nb", "a\u202eb"], ids=repr)
def test_control_characters_of_a_bad_name_are_shown_not_sent_to_the_terminal(
    cli: Cli, make_project: Callable[[dict[str, str]], Path], name: str
) -> None:
    root = make_project({"nango.yaml": config(integration=quoted(name))})
    result = cli("generate", cwd=root, expect=1)
    visible = name.encode("unicode_escape").decode()
    assert f'Integration id "{visible}"' in result.stderr
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202e]", result.output)


@pytest.mark.parametrize(
    "description",
    ['"nul \\0 bell \\a esc \\e cr \\r del \\x7f"', '"rlo \\u202e end"', '"quotes \\"\\"\\" \\\\"'],
    ids=["controls", "bidi", "quotes-and-backslash"],
)
def test_a_description_with_control_characters_gives_a_stub_that_compiles(
    cli: Cli, make_project: Callable[[dict[str, str]], Path], description: str
) -> None:
    root = make_project({"nango.yaml": config(description=description)})
    cli("generate", cwd=root)
    stub = (root / "github/syncs/issues.py").read_text(encoding="utf-8")
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202e]", stub)
    docstring = compile(stub, "issues.py", "exec").co_consts[0]
    assert parse_yaml(f"d: {description}\n").data["d"] in docstring
    cli("compile", cwd=root, expect=0)


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "[.inf]", "string | .nan"])
def test_infinity_and_nan_as_a_type_are_positioned_errors(
    cli: Cli, make_project: Callable[[dict[str, str]], Path], value: str
) -> None:
    text = config() + f"    score: {value}\n"
    root = make_project({"nango.yaml": text})
    if "|" in value:  # inside a union, `.nan` is a word: a string literal, with a warning
        result = cli("generate", cwd=root)
        assert "model_not_found_fallback" in result.stderr
        return
    result = cli("generate", cwd=root, expect=1)
    position = "15:13" if value.startswith("[") else "15:5"  # a list item: the item
    assert f"nango.yaml:{position} error" in result.stderr
    assert "[type_syntax_error]" in result.stderr
    assert not (root / "models.py").exists()


def test_infinity_where_nango_keeps_any_value_is_written_as_null(
    cli: Cli, make_project: Callable[[dict[str, str]], Path]
) -> None:
    v1 = (
        "integrations:\n  github:\n    issues:\n      runs: every hour\n      returns: Issue\n"
        "      version: .inf\n      extra: [.nan, -.inf, 1e400, 12345678901234567890]\n"
        "models:\n  Issue:\n    id: string\n    big: 123456789012345678901234567890\n"
    )
    root = make_project({"nango.yaml": v1})
    cli("generate", cwd=root)
    parsed = strict_json((root / ".nango/nango.json").read_text(encoding="utf-8"))
    assert parsed["integrations"][0]["syncs"][0]["version"] is None
    strict_json((root / ".nango/schema.json").read_text(encoding="utf-8"))
    nango_json = (root / ".nango/nango.json").read_text(encoding="utf-8")
    assert '"value": 1.2345678901234568e+29' in nango_json  # as JavaScript holds and writes it


def test_a_model_named_like_an_sdk_class_is_refused(
    cli: Cli, make_project: Callable[[dict[str, str]], Path]
) -> None:
    text = (
        config()
        .replace("output: Issue", "output: ActionError")
        .replace("  Issue:", "  ActionError:")
    )
    root = make_project({"nango.yaml": text})
    result = cli("generate", cwd=root, expect=1)
    assert "nango.yaml:13:3 error" in result.stderr
    assert "[reserved_model_name]" in result.stderr
