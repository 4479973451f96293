"""A deployed script as files a run can import: `models.py`, the script at its path in the
project, and the project modules packed with it, written from the store's sources into a folder
per content hash under the data directory (`<data dir>/bundles/<hash>/`).

A folder is complete or absent: it is written under a temporary name and renamed into place, so
runs starting together never see half of one (the loser of a race drops its copy). The same
content hash always means the same files, so a folder is written once and reused.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

from runtime.deploy.wire import is_safe_module_path
from runtime.errors import ScriptLoadError
from runtime.store import Store
from runtime.store.scripts import Script

__all__ = ["bundle_root", "materialise", "script_path"]

_COMPLETE = ".complete"


def bundle_root(data_dir: Path, script: Script) -> Path:
    return data_dir / "bundles" / script.content_hash


def script_path(script: Script) -> str:
    """The script's path in its project (`github/syncs/issues.py`)."""
    path = str(script.config.get("path") or "")
    if not is_safe_module_path(path):
        raise ScriptLoadError(f"the deployed script has no valid path ({path!r})", file=Path(path))
    return path


def materialise(store: Store, script: Script, data_dir: Path) -> Path:
    """The folder holding the script's project files (written when missing)."""
    root = bundle_root(data_dir, script)
    if (root / _COMPLETE).is_file():
        return root
    files = {script_path(script): script.source_hash, "models.py": script.models_hash}
    for path, digest in script.files.items():
        if not is_safe_module_path(path):
            raise ScriptLoadError(
                f"a packed module has an invalid path ({path!r})", file=Path(path)
            )
        files.setdefault(path, digest)
    texts = store.sources.get_many(files.values())
    root.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root.parent))
    try:
        for path, digest in files.items():
            target = staging / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(texts[digest], encoding="utf-8")
        (staging / _COMPLETE).write_text(script.content_hash)
        try:
            staging.rename(root)
        except OSError:
            if not (root / _COMPLETE).is_file():  # not a race lost: a real failure
                raise
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
    return root
