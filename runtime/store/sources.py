"""Sources of deployed scripts, content-addressed: a script, a `models.py`, a helper module or a
generated file is kept once (zlib-compressed UTF-8) under the SHA-256 of its text, however many
versions and environments use it. Rows are never changed; a hash always reads the same text.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from runtime.store.base import Part
from runtime.store.errors import InvalidValueError, NotFoundError
from runtime.store.schema import sources
from runtime.store.timestamps import now_us

MAX_SOURCE_BYTES = 10 * 1024 * 1024
"""The largest text one source may hold (a deploy packs many)."""


def source_hash(text: str) -> str:
    """The key a text is kept under: SHA-256 hex of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class Sources(Part):
    """Texts by hash."""

    def put(self, text: str) -> str:
        """Keep `text` (once) and return its hash."""
        return self.put_many([text])[0]

    def put_many(self, texts: Iterable[str]) -> list[str]:
        """Keep every text (each once) in one transaction; their hashes, in order."""
        rows: dict[str, bytes] = {}
        sizes: dict[str, int] = {}
        hashes = []
        for text in texts:
            if not isinstance(text, str):
                raise InvalidValueError("A source must be text")
            data = text.encode("utf-8", "surrogatepass")
            if len(data) > MAX_SOURCE_BYTES:
                raise InvalidValueError(
                    f"A source file is larger than {MAX_SOURCE_BYTES // (1024 * 1024)} MB"
                )
            digest = hashlib.sha256(data).hexdigest()
            hashes.append(digest)
            if digest not in rows:
                rows[digest], sizes[digest] = zlib.compress(data, 6), len(data)
        if rows:
            with self._db.write() as connection:
                self._insert_missing(connection, rows, sizes)
        return hashes

    def get(self, digest: str) -> str:
        """The text of a hash (`NotFoundError` when none is kept)."""
        found = self.get_many([digest])
        return found[digest]

    def get_many(self, digests: Iterable[str]) -> dict[str, str]:
        """Texts by hash; every hash must be known."""
        wanted = list(dict.fromkeys(digests))
        if not wanted:
            return {}
        query = select(sources.c.hash, sources.c.content).where(sources.c.hash.in_(wanted))
        with self._db.read() as connection:
            found = {
                digest: zlib.decompress(content).decode("utf-8", "surrogatepass")
                for digest, content in connection.execute(query)
            }
        missing = [digest for digest in wanted if digest not in found]
        if missing:
            raise NotFoundError(f"No source {missing[0]}", kind="source", key=missing[0])
        return found

    def _insert_missing(
        self, connection: Connection, rows: Mapping[str, bytes], sizes: Mapping[str, int]
    ) -> None:
        now = now_us()
        values = [
            {"hash": digest, "content": content, "size": sizes[digest], "created_at": now}
            for digest, content in rows.items()
        ]
        dialect = postgresql if self._db.is_postgresql else sqlite
        statement = dialect.insert(sources).on_conflict_do_nothing(index_elements=["hash"])
        connection.execute(statement, values)
