"""Speed of the `nango` CLI, as ratios against baselines measured in the same run.

    python bench/run.py [--quick] [--with-nango-cli]

Run it with the project's virtualenv active: `nango` is taken from the same folder as the
interpreter. Ours and the baseline are timed alternately, so load on the machine hits both.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from timing import compare

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "nango-yaml"
CACHE = REPO_ROOT / "bench" / ".cache"
PYTHON = sys.executable
NANGO = str(Path(sys.executable).parent / "nango")
NANGO_NPM_VERSION = "0.71.10"
HELP_TARGET_S = 0.15
YAML_LOAD = "import yaml,sys; yaml.load(open(sys.argv[1]), Loader=yaml.CSafeLoader)"


class CommandFailed(Exception):
    """A command under test exited with a non-zero code."""

    def __init__(self, error: subprocess.CalledProcessError) -> None:
        self.error = error
        super().__init__(f"{' '.join(map(str, error.cmd))} exited with {error.returncode}")


@dataclass(frozen=True)
class Counts:
    help_runs: int
    warmups: int
    generate_runs: int
    corpus_passes: int


FULL = Counts(help_runs=15, warmups=2, generate_runs=7, corpus_passes=3)
QUICK = Counts(help_runs=5, warmups=1, generate_runs=3, corpus_passes=1)


@dataclass(frozen=True)
class Row:
    """One line of the table: our time, the baseline's, and a note."""

    name: str
    ours: float
    baseline_name: str
    baseline: float
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline


def clean_env() -> dict[str, str]:
    """The environment minus NANGO_* and CI, without colors."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NANGO_") and k != "CI"}
    env["NO_COLOR"] = "1"
    return env


ENV = clean_env()


def timed_run(cmd: Sequence[str], cwd: Path | None = None) -> float:
    """Wall time of one subprocess run, in seconds; raises CommandFailed on a non-zero exit."""
    start = time.perf_counter()
    try:
        subprocess.run(list(cmd), cwd=cwd, env=ENV, check=True, capture_output=True)
    except subprocess.CalledProcessError as exc:
        raise CommandFailed(exc) from exc
    return time.perf_counter() - start


def reset_project(root: Path) -> None:
    """Delete everything in a project folder except its nango.yaml."""
    for child in root.iterdir():
        if child.name == "nango.yaml":
            continue
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def make_project(parent: Path, source: Path) -> Path:
    """A project folder under `parent` that holds only a copy of `source` as nango.yaml."""
    root = parent / source.parent.name
    root.mkdir()
    shutil.copyfile(source, root / "nango.yaml")
    return root


def generate_subprocess(root: Path) -> float:
    reset_project(root)
    return timed_run([NANGO, "generate"], cwd=root)


def yaml_subprocess(file: Path) -> float:
    return timed_run([PYTHON, "-c", YAML_LOAD, str(file)])


def bench_help(counts: Counts, workdir: Path) -> Row:
    ours, base = compare(
        lambda: timed_run([NANGO, "--help"], cwd=workdir),
        lambda: timed_run([PYTHON, "-c", "pass"], cwd=workdir),
        counts.help_runs,
        counts.warmups,
    )
    verdict = "PASS" if ours < HELP_TARGET_S else "FAIL"
    note = f"{verdict} (target < {HELP_TARGET_S * 1000:.0f} ms)"
    return Row("nango --help", ours, "python -c pass", base, note)


def bench_generate_one(counts: Counts, project: Path) -> Row:
    config = project / "nango.yaml"
    ours, base = compare(
        lambda: generate_subprocess(project),
        lambda: yaml_subprocess(config),
        counts.generate_runs,
        1,
    )
    name = f"nango generate ({project.name})"
    return Row(name, ours, "python + yaml.load", base, "subprocess")


def bench_generate_in_process(counts: Counts, project: Path) -> Row:
    import yaml

    from cli.codegen.generate import generate

    config = project / "nango.yaml"

    def ours() -> float:
        reset_project(project)
        start = time.perf_counter()
        generate(project_root=project)
        return time.perf_counter() - start

    def baseline() -> float:
        start = time.perf_counter()
        with config.open(encoding="utf-8") as stream:
            yaml.load(stream, Loader=yaml.CSafeLoader)
        return time.perf_counter() - start

    runs = counts.generate_runs * 3
    ours_s, base_s = compare(ours, baseline, runs, counts.warmups)
    name = f"generate() in-process ({project.name})"
    return Row(name, ours_s, "yaml.load in-process", base_s, f"median of {runs}")


def corpus_pass(projects: list[Path]) -> tuple[float, float]:
    """One pass over every project: summed `nango generate` and summed YAML-load baseline."""
    ours = base = 0.0
    for project in projects:
        ours += generate_subprocess(project)
        base += yaml_subprocess(project / "nango.yaml")
    return ours, base


def bench_corpus(counts: Counts, projects: list[Path]) -> Row:
    corpus_pass(projects)  # warm-up: page cache, .pyc files
    passes = [corpus_pass(projects) for _ in range(counts.corpus_passes)]
    ours = statistics.median(p[0] for p in passes)
    base = statistics.median(p[1] for p in passes)
    name = f"nango generate, all {len(projects)} files"
    note = f"sum per pass, median of {counts.corpus_passes}"
    return Row(name, ours, f"python + yaml.load x{len(projects)}", base, note)


def install_nango_cli() -> Path | None:
    """Nango's own CLI under bench/.cache (installed once); None when npm is missing."""
    prefix = CACHE / f"nango-{NANGO_NPM_VERSION}"
    entry = prefix / "node_modules" / "nango" / "dist" / "index.js"
    if entry.exists():
        return entry
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return None
    print(f"installing nango@{NANGO_NPM_VERSION} into {prefix} ...", flush=True)
    prefix.mkdir(parents=True, exist_ok=True)
    cmd = [npm, "install", "--prefix", str(prefix), f"nango@{NANGO_NPM_VERSION}"]
    timed_run([*cmd, "--no-audit", "--no-fund"])
    return entry


