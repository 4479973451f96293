"""Throughput and memory of a dry run that pages through many records from a local HTTP server.

    python bench/dryrun_bench.py [--records 100000] [--page-size 1000] [--repeat 7] [--profile]

Ours is `cli.dryrun.dry_run(...)` in-process on a temp project (GitHub provider, one sync that
does `async for page in nango.paginate(...): await nango.batch_save(page, "Item")`), and the same
dry run as users run it: `nango dryrun items bench` (human report) and `nango dryrun items bench
--json` as whole processes. Two baselines fetch the same pages with a bare `httpx.Client` loop
following the same `Link` headers: the fast one parses them with `orjson` and checks every record
with the model's core validator (`Item.__pydantic_validator__.validate_python`, what the SDK
calls), the older one with `json` and `Item.model_validate`. Everything is timed alternately in
the same run. The server is a separate process serving precomputed pages. Memory is measured for
two sizes (records / 5 and records), each in a subprocess of its own.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, StrictFloat, StrictInt, StrictStr

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

FAST_TARGET = 0.9
"""The in-process dry run's throughput against the fast baseline (orjson + core validator)."""
JSON_COMMAND_TARGET = 0.7
"""`nango dryrun --json` as a whole process, against the in-process dry run's throughput."""
MEMORY_GROWTH_LIMIT = 1.5
SMALL_FRACTION = 5
ENV_PREFIX = "NANGO_LOCAL_GITHUB_"
TOKEN = "gho_" + "bench0123456789" * 2 + "abcdef"
"""Shaped like a real token, so that the report's redaction of secrets runs as it does for users."""
PEERS_VENV = REPO_ROOT / "bench" / ".cache" / "peers-venv"
PEER_PACKAGES = ("dlt==1.31.0", "singer-sdk==0.54.9", "pydantic>=2.7")
PEERS = {
    "dlt-rest": "peer: dlt RESTClient.paginate + core validator",
    "singer-records": "peer: Singer SDK get_records + core validator",
    "singer-sync": "peer: Singer SDK tap sync_all (to /dev/null)",
}

SERVER_SOURCE = """
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

RECORDS, PAGE_SIZE = int(sys.argv[1]), int(sys.argv[2])
BODY = "Steps to reproduce: open the page, click the button, watch it fail. " * 2


def record(i):
    return {
        "id": str(i), "number": i, "title": f"Item {i}: the button does nothing",
        "state": "open" if i % 3 else "closed", "labels": ["bug", "p2", "ui"][: i % 4],
        "created_at": f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}T10:{i % 60:02d}:00Z",
        "author": None if i % 7 == 0 else f"user{i % 97}", "body": BODY,
    }


PAGES = [
    json.dumps([record(i) for i in range(start, min(start + PAGE_SIZE, RECORDS))]).encode()
    for start in range(0, RECORDS, PAGE_SIZE)
]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        parts = urlsplit(self.path)
        page = int(parse_qs(parts.query).get("page", ["1"])[0])
        body = PAGES[page - 1] if parts.path == "/items" and 1 <= page <= len(PAGES) else b"[]"
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        if parts.path == "/items" and page < len(PAGES):
            host = self.headers["host"]
            link = f"<http://{host}/items?page={page + 1}&per_page={PAGE_SIZE}>"
            self.send_header("link", link + '; rel="next"')
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""

NANGO_YAML = """\
integrations:
  github:
    syncs:
      items:
        description: Pages through the benchmark's items.
        runs: every hour
        output: Item
        endpoint: GET /items
models:
  Item:
    id: string
    number: number
    title: string
    state: string
    labels: string[]
    created_at: string
    author: string | null
    body: string
"""

SYNC_SCRIPT = """\
from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    async for page in nango.paginate(endpoint="/items", paginate={{"limit": {page_size}}}):
        await nango.batch_save(page, "Item")
