"""Nango's published provider catalog (npm `@nangohq/providers` 0.71.10) as the tests read it.

The file lives in the shared corpus beside the repository: test data, never copied into the
project. It is resolved here on its own, the way Nango's loader does it (each alias entry, in file
order, becomes the aliased entry's fields with its own on top, shallowly), so that a mistake in
our resolver cannot hide on both sides of a comparison.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from runtime.http.providers import Provider
from tests.helpers import CORPUS

NANGO_CATALOG = CORPUS / "providers"
NANGO_CATALOG = NANGO_CATALOG / "providers.yaml"
# Read at import: the autouse `isolated_env` fixture removes CI before each test runs.
IN_CI = bool(os.environ.get("CI"))


def require_nango_catalog() -> Path:
    """The path of Nango's providers.yaml; skips where the corpus is absent, fails under CI."""
    if not NANGO_CATALOG.is_file():
        message = f"Nango's provider catalog not found at {NANGO_CATALOG} (../shared/corpus)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return NANGO_CATALOG


def nango_resolved(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(raw entries, resolved entries) of a catalog file in Nango's format."""
    raw: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    resolved = {key: dict(entry) for key, entry in raw.items()}
    for key, entry in resolved.items():
        if "alias" in entry:
            overrides = {name: value for name, value in entry.items() if name != "alias"}
            resolved[key] = {**resolved[entry["alias"]], **overrides}
    return raw, resolved


def proxy(entry: dict[str, Any]) -> dict[str, Any]:
    return entry.get("proxy") or {}


def _header_list(value: str | list[str] | None) -> list[str] | None:
    return [value] if isinstance(value, str) else value


def _set_fields(model: Any) -> dict[str, Any] | None:
    """A nested model (or Nango's mapping) as {field: value} without unset or null fields."""
    if model is None:
        return None
    data = model.model_dump(exclude_none=True) if hasattr(model, "model_dump") else dict(model)
    data = {name: value for name, value in data.items() if value is not None}
    for name in ("at", "after"):  # Nango writes header lists; one name alone is the same fact
        if name in data:
            data[name] = _header_list(data[name])
    return data


# Where each fact of our `Provider` lives in a resolved Nango entry (the key is the entry's name;
# `alias` is compared with the raw entry, since Nango's resolution drops it).
FACTS: dict[str, tuple[Callable[[Provider], Any], Callable[[dict[str, Any]], Any]]] = {
    "display_name": (lambda p: p.display_name, lambda n: n.get("display_name")),
    "auth_mode": (lambda p: p.auth_mode, lambda n: n.get("auth_mode")),
    "base_url": (lambda p: p.base_url, lambda n: proxy(n).get("base_url")),
    "headers": (lambda p: p.headers, lambda n: proxy(n).get("headers") or {}),
    "query": (lambda p: p.query, lambda n: proxy(n).get("query") or {}),
    "token_url": (lambda p: p.token_url, lambda n: n.get("token_url")),
    "paginate": (
        lambda p: _set_fields(p.paginate),
        lambda n: _set_fields(proxy(n).get("paginate")),
    ),
    "retry": (lambda p: _set_fields(p.retry), lambda n: _set_fields(proxy(n).get("retry"))),
}
# The OAuth facts sit at the top of a Nango entry under the same names; absent means the default.
_OAUTH_DEFAULTS: dict[str, Any] = {
    "authorization_url": None,
    "authorization_params": {},
    "scope_separator": None,
    "default_scopes": [],
    "disable_pkce": False,
    "authorization_method": None,
    "body_format": None,
    "token_params": {},
    "refresh_url": None,
    "refresh_params": {},
    "token_request_auth_method": None,
    "token_headers": {},
    "token_response_metadata": [],
}


def _oauth_fact(name: str, default: Any) -> tuple[Callable[[Provider], Any], Callable[..., Any]]:
    return (lambda p: getattr(p, name), lambda n: n.get(name, default))


FACTS.update({name: _oauth_fact(name, default) for name, default in _OAUTH_DEFAULTS.items()})


def differences(
    key: str, ours: Provider, raw: dict[str, Any], resolved: dict[str, Any]
) -> list[str]:
    """Each fact of `ours` that differs from Nango's entry `key`, described."""
    found = []
    if ours.alias != raw[key].get("alias"):
        found.append(f"{key}.alias: ours {ours.alias!r}, Nango's {raw[key].get('alias')!r}")
    for fact, (mine, theirs) in FACTS.items():
        if mine(ours) != theirs(resolved[key]):
            found.append(f"{key}.{fact}: ours {mine(ours)!r}, Nango's {theirs(resolved[key])!r}")
    return found
