"""Fixture paths never leave the project, whatever the names (a second guard behind nango.yaml's
own checks of integration ids and script names)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.errors import UserError
from runtime.recordings.paths import fixture_candidates, fixture_path


@pytest.mark.parametrize(
    ("integration", "script"),
    [("../escaped", "s"), ("gh", "../../../outside"), ("/abs", "s"), ("gh", "/abs/x")],
)
def test_a_name_that_would_lead_outside_the_project_is_refused(
    tmp_path: Path, integration: str, script: str
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    with pytest.raises(UserError, match="outside the project"):
        fixture_path(root, integration, script)
    with pytest.raises(UserError, match="outside the project"):
        fixture_candidates(root, integration, script)


def test_plain_names_stay_inside(tmp_path: Path) -> None:
    path = fixture_path(tmp_path, "github", "issues")
    assert path == tmp_path / "github" / "tests" / "issues.test.json"
