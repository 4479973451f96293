"""A start-up check that the import names `cli`, `runtime` and `templates` are ours.

Those names are generic: another distribution installed into the same environment can ship its
own top-level `runtime` (or `cli`, `templates`), which either shadows ours from an earlier
`sys.path` entry or overwrites our `__init__.py`, and uninstalling it afterwards deletes ours.
Every command would then fail with an `ImportError` that says nothing useful. The check costs a
few `find_spec` calls and, in a regular install, three file hashes against our own RECORD; only
when something is wrong does it look through the installed distributions to name the owner.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

__all__ = ["ImportNameProblem", "check_import_names", "ensure_own_import_names"]

OUR_NAMES = ("cli", "runtime", "templates")
OUR_DISTRIBUTION = "nango-py"
_ROOT = Path(__file__).resolve().parents[1]  # the folder holding cli/, runtime/, templates/
_ADVICE = (
    "Install nango-py into an environment of its own: `pipx install nango-py` or "
    "`uv tool install nango-py`. Or remove the other distribution from this environment and "
    "reinstall ours: `pip install --force-reinstall nango-py`."
)


class ImportNameProblem:
    """One of our import names that resolves to something else, and why."""

    def __init__(self, name: str, found: str | None, reason: str) -> None:
        self.name = name
        self.found = found  # where Python finds the package now (None: nowhere)
        self.reason = reason

    def describe(self, owners: list[str]) -> str:
        who = f" It belongs to {', '.join(owners)}." if owners else ""
        where = f" ({self.found})" if self.found else ""
        return f"import name {self.name!r}{where}: {self.reason}.{who}"


def _record_hashes(root: Path) -> dict[str, str]:
    """`path -> sha256` of our installed files, from the RECORD beside them (empty when this is
    a source checkout or an editable install, which have no such files)."""
    for record in root.glob("nango_py-*.dist-info/RECORD"):
        hashes = {}
        for line in record.read_text(encoding="utf-8").splitlines():
            path, _, rest = line.partition(",")
            digest = rest.partition(",")[0]
            if digest.startswith("sha256="):
                hashes[path] = digest.removeprefix("sha256=")
        return hashes
    return {}


def _sha256(path: Path) -> str:
    import base64  # only a regular install has a RECORD to compare with: imported then
    import hashlib

    digest = hashlib.sha256(path.read_bytes()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _problem(name: str, hashes: dict[str, str]) -> ImportNameProblem | None:
    module = sys.modules.get(name)
    spec = module.__spec__ if module is not None else importlib.util.find_spec(name)
    expected = _ROOT / name / "__init__.py"
    origin = spec.origin if spec is not None else None
    if origin is None or origin == "namespace":
        missing = "our __init__.py is missing (removed with another distribution's files?)"
        return ImportNameProblem(name, str(expected.parent), missing)
    if Path(origin).resolve() != expected:
        return ImportNameProblem(name, origin, "another package of that name comes first")
    recorded = hashes.get(f"{name}/__init__.py")
    if recorded is not None and _sha256(expected) != recorded:
        overwritten = "our __init__.py was overwritten by another distribution's"
        return ImportNameProblem(name, origin, overwritten)
    return None


def check_import_names(root: Path = _ROOT) -> list[ImportNameProblem]:
    """Each of `cli`, `runtime`, `templates` that is not the package installed beside this one."""
    try:
        hashes = _record_hashes(root)
    except OSError:
        hashes = {}
    return [p for name in OUR_NAMES if (p := _problem(name, hashes)) is not None]


def _owners(name: str) -> list[str]:
    """The other distributions that ship a top-level `name` (slow: reads every RECORD)."""
    from importlib import metadata

    owners = []
    for dist in metadata.distributions():
        dist_name = dist.metadata["Name"] or "?"
        if dist_name.lower().replace("_", "-") == OUR_DISTRIBUTION:
            continue
        top = {Path(str(f)).parts[0] for f in dist.files or [] if Path(str(f)).parts}
        top |= set((dist.read_text("top_level.txt") or "").split())
        if name in top:
            owners.append(f"{dist_name} {dist.version}")
    return sorted(set(owners))


def ensure_own_import_names() -> None:
    """Exit with a clear message (status 1) when an import name of ours is not ours."""
    problems = check_import_names()
    if not problems:
        return
    lines = [f"nango cannot start: {p.describe(_owners(p.name))}" for p in problems]
    text = "\n".join([*lines, _ADVICE])
    if sys.stderr.isatty() and not os.environ.get("NO_COLOR"):
        text = f"\x1b[31m{text}\x1b[0m"
    print(text, file=sys.stderr)
    raise SystemExit(1)
