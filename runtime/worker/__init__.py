"""Workers: the loop that claims runs and supervises a child process per run (`worker`), the
child's entry (`runner`), running one task (`execute`, `outcomes`), deployed files as a folder
(`bundles`). `run_worker(settings, store, stop)` is what `nango runtime start` runs."""

from __future__ import annotations

from runtime.worker.worker import Worker, resolve_encryption_key, run_worker

__all__ = ["Worker", "resolve_encryption_key", "run_worker"]
