"""Workers: the loop that claims runs, plans them, supervises a child process per run and
records its end (`worker`), the child's entry (`runner`), one task's plan, run and end
(`execute`, `outcomes`), deployed files as a folder (`bundles`), the pre-loaded server that
forks the children (`zygote`, `zygote_server`). `run_worker(settings, store, stop)` is what
`nango runtime start` runs."""

from __future__ import annotations

from runtime.worker.worker import Worker, resolve_encryption_key, run_worker

__all__ = ["Worker", "resolve_encryption_key", "run_worker"]
