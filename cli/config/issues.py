"""Config diagnostics: every problem found in a nango.yaml, with where it is."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from runtime.errors import UserError

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class ConfigIssue:
    """One error or warning, with Nango's code where Nango has one.

    `path` runs from the document root (`integrations > github > syncs > issues > runs`);
    `line` and `column` are 1-based and point at the key or item the issue is about.
    """

    code: str
    message: str
    path: tuple[str, ...] = ()
    severity: Severity = "error"
    line: int | None = None
    column: int | None = None
    file: Path | None = None
    hint: str | None = None

    @property
    def dotted_path(self) -> str:
        return " > ".join(self.path)

    @property
    def location(self) -> str:
        """`file:line:column`, as far as it is known."""
        parts = [str(self.file) if self.file else "nango.yaml"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def at(self, line: int | None, column: int | None, file: Path | None) -> ConfigIssue:
        return replace(self, line=line, column=column, file=file)


@dataclass
class IssueList:
    """Collects issues while a file is checked, so that all of them are reported together."""

    items: list[ConfigIssue] = field(default_factory=list)

    def error(
        self, code: str, message: str, path: tuple[str, ...], hint: str | None = None
    ) -> None:
        self.items.append(ConfigIssue(code, message, path, "error", hint=hint))

    def warning(self, code: str, message: str, path: tuple[str, ...]) -> None:
        self.items.append(ConfigIssue(code, message, path, "warning"))

    @property
    def errors(self) -> list[ConfigIssue]:
        return [i for i in self.items if i.severity == "error"]

    @property
    def warnings(self) -> list[ConfigIssue]:
        return [i for i in self.items if i.severity == "warning"]


class ConfigError(UserError):
    """nango.yaml is invalid. Carries every error (and the warnings) found in the file."""

    def __init__(self, file: Path | None, issues: list[ConfigIssue]) -> None:
        errors = [i for i in issues if i.severity == "error"]
        count = len(errors)
        name = file.name if file else "nango.yaml"
        super().__init__(f"{name} has {count} error{'s' if count != 1 else ''}")
        self.file = file
        self.issues = issues

    @property
    def errors(self) -> list[ConfigIssue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[ConfigIssue]:
        return [i for i in self.issues if i.severity == "warning"]
