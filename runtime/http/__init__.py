"""HTTP for scripts: the client, the proxy engine (auth, retries), pagination, providers."""