def bench_nango_cli(counts: Counts, workdir: Path) -> Row | None:
    entry = install_nango_cli()
    if entry is None:
        print("skipped Nango's CLI: node or npm not found")
        return None
    node = shutil.which("node") or "node"
    ours, theirs = compare(
        lambda: timed_run([NANGO, "--help"], cwd=workdir),
        lambda: timed_run([node, str(entry), "--help"], cwd=workdir),
        counts.help_runs,
        counts.warmups,
    )
    note = f"our speed-up: {theirs / ours:.1f}x (theirs / ours)"
    return Row(f"nango@{NANGO_NPM_VERSION} --help (node)", theirs, "our nango --help", ours, note)


def fmt_time(seconds: float) -> str:
    return f"{seconds * 1000:9.1f} ms" if seconds < 1 else f"{seconds:9.2f} s "


def print_table(rows: list[Row]) -> None:
    width = max(len(row.name) for row in rows)
    base_width = max(len(row.baseline_name) for row in rows)
    print(
        f"{'measurement':<{width}}  {'time':>12}  {'baseline':<{base_width}}  {'time':>12}  ratio"
    )
    for row in rows:
        print(
            f"{row.name:<{width}}  {fmt_time(row.ours)}  {row.baseline_name:<{base_width}}  "
            f"{fmt_time(row.baseline)}  {row.ratio:5.2f}x  {row.note}"
        )


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*/nango.yaml"))


def line_count(path: Path) -> int:
    with path.open("rb") as stream:
        return sum(1 for _ in stream)


@contextmanager
def workspace() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="nango-bench-") as folder:
        yield Path(folder)


def bench_corpus_rows(counts: Counts, work: Path) -> list[Row]:
    """Rows b) and c); none (with a message) when the corpus is absent."""
    files = corpus_files()
    if not files:
        print(f"corpus folder {CORPUS} is absent or empty: skipping the generate benchmarks")
        return []
    (work / "single").mkdir()
    (work / "corpus").mkdir()
    single = make_project(work / "single", max(files, key=line_count))
    projects = [make_project(work / "corpus", file) for file in files]
    return [
        bench_generate_one(counts, single),
        bench_generate_in_process(counts, single),
        bench_corpus(counts, projects),
    ]


def run_benchmarks(counts: Counts, with_nango_cli: bool) -> list[Row]:
    with workspace() as work:
        empty = work / "empty"
        empty.mkdir()
        rows = [bench_help(counts, empty), *bench_corpus_rows(counts, work)]
        if with_nango_cli:
            nango_row = bench_nango_cli(counts, empty)
            rows.extend([nango_row] if nango_row else [])
    return rows


def print_header(counts: Counts) -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"python {platform.python_version()} ({PYTHON}), {platform.platform()}")
    print(f"cpus {os.cpu_count()}, load average {load}")
    print(
        f"runs: --help {counts.help_runs} (+{counts.warmups} warm-up), "
        f"generate {counts.generate_runs}, corpus passes {counts.corpus_passes}; times are medians"
    )
    print()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer runs (noisier)")
    parser.add_argument(
        "--with-nango-cli",
        action="store_true",
        help=f"also time Nango's own CLI (npm nango@{NANGO_NPM_VERSION}, cached in bench/.cache)",
    )
    args = parser.parse_args(argv)
    counts = QUICK if args.quick else FULL
    print_header(counts)
    try:
        rows = run_benchmarks(counts, args.with_nango_cli)
    except CommandFailed as exc:
        stderr = (exc.error.stderr or b"").decode(errors="replace").strip()
        print(f"FAILED: {exc}\n{stderr}", file=sys.stderr)
        return 1
    print()
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