"""


class BaselineItem(BaseModel):
    """What the generated `Item` checks: strict types, extra fields kept."""

    model_config = ConfigDict(extra="allow")

    id: StrictStr
    number: StrictInt | StrictFloat
    title: StrictStr
    state: StrictStr
    labels: list[StrictStr]
    created_at: StrictStr
    author: StrictStr | None
    body: StrictStr


@dataclass(frozen=True)
class Setup:
    records: int
    page_size: int
    base_url: str
    project: Path
    work: Path


class BenchFailed(Exception):
    """A run did not produce the expected records."""


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float
    """CPU time of this process's threads and of the child processes waited for meanwhile (not
    the server's): steadier than the wall time on a busy machine."""
    peak_rss_mb: float = 0.0
    """Of a command's process (0 for what runs in this process)."""


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Stopwatch:
    """`with Stopwatch() as watch: ...`, then `watch.timing`."""

    timing = Timing(0.0, 0.0)

    def __enter__(self) -> Stopwatch:
        self._wall, self._cpu = time.perf_counter(), _cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._wall
        self.timing = Timing(wall, _cpu_seconds() - self._cpu)


@contextmanager
def http_server(folder: Path, records: int, page_size: int) -> Iterator[str]:
    """A server process serving `records` in pages of `page_size`; yields its base URL."""
    script = folder / "server.py"
    script.write_text(SERVER_SOURCE, encoding="utf-8")
    cmd = [sys.executable, str(script), str(records), str(page_size)]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        if not port.isdigit():
            raise BenchFailed(f"the HTTP server did not start (exit code {process.poll()})")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def make_project(root: Path, page_size: int) -> Path:
    """A project with the `items` sync of integration `github`, generated and written."""
    from cli.codegen.generate import generate

    root.mkdir()
    (root / "nango.yaml").write_text(NANGO_YAML, encoding="utf-8")
    generate(project_root=root)
    script = SYNC_SCRIPT.format(page_size=page_size)
    (root / "github" / "syncs" / "items.py").write_text(script, encoding="utf-8")
    return root


@contextmanager
def bench_setup(records: int, page_size: int) -> Iterator[Setup]:
    """Server, project and local connection settings, all removed afterwards."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("NANGO_")}
    with tempfile.TemporaryDirectory(prefix="nango-dryrun-bench-") as folder:
        work = Path(folder)
        with http_server(work, records, page_size) as base_url:
            for key in saved:
                del os.environ[key]
            os.environ[ENV_PREFIX + "ACCESS_TOKEN"] = TOKEN
            os.environ[ENV_PREFIX + "BASE_URL"] = base_url
            try:
                project = make_project(work / "project", page_size)
                yield Setup(records, page_size, base_url, project, work)
            finally:
                stop_warm_servers(work)
                for key in [k for k in os.environ if k.startswith("NANGO_")]:
                    del os.environ[key]
                os.environ.update(saved)


def run_ours(setup: Setup) -> Timing:
    """One in-process dry run, timed, after checking every record was saved."""
    from cli.dryrun.run import DryRunOptions, dry_run

    options = DryRunOptions(name="items", connection_id="bench", integration_id="github")
    with Stopwatch() as watch:
        report = dry_run(options, project_root=setup.project)
    saved = report.capture.record_count("save")
    report.capture.close()
    if report.error is not None:
        raise BenchFailed(f"the dry run failed: {report.error.to_json()}")
    if saved != setup.records:
        raise BenchFailed(f"the dry run saved {saved} records, expected {setup.records}")
    return watch.timing


def _fetch_pages(setup: Setup) -> Iterator[bytes]:
    """The body of every page, following the `Link` headers with a bare `httpx.Client`."""
    with httpx.Client(headers={"authorization": f"Bearer {TOKEN}"}) as client:
        url: str | None = f"{setup.base_url}/items?per_page={setup.page_size}"
        while url is not None:
            response = client.get(url)
            response.raise_for_status()
            yield response.content
            url = response.links.get("next", {}).get("url")


def _check_count(name: str, count: int, setup: Setup) -> None:
    if count != setup.records:
        raise BenchFailed(f"{name} read {count} records, expected {setup.records}")


def run_fast_baseline(setup: Setup) -> Timing:
    """The pages parsed with `orjson`, each record checked with the model's core validator."""
    validate = BaselineItem.__pydantic_validator__.validate_python
    count = 0
    with Stopwatch() as watch:
        for body in _fetch_pages(setup):
            for record in orjson.loads(body):
                validate(record)
                count += 1
    _check_count("the fast baseline", count, setup)
    return watch.timing


