"""Worker tests: a project deployed to a store (generated, packed and applied as `nango deploy`
does), runs executed in this process with HTTP answered by a mock transport."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.codegen.generate import generate
from cli.deploy.pack import PackOptions, pack_project
from cli.project import find_project
from runtime.deploy.apply import apply_deploy
from runtime.settings import RuntimeSettings
from runtime.store.tasks import Task
from runtime.worker.execute import execute_task
from tests.helpers import TOKEN, write_tree
from tests.runtime.store.conftest import (  # noqa: F401  (fixtures)
    World,
    postgres,
    postgres_store,
    sqlite_template,
    store,
    store_url,
    world,
)

Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class Deployed:
    world: World
    settings: RuntimeSettings
    handler: Handler

    def claim(self) -> Task:
        (task,) = self.world.store.tasks.claim("test", limit=1, lease_seconds=60)
        return task

    def execute(self, task: Task | None = None) -> Task:
        """Claim the next run (unless given), run it here, return it as it ended."""
        task = task or self.claim()
        assert task.lease_token is not None
        execute_task(
            self.world.store,
            task,
            task.lease_token,
            self.settings,
            transport=httpx.MockTransport(self.handler),
        )
        done = self.world.store.tasks.get(task.id)
        assert done is not None
        return done

    def logs(self, task: Task) -> list[str]:
        return [line.message for line in self.world.store.logs.list(task.id)]


@pytest.fixture
def deploy_project(world: World, tmp_path: Path) -> Callable[..., Deployed]:  # noqa: F811
    def deploy(files: dict[str, str], handler: Handler | None = None) -> Deployed:
        world.store.connections.upsert(
            world.environment_id,
            "github",
            "acme",
            credentials={"type": "OAUTH2", "access_token": TOKEN},
        )
        root = write_tree(tmp_path / "project", files)
        project = find_project(root)
        config = generate(project_root=root).config.parsed
        request = pack_project(project, config, PackOptions())
        request = request.model_copy(update={"allowDestructive": True})
        apply_deploy(world.store, world.environment_id, request)
        settings = RuntimeSettings(data_dir=tmp_path / "data", action_timeout_s=10)
        answer = handler or (lambda _request: httpx.Response(404, json={}))
        return Deployed(world, settings, answer)

    return deploy


def json_handler(routes: dict[str, Any]) -> Handler:
    """Answer GETs by path with JSON (404 for any other path)."""

    def handle(request: httpx.Request) -> httpx.Response:
        body = routes.get(request.url.path)
        if body is None:
            return httpx.Response(404, json={"message": "not found"})
        return httpx.Response(200, json=body)

    return handle
