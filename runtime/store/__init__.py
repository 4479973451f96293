"""The record store (SQLite and PostgreSQL behind one interface). Empty until the runtime lands."""
