"""One loader, one generation, one `.env`: what `nango dryrun`, `nango test` and `nango compile`
share, seen from outside (real `nango` processes where the claim is about a process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import Cli, outside_env, write_tree

NANGO = [sys.executable, "-m", "cli"]
YAML = """\
integrations:
  demo:
    syncs:
      items:
        runs: every hour
        output: Item
        endpoint: GET /items
models:
  Item:
    id: string
"""
COUNTING_SCRIPT = """\
import os

from models import NangoSync

with open(os.environ["BODY_LOG"], "a", encoding="utf-8") as log:
    log.write("loaded\\n")


async def fetch_data(nango: NangoSync) -> None:
    await nango.batch_save([{"id": "1"}], "Item")
"""
FIXTURE = {
    "nango": {
        "getConnection": {"connectionId": "c1", "provider": "github"},
        "batchSave": {"Item": [{"id": "1"}]},
    },
    "api": {},
}


def _nango(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = outside_env()
    return subprocess.run(
        [*NANGO, *args],
        cwd=cwd,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_a_module_body_runs_once_per_command(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "project",
        {
            "nango.yaml": YAML,
            "demo/syncs/items.py": COUNTING_SCRIPT,
            "demo/tests/items.test.json": json.dumps(FIXTURE),
        },
    )
    log = tmp_path / "body.log"
    env = {"BODY_LOG": str(log), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for command in (["dryrun", "items", "c1", "--replay"], ["test"], ["compile"]):
        log.write_text("", encoding="utf-8")
        result = _nango(*command, cwd=root, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert log.read_text(encoding="utf-8") == "loaded\n", command


def test_dryrun_from_a_subfolder_reads_the_projects_env(cli: Cli, tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "project",
        {
            "nango.yaml": YAML,
            "demo/syncs/items.py": "from models import NangoSync\n\n\n"
            "async def fetch_data(nango: NangoSync) -> None:\n"
            "    await nango.log((await nango.get_connection()).credentials['apiKey'])\n",
            ".env": "# the project's settings\nexport NANGO_LOCAL_DEMO_PROVIDER='metabase'\n"
            'NANGO_LOCAL_DEMO_API_KEY="key from the project env"\n'
            'NANGO_LOCAL_DEMO_CONNECTION_CONFIG={"subdomain": "x"}\n',
            "demo/syncs/.env": "NANGO_LOCAL_DEMO_API_KEY=not this one\n",
        },
    )
    result = cli("dryrun", "items", "c1", "--json", cwd=root / "demo" / "syncs")
    logs = json.loads(result.stdout)["logs"]
    # the key itself is a secret: redacted in the report, but it was read from the project's .env
    assert logs == [{"level": "info", "message": "[REDACTED]"}]
    assert os.environ["NANGO_LOCAL_DEMO_API_KEY"] == "key from the project env"


def test_nango_test_reads_and_generates_once(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    syncs = "".join(
        f"      s{i}:\n        runs: every hour\n        output: Item{i}\n"
        f"        endpoint: GET /s{i}\n"
        for i in range(10)
    )
    models = "".join(f"  Item{i}:\n    id: string\n" for i in range(10))
    files = {"nango.yaml": f"integrations:\n  demo:\n    syncs:\n{syncs}models:\n{models}"}
    for i in range(10):
        files[f"demo/syncs/s{i}.py"] = (
            "from models import NangoSync\n\n\nasync def fetch_data(nango: NangoSync) -> None:\n"
            f'    await nango.batch_save([{{"id": "1"}}], "Item{i}")\n'
        )
        files[f"demo/tests/s{i}.test.json"] = json.dumps(
            {"nango": {"batchSave": {f"Item{i}": [{"id": "1"}]}}, "api": {}}
        )
    root = write_tree(tmp_path / "project", files)
    import cli.codegen.generate as generate_module

    calls: list[Path] = []
    real = generate_module.load_config

    def counting(path: Path) -> object:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(generate_module, "load_config", counting)
    result = cli("test", cwd=root)
    assert result.stdout.endswith("10 passed, 0 failed\n")
    assert calls == [root / "nango.yaml"]
