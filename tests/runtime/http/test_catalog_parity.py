"""Every fact our bundled catalog holds agrees with Nango's published catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.http.providers import Provider, load_catalog, unfillable_placeholder
from tests.runtime.http.nango_catalog import FACTS, differences, nango_resolved, proxy

# Ours only: integration ids of Nango's templates that its catalog does not hold, kept so that
# replaying those templates' fixtures finds a provider.
OURS_ONLY = {"lattice-scim": "Lattice's SCIM API; Nango's catalog has only 'lattice'"}
# Held for parity with Nango; a request fails with a clear message instead (see test_proxy).
COMPUTED_HEADERS = {"aws-iam"}


def test_every_provider_field_is_compared() -> None:
    compared = {*FACTS, "key", "alias"}  # the key is the entry's name; alias is checked raw below
    assert set(Provider.model_fields) == compared


def test_every_fact_of_every_provider_matches_nango(nango_catalog_file: Path) -> None:
    raw, resolved = nango_resolved(nango_catalog_file)
    found = []
    for key, provider in sorted(load_catalog().items()):
        if key in resolved:
            found += differences(key, provider, raw, resolved)
    assert not found, "\n".join(found)


def test_only_the_listed_providers_are_ours_alone(nango_catalog_file: Path) -> None:
    raw, _ = nango_resolved(nango_catalog_file)
    assert sorted(set(load_catalog()) - set(raw)) == sorted(OURS_ONLY)


def test_nango_resolution_in_this_test_follows_aliases(nango_catalog_file: Path) -> None:
    """The comparison's own view of Nango: an alias with its own proxy block keeps none of the
    target's proxy facts; one without keeps them all."""
    raw, resolved = nango_resolved(nango_catalog_file)
    assert raw["google-mail"]["alias"] == "google"
    assert "paginate" in proxy(resolved["google"])
    assert "paginate" not in proxy(resolved["google-mail"])
    assert proxy(resolved["github-app"]) == proxy(resolved["github"])


def test_the_computed_header_exceptions_are_still_needed() -> None:
    catalog = load_catalog()
    for key in COMPUTED_HEADERS:
        assert any(unfillable_placeholder(v) for v in catalog[key].headers.values()), key


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
