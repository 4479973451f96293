"""AES-256-GCM at rest: round trips, wrong keys, tampering, key files; no secret in clear."""

from __future__ import annotations

import base64
import os
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from runtime.store import Store, generate_key, load_or_create_key_file, open_store, sqlite_url
from runtime.store.crypto import Cipher, parse_key
from runtime.store.errors import EncryptionError
from runtime.store.schema import metadata
from tests.runtime.store.conftest import World


def test_round_trip_with_a_fresh_nonce_each_time() -> None:
    cipher = Cipher(generate_key())
    first = cipher.encrypt(b"token", purpose="p")
    second = cipher.encrypt(b"token", purpose="p")
    assert first != second and b"token" not in first
    assert cipher.decrypt(first, purpose="p") == cipher.decrypt(second, purpose="p") == b"token"
    assert cipher.decrypt_json(cipher.encrypt_json({"a": [1, "é"]}, purpose="j"), purpose="j") == {
        "a": [1, "é"]
    }


def test_a_wrong_key_is_a_clear_error_never_garbage() -> None:
    sealed = Cipher(generate_key()).encrypt_text("secret", purpose="connection.credentials")
    with pytest.raises(EncryptionError, match="not the one it was encrypted with") as caught:
        Cipher(generate_key()).decrypt_text(sealed, purpose="connection.credentials")
    assert caught.value.hint is not None and "NANGO_ENCRYPTION_KEY" in caught.value.hint


def test_a_value_moved_to_another_purpose_does_not_decrypt() -> None:
    cipher = Cipher(generate_key())
    sealed = cipher.encrypt(b"client-secret", purpose="integration.oauth_client_secret")
    with pytest.raises(EncryptionError):
        cipher.decrypt(sealed, purpose="environment_variable.value")


@pytest.mark.parametrize("damage", ["flip", "truncate", "version", "empty"])
def test_tampered_values_are_refused(damage: str) -> None:
    cipher = Cipher(generate_key())
    sealed = bytearray(cipher.encrypt(b"value", purpose="p"))
    if damage == "flip":
        sealed[-1] ^= 1
    elif damage == "truncate":
        del sealed[20:]
    elif damage == "version":
        sealed[0] = 9
    else:
        sealed.clear()
    with pytest.raises(EncryptionError):
        cipher.decrypt(bytes(sealed), purpose="p")


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("not base64!", "not valid base64"),
        (base64.b64encode(b"short").decode(), "must be 32 bytes once decoded, not 5"),
        (base64.b64encode(bytes(33)).decode(), "not 33"),
        ("", "not 0"),
    ],
)
def test_bad_keys_are_refused(key: str, message: str) -> None:
    with pytest.raises(EncryptionError, match=message):
        Cipher(key)


def test_keys_are_base64_of_32_bytes() -> None:
    key = generate_key()
    assert len(parse_key(key)) == 32 and len(parse_key(f"  {key}\n")) == 32
    assert len(Cipher(parse_key(key)).encrypt(b"", purpose="p")) == 1 + 12 + 16


def test_key_file_is_created_private_once_and_reused(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    key, created = load_or_create_key_file(folder)
    assert created and len(parse_key(key)) == 32
    mode = stat.S_IMODE((folder / "encryption.key").stat().st_mode)
    assert mode == 0o600
    assert load_or_create_key_file(folder) == (key, False)
    assert [p.name for p in folder.iterdir()] == ["encryption.key"]


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    results: list[tuple[str, bool]] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        results.append(load_or_create_key_file(tmp_path))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({key for key, _ in results}) == 1
    assert sum(created for _, created in results) == 1


def test_a_damaged_key_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "encryption.key").write_text("garbage")
    with pytest.raises(EncryptionError, match="base64"):
        load_or_create_key_file(tmp_path)


def test_opening_with_another_key_fails_at_start(store: Store, store_url: str) -> None:
    with pytest.raises(EncryptionError, match="not the one this database was created with"):
        open_store(store_url, encryption_key=generate_key())
    open_store(store_url).close()  # without a key, reading records still works


def test_secrets_need_a_key(tmp_path: Path) -> None:
    with open_store(sqlite_url(tmp_path / "s.db")) as keyless:
        env = keyless.environments.list_all()
        assert env == []
        with pytest.raises(EncryptionError, match="no encryption key is configured"):
            keyless.environments.ensure("dev")


SECRETS = [
    "sk-live-CREDENTIAL-abc123",
    "CLIENT-SECRET-xyz789",
    "ENV-VALUE-qwe456",
    "REFRESH-TOKEN-rty000",
]


def _write_secrets(world: World) -> None:
    store, env = world.store, world.environment_id
    store.integrations.update(env, "github", oauth_client_secret=SECRETS[1])
    store.connections.upsert(
        env, "github", "acme", credentials={"access_token": SECRETS[0], "refresh_token": SECRETS[3]}
    )
    store.variables.set(env, "TOKEN", SECRETS[2])


def test_no_secret_is_stored_in_clear_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "clear.db"
    with open_store(sqlite_url(path), encryption_key=generate_key()) as store:
        env = store.environments.ensure("dev", secret_key="ENV-SECRET-KEY-000").environment
        store.integrations.create(env.id, "github", "github")
        store.connections.upsert(env.id, "github", "acme", credentials={})
        _write_secrets(World(store, env.id, "github", 1))
        raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("clear.db"))
    for secret in [*SECRETS, "ENV-SECRET-KEY-000"]:
        assert secret.encode() not in raw


def test_no_secret_is_stored_in_clear(world: World) -> None:
    _write_secrets(world)
    world.store.environments.set_secret_key("dev", "ENV-SECRET-KEY-000")
    dumped = []
    with world.store.database.read() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(table.select()):
                dumped.extend(
                    value.hex() if isinstance(value, bytes) else str(value) for value in row
                )
        if world.store.backend == "postgresql":
            dumped.extend(
                connection.execute(
                    text("SELECT tableoid::regclass || row_to_json(r)::text FROM records r")
                ).scalars()
            )
    everything = " ".join(dumped)
    for secret in [*SECRETS, "ENV-SECRET-KEY-000"]:
        assert secret not in everything
        assert secret.encode().hex() not in everything


def test_key_bytes_and_text_both_open_a_cipher() -> None:
    raw = os.urandom(32)
    sealed = Cipher(raw).encrypt(b"x", purpose="p")
    assert Cipher(base64.b64encode(raw).decode()).decrypt(sealed, purpose="p") == b"x"
