"""What every part of the store shares: the database, the cipher, and small checks."""

from __future__ import annotations

import hashlib

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection

from runtime.store.crypto import KEY_HINT, Cipher
from runtime.store.database import Database
from runtime.store.errors import EncryptionError, InvalidValueError, NotFoundError


class Part:
    """A group of related operations over one database (and the cipher, for secrets)."""

    def __init__(self, database: Database, cipher: Cipher | None) -> None:
        self._db = database
        self._cipher_or_none = cipher

    @property
    def _cipher(self) -> Cipher:
        if self._cipher_or_none is None:
            raise EncryptionError(
                "This operation stores or reads secrets, and no encryption key is configured",
                hint=KEY_HINT,
            )
        return self._cipher_or_none


def check_name(value: str, what: str) -> str:
    """A name or key that the databases can keep as given (PostgreSQL text refuses NUL)."""
    if not isinstance(value, str) or not value:
        raise InvalidValueError(f"The {what} must be a non-empty string")
    if "\x00" in value:
        raise InvalidValueError(f"The {what} must not contain a NUL character")
    return value


def lock_key(*parts: object) -> int:
    """A signed 64-bit key for PostgreSQL advisory locks, stable across processes."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def require_id(connection: Connection, table: Table, row_id: int, kind: str) -> None:
    """A `NotFoundError` unless `table` has a row with this id."""
    found = connection.execute(select(table.c.id).where(table.c.id == row_id)).first()
    if found is None:
        raise NotFoundError(f"No {kind} with id {row_id}", kind=kind, key=str(row_id))
