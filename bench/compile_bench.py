"""Does `nango compile` scale linearly with the number of scripts?

    python bench/compile_bench.py [--sizes 1000 5000] [--repeat 3]

For each size N, a temp project holds `generate_bench.py`'s nango.yaml with N syncs (10
integrations, a model and an endpoint each) and the stubs `generate()` wrote once (not timed).
`nango compile` then runs as users run it, a whole process in the project folder (so the models
and every script are imported afresh each time), the sizes alternating so that load on the
machine hits all of them. Printed: the median wall time of each size, the time per script, and
the ratio of the per-script time at the largest size to that at the smallest (PASS when <= 1.3:
linear). The issue's figure: 5,000 scripts took over 60 s (the loader rescanned every module
loaded so far after each script). The exit code is 0, or 1 on FAIL or when compile fails.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from generate_bench import alternated, config_text, linearity_report  # noqa: E402  (this folder is on sys.path)

NANGO = Path(sys.executable).with_name("nango")


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NANGO_") and k != "CI"}
    env["NO_COLOR"] = "1"
    return env


def timed_compile(root: Path, syncs: int) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [str(NANGO), "compile"], cwd=root, env=environment(), capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"nango compile failed at {syncs} syncs:\n{done.stdout}{done.stderr}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args(argv)
    sizes = sorted(options.sizes)
    from cli.codegen.generate import generate

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"cpus {os.cpu_count()}, load average {load}")
    with tempfile.TemporaryDirectory(prefix="nango-compile-bench-") as temp:
        roots = {}
        for size in sizes:
            roots[size] = Path(temp) / f"syncs-{size}"
            roots[size].mkdir()
            (roots[size] / "nango.yaml").write_text(config_text(size), encoding="utf-8")
            generate(project_root=roots[size])
        for size in sizes:  # warm-up: page cache, compiled modules
            timed_compile(roots[size], size)
        times = alternated(sizes, options.repeat, lambda size: timed_compile(roots[size], size))
    return linearity_report(f"`nango compile` as a process, median of {options.repeat}", times)


if __name__ == "__main__":
    raise SystemExit(main())