def run_validate_baseline(setup: Setup) -> Timing:
    """The pages parsed with `json`, each record checked with `BaselineItem.model_validate`."""
    count = 0
    with Stopwatch() as watch:
        for body in _fetch_pages(setup):
            for record in json.loads(body):
                BaselineItem.model_validate(record)
                count += 1
    _check_count("the model_validate baseline", count, setup)
    return watch.timing


# --- the command as users run it ------------------------------------------------------------------


def command_env(work: Path, *, warm: bool) -> dict[str, str]:
    """The bench's environment (the local connection settings included), no colors, minus CI
    and PYTHONDONTWRITEBYTECODE: a user's installation has its modules compiled. With `warm`,
    the warm start on (as it is for users), its server's socket in `work`, and the CPU time and
    peak memory of the command's process (the server's child, not the `nango` process's) written
    to a file for `run_process`; without, the warm start off."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTHONDONTWRITEBYTECODE")}
    env.update(NO_COLOR="1", COLUMNS="100", LINES="40")
    env.update(NANGO_WARM="1" if warm else "0", NANGO_WARM_DIR=str(work / "warm"))
    env[WARM_USAGE_VARIABLE] = str(work / "warm-usage.json")
    return env


WARM_USAGE_VARIABLE = "NANGO_WARM_USAGE_FILE"
WARM_RUNS: dict[bool, int] = {True: 0, False: 0}
"""Of the command runs meant to be warm, how many were (True) and were not (False)."""


def stop_warm_servers(work: Path) -> None:
    """SIGTERM to each warm server the bench's commands started (its pid is in its lock file)."""
    import signal

    for lock in (work / "warm").glob("*.lock"):
        with suppress(OSError, ValueError):
            os.kill(int(lock.read_text().strip()), signal.SIGTERM)


PEAK_FILE_VARIABLE = "DRYRUN_BENCH_PEAK_FILE"
NANGO_WITH_PEAK = f"""
import atexit, os, sys

def write_peak():
    try:
        with open("/proc/self/status") as status:
            peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return
    with open(os.environ["{PEAK_FILE_VARIABLE}"], "w") as out:
        out.write(peak)

atexit.register(write_peak)
sys.argv[0] = "nango"
from cli.app import main
sys.exit(main())
"""
"""What the `nango` script runs, plus the process's own peak RSS written at exit (Linux): the
peak `wait4` reports would count the memory of this process, which forked it."""


def _command(*args: str) -> list[str]:
    return [sys.executable, "-c", NANGO_WITH_PEAK, "dryrun", "items", "bench", *args]


def _warm_usage(path: Path) -> tuple[float, float] | None:
    """CPU seconds and peak RSS (MB) of the command's process in a warm server, if it ran there."""
    if not path.exists():
        return None
    usage = json.loads(path.read_text())
    path.unlink()
    return usage["user_s"] + usage["system_s"], usage["max_rss_kb"] / 1024


def _failed(name: str, code: int, output: bytes) -> BenchFailed:
    tail = output.decode(errors="replace")[-2000:]
    return BenchFailed(f"{name} exited with {code}:\n{tail}")


