"""Connections and integrations on the runtime: the core of `nango connection ...` and
`nango integration ...` (calls through `cli/client.py`, results returned, nothing printed)."""
