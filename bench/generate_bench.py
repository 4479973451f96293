"""Does `generate` scale linearly with the number of scripts?

    python bench/generate_bench.py [--sizes 1000 5000] [--repeat 5]

For each size N, a temp project holds a generated nango.yaml with N syncs (spread over 10
integrations, each sync with a model of its own and an endpoint). `generate()` runs in-process on
a fresh project each time (generated files and stubs deleted before, not timed), the sizes
alternating so that load on the machine hits all of them. Printed: the median time of each size,
the time per script, and the ratio of the per-script time at the largest size to that at the
smallest (PASS when <= 1.3: linear). The exit code is 0, or 1 on FAIL.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

TARGET_RATIO = 1.3
INTEGRATIONS = 10


def config_text(syncs: int) -> str:
    """A nango.yaml with `syncs` syncs over `INTEGRATIONS` integrations, one model each."""
    lines = ["integrations:"]
    per_integration = -(-syncs // INTEGRATIONS)
    for number in range(syncs):
        if number % per_integration == 0:
            lines += [f"  api-{number // per_integration}:", "    syncs:"]
        lines += [
            f"      sync-{number}:",
            f"        description: Fetches the records of kind {number}.",
            "        runs: every hour",
            f"        output: Record{number}",
            f"        endpoint: GET /records-{number}",
        ]
    lines.append("models:")
    for number in range(syncs):
        lines += [
            f"  Record{number}:",
            "    id: string",
            "    title: string",
            "    count?: number",
            "    state: open | closed",
            "    created_at: date",
        ]
    return "\n".join(lines) + "\n"


def reset(root: Path) -> None:
    for child in root.iterdir():
        if child.name != "nango.yaml":
            shutil.rmtree(child) if child.is_dir() else child.unlink()


def timed_generate(root: Path, syncs: int) -> float:
    from cli.codegen.generate import generate

    reset(root)
    start = time.perf_counter()
    result = generate(project_root=root)
    elapsed = time.perf_counter() - start
    if len(result.created_scripts) != syncs:
        raise SystemExit(f"expected {syncs} stubs, generate created {len(result.created_scripts)}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args(argv)
    sizes = sorted(options.sizes)
    with tempfile.TemporaryDirectory(prefix="nango-generate-bench-") as temp:
        roots = {}
        for size in sizes:
            roots[size] = Path(temp) / f"syncs-{size}"
            roots[size].mkdir()
            (roots[size] / "nango.yaml").write_text(config_text(size), encoding="utf-8")
        for size in sizes:  # warm-up: imports, page cache
            timed_generate(roots[size], size)
        times = alternated(sizes, options.repeat, lambda size: timed_generate(roots[size], size))
    return linearity_report(
        f"generate() in-process, median of {options.repeat} (stubs written each time)", times
    )


def alternated(
    sizes: list[int], repeat: int, run: Callable[[int], float]
) -> dict[int, list[float]]:
    """`repeat` times of `run(size)` for each size, the sizes taking turns."""
    times: dict[int, list[float]] = {size: [] for size in sizes}
    for _ in range(repeat):
        for size in sizes:
            times[size].append(run(size))
    return times


def linearity_report(title: str, times: dict[int, list[float]]) -> int:
    """Print each size's median and time per script, and the ratio of the per-script time at the
    largest size to that at the smallest; 0 when it is within TARGET_RATIO (linear), else 1."""
    sizes = sorted(times)
    per_script = {size: statistics.median(times[size]) / size for size in sizes}
    print(title)
    for size in sizes:
        median = statistics.median(times[size])
        print(f"  {size:>6} syncs: {median:7.3f} s  {per_script[size] * 1e3:7.3f} ms per script")
    ratio = per_script[sizes[-1]] / per_script[sizes[0]]
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(
        f"per-script time at {sizes[-1]} / at {sizes[0]}: {ratio:.2f}x "
        f"{verdict} (target <= {TARGET_RATIO}x: linear)"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