def run_process(
    command: list[str], cwd: Path, stdout: IO[bytes], stderr: IO[bytes], *, warm: bool = True
) -> tuple[int, Timing]:
    """Run `command` to its end: its exit code, wall and CPU time and peak RSS (0 where
    /proc is missing). Run by a warm server, the command's process is counted too."""
    peak_file = cwd.parent / "peak-rss-kb"
    peak_file.unlink(missing_ok=True)
    env = {**command_env(cwd.parent, warm=warm), PEAK_FILE_VARIABLE: str(peak_file)}
    usage_file = Path(env[WARM_USAGE_VARIABLE])
    usage_file.unlink(missing_ok=True)
    with Stopwatch() as watch:
        code = subprocess.run(
            command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr
        ).returncode
    peak_mb = int(peak_file.read_text()) / 1024 if peak_file.exists() else 0.0
    cpu = watch.timing.cpu
    usage = _warm_usage(usage_file)
    if warm:
        WARM_RUNS[usage is not None] += 1
    if usage is not None:
        cpu += usage[0]
        peak_mb = max(peak_mb, usage[1])
    return code, Timing(watch.timing.wall, cpu, peak_mb)


def run_json_command(setup: Setup, *, warm: bool = True) -> Timing:
    """`nango dryrun items bench --json > file` as a process, timed, after checking the report
    holds every record and no error."""
    out = setup.work / "report.json"
    with out.open("w+b") as stdout, tempfile.TemporaryFile() as stderr:
        code, timing = run_process(_command("--json"), setup.project, stdout, stderr, warm=warm)
        stderr.seek(0)
        if code != 0:
            raise _failed("nango dryrun --json", code, stderr.read())
    report = orjson.loads(out.read_bytes())
    out.unlink()
    if report["error"] is not None:
        raise BenchFailed(f"nango dryrun --json reported an error: {report['error']}")
    _check_count("nango dryrun --json", len(report["batch_save"]["Item"]), setup)
    return timing


def _check_human(name: str, code: int, output: bytes, setup: Setup) -> None:
    if code != 0:
        raise _failed(name, code, output)
    if f"would save {setup.records:,} records".encode() not in output:
        tail = output.decode(errors="replace")[-2000:]
        raise BenchFailed(f"{name} did not report {setup.records:,} records saved:\n{tail}")


def run_human_command(setup: Setup) -> Timing:
    """`nango dryrun items bench` as a process, its report to a file (no status line)."""
    with tempfile.TemporaryFile() as output:
        code, timing = run_process(_command(), setup.project, output, output)
        output.seek(0)
        _check_human("nango dryrun", code, output.read(), setup)
    return timing


def run_terminal_command(setup: Setup) -> Timing:
    """`nango dryrun items bench` as a process on a pseudo-terminal: the live status line is
    drawn while the script runs, as a user sees it."""
    import pty

    master, child_end = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        with suppress(OSError):  # EIO once the last process holding the terminal exits
            while data := os.read(master, 1 << 16):
                chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        with os.fdopen(child_end, "w+b", buffering=0, closefd=True) as terminal:
            code, timing = run_process(_command(), setup.project, terminal, terminal)
        reader.join(timeout=10)
    finally:
        os.close(master)
    _check_human("nango dryrun (terminal)", code, b"".join(chunks), setup)
    return timing


# --- peers (--with-peers) -------------------------------------------------------------------------


