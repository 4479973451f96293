"""`nango compile`: the checks of every script (static and import)."""
