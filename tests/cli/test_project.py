"""Where scripts live in a project: never outside its root, whatever a caller passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.project import Project, is_path_segment
from runtime.errors import UserError


@pytest.mark.parametrize(
    ("integration", "name"),
    [
        ("../escaped", "issues"),
        ("/abs", "issues"),
        ("github", "../../../x"),
        ("github", "/abs/x"),
        ("..", "issues"),
        (".", "issues"),
        ("", "issues"),
        ("github", ""),
        ("git\x00hub", "issues"),
        ("github", "a\nb"),
        ("a/b", "issues"),
        ("a\\b", "issues"),
    ],
)
def test_script_path_refuses_what_is_not_one_name(
    tmp_path: Path, integration: str, name: str
) -> None:
    with pytest.raises(UserError, match="cannot name a file inside the project"):
        Project(tmp_path).script_path(integration, "on-event", name)


@pytest.mark.parametrize("integration", ["github", "acme.com", "with space", "a:b", "${PWD}"])
def test_script_path_of_ordinary_names(tmp_path: Path, integration: str) -> None:
    path = Project(tmp_path).script_path(integration, "action", "create-issue")
    assert path == tmp_path / integration / "actions" / "create-issue.py"
    assert path.resolve().is_relative_to(tmp_path.resolve())


def test_path_segments() -> None:
    assert is_path_segment("x")
    assert is_path_segment("...x")
    assert not is_path_segment("...")
    assert not is_path_segment("x" * 256)
    assert not is_path_segment("a\x7fb")
