"""Alembic migrations of the store, numbered and never edited (`runtime.store.migrate`)."""
