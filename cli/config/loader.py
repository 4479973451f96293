"""Load and check a nango.yaml: structure, model types and cross references, all at once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cli.config.issues import ConfigError, ConfigIssue, IssueList
from cli.config.model import ParsedConfig
from cli.config.parser import ConfigParser, determine_version
from cli.config.references import reference_cycle_issues
from cli.config.schema import check_structure
from cli.config.yaml_source import YamlDocument, load_yaml_file, parse_yaml


@dataclass
class LoadedConfig:
    """A valid nango.yaml: the parsed config and the warnings found on the way."""

    file: Path | None
    parsed: ParsedConfig
    warnings: list[ConfigIssue]


def load_config(file: Path) -> LoadedConfig:
    """Load `file`; raises `ConfigError` listing every error (with line and column) if invalid."""
    return check_document(load_yaml_file(file))


def load_config_text(text: str, file: Path | None = None) -> LoadedConfig:
    return check_document(parse_yaml(text, file))


_NEEDED_KEYS = frozenset(
    {"output", "returns", "input", "endpoint", "runs", "scopes", "description"}
)


def _blocks_parsing(path: tuple[str, ...], depth: int) -> bool:
    """A structural error in the script itself or a key the parser reads stops its parsing."""
    return len(path) == depth or (len(path) > depth and path[depth] in _NEEDED_KEYS)


def duplicate_script_names(parsed: ParsedConfig) -> list[ConfigIssue]:
    """A sync and an action of one integration may not share a name (Nango refuses it too)."""
    found: list[ConfigIssue] = []
    for integration in parsed.integrations:
        syncs = {s.name for s in integration.syncs}
        for action in integration.actions:
            if action.name in syncs:
                found.append(
                    ConfigIssue(
                        "duplicate_script_name",
                        f'The name "{action.name}" is used by a sync and an action of '
                        f'"{integration.provider_config_key}". All sync and action names must be '
                        "unique.",
                        ("integrations", integration.provider_config_key, "actions", action.name),
                        hint="Rename the action or the sync.",
                    )
                )
    return found


def check_document(document: YamlDocument) -> LoadedConfig:
    if document.blank is not None:
        name = document.file.name if document.file else "nango.yaml"
        issue = ConfigIssue(
            "empty_file",
            f"{name} {document.blank}: it needs at least an `integrations` section",
            hint="Declare your integrations and their scripts (`nango init` shows an example).",
        )
        raise ConfigError(document.file, [issue.at(None, None, document.file)])
    raw = document.data
    version = determine_version(raw)
    structural = check_structure(raw, version)
    if not isinstance(raw, dict) or "integrations" not in raw:
        raise ConfigError(document.file, [document.place(i) for i in structural])
    depth = 4 if version == "v2" else 3
    skip = {i.path[:depth] for i in structural if _blocks_parsing(i.path, depth)}
    issues = IssueList(list(structural))
    parsed = ConfigParser(raw, issues, skip).parse()
    issues.items.extend(duplicate_script_names(parsed))
    models = raw.get("models")
    issues.items.extend(
        reference_cycle_issues(parsed, list(models) if isinstance(models, dict) else [])
    )
    placed = [document.place(issue) for issue in issues.items]
    placed.sort(key=lambda i: (i.severity != "error", i.line or 0, i.column or 0))
    if any(i.severity == "error" for i in placed):
        raise ConfigError(document.file, placed)
    return LoadedConfig(document.file, parsed, [i for i in placed if i.severity == "warning"])
