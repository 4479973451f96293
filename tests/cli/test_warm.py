"""The warm start of `nango dryrun` (cli/warm/), with real processes: a first command starts a
server, the next ones run in processes it forks, each with its own environment, directory,
streams, exit status and signals; a server that is gone, outdated or unsafe to use costs
nothing but the speed."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.warm import channel, server
from tests.helpers import outside_env, write_tree

pytestmark = pytest.mark.skipif(
    not channel.enabled({"NANGO_WARM": "1"}), reason="no Unix sockets with descriptor passing"
)

NANGO = [sys.executable, "-m", "cli"]
REPO_ROOT = Path(__file__).resolve().parents[2]
YAML = """\
integrations:
  demo:
    syncs:
      items:
        runs: every hour
        output: Item
        endpoint: GET /items
      slow:
        runs: every hour
        output: Slow
        endpoint: GET /slow
      broken:
        runs: every hour
        output: Broken
        endpoint: GET /broken
models:
  Item:
    id: string
  Slow:
    id: string
  Broken:
    id: string
"""
ITEMS = """\
import os
import sys

from models import NangoSync

with open(os.environ["BODY_LOG"], "a", encoding="utf-8") as log:
    log.write("loaded\\n")


async def fetch_data(nango: NangoSync) -> None:
    mark = os.environ.get("WARM_MARK", "none")
    stdin = sys.stdin.read() if os.environ.get("READ_STDIN") else ""
    record = {"id": mark, "cwd": os.getcwd(), "pid": os.getpid(), "stdin": stdin}
    await nango.batch_save([record], "Item")
"""
SLOW = """\
import asyncio
import os

from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    with open(os.environ["PID_FILE"], "w", encoding="utf-8") as out:
        out.write(str(os.getpid()))
    await asyncio.sleep(60)
