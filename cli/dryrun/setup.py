"""Everything a dry run needs before the script starts: its options parsed, the script found,
and the connection (from local settings or recorded fixtures)."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cli.config.model import ParsedConfig
from cli.dryrun.connections import local_connection, settings_prefix
from cli.project import Project, ScriptRef, declared_scripts
from runtime.errors import UserError
from runtime.http.providers import Provider, UnknownProviderError, get_provider
from runtime.recordings.fixture_set import FixtureSet
from runtime.sdk.types import Connection


class DryRunSetupError(UserError):
    pass


def parse_json_option(text: str, flag: str) -> Any:
    """`--input`/`--metadata`/`--checkpoint`: JSON text, or `@path` to a JSON file."""
    source = f"the {flag} value"
    if text.startswith("@"):
        path = Path(text[1:])
        source = f"the {flag} file {path}"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DryRunSetupError(
                f"{source} could not be read: {exc.strerror or exc}",
                hint=f"Give {flag} JSON text or @path/to/file.json.",
            ) from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        raise DryRunSetupError(
            f"Failed to parse {source} as JSON: {exc}",
            hint=f"""Quote it for the shell, e.g. {flag} '{{"key": "value"}}'.""",
        ) from exc


def parse_object_option(text: str, flag: str) -> dict[str, Any]:
    value = parse_json_option(text, flag)
    if not isinstance(value, dict):
        raise DryRunSetupError(f"{flag} must be a JSON object, not {type(value).__name__}")
    return value


def parse_checkpoint(text: str) -> dict[str, str | int | float | bool]:
    value = parse_object_option(text, "--checkpoint")
    for key, item in value.items():
        if not isinstance(item, str | int | float | bool):
            raise DryRunSetupError(
                f"Invalid checkpoint: {key!r} must be a string, number or boolean",
                hint="A checkpoint is a flat JSON object.",
            )
    return value


def parse_last_sync_date(text: str) -> datetime:
    """An ISO 8601 date or date-time; without a time zone it is read as UTC."""
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        try:
            found = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            raise DryRunSetupError(
                f"--last-sync-date {text!r} is not a date",
                hint="Use ISO 8601, e.g. 2024-01-31 or 2024-01-31T12:00:00Z.",
            ) from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def find_script(
    project: Project, config: ParsedConfig, name: str, integration_id: str | None
) -> ScriptRef:
    """The sync or action `name` (then on-event script), as Nango's CLI looks it up."""
    if integration_id and config.integration(integration_id) is None:
        known = ", ".join(i.provider_config_key for i in config.integrations)
        raise DryRunSetupError(
            f'Integration "{integration_id}" does not exist', hint=f"Integrations: {known}."
        )
    scripts = [
        s for s in declared_scripts(project, config) if integration_id in (None, s.integration)
    ]
    for kinds in (("sync", "action"), ("on-event",)):
        found = [s for s in scripts if s.kind in kinds and s.name == name]
        if len(found) > 1:
            raise DryRunSetupError(
                f'Multiple integrations contain a script named "{name}"',
                hint="Choose one with --integration-id.",
            )
        if found:
            return found[0]
    close = difflib.get_close_matches(name, [s.name for s in scripts], n=3)
    where = f' for integration "{integration_id}"' if integration_id else ""
    hint = f"Did you mean {', '.join(close)}?" if close else "Check the names in nango.yaml."
    raise DryRunSetupError(f'No script matched "{name}"{where}', hint=hint)


@dataclass
class ResolvedConnection:
    connection: Connection
    provider: Provider | None


def _provider(key: str, *, required: bool, hint: str) -> Provider | None:
    try:
        return get_provider(key)
    except UnknownProviderError as exc:
        if required:
            raise DryRunSetupError(exc.message, hint=hint) from exc
        return None


def connection_from_settings(
    integration: str, connection_id: str, metadata: dict[str, Any] | None
) -> ResolvedConnection:
    """The connection of a local dry run, from `NANGO_LOCAL_<INTEGRATION>_*` settings."""
    settings = local_connection(integration)
    prefix = settings_prefix(integration)
    if settings is None:
        raise DryRunSetupError(
            f"No connection settings for integration {integration!r}",
            hint=(
                f"Set {prefix}ACCESS_TOKEN (or {prefix}API_KEY, {prefix}USERNAME/PASSWORD, "
                f"{prefix}CLIENT_ID/CLIENT_SECRET) in .env, or replay recorded fixtures with "
                "--replay."
            ),
        )
    provider_key = settings.provider or integration
    provider = _provider(
        provider_key, required=True, hint=f"Set {prefix}PROVIDER to a provider of the catalog."
    )
    assert provider is not None
    if settings.base_url:
        provider = provider.model_copy(update={"base_url": settings.base_url})
    connection = Connection(
        connection_id=connection_id,
        provider_config_key=integration,
        provider=provider_key,
        connection_config=settings.connection_config,
        metadata=metadata if metadata is not None else settings.metadata,
        credentials=settings.credentials(provider),
    )
    return ResolvedConnection(connection, provider)


def connection_from_fixtures(
    integration: str, connection_id: str, fixtures: FixtureSet, metadata: dict[str, Any] | None
) -> ResolvedConnection:
    """The connection of a replay: the fixture's `getConnection`, else the integration id."""
    recorded = fixtures.connection or {}
    provider_key = str(recorded.get("provider") or integration)
    provider = _provider(provider_key, required=False, hint="")
    if metadata is None and fixtures.has_metadata and isinstance(fixtures.metadata, dict):
        metadata = fixtures.metadata
    config = recorded.get("connection_config") or recorded.get("connectionConfig") or {}
    connection = Connection(
        connection_id=str(recorded.get("connectionId") or connection_id),
        provider_config_key=integration,
        provider=provider_key,
        connection_config=dict(config) if isinstance(config, dict) else {},
        metadata=metadata,
        credentials={"type": "NONE"},
    )
    return ResolvedConnection(connection, provider)
