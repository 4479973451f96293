"""Connections for local dry runs without a runtime, from `NANGO_LOCAL_<INTEGRATION>_*` settings.

`<INTEGRATION>` is the integration id upper-cased with every other character turned into `_`
(`google-mail` -> `GOOGLE_MAIL`). Any connection id works with these settings.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runtime.errors import UserError
from runtime.http.providers import Provider

SETTINGS = (
    "PROVIDER",
    "ACCESS_TOKEN",
    "API_KEY",
    "USERNAME",
    "PASSWORD",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "TOKEN",
    "CONNECTION_CONFIG",
    "METADATA",
    "BASE_URL",
)


def settings_prefix(integration: str) -> str:
    return "NANGO_LOCAL_" + re.sub(r"[^A-Za-z0-9]", "_", integration).upper() + "_"


@dataclass
class LocalConnection:
    provider: str | None
    values: dict[str, str]
    connection_config: dict[str, Any]
    metadata: dict[str, Any] | None
    base_url: str | None
    prefix: str

    def credentials(self, provider: Provider) -> dict[str, Any]:
        """The credentials in Nango's shape for the provider's auth mode."""
        mode = provider.auth_mode
        if mode == "API_KEY":
            return {"type": mode, "apiKey": self._need("API_KEY", mode)}
        if mode == "BASIC":
            return {
                "type": mode,
                "username": self._need("USERNAME", mode),
                "password": self.values.get("PASSWORD", ""),
            }
        if mode == "OAUTH2_CC":
            found = {
                "type": mode,
                "client_id": self._need("CLIENT_ID", mode),
                "client_secret": self._need("CLIENT_SECRET", mode),
            }
            if "TOKEN" in self.values:
                found["token"] = self.values["TOKEN"]
            return found
        if mode == "NONE":
            return {"type": mode}
        token = self.values.get("ACCESS_TOKEN") or self.values.get("TOKEN")
        if not token:
            self._need("ACCESS_TOKEN", mode)
        return {"type": mode, "access_token": token, "token": token}

    def _need(self, name: str, mode: str) -> str:
        value = self.values.get(name)
        if not value:
            raise UserError(
                f"{self.prefix}{name} is not set, and the {mode} provider needs it",
                hint=f"Add `{self.prefix}{name}=...` to .env (see README, Dry runs).",
            )
        return value


def _json_setting(name: str, text: str | None) -> dict[str, Any] | None:
    if text is None or not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UserError(f"{name} is not valid JSON: {exc}", hint="Write a JSON object.") from exc
    if not isinstance(value, dict):
        raise UserError(f"{name} must be a JSON object", hint='For example {"subdomain": "acme"}.')
    return value


def local_connection(
    integration: str, environ: Mapping[str, str] | None = None
) -> LocalConnection | None:
    """The local settings of `integration`, or None when none is set."""
    env = os.environ if environ is None else environ
    prefix = settings_prefix(integration)
    values = {name: env[prefix + name] for name in SETTINGS if prefix + name in env}
    if not values:
        return None
    return LocalConnection(
        provider=values.get("PROVIDER") or None,
        values=values,
        connection_config=_json_setting(
            prefix + "CONNECTION_CONFIG", values.get("CONNECTION_CONFIG")
        )
        or {},
        metadata=_json_setting(prefix + "METADATA", values.get("METADATA")),
        base_url=values.get("BASE_URL") or None,
        prefix=prefix,
    )
