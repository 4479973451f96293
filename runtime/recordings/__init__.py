"""Recorded API fixtures: request identities, the unified `.test.json` file, the legacy `mocks/`
layout, and replay lookup."""

from __future__ import annotations

from runtime.recordings.fixture_set import FixtureSet, load_fixtures
from runtime.recordings.identity import (
    RequestIdentity,
    identity_from_call,
    legacy_recorded_identity,
)
from runtime.recordings.matching import FixtureMissError, RecordedEntry, RecordedResponse
from runtime.recordings.unified import FixtureRecorder, load_unified

__all__ = [
    "FixtureMissError",
    "FixtureRecorder",
    "FixtureSet",
    "RecordedEntry",
    "RecordedResponse",
    "RequestIdentity",
    "identity_from_call",
    "legacy_recorded_identity",
    "load_fixtures",
    "load_unified",
]
