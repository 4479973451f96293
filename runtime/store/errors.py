"""What the store raises: branches of the project's one exception tree (`runtime.errors`).

The server maps them to Nango's answers (`NotFoundError` -> 404 / 400 `unknown_connection`,
`ConflictError` -> 400 `invalid_body`, `InvalidCursorError` -> 400 `invalid_query_params`).
"""

from __future__ import annotations

from runtime.errors import NangoError, UserError


class StoreError(NangoError):
    """The database failed in a way the user cannot fix by changing their input."""


class DatabaseUnavailableError(UserError):
    """The database cannot be reached or opened (a wrong URL, a server that is down)."""


class SchemaVersionError(UserError):
    """The database's schema is not the one this version of the code expects."""


class StoreBusyError(UserError):
    """A SQLite writer waited longer than the busy timeout for another writer to finish."""


class NotFoundError(UserError):
    """A row the call names does not exist (an integration, a connection...)."""

    def __init__(self, message: str, *, kind: str, key: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.kind = kind
        self.key = key


class ConflictError(UserError):
    """A unique key already exists, or an optimistic-locking version did not match."""


class InvalidCursorError(UserError):
    """A records cursor that this store did not hand out (or that was altered)."""


class InvalidValueError(UserError):
    """A value the store cannot keep as given (an empty name, a NUL character, a wrong type)."""


class InvalidRecordError(InvalidValueError):
    """A record the store cannot keep: not an object, or without a usable `id`."""


class EncryptionError(UserError):
    """A missing or wrong encryption key, or a value that does not decrypt with it."""


class LeaseLostError(StoreError):
    """A run's write came with a lease that is no longer valid: the run was failed, expired or
    cancelled, or another worker holds it now (fencing: the write is refused)."""
