"""Deploy tests run on both databases, with the store suite's fixtures; `payload` builds a
deploy request the way `nango deploy` would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from runtime.deploy.wire import DeployRequest
from tests.runtime.store.conftest import (  # noqa: F401  (fixtures)
    World,
    postgres,
    postgres_store,
    sqlite_template,
    store,
    store_url,
    world,
)

Payload = Callable[..., DeployRequest]


def sync_flow(name: str, *, source: str | None = None, **fields: Any) -> dict[str, Any]:
    flow: dict[str, Any] = {
        "type": "sync",
        "syncName": name,
        "providerConfigKey": "github",
        "models": ["Issue"],
        "runs": "every hour",
        "auto_start": True,
        "sync_type": "full",
        "fileBody": {
            "py": source or f"async def fetch_data(nango):\n    pass  # {name}\n",
            "path": f"github/syncs/{name}.py",
        },
        "endpoints": [{"method": "GET", "path": f"/{name}"}],
    }
    flow.update(fields)
    return flow


def action_flow(name: str, *, source: str | None = None, **fields: Any) -> dict[str, Any]:
    flow: dict[str, Any] = {
        "type": "action",
        "syncName": name,
        "providerConfigKey": "github",
        "models": ["Output"],
        "runs": None,
        "fileBody": {
            "py": source or f"async def run_action(nango):\n    return {{'name': '{name}'}}\n",
            "path": f"github/actions/{name}.py",
        },
    }
    flow.update(fields)
    return flow


@pytest.fixture
def payload() -> Payload:
    def build(
        *flows: dict[str, Any],
        on_events: list[dict[str, Any]] | None = None,
        modules: dict[str, str] | None = None,
        models: str = "# models\n",
        **fields: Any,
    ) -> DeployRequest:
        body: dict[str, Any] = {
            "flowConfigs": list(flows),
            "onEventScriptsByProvider": on_events or [],
            "sdkVersion": "0.1.0-py",
            "project": {"models": models, "modules": modules or {}},
            **fields,
        }
        return DeployRequest.model_validate(body)

    return build
