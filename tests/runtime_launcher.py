"""A minimal runtime for end-to-end tests: the API (uvicorn) and the worker loop (a thread) of
one process, over one store, with the environments' keys given. `nango runtime start` does
the same with its banner, lock file and roles.

    python tests/runtime_launcher.py '{"data_dir": ..., "port": ..., "secret_key_dev": ...}'
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def main() -> None:
    import uvicorn

    from runtime.server.app import create_app
    from runtime.settings import RuntimeSettings
    from runtime.store import open_store
    from runtime.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = RuntimeSettings.model_validate(json.loads(sys.argv[1]))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.database, encryption_key=settings.encryption_key)
    for name in ("dev", "prod"):
        store.environments.ensure(name, secret_key=settings.secret_key(name))
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(settings, store, stop), name="worker")
    worker.start()
    config = uvicorn.Config(
        create_app(settings, store), host=settings.host, port=settings.port, log_level="warning"
    )
    try:
        uvicorn.Server(config).run()
    finally:
        stop.set()
        worker.join(30)
        store.close()


if __name__ == "__main__":
    main()
