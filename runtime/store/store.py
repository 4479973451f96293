"""The `Store`: every part of the runtime's database behind one object, and `open_store`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import insert, select

from runtime.store.base import lock_key
from runtime.store.checkpoints import Checkpoints
from runtime.store.connections import Connections
from runtime.store.crypto import WRONG_KEY_HINT, Cipher
from runtime.store.database import Database, connect, redacted
from runtime.store.environments import Environments
from runtime.store.errors import EncryptionError
from runtime.store.integrations import Integrations
from runtime.store.migrate import check_revision, upgrade
from runtime.store.oauth import OAuthSessions
from runtime.store.records import Records
from runtime.store.retries import TaskRetries
from runtime.store.schema import store_settings
from runtime.store.scripts import Scripts
from runtime.store.sources import Sources
from runtime.store.stats import Stats
from runtime.store.syncs import Syncs
from runtime.store.task_logs import TaskLogs
from runtime.store.tasks import Tasks
from runtime.store.variables import EnvironmentVariables
from runtime.store.webhooks import IntegrationSecrets, WebhookDeliveries

_KEY_CHECK_SETTING = "encryption_key_check"
_KEY_CHECK_PURPOSE = "store.encryption_key_check"
_KEY_CHECK_TEXT = "nango-store"


class Store:
    """The runtime's database. Each attribute groups the operations on one kind of row."""

    def __init__(self, database: Database, cipher: Cipher | None) -> None:
        self.database = database
        self._cipher = cipher
        self.environments = Environments(database, cipher)
        self.variables = EnvironmentVariables(database, cipher)
        self.integrations = Integrations(database, cipher)
        self.connections = Connections(database, cipher)
        self.records = Records(database, cipher)
        self.checkpoints = Checkpoints(database, cipher)
        self.oauth = OAuthSessions(database, cipher)
        self.sources = Sources(database, cipher)
        self.scripts = Scripts(database, cipher)
        self.syncs = Syncs(database, cipher)
        self.tasks = Tasks(database, cipher)
        self.logs = TaskLogs(database, cipher)
        self.stats = Stats(database, cipher)
        self.webhooks = WebhookDeliveries(database, cipher)
        self.integration_secrets = IntegrationSecrets(database, cipher)
        self.retries = TaskRetries(database, cipher)

    @property
    def backend(self) -> str:
        """`sqlite` or `postgresql`."""
        return "postgresql" if self.database.is_postgresql else "sqlite"

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return redacted(self.database.engine.url)

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """A view of the store whose operations all commit together (or not at all)."""
        if self.database.is_bound:
            yield self
            return
        with self.database.write() as connection:
            yield Store(self.database.bound(connection), self._cipher)

    @contextmanager
    def reading(self) -> Iterator[Store]:
        """A view of the store whose reads share one transaction (one connection checked out,
        one BEGIN and COMMIT for all of them). Reads only: on SQLite a write through it would
        not hold the database's write lock."""
        if self.database.is_bound:
            yield self
            return
        with self.database.read() as connection:
            yield Store(self.database.bound(connection), self._cipher)

    @contextmanager
    def fenced(self, task_id: str, lease_token: str) -> Iterator[Store]:
        """A transaction for a write of a run: it first checks that `lease_token` still holds
        the task's lease (`LeaseLostError` otherwise), so a run whose lease was lost (expired,
        failed, cancelled, taken over) can write nothing more."""
        with self.transaction() as bound:
            bound.tasks.check_lease(task_id, lease_token)
            yield bound

    def close(self) -> None:
        """Close the connection pool."""
        self.database.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def open_store(
    url: str,
    *,
    encryption_key: str | bytes | None = None,
    migrate: bool = True,
    pool_size: int = 5,
) -> Store:
    """Open the store at `url` (`sqlite:///PATH` or `postgresql://...`), migrated to this code's
    schema unless `migrate=False` (then a schema of another version is an error).

    With an `encryption_key`, the database remembers (encrypted) a check value at first use, so
    a different key is refused here, at start, rather than when a secret is first read.
    """
    database = connect(url, pool_size=pool_size)
    try:
        if migrate:
            upgrade(database)
        else:
            database.ping()
            check_revision(database)
        cipher = None if encryption_key is None else Cipher(encryption_key)
        if cipher is not None:
            _check_key(database, cipher)
    except BaseException:
        database.dispose()
        raise
    return Store(database, cipher)


def _check_key(database: Database, cipher: Cipher) -> None:
    query = select(store_settings.c.value).where(store_settings.c.name == _KEY_CHECK_SETTING)
    with database.read() as connection:
        stored = connection.execute(query).scalar()
    if stored is None:
        sealed = cipher.encrypt_text(_KEY_CHECK_TEXT, purpose=_KEY_CHECK_PURPOSE).hex()
        with database.write() as connection:
            database.advisory_lock(connection, lock_key("store_settings", _KEY_CHECK_SETTING))
            if connection.execute(query).scalar() is None:
                row = {"name": _KEY_CHECK_SETTING, "value": sealed}
                connection.execute(insert(store_settings).values(**row))
                return
            stored = connection.execute(query).scalar()
    assert stored is not None
    try:
        cipher.decrypt_text(bytes.fromhex(stored), purpose=_KEY_CHECK_PURPOSE)
    except (EncryptionError, ValueError):
        raise EncryptionError(
            "The encryption key is not the one this database was created with",
            hint=WRONG_KEY_HINT,
        ) from None
