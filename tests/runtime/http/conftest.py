"""Nango's published provider catalog (npm `@nangohq/providers` 0.71.10), read from the shared
corpus beside the repository: test data only, never copied into the project."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NANGO_CATALOG = (
    Path(__file__).resolve().parents[4] / "shared" / "corpus" / "providers" / ("providers.yaml")
)
# Read at import: the autouse `isolated_env` fixture removes CI before each test runs.
_IN_CI = bool(os.environ.get("CI"))


@pytest.fixture
def nango_catalog_file() -> Path:
    """The path of Nango's providers.yaml; skipped where the corpus is absent, failed under CI."""
    if not NANGO_CATALOG.is_file():
        message = f"Nango's provider catalog not found at {NANGO_CATALOG} (../shared/corpus)"
        if _IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return NANGO_CATALOG
