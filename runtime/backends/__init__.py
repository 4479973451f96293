"""SDK backends: what a script's requests and writes do in each mode."""
