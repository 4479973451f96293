"""The files of `deploy/` run as written (no Docker engine here, so they are checked the way
the engine and systemd would read them): the compose file loads, names services that exist,
runs `nango` commands and options that exist, with settings the runtime accepts; the
Dockerfile copies what is there; Prometheus scrapes what compose serves; the systemd units
pass `systemd-analyze verify` (or, without it, parse) and run commands that exist."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from cli.app import app
from runtime.settings import RuntimeSettings, load_settings
from tests.helpers import REPO_ROOT, is_ci

DEPLOY = REPO_ROOT / "deploy"
RUNTIME_SERVICES = ("api-1", "api-2", "worker")
# What a user puts in deploy/.env (deploy/env.example): values the runtime accepts.
USER_VALUES = {
    "POSTGRES_PASSWORD": "pw-0123456789",
    "NANGO_ENCRYPTION_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    "NANGO_SECRET_KEY_DEV": "6a1e2f3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b",
    "NANGO_SECRET_KEY_PROD": "7b2f3a4c-5d6e-4f70-8b9c-1d2e3f4a5b6c",
}


@pytest.fixture(autouse=True)
def deploy_folder() -> None:
    """The source distribution ships no `deploy/`: skipped there, required under CI."""
    if not DEPLOY.is_dir():
        if is_ci():
            pytest.fail(f"CI is set but {DEPLOY} is missing")
        pytest.skip(f"{DEPLOY} is not here (a source distribution)")


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def interpolate(value: str, given: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}` (an error when unset)."""

    def one(match: re.Match[str]) -> str:
        name, operator, rest = match.group(1), match.group(2), match.group(3) or ""
        if name in given and given[name] != "":
            return given[name]
        if operator == ":?":
            raise AssertionError(f"{name} is required: {rest}")
        return rest if operator == ":-" else ""

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, value)


def parse_nango(arguments: list[str]) -> dict[str, Any]:
    """The settings flags of a `nango runtime start ...` command line, parsed by the CLI's own
    parser (an unknown option or a bad value raises)."""
    assert arguments[:2] == ["runtime", "start"], arguments
    group: Any = typer.main.get_command(app)  # Typer's own click: duck-typed
    start = group.commands["runtime"].commands["start"]
    context = start.make_context("start", list(arguments[2:]))
    fields = RuntimeSettings.model_fields
    return {k: v for k, v in context.params.items() if v is not None and k in fields}


def settings_of(environment: dict[str, str], flags: dict[str, Any]) -> RuntimeSettings:
    unknown = [
        name
        for name in environment
        if name.startswith("NANGO_")
        and name[6:].lower() not in RuntimeSettings.model_fields
        and not name.startswith("NANGO_WEBHOOK_URLS_")
    ]
    assert not unknown, f"not settings of the runtime: {unknown}"
    return load_settings(flags=flags, environ=environment)


def test_the_compose_file_runs_postgres_two_apis_and_workers() -> None:
    services = compose()["services"]
    assert {"postgres", *RUNTIME_SERVICES} <= set(services)
    host_ports = set()
    for name in RUNTIME_SERVICES:
        service = services[name]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
        environment = {
            k: interpolate(str(v), USER_VALUES) for k, v in service["environment"].items()
        }
        settings = settings_of(environment, parse_nango(service["command"]))
        assert settings.database.startswith("postgresql://nango:pw-0123456789@postgres:5432/")
        assert settings.log_format == "json"
        host_ports.update(p.split(":")[0] for p in service.get("ports", []))
        if name == "worker":
            assert settings.role == "worker" and settings.metrics_port == 9464
            assert service["deploy"]["replicas"] >= 2
            assert "ports" not in service  # workers are not exposed
        else:
            assert settings.role == "api" and settings.port == 3003
    assert host_ports == {"3003", "3004"}


