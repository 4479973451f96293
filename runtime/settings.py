"""The runtime's settings: flags > environment variables > a TOML file (`--config`) > defaults.

| setting | environment | default |
|---|---|---|
| `host`, `port` | `NANGO_HOST`, `NANGO_PORT` | `127.0.0.1`, `3003` |
| `data_dir` | `NANGO_DATA_DIR` | the user data directory (`$XDG_DATA_HOME/nango`) |
| `database_url` | `NANGO_DATABASE_URL` | `sqlite:///<data_dir>/nango.db` |
| `role` | `NANGO_ROLE` | `all` (`api`: HTTP only, `worker`: scripts only) |
| `secret_key_dev`, `secret_key_prod` | `NANGO_SECRET_KEY_DEV`, `_PROD` | generated at first start |
| `encryption_key` | `NANGO_ENCRYPTION_KEY` | generated into the data dir (SQLite only) |
| `server_url` | `NANGO_SERVER_URL` | `http://<host>:<port>` |
| `proxy_base_url_override_denylist` | `NANGO_PROXY_BASE_URL_OVERRIDE_DENYLIST` | Nango's |
| `lease_seconds` | `NANGO_LEASE_SECONDS` | 60 |
| `worker_concurrency` | `NANGO_WORKER_CONCURRENCY` | 4 runs at once per worker |
| `shutdown_grace_s` | `NANGO_SHUTDOWN_GRACE_S` | 60 (runs of a stopped worker finish first) |
| `sync_concurrency`, `action_` | `NANGO_SYNC_CONCURRENCY`, ... | 500 per environment (0: no cap) |
| `script_memory_mb` | `NANGO_SCRIPT_MEMORY_MB` | 2048 (a script past it fails its run) |
| `sync_timeout_s`, `action_`, `webhook_`, `on_event_` | `NANGO_*_TIMEOUT_S` | 24h, 15m, 1h, 5m |
| `max_body_bytes` | `NANGO_MAX_BODY_BYTES` | 100 MB |
| `token_timeout_s` | `NANGO_TOKEN_TIMEOUT_S` | 20 (a provider's token endpoint, per request) |
| `webhook_urls` (per environment, TOML `[environments.dev]`) | `NANGO_WEBHOOK_URLS_DEV` | none |
| `webhook_delivery_timeout_s` | `NANGO_WEBHOOK_DELIVERY_TIMEOUT_S` | 20 (per POST of a webhook) |
| `webhook_delivery_attempts` | `NANGO_WEBHOOK_DELIVERY_ATTEMPTS` | 3 (the first and 2 retries) |
| `webhook_delivery_backoff_s` | `NANGO_WEBHOOK_DELIVERY_BACKOFF_S` | 5 (doubled at each retry) |
| `action_retry_backoff_s` | `NANGO_ACTION_RETRY_BACKOFF_S` | 5 (`X-Max-Retries`, doubled) |
| `log_format` | `NANGO_LOG_FORMAT` | `human` (`json`: one JSON object per line on stderr) |
| `metrics_port` | `NANGO_METRICS_PORT` | none (`/metrics` also on this port, any role) |
| `metrics_key` | `NANGO_METRICS_KEY` | none (`/metrics` then needs `Bearer <key>`) |
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from runtime.errors import UserError

__all__ = ["LogFormat", "Role", "RuntimeSettings", "default_data_dir", "load_settings"]

Role = Literal["all", "api", "worker"]
LogFormat = Literal["human", "json"]
ENVIRONMENTS = ("dev", "prod")


def default_data_dir() -> Path:
    """`$XDG_DATA_HOME/nango` (`~/.local/share/nango`), or the platform's equivalent."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "nango"
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home()) / "nango"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "nango"


class EnvironmentSettings(BaseModel):
    """An environment's outgoing webhooks: where to (Nango's primary and secondary URLs: any
    number here), and which ones (Nango's environment toggles). None: not set here (what
    `PUT /webhooks/settings` stored applies, else the default); unset values stay None through
    a dump, so the run processes (given the settings as JSON) read the same settings."""

    model_config = ConfigDict(extra="forbid")

    webhook_urls: list[str] | None = None
    # Nango's `on_sync_completion_always`: a sync webhook even when nothing changed (False).
    always_send_webhook: bool | None = None
    send_failure_webhook: bool | None = None  # (True)
    # Connection created, overridden, deleted, or its refresh failed (`auth` webhooks) (True).
    send_connection_webhooks: bool | None = None
    send_async_action_webhook: bool | None = None  # (True)
    # Provider webhooks received on POST /webhook/... passed on (`forward_webhooks`) (True).
    forward_provider_webhooks: bool | None = None


