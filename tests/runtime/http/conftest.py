"""Fixtures for the provider catalog tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.runtime.http.nango_catalog import require_nango_catalog


@pytest.fixture
def nango_catalog_file() -> Path:
    """Nango's providers.yaml from the shared corpus (skipped when absent, failed under CI)."""
    return require_nango_catalog()
