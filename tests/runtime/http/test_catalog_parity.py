"""Every fact our bundled catalog holds agrees with Nango's published catalog.

Nango's side is resolved here on its own, the way Nango's loader does it (each alias entry, in
file order, becomes the aliased entry's fields with its own on top, shallowly), so that a mistake
in our resolver cannot hide on both sides at once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from runtime.http.providers import Provider, load_catalog, unfillable_placeholder

# Ours only: integration ids of Nango's templates that its catalog does not hold, kept so that
# replaying those templates' fixtures finds a provider.
OURS_ONLY = {"lattice-scim": "Lattice's SCIM API; Nango's catalog has only 'lattice'"}


def _nango_resolved(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(raw entries, resolved entries) of Nango's file."""
    raw: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    resolved = {key: dict(entry) for key, entry in raw.items()}
    for key, entry in resolved.items():
        if "alias" in entry:
            overrides = {name: value for name, value in entry.items() if name != "alias"}
            resolved[key] = {**resolved[entry["alias"]], **overrides}
    return raw, resolved


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


def _proxy(entry: dict[str, Any]) -> dict[str, Any]:
    return entry.get("proxy") or {}


# Where each fact of our `Provider` lives in a resolved Nango entry, and how to compare it.
FACTS: dict[str, tuple[Callable[[Provider], Any], Callable[[dict[str, Any]], Any]]] = {
    "display_name": (lambda p: p.display_name, lambda n: n.get("display_name")),
    "auth_mode": (lambda p: p.auth_mode, lambda n: n.get("auth_mode")),
    "base_url": (lambda p: p.base_url, lambda n: _proxy(n).get("base_url")),
    "headers": (lambda p: p.headers, lambda n: _proxy(n).get("headers") or {}),
    "query": (lambda p: p.query, lambda n: _proxy(n).get("query") or {}),
    "token_url": (lambda p: p.token_url, lambda n: n.get("token_url")),
    "paginate": (
        lambda p: _set_fields(p.paginate),
        lambda n: _set_fields(_proxy(n).get("paginate")),
    ),
    "retry": (lambda p: _set_fields(p.retry), lambda n: _set_fields(_proxy(n).get("retry"))),
}


def test_every_provider_field_is_compared() -> None:
    compared = {*FACTS, "key", "alias"}  # the key is the entry's name; alias is checked raw below
    assert set(Provider.model_fields) == compared


def test_every_fact_of_every_provider_matches_nango(nango_catalog_file: Path) -> None:
    raw, resolved = _nango_resolved(nango_catalog_file)
    ours = load_catalog()
    differences = []
    for key, provider in sorted(ours.items()):
        if key not in resolved:
            continue
        if provider.alias != raw[key].get("alias"):
            differences.append(
                f"{key}.alias: ours {provider.alias!r}, Nango's {raw[key].get('alias')!r}"
            )
        for fact, (mine, theirs) in FACTS.items():
            if mine(provider) != theirs(resolved[key]):
                differences.append(
                    f"{key}.{fact}: ours {mine(provider)!r}, Nango's {theirs(resolved[key])!r}"
                )
    assert not differences, "\n".join(differences)


def test_only_the_listed_providers_are_ours_alone(nango_catalog_file: Path) -> None:
    raw, _ = _nango_resolved(nango_catalog_file)
    assert sorted(set(load_catalog()) - set(raw)) == sorted(OURS_ONLY)


def test_nango_resolution_in_this_test_follows_aliases(nango_catalog_file: Path) -> None:
    """The comparison's own view of Nango: an alias with its own proxy block keeps none of the
    target's proxy facts; one without keeps them all."""
    raw, resolved = _nango_resolved(nango_catalog_file)
    assert raw["google-mail"]["alias"] == "google"
    assert "paginate" in _proxy(resolved["google"])
    assert "paginate" not in _proxy(resolved["google-mail"])
    assert _proxy(resolved["github-app"]) == _proxy(resolved["github"])


# Held for parity with Nango; a request fails with a clear message instead (see test_proxy).
COMPUTED_HEADERS = {"aws-iam"}


@pytest.mark.parametrize("field", ["base_url", "headers", "query", "token_url"])
def test_bundled_catalog_uses_only_placeholders_the_sdk_fills(field: str) -> None:
    for provider in load_catalog().values():
        if provider.key in COMPUTED_HEADERS and field == "headers":
            continue
        value = getattr(provider, field)
        templates = value.values() if isinstance(value, dict) else [value]
        for template in templates:
            if template is not None:
                assert unfillable_placeholder(template) is None, (provider.key, field, template)
