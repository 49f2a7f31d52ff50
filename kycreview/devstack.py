"""What `make run` runs: the web server, a Celery worker and Celery beat, over the embedded Redis
unless REDIS_URL is set, until Ctrl-C.

`python -m kycreview.devstack [--host 127.0.0.1] [--port 8000] [--seed-demo]`, with DEBUG=1 for
the development keys. `--seed-demo` runs `manage.py seed_demo` once Redis is up, before the rest.

Web, worker and beat each run in their own session (process group), so a terminal's Ctrl-C reaches
only this supervisor, which stops them together (SIGTERM, SIGKILL after a grace period) with any
process they left behind, then stops the embedded Redis, which removes its socket. If any child
dies, everything stops and the exit status is 1.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

from django.utils.translation import gettext as _

from kycreview.embedded_redis import EmbeddedRedis

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# The worker's warm shutdown lets a running task finish; past this it is killed.
STOP_GRACE_SECONDS = 20.0
READY_TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 0.25

_PR_SET_PDEATHSIG = 1
_output_lock = threading.Lock()


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


# Resolved before any fork: the pre-exec hook below must not load libraries.
_prctl = _load_prctl()


def _die_with_parent(parent_pid: int) -> None:
    """Pre-exec hook: a child gets SIGTERM if this supervisor dies (even by SIGKILL), so a crashed
    `make run` leaves no web server holding the port."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _exit_status(process: subprocess.Popen[bytes]) -> int | None:
    """The exit status of `process` if it has ended, without reaping it: until it is reaped its pid,
    and so its process group id, cannot be reused, which keeps `killpg` on that group safe."""
    if process.returncode is not None:
        return process.returncode
    try:
        info = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return process.poll()
    if info is None:
        return None
    return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status


def _signal_group(pgid: int, signum: int) -> None:
    # ProcessLookupError: the group is already empty.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _say(message: str) -> None:
    with _output_lock:
        print(f"devstack | {message}", flush=True)


def _relay(name: str, stream: IO[bytes]) -> None:
    """Copy a child's output to ours, each line prefixed with the child's name. Keeps draining even
    when our stdout is gone, so a child never blocks on a full pipe."""
    prefix = f"{name:<8} | ".encode()
    for line in iter(stream.readline, b""):
        with _output_lock:
            try:
                sys.stdout.buffer.write(prefix + line)
                sys.stdout.flush()
            except (OSError, ValueError):
                pass
    stream.close()


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on host:port now (same SO_REUSEADDR as runserver)."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )[0]
    except socket.gaierror:
        return True  # let runserver name the bad address
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError:
            return False
    return True


@dataclass
class Child:
    """One supervised process: its name, command line, and once started, the process."""

    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    relay: threading.Thread | None = None