class RuntimeSettings(BaseModel):
    """Every setting of `nango runtime start` (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(3003, ge=0, le=65535)
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    role: Role = "all"
    secret_key_dev: str | None = None
    secret_key_prod: str | None = None
    encryption_key: str | None = None
    server_url: str | None = None
    proxy_base_url_override_denylist: list[str] | None = None
    lease_seconds: float = Field(60.0, gt=0)
    worker_concurrency: int = Field(4, ge=1)
    shutdown_grace_s: float = Field(60.0, ge=0)
    sync_concurrency: int = Field(500, ge=0)
    action_concurrency: int = Field(500, ge=0)
    script_memory_mb: int = Field(2048, ge=64)
    sync_timeout_s: float = Field(24 * 3600.0, gt=0)
    action_timeout_s: float = Field(15 * 60.0, gt=0)
    webhook_timeout_s: float = Field(3600.0, gt=0)
    on_event_timeout_s: float = Field(300.0, gt=0)
    webhook_delivery_timeout_s: float = Field(20.0, gt=0, le=300)
    webhook_delivery_attempts: int = Field(3, ge=1, le=20)
    webhook_delivery_backoff_s: float = Field(5.0, ge=0)
    action_retry_backoff_s: float = Field(5.0, ge=0)
    max_body_bytes: int = Field(100 * 1024 * 1024, ge=1024)
    token_timeout_s: float = Field(20.0, gt=0, le=300)
    log_format: LogFormat = "human"
    metrics_port: int | None = Field(None, ge=0, le=65535)
    metrics_key: str | None = Field(None, min_length=16, repr=False)
    environments: dict[str, EnvironmentSettings] = Field(default_factory=dict)

    @property
    def database(self) -> str:
        """The database URL in use (the SQLite file in the data dir by default)."""
        return self.database_url or f"sqlite:///{self.data_dir / 'nango.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.database.startswith("sqlite")

    @property
    def public_url(self) -> str:
        host = "localhost" if self.host in ("0.0.0.0", "127.0.0.1", "::") else self.host
        return (self.server_url or f"http://{host}:{self.port}").rstrip("/")

    def secret_key(self, environment: str) -> str | None:
        return {"dev": self.secret_key_dev, "prod": self.secret_key_prod}.get(environment)

    def environment(self, name: str) -> EnvironmentSettings:
        return self.environments.get(name) or EnvironmentSettings()


_LIST_SETTINGS = {"proxy_base_url_override_denylist"}


def _list_value(name: str, value: str) -> list[str]:
    """A list setting: Nango's JSON array of strings, or a comma-separated list."""
    if not value.strip().startswith("["):
        return [v.strip() for v in value.split(",") if v.strip()]
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, list) or not all(isinstance(v, str) for v in parsed):
        raise UserError(f"NANGO_{name.upper()} must be a JSON array of strings (or a comma list)")
    return [v.strip() for v in parsed if v.strip()]


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in RuntimeSettings.model_fields:
        if name == "environments":
            continue
        value = environ.get(f"NANGO_{name.upper()}")
        if value is None or value == "":
            continue
        found[name] = _list_value(name, value) if name in _LIST_SETTINGS else value
    environments: dict[str, Any] = {}
    for env in ENVIRONMENTS:
        urls = environ.get(f"NANGO_WEBHOOK_URLS_{env.upper()}")
        if urls:
            environments[env] = {"webhook_urls": [u.strip() for u in urls.split(",") if u.strip()]}
    if environments:
        found["environments"] = environments
    return found


def _from_file(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"cannot read the settings file {path}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not valid TOML: {exc}") from exc
    return data


def _merged(*layers: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if key == "environments" and isinstance(value, Mapping):
                environments = dict(merged.get("environments") or {})
                for env, settings in value.items():
                    environments[env] = {**dict(environments.get(env) or {}), **dict(settings)}
                merged["environments"] = environments
            else:
                merged[key] = value
    return merged


def load_settings(
    *,
    flags: Mapping[str, Any] | None = None,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> RuntimeSettings:
    """Settings from `flags` (None values ignored) > `environ` > `config_file` > defaults."""
    given = {k: v for k, v in (flags or {}).items() if v is not None}
    file_values = _from_file(config_file) if config_file is not None else {}
    env_values = _from_environment(os.environ if environ is None else environ)
    try:
        return RuntimeSettings.model_validate(_merged(file_values, env_values, given))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        where = f" (from {config_file}, the environment or the flags)" if config_file else ""
        raise UserError(
            f"invalid runtime settings{where}: {problems}",
            hint="See `nango runtime start --help` and the README's runtime settings table.",
        ) from exc
