"""Encryption at rest: AES-256-GCM for credentials, client secrets and environment variable values.

A stored value is `version (1 byte) || nonce (12 random bytes) || ciphertext || tag (16 bytes)`.
Each value is bound to its purpose (`connection.credentials`, `environment_variable.value`...)
as associated data, so a ciphertext copied into another column does not decrypt. The key is
base64 of 32 bytes (`NANGO_ENCRYPTION_KEY`); on SQLite the runtime may keep it in a file of the
data directory, created by `load_or_create_key_file` with owner-only permissions.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from runtime.store import jsontext
from runtime.store.errors import EncryptionError

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
FORMAT_VERSION = 1
KEY_FILE_NAME = "encryption.key"
KEY_HINT = "Set NANGO_ENCRYPTION_KEY to the base64 of 32 bytes (e.g. `openssl rand -base64 32`)."
WRONG_KEY_HINT = (
    "Use the NANGO_ENCRYPTION_KEY this database was created with; a new key cannot read values "
    "encrypted with another."
)


def generate_key() -> str:
    """A new random key, as base64 text."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def parse_key(text: str | bytes) -> bytes:
    """The 32 bytes of a base64 key; a `EncryptionError` for anything else."""
    raw = text.encode("ascii", "replace") if isinstance(text, str) else text
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise EncryptionError("The encryption key is not valid base64", hint=KEY_HINT) from None
    if len(key) != KEY_BYTES:
        raise EncryptionError(
            f"The encryption key must be 32 bytes once decoded, not {len(key)}", hint=KEY_HINT
        )
    return key


class Cipher:
    """AES-256-GCM with a fresh random nonce for every value."""

    def __init__(self, key: str | bytes) -> None:
        raw = key if isinstance(key, bytes) and len(key) == KEY_BYTES else parse_key(key)
        self._aead = AESGCM(raw)

    def encrypt(self, plaintext: bytes, *, purpose: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, purpose.encode())
        return bytes((FORMAT_VERSION,)) + nonce + sealed

    def decrypt(self, blob: bytes, *, purpose: str) -> bytes:
        """The plaintext; `EncryptionError` when the key (or the purpose) is not the one used."""
        data = bytes(blob)
        if len(data) < 1 + NONCE_BYTES + TAG_BYTES or data[0] != FORMAT_VERSION:
            raise EncryptionError(f"A stored {purpose} is not an encrypted value of this store")
        nonce, sealed = data[1 : 1 + NONCE_BYTES], data[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, purpose.encode())
        except InvalidTag:
            raise EncryptionError(
                f"Cannot decrypt a stored {purpose}: the encryption key is not the one it was "
                "encrypted with",
                hint=WRONG_KEY_HINT,
            ) from None

    def encrypt_text(self, text: str, *, purpose: str) -> bytes:
        return self.encrypt(text.encode(), purpose=purpose)

    def decrypt_text(self, blob: bytes, *, purpose: str) -> str:
        return self.decrypt(blob, purpose=purpose).decode()

    def encrypt_json(self, value: Any, *, purpose: str) -> bytes:
        return self.encrypt(jsontext.dumps(value), purpose=purpose)

    def decrypt_json(self, blob: bytes, *, purpose: str) -> Any:
        return jsontext.loads(self.decrypt(blob, purpose=purpose))


def load_or_create_key_file(data_dir: Path) -> tuple[str, bool]:
    """The key kept in `<data_dir>/encryption.key`, created (mode 0600) when absent.

    Returns the key and whether this call created it (the runtime then warns that the key must
    be backed up). Safe when several processes start at once: the file appears complete or not
    at all, and every process ends up with the same key.
    """
    path = data_dir / KEY_FILE_NAME
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        if _create_exclusively(path, generate_key()):
            return path.read_text(encoding="ascii").strip(), True
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise EncryptionError(f"Cannot read the encryption key file {path}: {exc}") from exc
    parse_key(text)
    return text, False


def _create_exclusively(path: Path, key: str) -> bool:
    """Write `key` to a private temporary file, then link it into place unless `path` exists."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)