class DevStack:
    """Starts Redis (unless given), web, worker and beat; supervises them; stops them all."""

    def __init__(self, *, host: str, port: int, seed_demo: bool = False) -> None:
        from django.conf import settings

        self.host = host
        self.port = port
        self.seed_demo = seed_demo
        self.base_dir = Path(settings.BASE_DIR)
        self.var_dir = Path(settings.VAR_DIR)
        self.redis_socket = Path(settings.EMBEDDED_REDIS_SOCKET)
        self.redis_url = os.environ.get("REDIS_URL") or ""
        self.embedded_redis: EmbeddedRedis | None = None
        self.signals_received = 0
        self.children: list[Child] = []

    # --- addresses -------------------------------------------------------------------------
    @property
    def bind_address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        return f"{host}:{self.port}"

    @property
    def base_url(self) -> str:
        # A wildcard bind is reached through the loopback address.
        wildcards = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "[::]": "[::1]"}  # noqa: S104
        host = wildcards.get(self.host, self.host)
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    # --- lifecycle -------------------------------------------------------------------------
    def run(self) -> int:
        """Start everything, supervise until a stop signal (exit 0) or a child's death (exit 1),
        then stop everything. Side effects: child processes, the embedded Redis and its socket
        under var/, the beat schedule file under var/."""
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_signal)
        try:
            if not port_is_free(self.host, self.port):
                _say(
                    _(
                        "Port %(port)s on %(host)s is already in use: stop whatever listens "
                        "there, or choose another port, e.g. `make run PORT=8001`."
                    )
                    % {"port": self.port, "host": self.host}
                )
                return 1
            self._start_redis()
            if self.seed_demo and not self.signals_received:
                status = self._run_to_end([sys.executable, "manage.py", "seed_demo"])
                if status:
                    _say(_("seed_demo failed (status %(status)s).") % {"status": status})
                    return 1
            if self.signals_received:
                return 0
            self._start_children()
            return self._supervise()
        except (RuntimeError, OSError) as exc:
            _say(_("Could not start the development stack: %(error)s") % {"error": exc})
            return 1
        finally:
            self._stop_all()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signals_received += 1

    def _start_redis(self) -> None:
        if self.redis_url:
            _say(_("Using the Redis at REDIS_URL: %(url)s") % {"url": self.redis_url})
            return
        self.embedded_redis = EmbeddedRedis(self.redis_socket).start()
        self.redis_url = self.embedded_redis.url
        _say(_("Started the embedded Redis on %(url)s") % {"url": self.redis_url})

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["REDIS_URL"] = self.redis_url
        env["PYTHONUNBUFFERED"] = "1"
        env.setdefault("DJANGO_SETTINGS_MODULE", "kycreview.settings")
        return env

    def _start_children(self) -> None:
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "kycreview"]
        node = f"kycreview-dev-{os.getpid()}@%h"  # unique, should two stacks share a Redis
        schedule = str(self.var_dir / "celerybeat-schedule")
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.children = [
            Child("web", [python, "manage.py", "runserver", self.bind_address, "--noreload"]),
            # Threads, not prefork: one process, so SQLite sees a single writer process and a
            # stop leaves no pool children behind.
            Child(
                "worker", [*celery, "worker", "-l", "info", "-P", "threads", "-c", "2", "-n", node]
            ),
            Child("beat", [*celery, "beat", "-l", "info", "--schedule", schedule]),
        ]
        for child in self.children:
            child.process = self._spawn(child.argv, capture=True)
            _say(
                _("Started %(name)s (pid %(pid)s): %(command)s")
                % {"name": child.name, "pid": child.process.pid, "command": " ".join(child.argv)}
            )
        # Relays start only now: forking with a pre-exec hook is safe only without other threads.
        for child in self.children:
            assert child.process is not None and child.process.stdout is not None
            child.relay = threading.Thread(
                target=_relay, args=(child.name, child.process.stdout), daemon=True
            )
            child.relay.start()

    def _spawn(self, argv: list[str], *, capture: bool) -> subprocess.Popen[bytes]:
        """Start `argv` in its own session (so a terminal's Ctrl-C reaches only us), dying with
        us; its output piped to us when `capture`, else straight to our stdout."""
        parent = os.getpid()
        return subprocess.Popen(  # noqa: S603 - our own fixed command lines
            argv,
            cwd=self.base_dir,
            env=self._child_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.STDOUT if capture else None,
            start_new_session=True,
            preexec_fn=lambda: _die_with_parent(parent),
        )

    def _run_to_end(self, argv: list[str]) -> int | None:
        """Run a one-off command (seed_demo) with the stack's Redis, before the long-running
        children. Returns its exit status, or None when a stop signal cut it short."""
        process = self._spawn(argv, capture=False)
        while (status := _exit_status(process)) is None and not self.signals_received:
            time.sleep(0.1)
        if status is None:
            _signal_group(process.pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_GRACE_SECONDS
            while _exit_status(process) is None and time.monotonic() < deadline:
                time.sleep(0.1)
        _signal_group(process.pid, signal.SIGKILL)  # unreaped leader: the group is still its
        process.wait()
        return status

    def _supervise(self) -> int:
        ready_deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        announced = False
        while True:
            if self.signals_received:
                return 0
            dead = self._first_dead()
            if dead is not None:
                time.sleep(POLL_SECONDS)  # a Ctrl-C may have reached the embedded Redis first
                if self.signals_received:
                    return 0
                name, status = dead
                _say(
                    _("%(name)s exited (status %(status)s); stopping everything.")
                    % {"name": name, "status": status}
                )
                return 1
            if not announced:
                if self._web_answers():
                    self._announce()
                    announced = True
                elif time.monotonic() > ready_deadline:
                    _say(
                        _("The web server has not answered %(url)s after %(seconds)s s yet.")
                        % {"url": self.base_url + "admin/login/", "seconds": READY_TIMEOUT_SECONDS}
                    )
                    ready_deadline = float("inf")
            time.sleep(POLL_SECONDS)

    def _first_dead(self) -> tuple[str, int] | None:
        for child in self.children:
            assert child.process is not None
            status = _exit_status(child.process)
            if status is not None:
                return child.name, status
        redis_process = self.embedded_redis.process if self.embedded_redis else None
        if redis_process is not None:
            status = _exit_status(redis_process)
            if status is not None:
                return "redis", status
        return None

    def _web_answers(self) -> bool:
        # No proxy: an http_proxy in the environment must not intercept a loopback probe.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(self.base_url + "admin/login/", timeout=1):
                return True
        except urllib.error.HTTPError:
            return True  # it answers, if not happily; its own log says why
        except (OSError, ValueError):
            return False

    def _announce(self) -> None:
        lines = [
            "",
            _("kycreview is running at %(url)s") % {"url": self.base_url},
            _("  Sign in at %(url)s with one of the demo logins printed above by seed_demo")
            % {"url": self.base_url + "admin/"},
            _("  (`DEBUG=1 .venv/bin/python manage.py seed_demo` prints them again)."),
            _("  Redis: %(url)s%(note)s")
            % {
                "url": self.redis_url,
                "note": _(" (embedded, stopped on exit)") if self.embedded_redis else "",
            },
            _("  Press Ctrl-C to stop the web server, the worker, beat and the embedded Redis."),
            "",
        ]
        for line in lines:
            _say(line)

    def _stop_all(self) -> None:
        """Stop the children (SIGTERM to each process group, SIGKILL after the grace period or a
        second Ctrl-C), then the embedded Redis, which removes its socket."""
        started = [child for child in self.children if child.process is not None]
        if started or self.embedded_redis is not None:
            _say(_("Stopping..."))
        signals_before = self.signals_received
        for child in started:
            assert child.process is not None
            if _exit_status(child.process) is None:
                _signal_group(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while any(_exit_status(c.process) is None for c in started if c.process is not None):
            if time.monotonic() > deadline or self.signals_received > signals_before + 1:
                _say(_("Some processes did not stop in time; killing them."))
                break
            time.sleep(0.1)
        for child in started:
            assert child.process is not None
            # The leader is not reaped yet, so its group id is still ours: this also takes any
            # grandchild that outlived it.
            _signal_group(child.process.pid, signal.SIGKILL)
            child.process.wait()
            if child.relay is not None:
                child.relay.join(timeout=2)
        if self.embedded_redis is not None:
            self.embedded_redis.stop()
            _say(_("Stopped the embedded Redis."))
            self.embedded_redis = None
        if started:
            _say(_("Stopped."))


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m kycreview.devstack`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m kycreview.devstack",
        description="Run the kycreview web server, Celery worker and Celery beat together.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--seed-demo",
        action="store_true",
        help="run `manage.py seed_demo` once Redis is up (its notifications go to the broker)",
    )
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kycreview.settings")
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as exc:
        # Translation needs the settings, so this one message cannot go through gettext.
        print(f"devstack | {exc} (for development, run it with DEBUG=1)", file=sys.stderr)
        return 2
    return DevStack(host=args.host, port=args.port, seed_demo=args.seed_demo).run()


if __name__ == "__main__":
    sys.exit(main())
