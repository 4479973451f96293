"""Names in nango.yaml that become folder and file names: integration ids and script names.

The rules are Nango's (the server's deploy validation, reference §5.2): integration ids
`^[a-zA-Z0-9~:.@ _-]+$`, script names `^[a-zA-Z0-9_-]+$`, both at most 255 characters. On top,
an integration id must be a usable folder name, so `.` and `..` are refused; `${NAME}`
placeholders (which Nango's integration templates use, and Nango's CLI accepts) are allowed.
Every such name is therefore one safe path segment: no separator, no control character.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from cli.config.issues import ConfigIssue

MAX_NAME_LENGTH = 255
_SCRIPT_NAME = re.compile(r"^[a-zA-Z0-9_-]+\Z")
_INTEGRATION_ID = re.compile(r"^[a-zA-Z0-9~:.@ _-]+\Z")
_PLACEHOLDER = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_ON_EVENT_KEYS = ("post-connection-creation", "pre-connection-deletion", "validate-connection")


def integration_id_problem(name: str) -> str | None:
    """What is wrong with an integration id, or None."""
    if len(name) > MAX_NAME_LENGTH:
        return f"is longer than {MAX_NAME_LENGTH} characters"
    if not _INTEGRATION_ID.match(_PLACEHOLDER.sub("_", name)):
        return "may only contain letters, digits, spaces and ~ : . @ _ -"
    if not name.strip("."):
        return "cannot be only dots: it names a folder"
    return None


def script_name_problem(name: str) -> str | None:
    """What is wrong with a script name, or None."""
    if len(name) > MAX_NAME_LENGTH:
        return f"is longer than {MAX_NAME_LENGTH} characters"
    if not _SCRIPT_NAME.match(name):
        return 'may only contain letters, digits, "_" and "-"'
    return None


def name_issues(raw: dict[str, Any], version: str) -> list[ConfigIssue]:
    """An issue for every integration id and script name that breaks the rules."""
    integrations = raw.get("integrations")
    if not isinstance(integrations, dict):
        return []
    found: list[ConfigIssue] = []
    for key, body in integrations.items():
        problem = integration_id_problem(key)
        if problem:
            found.append(
                ConfigIssue(
                    "invalid_integration_id",
                    f'Integration id "{key}" {problem}',
                    ("integrations", key),
                    hint="Use the integration's unique key as Nango knows it, e.g. `github`.",
                )
            )
        if isinstance(body, dict):
            for path, name in _script_names(key, body, version):
                problem = script_name_problem(name)
                if problem:
                    found.append(
                        ConfigIssue(
                            "invalid_script_name",
                            f'Script name "{name}" {problem}',
                            path,
                            hint="Rename it; the script file takes the same name.",
                        )
                    )
    return found


def _script_names(
    key: str, body: dict[str, Any], version: str
) -> Iterator[tuple[tuple[str, ...], str]]:
    base = ("integrations", key)
    if version != "v2":
        yield from (((*base, name), name) for name in body)
        return
    for section in ("syncs", "actions"):
        scripts = body.get(section)
        if isinstance(scripts, dict):
            yield from (((*base, section, name), name) for name in scripts)
    on_events = body.get("on-events")
    if isinstance(on_events, dict):
        for event in _ON_EVENT_KEYS:
            yield from _listed((*base, "on-events", event), on_events.get(event))
    yield from _listed((*base, "post-connection-scripts"), body.get("post-connection-scripts"))


def _listed(path: tuple[str, ...], names: Any) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(names, list):
        for index, name in enumerate(names):
            if isinstance(name, str):
                yield (*path, str(index)), name
