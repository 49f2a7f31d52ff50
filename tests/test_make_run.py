"""`make run` as a person runs it: it serves the login page, and Ctrl-C stops everything it
started, the embedded Redis and its socket included. Plus the supervisor's other promises: a child
that dies takes the stack down (exit 1), and a given REDIS_URL is used instead of starting Redis.

Every process of a run is found through /proc by its environment (KYCREVIEW_VAR_DIR set to this
test's own directory), so nothing here depends on what the supervisor says about itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kycreview.embedded_redis import EmbeddedRedis
from kycreview.settings import celery_url

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 180.0  # a fresh database: migrations and the demo data come first
STOP_TIMEOUT = 60.0

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc"),
]

ROLES: dict[str, Callable[[str], bool]] = {
    "redis": lambda cmd: "redis-server" in cmd,
    "web": lambda cmd: " runserver " in cmd,
    "worker": lambda cmd: "celery" in cmd and " worker " in cmd,
    "beat": lambda cmd: "celery" in cmd and " beat " in cmd,
}


@dataclass
class Run:
    """One started stack: its process (a new session), private var dir and output file."""

    process: subprocess.Popen[bytes]
    var_dir: Path
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    @property
    def socket(self) -> Path:
        return self.var_dir / "redis" / "redis.sock"

    def processes(self) -> dict[int, str]:
        """Live processes (not zombies) whose environment carries this run's var dir, or whose
        command line names it (redis-server overwrites its environment with its title)."""
        marker = f"KYCREVIEW_VAR_DIR={self.var_dir}".encode()
        found: dict[int, str] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, UnicodeDecodeError):
                continue  # gone meanwhile
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                environ = []
            if cmdline.strip() and (marker in environ or f"{self.var_dir}/" in cmdline):
                found[int(entry.name)] = cmdline + " "
        return found

    def roles(self) -> dict[str, list[int]]:
        return {
            role: [pid for pid, cmd in self.processes().items() if matches(cmd)]
            for role, matches in ROLES.items()
        }

    def wait_for(self, what: str, condition: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process.poll() is not None:
                pytest.fail(f"exited ({self.process.returncode}) before {what}:\n{self.tail()}")
            time.sleep(0.5)
        pytest.fail(f"no {what} within {timeout:.0f} s:\n{self.tail()}")

    def wait_exit(self) -> int:
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {STOP_TIMEOUT:.0f} s after the stop:\n{self.tail()}")

    def assert_all_gone(self, before: dict[int, str]) -> None:
        """Nothing of the run may linger: the supervisor waits for its children before it exits,
        and the command we started has exited."""
        assert len(before) >= 4, before  # the scan found the stack in the first place
        leftovers = self.processes()
        assert not leftovers, f"still running after the stop: {leftovers}\n{self.tail()}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except OSError:
        return 0, ""


@pytest.fixture
def start() -> Iterator[Callable[..., Run]]:
    """Starts a command in its own session with a private var dir and a clean environment (the
    defaults: no DATABASE_URL, no REDIS_URL unless given); kills whatever is left at teardown."""
    runs: list[Run] = []
    # Short: the Redis socket path must stay under the 107-byte limit of a Unix socket.
    base = Path(tempfile.mkdtemp(prefix="kyc-run-"))

    def _start(argv: list[str], **extra_env: str) -> Run:
        var_dir = base / f"var{len(runs)}"
        log = base / f"run{len(runs)}.log"
        dropped = {"DATABASE_URL", "REDIS_URL", "PRIVATE_MEDIA_ROOT", "MAKEFLAGS", "MFLAGS"}
        env = {k: v for k, v in os.environ.items() if k not in dropped | {"MAKELEVEL"}}
        env.update(KYCREVIEW_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1", **extra_env)
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        run = Run(process=process, var_dir=var_dir, log=log)
        runs.append(run)
        return run

    yield _start
    for run in runs:
        if run.process.poll() is None:
            os.killpg(run.process.pid, signal.SIGKILL)
            run.process.wait()
        for pid in run.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    shutil.rmtree(base, ignore_errors=True)


def devstack_argv(port: int) -> list[str]:
    return [sys.executable, "-m", "kycreview.devstack", "--host", "127.0.0.1", "--port", str(port)]


def test_make_run_serves_the_login_page_and_ctrl_c_stops_everything(
    start: Callable[..., Run],
) -> None:
    from cases.demo import DEMO_USERS

    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    port = free_port()
    run = start([make, "--no-print-directory", "run", "HOST=127.0.0.1", f"PORT={port}"])
    login = f"http://127.0.0.1:{port}/admin/login/"

    run.wait_for(f"200 from {login}", lambda: get(login)[0] == 200, START_TIMEOUT)
    status, body = get(login)
    assert status == 200 and "csrfmiddlewaretoken" in body
    run.wait_for("the address printed", lambda: f"127.0.0.1:{port}/admin/" in run.output(), 10)
    assert DEMO_USERS[0].email in run.output(), "the demo logins were not printed"
    roles = run.roles()
    assert all(len(pids) == 1 for pids in roles.values()), roles
    assert run.socket.is_socket()
    before = run.processes()

    os.killpg(run.process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    run.wait_exit()

    run.assert_all_gone(before)
    assert not run.socket.exists(), "the embedded Redis socket was left behind"
    assert get(login)[0] == 0, "something still answers on the port"


def test_devstack_stops_everything_with_status_1_when_a_child_dies(
    start: Callable[..., Run],
) -> None:
    port = free_port()
    run = start(devstack_argv(port), DEBUG="1")
    run.wait_for("web, worker, beat and Redis", lambda: all(run.roles().values()), 60)
    before = run.processes()
    (beat,) = run.roles()["beat"]

    os.kill(beat, signal.SIGKILL)

    assert run.wait_exit() == 1
    run.assert_all_gone(before)
    assert not run.socket.exists()


def test_devstack_uses_redis_url_and_starts_no_redis_of_its_own(
    start: Callable[..., Run],
) -> None:
    given = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="kyc-redis-")) / "r.sock").start()
    try:
        port = free_port()
        run = start(devstack_argv(port), DEBUG="1", REDIS_URL=given.url)
        connected = f"Connected to {celery_url(given.url)}"
        run.wait_for("the worker on the given Redis", lambda: connected in run.output(), 60)
        roles = run.roles()
        assert roles["web"] and roles["worker"] and roles["beat"], roles
        assert roles["redis"] == [], "started a Redis although REDIS_URL was set"
        assert not run.socket.exists()
        before = run.processes()

        run.process.send_signal(signal.SIGTERM)

        assert run.wait_exit() == 0
        run.assert_all_gone(before)
        assert given.ping(), "the given Redis is not ours to stop"
    finally:
        given.stop()
        shutil.rmtree(given.socket_path.parent, ignore_errors=True)
