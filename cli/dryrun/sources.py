"""Where a dry run's connection, requests and default input come from: one object per mode.

| mode | connection | requests | default input |
|---|---|---|---|
| `live` | `NANGO_LOCAL_<INTEGRATION>_*` settings | the live API | none |
| `record` (`--save`) | the same | the live API, answers recorded | none |
| `replay` (`--replay`) | the fixture's `getConnection` | recorded fixtures | its `input` |

Each source also knows the run's secrets (a `Redactor` over the connection's credentials and the
tokens fetched during the run), so that nothing written or printed carries them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from cli.dryrun.connections import local_connection, settings_prefix
from cli.dryrun.options import DryRunOptions, Mode
from cli.project import Project, ScriptRef
from runtime.backends.capture import Capture
from runtime.backends.live import LiveHttp
from runtime.backends.local import HttpSource, WriteListener
from runtime.backends.recording import RecordingHttp, RecordingListener
from runtime.backends.replay import ReplayHttp
from runtime.errors import SetupError, UserError
from runtime.execution.run import NO_INPUT, Outcome
from runtime.http.providers import Provider, UnknownProviderError, get_provider
from runtime.recordings.fixture_set import FixtureSet, load_fixtures
from runtime.recordings.paths import fixture_path
from runtime.recordings.unified import FixtureRecorder
from runtime.redaction import Redactor, credential_secrets
from runtime.sdk.types import Connection

__all__ = ["LiveSource", "RecordingSource", "ReplaySource", "Source", "open_source"]

Transport = httpx.BaseTransport | httpx.AsyncBaseTransport


@dataclass
class Source:
    """A dry run's connection and the HTTP stack its requests go through."""

    connection: Connection
    provider: Provider | None
    redactor: Redactor = field(default_factory=Redactor)
    fixture_file: Path | None = None
    mode: Mode = "live"

    def default_input(self) -> Any:
        return NO_INPUT

    def http(self, capture: Capture, transport: Transport | None) -> HttpSource:
        if self.provider is None:
            raise SetupError(f"no provider for integration {self.connection.provider_config_key}")
        return LiveHttp(
            provider=self.provider,
            connection=self.connection,
            transport=transport,
            on_attempt=capture.add_attempt,
            on_secret=self.redactor.add,
        )

    def listener(self) -> WriteListener | None:
        return None

    def begin(self, input: Any) -> None:
        """The run is about to start with `input`."""

    def finish(self, outcome: Outcome | None, *, is_action: bool) -> None:
        """The run ended (`outcome` None: it was interrupted)."""


class LiveSource(Source):
    """Requests go to the live API, with the local connection settings."""


class RecordingSource(Source):
    """The live API, with every answer and every write recorded into the fixture file."""

    def __init__(self, connection: Connection, provider: Provider, path: Path) -> None:
        super().__init__(connection, provider, fixture_file=path, mode="record")
        self.redactor.add(*connection_secrets(connection))
        self.recorder = FixtureRecorder(path, redact=self.redactor)
        self.recorder.set_connection(
            {
                "connectionId": connection.connection_id,
                "provider": connection.provider,
                "connection_config": connection.connection_config,
            }
        )
        self.recorder.set_metadata(connection.metadata)

    def http(self, capture: Capture, transport: Transport | None) -> HttpSource:
        return RecordingHttp(super().http(capture, transport), self.recorder)

    def listener(self) -> WriteListener | None:
        return RecordingListener(self.recorder)

    def begin(self, input: Any) -> None:
        if input is not NO_INPUT:
            self.recorder.set_input(input)

    def finish(self, outcome: Outcome | None, *, is_action: bool) -> None:
        if outcome is not None and is_action and (outcome.error is None or outcome.output):
            self.recorder.set_output(outcome.output)
        self.recorder.close()


class ReplaySource(Source):
    """Every request answered from the recorded fixtures: no network, no credentials."""

    def __init__(self, connection: Connection, provider: Provider | None, fixtures: FixtureSet):
        super().__init__(connection, provider, fixture_file=None, mode="replay")
        self.fixtures = fixtures

    def default_input(self) -> Any:
        return self.fixtures.input if self.fixtures.has_input else NO_INPUT

    def http(self, capture: Capture, transport: Transport | None) -> HttpSource:
        del transport  # a replay never opens a connection
        return ReplayHttp(self.fixtures, capture)


def open_source(
    project: Project,
    script: ScriptRef,
    options: DryRunOptions,
    *,
    fixtures: FixtureSet | None = None,
) -> Source:
    """The source of `options.mode` for `script` (`fixtures`: already loaded ones to replay)."""
    integration = script.integration
    if options.mode == "replay":
        if fixtures is None:
            fixtures = load_fixtures(
                project.root, integration, script.name, variant=options.variant
            )
        if fixtures is None:
            raise SetupError(
                f"No recorded fixtures for {integration}/{script.name}",
                hint=f"Record them with `nango dryrun {script.name} "
                f"{options.connection_id} --save`.",
            )
        connection, provider = _replay_connection(integration, options, fixtures)
        return ReplaySource(connection, provider, fixtures)
    connection, provider = _local_connection(integration, options)
    if options.mode == "record":
        path = fixture_path(project.root, integration, script.name)
        return RecordingSource(connection, provider, path)
    source = LiveSource(connection, provider)
    source.redactor.add(*connection_secrets(connection))
    return source


def connection_secrets(connection: Connection) -> list[str]:
    """The secret values of a connection: its credentials, and connection config values named
    like secrets (some providers keep a password or an app secret there)."""
    return [
        *credential_secrets(connection.credentials),
        *credential_secrets(connection.connection_config or {}),
    ]


def _provider(key: str, *, required: bool, hint: str) -> Provider | None:
    try:
        return get_provider(key)
    except UnknownProviderError as exc:
        if required:
            raise SetupError(exc.message, hint=hint) from exc
        return None


def _local_connection(integration: str, options: DryRunOptions) -> tuple[Connection, Provider]:
    """The connection of a live run, from `NANGO_LOCAL_<INTEGRATION>_*` settings."""
    settings = local_connection(integration)
    prefix = settings_prefix(integration)
    if settings is None:
        raise SetupError(
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
    try:
        credentials = settings.credentials(provider)
    except UserError as exc:
        raise SetupError(exc.message, hint=exc.hint) from exc
    connection = Connection(
        connection_id=options.connection_id,
        provider_config_key=integration,
        provider=provider_key,
        connection_config=settings.connection_config,
        metadata=options.metadata if options.metadata is not None else settings.metadata,
        credentials=credentials,
    )
    return connection, provider


def _replay_connection(
    integration: str, options: DryRunOptions, fixtures: FixtureSet
) -> tuple[Connection, Provider | None]:
    """The connection of a replay: the fixture's `getConnection`, else the integration id."""
    recorded = fixtures.connection or {}
    provider_key = str(recorded.get("provider") or integration)
    provider = _provider(provider_key, required=False, hint="")
    metadata = options.metadata
    if metadata is None and fixtures.has_metadata and isinstance(fixtures.metadata, dict):
        metadata = fixtures.metadata
    config = recorded.get("connection_config") or recorded.get("connectionConfig") or {}
    connection = Connection(
        connection_id=str(recorded.get("connectionId") or options.connection_id),
        provider_config_key=integration,
        provider=provider_key,
        connection_config=dict(config) if isinstance(config, dict) else {},
        metadata=metadata,
        credentials={"type": "NONE"},
    )
    return connection, provider
