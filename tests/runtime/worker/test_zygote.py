"""The run process server: children forked per request, their ends reported as `Popen` would
(negative for a signal), their stderr kept in a file; a server that died takes its children
with it and the next request starts a new one."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.worker.worker import _child_environment
from runtime.worker.zygote import ForkedProcess, Zygote
from tests.helpers import REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Zygote]:
    command = [sys.executable, "-P", "-m", "runtime.worker.zygote_server"]
    made = Zygote(command, {**_child_environment(), "PYTHONPATH": str(REPO_ROOT)}, tmp_path)
    made.start()
    yield made
    made.close()


def hanging_run(server: Zygote, tmp_path: Path, silent: socket.socket) -> ForkedProcess:
    """A run whose database never answers (a socket that listens and says nothing)."""
    port = silent.getsockname()[1]
    settings = {"database_url": f"postgresql://nobody@127.0.0.1:{port}/x", "data_dir": "."}
    config = {"memory_mb": 4096, "settings": settings, "encryption_key": None}
    return server.spawn(config, tmp_path / "hanging.stderr")


def test_a_child_that_fails_is_reported_with_its_stderr(server: Zygote, tmp_path: Path) -> None:
    broken = server.spawn({"not": "a run"}, tmp_path / "broken.stderr")
    assert broken.wait(60) == 1
    assert any("KeyError" in line for line in broken.stderr_tail(5))
    assert not (tmp_path / "broken.stderr").exists()


def test_a_killed_child_and_a_dead_server(server: Zygote, tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:
        first = hanging_run(server, tmp_path, silent)
        assert first.poll() is None
        first.kill()
        assert first.wait(30) == -9
        second = hanging_run(server, tmp_path, silent)
        server.close()  # the server goes: its children with it
        assert second.wait(30) == -9
        third = hanging_run(server, tmp_path, silent)  # a new server
        assert third.poll() is None
        third.kill()
        assert third.wait(30) == -9


def test_the_end_of_a_child_is_announced(tmp_path: Path) -> None:
    """The worker's loop is woken when a run process ends (it supervises and claims at once
    instead of at its next poll): `on_exit` is called once the end is known."""
    import threading

    ended = threading.Event()
    command = [sys.executable, "-P", "-m", "runtime.worker.zygote_server"]
    environment = {**_child_environment(), "PYTHONPATH": str(REPO_ROOT)}
    server = Zygote(command, environment, tmp_path, on_exit=ended.set)
    server.start()
    try:
        child = server.spawn({"not": "a run"}, tmp_path / "broken.stderr")
        assert ended.wait(60)
        assert child.poll() == 1  # known by the time the loop is woken
    finally:
        server.close()