def test_required_secrets_are_refused_when_missing() -> None:
    environment = compose()["services"]["worker"]["environment"]
    for missing in USER_VALUES:
        given = {k: v for k, v in USER_VALUES.items() if k != missing}
        with pytest.raises(AssertionError, match=f"{missing} is required"):
            for value in [*environment.values(), *_postgres_environment().values()]:
                interpolate(str(value), given)


def _postgres_environment() -> dict[str, str]:
    environment: dict[str, str] = compose()["services"]["postgres"]["environment"]
    return environment


def test_healthchecks_are_python_that_compiles() -> None:
    services = compose()["services"]
    for name in RUNTIME_SERVICES:
        test = services[name]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"]
        compile(test[3], f"{name} healthcheck", "exec")
        port = "9464" if name == "worker" else "3003"
        assert f"127.0.0.1:{port}/health" in test[3]


def test_the_dockerfile_copies_what_exists_and_runs_nango() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("COPY "):
            *sources, _target = line.split()[1:]
            for source in sources:
                assert (REPO_ROOT / source).exists(), source
    assert 'ENTRYPOINT ["nango"]' in text
    names = re.findall(r"\b(NANGO_\w+)=", text)
    assert "NANGO_LOG_FORMAT" in names
    for name in names:
        assert name[6:].lower() in RuntimeSettings.model_fields, name
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    assert "!runtime/" in ignored and ".venv" not in ignored.replace("*\n", "")


def test_env_example_names_only_settings() -> None:
    text = (DEPLOY / "env.example").read_text(encoding="utf-8")
    names = re.findall(r"^(\w+)=", text, flags=re.MULTILINE)
    assert set(USER_VALUES) <= set(names)
    for name in names:
        if name.startswith("NANGO_"):
            assert name[6:].lower() in RuntimeSettings.model_fields, name


def test_prometheus_scrapes_what_compose_serves() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text(encoding="utf-8"))
    services = compose()["services"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    api_targets = jobs["nango-api"]["static_configs"][0]["targets"]
    assert api_targets == ["api-1:3003", "api-2:3003"]
    for target in api_targets:
        assert target.split(":")[0] in services
    (workers,) = jobs["nango-worker"]["dns_sd_configs"]
    assert workers["names"] == ["worker"] and workers["port"] == 9464
    mounted = services["prometheus"]["volumes"][0].split(":")[0]
    assert (DEPLOY / mounted).resolve() == (DEPLOY / "prometheus.yml").resolve()


UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
INSTANCES = {"nango-api@.service": "3003", "nango-worker@.service": "9464"}


def test_there_are_units_for_the_api_and_the_workers() -> None:
    assert {unit.name for unit in UNITS} == set(INSTANCES)


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_a_unit_runs_a_nango_command_that_exists(unit: Path) -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(unit.read_text(encoding="utf-8"))
    service = parser["Service"]
    command = shlex.split(service["ExecStart"].replace("%i", INSTANCES[unit.name]))
    assert command[0] == "/opt/nango/venv/bin/nango"
    flags = parse_nango(command[1:])
    environment = dict(USER_VALUES, NANGO_LOG_FORMAT="json")
    settings = settings_of(environment, flags)
    if "worker" in unit.name:
        assert settings.role == "worker" and settings.metrics_port == 9464
        assert service["KillMode"] == "mixed"  # the worker stops its runs itself
    else:
        assert settings.role == "api" and settings.port == 3003
    assert parser["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_systemd_verifies_the_unit(unit: Path, tmp_path: Path) -> None:
    nango = shutil.which("nango")
    if nango is None:
        pytest.skip("the nango command is not installed in this environment")
    environment_file = tmp_path / "runtime.env"
    environment_file.write_text("", encoding="utf-8")
    text = unit.read_text(encoding="utf-8")
    text = text.replace("/opt/nango/venv/bin/nango", nango)
    text = text.replace("/etc/nango/runtime.env", str(environment_file))
    (tmp_path / unit.name).write_text(text, encoding="utf-8")
    instance = unit.name.replace("@", f"@{INSTANCES[unit.name]}")
    result = subprocess.run(
        ["systemd-analyze", "verify", f"./{instance}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
