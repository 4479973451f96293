"""Preparing the runtime: every start-up failure is one clear error, keys are generated once,
one runtime per SQLite file."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtime.errors import UserError
from runtime.service import PreparedRuntime, RuntimeLockedError, prepare_runtime
from runtime.settings import RuntimeSettings, load_settings

KEY = "3b7c2c9e-5d1a-4f8e-9a6b-1c2d3e4f5a60"


@pytest.fixture
def opened() -> Iterator[list[PreparedRuntime]]:
    found: list[PreparedRuntime] = []
    yield found
    for prepared in found:
        prepared.close()


def prepare(opened: list[PreparedRuntime], **settings: Any) -> PreparedRuntime:
    prepared = prepare_runtime(RuntimeSettings(port=0, **settings))
    opened.append(prepared)
    return prepared


def test_first_start_generates_keys_once_and_a_key_file(
    tmp_path: Path, opened: list[PreparedRuntime]
) -> None:
    first = prepare(opened, data_dir=tmp_path)
    assert [e.name for e in first.environments] == ["dev", "prod"]
    assert all(e.is_generated and e.secret_key for e in first.environments)
    assert first.is_encryption_key_generated
    assert (tmp_path / "encryption.key").stat().st_mode & 0o077 == 0
    first.close()
    again = prepare(opened, data_dir=tmp_path)
    assert not again.is_encryption_key_generated
    assert [(e.is_generated, e.secret_key) for e in again.environments] == [(False, None)] * 2
    dev = first.environments[0].secret_key
    assert dev is not None
    assert again.store.environments.find_by_secret_key(dev) is not None


def test_a_given_key_is_used_and_replaces_the_stored_one(
    tmp_path: Path, opened: list[PreparedRuntime]
) -> None:
    prepare(opened, data_dir=tmp_path).close()
    prepared = prepare(opened, data_dir=tmp_path, secret_key_dev=KEY)
    dev = prepared.environments[0]
    assert (dev.secret_key, dev.is_generated) == (KEY, False)
    found = prepared.store.environments.find_by_secret_key(KEY)
    assert found is not None and found.name == "dev"


def test_a_key_that_is_not_a_uuid_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="NANGO_SECRET_KEY_PROD is not a UUID"):
        prepare_runtime(RuntimeSettings(data_dir=tmp_path, secret_key_prod="hunter2"))


def test_a_second_runtime_on_one_sqlite_file_is_refused(
    tmp_path: Path, opened: list[PreparedRuntime]
) -> None:
    first = prepare(opened, data_dir=tmp_path)
    with pytest.raises(RuntimeLockedError, match="already running") as refused:
        prepare(opened, data_dir=tmp_path)
    assert "PostgreSQL" in (refused.value.hint or "")
    first.close()
    prepare(opened, data_dir=tmp_path)


def test_a_port_in_use_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(UserError, match=f"Port {port} on 127.0.0.1 is already in use"):
            prepare_runtime(RuntimeSettings(data_dir=tmp_path, port=port))
    # Everything opened before the failure was released: the same data dir starts.
    prepare_runtime(RuntimeSettings(data_dir=tmp_path, port=0)).close()


def test_an_unwritable_data_dir_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(UserError, match=r"data directory .* is not writable"):
        prepare_runtime(RuntimeSettings(data_dir=blocker / "data"))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://db/nango", "Unsupported database"),
        ("not a url", "Not a database URL"),
        ("postgresql://nobody:pw@127.0.0.1:1/nango", "Cannot open the database"),
    ],
)
def test_bad_or_unreachable_databases_are_clear_errors(
    tmp_path: Path, url: str, message: str
) -> None:
    settings = RuntimeSettings(
        data_dir=tmp_path, database_url=url, encryption_key="A" * 43 + "=", port=0
    )
    with pytest.raises(UserError, match=message) as raised:
        prepare_runtime(settings)
    assert "pw@" not in raised.value.message


def test_postgresql_needs_an_encryption_key(tmp_path: Path) -> None:
    settings = RuntimeSettings(data_dir=tmp_path, database_url="postgresql://x@127.0.0.1/db")
    with pytest.raises(UserError, match="NANGO_ENCRYPTION_KEY is required with PostgreSQL"):
        prepare_runtime(settings)


def test_the_denylist_setting_reads_nangos_json_or_a_comma_list() -> None:
    name = "NANGO_PROXY_BASE_URL_OVERRIDE_DENYLIST"
    as_json = load_settings(environ={name: '["a.example.com", " b "]'})
    assert as_json.proxy_base_url_override_denylist == ["a.example.com", "b"]
    assert load_settings(environ={name: "[]"}).proxy_base_url_override_denylist == []
    assert load_settings(environ={name: "x, y"}).proxy_base_url_override_denylist == ["x", "y"]
    with pytest.raises(UserError, match="JSON array of strings"):
        load_settings(environ={name: '["a", 1]'})
