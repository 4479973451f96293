"""Real-world nango.yaml files, parsed by us and by Nango's own parser.

Each folder of the shared corpus holds a `nango.yaml` and `official.json`, the output of
`@nangohq/nango-yaml` 0.71.10 on it (`{ok, errors, warnings, parsed, jsonSchema}`), written with
`JSON.stringify(out, replacer, 2)`. Our parsed config must be the same JSON, with the same
warnings (compared by code and message, since our paths are document paths), and no errors; and
`.nango/nango.json` must be the same text as `JSON.stringify(parsed, null, 2)`, which is the
`parsed` member of `official.json` one indentation level out.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cli.codegen.json_text import js_json_text
from cli.config.loader import load_config

CORPUS = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "nango-yaml"
FOLDERS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []
MISSING = f"the shared corpus is not next to the project (looked for {CORPUS})"
# Read at import: the tests themselves run with `CI` removed from the environment.
IN_CI = bool(os.environ.get("CI"))


def official(folder: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((CORPUS / folder / "official.json").read_text("utf-8"))
    return result


def parsed_text(folder: str) -> str:
    """The `parsed` member of official.json as `JSON.stringify(parsed, null, 2)` wrote it."""
    lines = (CORPUS / folder / "official.json").read_text("utf-8").split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith('  "parsed": '))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("  }"))
    body = [lines[start].removeprefix('  "parsed": ')]
    body += [line.removeprefix("  ") for line in lines[start + 1 : end + 1]]
    body[-1] = body[-1].rstrip(",")
    return "\n".join(body)


if not FOLDERS:

    def test_corpus_is_present() -> None:
        if IN_CI:
            pytest.fail(MISSING)
        pytest.skip(MISSING)

else:

    @pytest.mark.parametrize("folder", FOLDERS, ids=FOLDERS)
    def test_corpus_matches_nango(folder: str) -> None:
        expected = official(folder)
        assert expected["ok"], "the corpus only holds files Nango accepts"
        loaded = load_config(CORPUS / folder / "nango.yaml")
        parsed = loaded.parsed.to_json()
        assert parsed == expected["parsed"]
        # Generated code follows the model order, so it must match too.
        assert list(parsed["models"]) == list(expected["parsed"]["models"])
        ours = Counter((w.code, w.message) for w in loaded.warnings)
        theirs = Counter((w["code"], w["message"]) for w in expected["warnings"])
        assert ours == theirs
        assert all(w.severity == "warning" for w in loaded.warnings)

    @pytest.mark.parametrize("folder", FOLDERS, ids=FOLDERS)
    def test_nango_json_is_nangos_text(folder: str) -> None:
        loaded = load_config(CORPUS / folder / "nango.yaml")
        ours = js_json_text(loaded.parsed.to_json())
        theirs = parsed_text(folder)
        assert json.loads(theirs) == official(folder)["parsed"]
        assert ours == theirs