def peers_python() -> Path | None:
    """The peers' virtualenv's interpreter, installed on first use (None when it cannot be)."""
    python = PEERS_VENV / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    if python.exists():
        return python
    print(f"installing {', '.join(PEER_PACKAGES)} into {PEERS_VENV} (once) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
    install = [str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES]
    if subprocess.run(install, check=False).returncode != 0:
        print("the peers could not be installed: --with-peers skipped", file=sys.stderr)
        return None
    return python


class PeerWorker:
    """A worker process of `dryrun_peers.py` that runs one peer on request."""

    def __init__(self, python: Path, peer: str, setup: Setup) -> None:
        self.peer = peer
        script = Path(__file__).with_name("dryrun_peers.py")
        args = [peer, setup.base_url, str(setup.records), str(setup.page_size), TOKEN]
        self._process = subprocess.Popen(
            [str(python), str(script), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self) -> Timing:
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        stdin.write("run\n")
        stdin.flush()
        answer = json.loads(stdout.readline() or '{"error": "the worker ended"}')
        if "error" in answer:
            raise BenchFailed(f"peer {self.peer}: {answer['error']}")
        return Timing(answer["wall"], answer["cpu"], answer["peak_rss_mb"])

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def peer_contenders(setup: Setup, stack: ExitStack) -> dict[str, Contender]:
    python = peers_python()
    if python is None:
        return {}
    found: dict[str, Contender] = {}
    for peer, label in PEERS.items():
        worker = PeerWorker(python, peer, setup)
        stack.callback(worker.close)
        found[peer] = Contender(label, worker.run)
    return found


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size in MB: from /proc/self/status on Linux, else the
    peak from getrusage for both (Linux reports KB, macOS bytes)."""
    status = Path("/proc/self/status")
    if status.exists():
        fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
    return peak_mb, peak_mb


def reset_peak_rss() -> None:
    """Start the peak RSS afresh where Linux allows it (`5` into /proc/self/clear_refs)."""
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def traced_peak_mb(run: Callable[[], object]) -> float:
    """The tracemalloc peak of Python allocations during `run()`, in MB."""
    gc.collect()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / (1024 * 1024)
    finally:
        tracemalloc.stop()


def measure_memory(records: int, page_size: int) -> dict[str, float]:
    """Peak RSS of a cold dry run, then tracemalloc peaks of a warm one and of the baseline."""
    import cli.dryrun.run  # noqa: F401  imported before the RSS baseline

    with bench_setup(records, page_size) as setup:
        gc.collect()
        reset_peak_rss()
        rss_before = rss_mb()[0]
        run_ours(setup)
        rss_peak = rss_mb()[1]
        ours_peak = traced_peak_mb(lambda: run_ours(setup))
        base_peak = traced_peak_mb(lambda: run_fast_baseline(setup))
    return {
        "records": records,
        "rss_before_mb": rss_before,
        "rss_peak_mb": rss_peak,
        "tracemalloc_peak_mb": ours_peak,
        "baseline_tracemalloc_peak_mb": base_peak,
    }


def memory_in_subprocess(records: int, page_size: int) -> dict[str, float]:
    """`measure_memory` in a fresh interpreter, so sizes don't share a high-water mark."""
    cmd = [sys.executable, __file__, "--measure-memory", "--records", str(records)]
    done = subprocess.run(
        [*cmd, "--page-size", str(page_size)], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@contextmanager
def profiling_threads(profiler: cProfile.Profile) -> Iterator[None]:
    """Profile threads started inside the block (`dry_run` runs the script in a worker thread)."""
    import threading

    original = threading.Thread.run

    def run(self: threading.Thread) -> None:
        profiler.enable()
        try:
            original(self)
        finally:
            profiler.disable()

    threading.Thread.run = run  # type: ignore[method-assign]
    try:
        yield
    finally:
        threading.Thread.run = original  # type: ignore[method-assign]


def profile_ours(setup: Setup, top: int) -> None:
    """One warm dry run under cProfile (main and script threads); the top functions."""
    run_ours(setup)
    profiler = cProfile.Profile()
    with profiling_threads(profiler):
        profiler.enable()
        timing = run_ours(setup)
        profiler.disable()
    print(f"\nprofile of one dry run ({timing.wall:.2f} s wall, under cProfile):")
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


@dataclass(frozen=True)
class Contender:
    label: str
    run: Callable[[], Timing]


def contenders(setup: Setup, *, commands: bool) -> dict[str, Contender]:
    found = {
        "ours": Contender("nango dry run, in-process", lambda: run_ours(setup)),
        "fast": Contender(
            "baseline: httpx + orjson + core validator", lambda: run_fast_baseline(setup)
        ),
        "validate": Contender(
            "baseline: httpx + json + model_validate", lambda: run_validate_baseline(setup)
        ),
    }
    if commands:
        found["json"] = Contender(
            "nango dryrun --json > file (process)",
            lambda: run_json_command(setup),
        )
        found["json-cold"] = Contender(
            "  the same, NANGO_WARM=0 (process)",
            lambda: run_json_command(setup, warm=False),
        )
        found["human"] = Contender(
            "nango dryrun > pipe (process)", lambda: run_human_command(setup)
        )
        if sys.platform != "win32":
            found["terminal"] = Contender(
                "nango dryrun on a terminal (process)", lambda: run_terminal_command(setup)
            )
    return found


def alternate(runs: dict[str, Contender], repeat: int, warmups: int) -> dict[str, Timing]:
    """The median wall and CPU times of each, run in turn (`warmups` rounds first, not counted)."""
    timings: dict[str, list[Timing]] = {key: [] for key in runs}
    for round_ in range(warmups + repeat):
        for key, contender in runs.items():
            timing = contender.run()
            if round_ >= warmups:
                timings[key].append(timing)
    return {key: median_timing(got) for key, got in timings.items()}


def median_timing(timings: list[Timing]) -> Timing:
    return Timing(
        statistics.median(t.wall for t in timings),
        statistics.median(t.cpu for t in timings),
        statistics.median(t.peak_rss_mb for t in timings),
    )


def ratio_line(name: str, ours: Timing, other: Timing, target: float | None) -> str:
    """`other`'s time over `ours` (a throughput ratio: above 1 when ours is faster)."""
    wall, cpu = other.wall / ours.wall, other.cpu / ours.cpu
    line = f"  {name:<58}{wall:6.2f}   (CPU {cpu:.2f})"
    if target is None:
        return line
    return f"{line}  {'PASS' if wall >= target else 'FAIL'} (target >= {target:.2f})"


def bench_throughput(setup: Setup, args: argparse.Namespace) -> None:
    """Every contender's median time and rate, then the ratios against their targets."""
    with ExitStack() as stack:
        runs = contenders(setup, commands=not args.skip_commands)
        if args.with_peers:
            runs.update(peer_contenders(setup, stack))
        medians = alternate(runs, args.repeat, args.warmups)
    print_timings(runs, medians, setup.records)
    print("\nthroughput ratios, wall time (CPU time), above 1 when the first is faster:")
    print("\n".join(ratio_lines(runs, medians)))
    if WARM_RUNS[True] or WARM_RUNS[False]:
        print(
            f"warm start: {WARM_RUNS[True]} of the {sum(WARM_RUNS.values())} command runs meant to "
            "go through it did (the first of each starts the server; the rest should)"
        )


def print_timings(runs: dict[str, Contender], medians: dict[str, Timing], records: int) -> None:
    print(f"{'':<48}{'wall':>8}   {'records/s':>10}   {'CPU':>7}   {'peak RSS':>8}")
    for key, contender in runs.items():
        timing = medians[key]
        speed = records / timing.wall
        rss = f"{timing.peak_rss_mb:5.0f} MB" if timing.peak_rss_mb else ""
        print(
            f"{contender.label:<48}{timing.wall:6.3f} s   {speed:>10,.0f}   {timing.cpu:5.2f} s"
            f"   {rss:>8}"
        )


def ratio_lines(runs: dict[str, Contender], medians: dict[str, Timing]) -> list[str]:
    ours = medians["ours"]
    lines = [
        ratio_line("in-process vs fast baseline", ours, medians["fast"], FAST_TARGET),
        ratio_line("in-process vs model_validate baseline", ours, medians["validate"], None),
    ]
    commands = (("json", JSON_COMMAND_TARGET), ("json-cold", None), ("human", None))
    for key, target in (*commands, ("terminal", None)):
        if key in medians:
            name = f"{runs[key].label.removesuffix(' (process)').strip()} vs in-process"
            lines.append(ratio_line(name, medians[key], ours, target))
    for key in PEERS:
        if key in medians:
            name = "in-process vs " + runs[key].label.removeprefix("peer: ")
            lines.append(ratio_line(name, ours, medians[key], None))
    return lines


def json_command_peak_mb(records: int, page_size: int) -> float:
    """The peak RSS of `nango dryrun --json` (its second run: the first compiles the project)."""
    with bench_setup(records, page_size) as setup:
        run_json_command(setup)
        return run_json_command(setup).peak_rss_mb


def print_memory_table(results: list[dict[str, float]]) -> None:
    print(
        f"{'records':>9}  {'tracemalloc peak':>16}  {'peak RSS':>9}  {'RSS before run':>14}  "
        f"{'--json process':>14}  {'baseline tracemalloc peak':>25}"
    )
    for result in results:
        print(
            f"{result['records']:>9,.0f}  {result['tracemalloc_peak_mb']:>13.1f} MB  "
            f"{result['rss_peak_mb']:>6.1f} MB  {result['rss_before_mb']:>11.1f} MB  "
            f"{result['command_peak_mb']:>11.1f} MB  "
            f"{result['baseline_tracemalloc_peak_mb']:>22.1f} MB"
        )


def bench_memory(records: int, page_size: int) -> None:
    small = max(page_size, records // SMALL_FRACTION)
    results = [memory_in_subprocess(n, page_size) for n in (small, records)]
    for result in results:
        result["command_peak_mb"] = json_command_peak_mb(int(result["records"]), page_size)
    print_memory_table(results)
    first, last = results
    growth = {
        name: last[key] / first[key] if first[key] else 0.0
        for name, key in (
            ("tracemalloc peak", "tracemalloc_peak_mb"),
            ("peak RSS", "rss_peak_mb"),
            ("--json process peak RSS", "command_peak_mb"),
        )
    }
    verdict = "PASS" if max(growth.values()) <= MEMORY_GROWTH_LIMIT else "FAIL"
    shown = ", ".join(f"{name} {ratio:.2f}x" for name, ratio in growth.items())
    print(
        f"growth {records:,} vs {small:,} records: {shown}  {verdict} "
        f"(target <= {MEMORY_GROWTH_LIMIT}x)"
    )
    base = last["baseline_tracemalloc_peak_mb"] / first["baseline_tracemalloc_peak_mb"]
    print(f"(baseline tracemalloc peak: {base:.2f}x)")


def print_header(args: argparse.Namespace) -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    pages = -(-args.records // args.page_size)
    print(f"python {platform.python_version()} ({sys.executable}), {platform.platform()}")
    print(f"cpus {os.cpu_count()}, load average {load}")
    print(
        f"{args.records:,} records, {args.page_size:,} per page ({pages} pages) from a local "
        f"server process; {args.repeat} runs each (+{args.warmups} warm-up), alternating; "
        "times are medians"
    )
    print()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each (median)")
    parser.add_argument("--warmups", type=int, default=1)
    parser.add_argument("--skip-memory", action="store_true", help="do not measure memory")
    parser.add_argument(
        "--skip-commands", action="store_true", help="do not time `nango dryrun` as a process"
    )
    parser.add_argument(
        "--with-peers",
        action="store_true",
        help="also time dlt's REST client and the Singer SDK (installed once, in bench/.cache)",
    )
    parser.add_argument("--profile", action="store_true", help="also cProfile one dry run")
    parser.add_argument("--profile-top", type=int, default=30, help=argparse.SUPPRESS)
    parser.add_argument("--measure-memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.records < 1 or args.page_size < 1 or args.repeat < 1:
        parser.error("--records, --page-size and --repeat must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.measure_memory:
            print(json.dumps(measure_memory(args.records, args.page_size)))
            return 0
        print_header(args)
        with bench_setup(args.records, args.page_size) as setup:
            bench_throughput(setup, args)
            if args.profile:
                profile_ours(setup, args.profile_top)
        if not args.skip_memory:
            print("\npeak memory of the dry run, each size in its own process:")
            bench_memory(args.records, args.page_size)
    except (BenchFailed, subprocess.CalledProcessError) as exc:
        stderr = getattr(exc, "stderr", None) or ""
        print(f"FAILED: {exc}\n{stderr}".rstrip(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