"""
BROKEN = """\
from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    raise RuntimeError("boom from the script")
"""


class Warm:
    """A project, a private socket folder, and `nango` processes with the warm start on."""

    def __init__(self, root: Path, folder: Path, log: Path) -> None:
        self.root = root
        self.folder = folder
        self.body_log = log
        self.usage = folder.parent / "usage.json"
        self.callers: list[subprocess.Popen[bytes]] = []  # ended at teardown, whatever happened

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **outside_env(),
            "NANGO_WARM": "1",
            "NANGO_WARM_DIR": str(self.folder),
            "NANGO_WARM_USAGE_FILE": str(self.usage),
            "PYTHONPATH": str(REPO_ROOT),
            "BODY_LOG": str(self.body_log),
            "NANGO_LOCAL_DEMO_PROVIDER": "metabase",
            "NANGO_LOCAL_DEMO_API_KEY": "key-for-the-warm-tests",
            "NANGO_LOCAL_DEMO_CONNECTION_CONFIG": '{"subdomain": "x"}',
            **extra,
        }

    def run(
        self, *args: str, cwd: Path | None = None, input: str = "", **extra: str
    ) -> subprocess.CompletedProcess[str]:
        self.usage.unlink(missing_ok=True)
        return subprocess.run(
            [*NANGO, "dryrun", *args],
            cwd=cwd or self.root,
            env=self.env(**extra),
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def cold_then_warm(
        self, *args: str
    ) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
        """The command run without a server (starting one), then in that server."""
        cold = self.run(*args)
        assert not self.served_warm()
        self.server_pid()
        hot = self.run(*args)
        assert self.served_warm()
        return cold, hot

    def served_warm(self) -> bool:
        """Whether the last command ran in a warm server's process (it wrote its usage)."""
        return self.usage.exists()

    def server_pid(self, timeout: float = 20.0) -> int:
        """The pid of the running server, once it takes commands."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for lock in self.folder.glob("*.lock"):
                text = lock.read_text().strip()
                sockets = list(self.folder.glob("*.sock"))
                if text.isdigit() and sockets and _alive(int(text)) and _accepts(sockets[0]):
                    return int(text)
            time.sleep(0.05)
        raise AssertionError(f"no warm server started; log: {self.log()}")

    def log(self) -> str:
        return "".join(p.read_text() for p in self.folder.glob("*.log"))

    def stop_servers(self) -> None:
        """SIGTERM (a server then ends as it does for users, its coverage data saved), SIGKILL
        if it has not ended after 10 s."""
        for lock in self.folder.glob("*.lock"):
            text = lock.read_text().strip()
            if text.isdigit() and _alive(int(text)):
                os.kill(int(text), signal.SIGTERM)
                try:
                    _wait_gone(int(text), timeout=10)
                except AssertionError:
                    os.kill(int(text), signal.SIGKILL)
                    _wait_gone(int(text))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (ours) is not alive
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _accepts(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def _wait_gone(pid: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            raise AssertionError(f"process {pid} is still running")
        time.sleep(0.05)


def _eventually(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


@pytest.fixture
def warm(tmp_path: Path) -> Iterator[Warm]:
    root = write_tree(
        tmp_path / "project",
        {
            "nango.yaml": YAML,
            "demo/syncs/items.py": ITEMS,
            "demo/syncs/slow.py": SLOW,
            "demo/syncs/broken.py": BROKEN,
        },
    )
    # a short path: a Unix socket's path has a length limit
    folder = Path(tempfile.mkdtemp(prefix="nw-", dir="/tmp")) / "warm"
    helper = Warm(root, folder, tmp_path / "body.log")
    try:
        yield helper
    finally:
        for caller in helper.callers:
            if caller.poll() is None:
                caller.kill()
                caller.wait(timeout=20)
            if caller.stderr is not None:
                caller.stderr.close()
        helper.stop_servers()
        shutil.rmtree(folder.parent, ignore_errors=True)


def _record(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stdout + result.stderr
    record: dict[str, Any] = json.loads(result.stdout)["batch_save"]["Item"][0]
    return record


@pytest.mark.slow
def test_the_first_command_starts_a_server_and_the_next_run_in_it(warm: Warm) -> None:
    first = _record(warm.run("items", "c1", "--json", WARM_MARK="first"))
    assert not warm.served_warm()
    pid = warm.server_pid()
    second = _record(warm.run("items", "c1", "--json", WARM_MARK="second"))
    assert warm.served_warm()
    third = _record(warm.run("items", "c1", "--json", WARM_MARK="third"))
    # each command its own process (forked by the server), its own environment
    assert [first["id"], second["id"], third["id"]] == ["first", "second", "third"]
    assert len({first["pid"], second["pid"], third["pid"], pid}) == 4
    # the module body runs once per command, warm or not
    assert warm.body_log.read_text(encoding="utf-8") == "loaded\n" * 3
    # the server logs its life, never a command line or an environment
    assert "started" in warm.log()
    assert "key-for-the-warm-tests" not in warm.log() and "second" not in warm.log()
    assert oct(warm.folder.stat().st_mode & 0o777) == "0o700"


@pytest.mark.slow
def test_a_warm_command_gets_the_callers_directory_streams_and_output(warm: Warm) -> None:
    cold, hot = warm.cold_then_warm("items", "c1")
    assert (hot.returncode, hot.stderr) == (cold.returncode, cold.stderr)
    assert _normal(hot.stdout) == _normal(cold.stdout)
    subfolder = warm.root / "demo" / "syncs"
    record = _record(
        warm.run("items", "c1", "--json", cwd=subfolder, input="from stdin", READ_STDIN="1")
    )
    assert warm.served_warm()
    assert record["cwd"] == str(subfolder)
    assert record["stdin"] == "from stdin"


def _normal(report: str) -> str:
    """A human report without what differs from run to run: durations, the process id."""
    return re.sub(r"\d+\.\d+ s|\b\d{3,}\b", "N", report)


@pytest.mark.slow
def test_a_failing_command_exits_as_it_would_without_the_server(warm: Warm) -> None:
    cold, hot = warm.cold_then_warm("broken", "c1")
    assert hot.returncode == cold.returncode != 0
    assert "boom from the script" in hot.stdout + hot.stderr
    assert (_normal(hot.stdout), hot.stderr) == (_normal(cold.stdout), cold.stderr)
    bad = warm.run("nosuchscript", "c1")
    assert warm.served_warm()
    assert bad.returncode == warm.run("nosuchscript", "c1", NANGO_WARM="0").returncode != 0


@pytest.mark.slow
def test_ctrl_c_reaches_the_command_and_a_killed_caller_ends_it(warm: Warm, tmp_path: Path) -> None:
    warm.run("items", "c1")
    warm.server_pid()
    # Ctrl-C: the script's KeyboardInterrupt, 130; SIGTERM ends the command and then `nango` by
    # the same signal (as without the server); SIGKILL leaves the server to end the command
    ended = ((signal.SIGINT, 130), (signal.SIGTERM, -signal.SIGTERM), (signal.SIGKILL, None))
    for sig, expected in ended:
        caller, command = _start_slow(warm, tmp_path / f"slow-{sig}.pid")
        assert command != caller.pid  # the script runs in the server's child
        caller.send_signal(sig)
        code = caller.wait(timeout=20)
        if expected is not None:
            assert code == expected
        _wait_gone(command)
    assert _alive(warm.server_pid())  # the server goes on


@pytest.mark.slow
def test_a_dead_server_costs_nothing_but_speed(warm: Warm) -> None:
    warm.run("items", "c1")
    first = warm.server_pid()
    os.kill(first, signal.SIGKILL)
    _wait_gone(first)
    assert _record(warm.run("items", "c1", "--json", WARM_MARK="after"))["id"] == "after"
    assert not warm.served_warm()
    second = warm.server_pid()  # a new one was started
    assert second != first
    warm.run("items", "c1")
    assert warm.served_warm()


@pytest.mark.slow
def test_an_outdated_server_hands_back_the_command_and_is_replaced(
    warm: Warm, tmp_path: Path
) -> None:
    installed = tmp_path / "site-packages"  # where pip installs: the server watches it
    installed.mkdir()
    path = f"{REPO_ROOT}{os.pathsep}{installed}"
    warm.run("items", "c1", PYTHONPATH=path)
    first = warm.server_pid()
    warm.run("items", "c1", PYTHONPATH=path)
    assert warm.served_warm()
    (installed / "newly_installed.py").write_text("", encoding="utf-8")
    result = warm.run("items", "c1", "--json", WARM_MARK="stale", PYTHONPATH=path)
    assert _record(result)["id"] == "stale"
    assert not warm.served_warm()  # it ran in the caller
    _wait_gone(first)
    assert "changed" in warm.log()
    assert warm.server_pid() != first
    warm.run("items", "c1", PYTHONPATH=path)
    assert warm.served_warm()


@pytest.mark.slow
def test_concurrent_commands_each_get_their_own_result(warm: Warm) -> None:
    warm.run("items", "c1")
    warm.server_pid()
    callers = [
        subprocess.Popen(
            [*NANGO, "dryrun", "items", "c1", "--json"],
            cwd=warm.root,
            env=warm.env(WARM_MARK=f"caller-{i}"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    marks = []
    for caller in callers:
        out, err = caller.communicate(timeout=60)
        assert caller.returncode == 0, err
        marks.append(json.loads(out)["batch_save"]["Item"][0]["id"])
    assert marks == [f"caller-{i}" for i in range(4)]


@pytest.mark.slow
def test_off_unsafe_or_idle_means_no_server(warm: Warm) -> None:
    for _ in range(2):
        assert warm.run("items", "c1", NANGO_WARM="0").returncode == 0
    assert not warm.folder.exists()
    warm.folder.mkdir(mode=0o700)
    warm.folder.chmod(0o777)  # others could plant a socket: not used
    for _ in range(2):
        assert warm.run("items", "c1").returncode == 0
        assert not warm.served_warm()
    assert not list(warm.folder.iterdir())
    warm.folder.chmod(0o700)
    warm.run("items", "c1", NANGO_WARM_IDLE="1")
    pid = warm.server_pid()
    _wait_gone(pid)  # no command for a second: it exits
    assert "no command for 1 s" in warm.log()
    assert not list(warm.folder.glob("*.sock"))


def test_requests_that_are_not_a_command_are_refused() -> None:
    fds = [os.dup(0), os.dup(1), os.dup(2)]
    stream = ["utf-8", "strict", False, False]
    good = {
        "argv": ["nango", "dryrun"],
        "cwd": "/",
        "env": {"A": "b"},
        "umask": 18,
        "path": [],
        "main_package": None,
        "streams": [stream, stream, stream],
        "limits": {"RLIMIT_NOFILE": [1024, 4096]},
    }
    server._check_request(good, fds)
    bad_requests: list[dict[str, Any]] = [
        {**good, "argv": []},
        {**good, "argv": "nango dryrun"},
        {**good, "cwd": 3},
        {**good, "umask": "022"},
        {**good, "env": {"A": 1}},
        {**good, "path": "/usr/lib"},
        {**good, "main_package": 1},
        {**good, "streams": [stream]},
        {**good, "streams": [["no-such-codec", "strict", False, False]] * 3},
        {**good, "limits": {"RLIMIT_NPROC": [1, 1]}},
        {**good, "limits": {"RLIMIT_AS": [1]}},
    ]
    for request in bad_requests:
        with pytest.raises(ValueError):
            server._check_request(request, fds)
    with pytest.raises(ValueError, match="standard input"):
        server._check_request(good, fds[:2])
    for fd in fds:
        os.close(fd)


def test_messages_are_length_prefixed_json_with_a_limit() -> None:
    left, right = socket.socketpair()
    with left, right:
        channel.send_message(left, {"pid": 7})
        assert channel.read_message(right) == ({"pid": 7}, [])
        left.sendall((channel.MAX_MESSAGE_BYTES + 1).to_bytes(4, "big"))
        with pytest.raises(channel.MessageError, match="over the limit"):
            channel.read_message(right)
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"\x00\x00\x00\x05[1,2]")
        with pytest.raises(channel.MessageError, match="not a JSON object"):
            channel.read_message(right)
        left.close()
        with pytest.raises(channel.MessageError, match="closed"):
            channel.read_message(right)


def test_the_key_separates_interpreters_settings_and_copies() -> None:
    base, path = {"PATH": "/bin"}, ["/usr/lib/python3"]
    key = channel.server_key(base, path)
    assert channel.server_key({**base, "OTHER": "x"}, path) == key  # a command's own settings
    assert channel.server_key({**base, "PYTHONHASHSEED": "1"}, path) != key
    assert channel.server_key(base, ["/elsewhere"]) != key
    assert len(key) == 20 and all(c in "0123456789abcdef" for c in key)
    assert channel.enabled({}) and not channel.enabled({"CI": "true"})
    assert channel.enabled({"CI": "true", "NANGO_WARM": "1"})
    assert not channel.enabled({"NANGO_WARM": "off"})


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()[0]


def _start_slow(warm: Warm, pid_file: Path) -> tuple[subprocess.Popen[bytes], int]:
    """`nango dryrun slow` as a job of its own, as a shell starts it: a process group whose
    parent (this process) is in the same session, so that the group is not orphaned (the kernel
    discards the Ctrl-Z of an orphaned group's processes)."""
    caller = subprocess.Popen(
        [*NANGO, "dryrun", "slow", "c1"],
        cwd=warm.root,
        env=warm.env(PID_FILE=str(pid_file)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        process_group=0,
    )
    warm.callers.append(caller)
    _eventually(lambda: pid_file.exists() and pid_file.read_text().isdigit(), "the script runs")
    return caller, int(pid_file.read_text())


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states in /proc")
def test_ctrl_z_stops_the_command_and_fg_resumes_it(warm: Warm, tmp_path: Path) -> None:
    warm.run("items", "c1")
    warm.server_pid()
    caller, command = _start_slow(warm, tmp_path / "slow.pid")
    caller.send_signal(signal.SIGTSTP)
    _eventually(lambda: _state(command) == "T" and _state(caller.pid) == "T", "both stop")
    caller.send_signal(signal.SIGCONT)
    _eventually(lambda: _state(command) != "T" and _state(caller.pid) != "T", "both resume")
    caller.send_signal(signal.SIGINT)
    assert caller.wait(timeout=20) == 130
    _wait_gone(command)


@pytest.mark.slow
def test_a_server_killed_under_a_running_command_ends_it_and_says_so(
    warm: Warm, tmp_path: Path
) -> None:
    warm.run("items", "c1")
    server_pid = warm.server_pid()
    caller, command = _start_slow(warm, tmp_path / "slow.pid")
    os.kill(server_pid, signal.SIGKILL)
    assert caller.wait(timeout=30) == 1
    assert caller.stderr is not None
    message = caller.stderr.read().decode()
    assert "warm server running this command went away" in message
    assert "NANGO_WARM=0" in message
    _wait_gone(command)


@pytest.mark.slow
def test_usage_and_errors_read_as_without_the_server(warm: Warm) -> None:
    warm.run("items", "c1")
    warm.server_pid()
    for args in (["--help"], ["items"], ["items", "c1", "--timeout", "x"]):
        hot = warm.run(*args)
        assert warm.served_warm()
        cold = warm.run(*args, NANGO_WARM="0")
        assert (hot.returncode, hot.stdout, hot.stderr) == (
            cold.returncode,
            cold.stdout,
            cold.stderr,
        )
    assert "python -m cli dryrun" in warm.run("--help").stdout


@pytest.mark.slow
def test_nango_warm_status_and_stop(warm: Warm) -> None:
    def warm_command(*args: str) -> str:
        done = subprocess.run(
            [*NANGO, "warm", *args],
            env=warm.env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout

    assert warm_command("status") == "warm start: on\nno warm server is running\n"
    assert not warm.folder.exists()  # looking creates nothing
    warm.run("items", "c1")
    pid = warm.server_pid()
    status = warm_command("status")
    assert status.startswith(f"warm start: on\npid {pid}  socket {warm.folder}/")
    assert warm_command("stop") == "stopped 1 warm server\n"
    assert not _alive(pid)
    assert warm_command("stop") == "stopped 0 warm servers\n"


@pytest.mark.slow
def test_a_user_keeps_at_most_four_servers_the_least_used_goes(warm: Warm) -> None:
    from cli.warm import control

    def live() -> set[int]:
        return {s.pid for s in control.running_servers({"NANGO_WARM_DIR": str(warm.folder)})}

    pids = []
    for seed in range(control.MAX_SERVERS + 1):  # each PYTHONHASHSEED gets a server of its own
        before = live()
        warm.run("items", "c1", PYTHONHASHSEED=str(seed))
        _eventually(lambda before=before: len(live() - before) == 1, "a new server runs")  # type: ignore[misc]
        (new,) = live() - before
        pids.append(new)
    _wait_gone(pids[0])  # the one that took a command least recently
    assert live() == set(pids[1:])


EXACTLY_ONCE = """
import os, socket, sys
from pathlib import Path
from cli.warm import channel, server

folder, crash = Path(sys.argv[1]), sys.argv[2] == "crash"
server._run_command = lambda: (folder / "ran").write_text("ran") and 0
real_send = channel.send_message


def send(sock, message, fds=()):
    if "pid" in message:
        print(message["pid"], flush=True)
        if crash:  # the server dies between the fork and telling the caller
            os._exit(0)
    real_send(sock, message, fds)


channel.send_message = send
lock = os.open(folder / "k.lock", os.O_RDWR | os.O_CREAT, 0o600)
log = os.open(folder / "k.log", os.O_WRONLY | os.O_CREAT, 0o600)
warm = server._Server(folder / "k.sock", lock, log)
stream = ["utf-8", "strict", False, False]
request = {"argv": ["nango", "dryrun"], "cwd": str(folder), "env": {}, "umask": 18,
           "path": sys.path, "main_package": None, "streams": [stream] * 3, "limits": {}}
ours, theirs = socket.socketpair()
warm._start(ours, request, [os.dup(0), os.dup(1), os.dup(2)])
os.waitpid(-1, 0)
"""


@pytest.mark.parametrize("crash", [True, False])
def test_a_command_starts_only_once_its_caller_knows_it_runs(tmp_path: Path, crash: bool) -> None:
    """A server that dies before it could tell the caller the command's pid leaves the command
    unstarted (the caller then runs it itself): it runs exactly once."""
    server = subprocess.Popen(
        [sys.executable, "-c", EXACTLY_ONCE, str(tmp_path), "crash" if crash else "fine"],
        env={**outside_env(), "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    command = int(server.stdout.readline())
    assert server.wait(timeout=60) == 0
    server.stdout.close()
    _wait_gone(command)
    assert (tmp_path / "ran").exists() is not crash


def test_a_server_that_cannot_start_leaves_its_error_and_no_retry_for_a_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="nw-", dir="/tmp"))
    try:
        failing = (
            "import sys; from cli.warm import server; server.PRELOAD = ('no_such_module_x',); "
            "server.main()"
        )
        done = subprocess.run(
            [sys.executable, "-c", failing, str(folder), "k1", json.dumps(sys.path)],
            env={**outside_env(), "PYTHONPATH": str(REPO_ROOT)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 1
        assert "no_such_module_x" in (folder / "k1.failed").read_text()
        assert "could not import what a dry run needs" in (folder / "k1.log").read_text()
        assert not (folder / "k1.sock").exists()

        from cli.warm import client

        monkeypatch.setenv("NANGO_WARM", "1")
        monkeypatch.setenv("NANGO_WARM_DIR", str(folder))
        monkeypatch.setattr(client, "_Missing", type("Missing", (client._Missing,), {}))
        key = channel.server_key(os.environ, channel.shared_import_path(str(Path.cwd())))
        (folder / f"{key}.failed").write_text("an earlier start failed")
        assert client.run(["nango", "dryrun", "items", "c1"]) is None  # runs in the caller
        assert client._Missing.socket is None  # and starts no server for a while
        os.utime(folder / f"{key}.failed", (0, 0))  # long ago
        assert client.run(["nango", "dryrun", "items", "c1"]) is None
        assert client._Missing.socket == str(folder / f"{key}.sock")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
