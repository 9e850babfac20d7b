"""Private services for tests that break things: a Redis, a PostgreSQL, a gunicorn running tipbox.

Fault tests stop Redis and restart PostgreSQL mid-run. Doing that to the
machine's shared services would break every other test running at the same
time, so these start their own throwaway instances (the same binaries, on
free loopback ports, in temporary directories) and stop them afterwards.
Without the binaries the tests skip locally and fail in CI
(``tests.support.missing_service``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from crypto.identity import ReviewerIdentity
from tests.support import missing_service

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0, process: subprocess.Popen | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


class PrivateRedis:
    """``redis-server`` without persistence on a free port; stop() and start() at will."""

    def __init__(self, directory: Path) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            missing_service("redis-server is not installed (apt-get install redis-server)")
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(self.binary), "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--logfile", str(self.directory / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for_port(self.port, 10, self.process):
            raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def keys(self) -> list[str]:
        import redis

        client = redis.Redis.from_url(self.url)
        try:
            return [k.decode() for k in client.scan_iter(count=1000)]
        finally:
            client.close()


class PrivatePostgres:
    """A throwaway PostgreSQL cluster (initdb, trust auth on loopback) that can be restarted."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        found = shutil.which("pg_ctl")
        pg_ctl = Path(found) if found else (bins[-1] if bins else None)
        if pg_ctl is None:
            missing_service("PostgreSQL server binaries (pg_ctl, initdb) are not installed")
        self.bin = pg_ctl.parent
        self.port = free_port()
        # Not under pytest's tmp dir: the server may have to run as the postgres user, who cannot enter it.
        self.directory = Path(tempfile.mkdtemp(prefix="tipbox-pg-"))
        self.data = self.directory / "data"
        self.user: str | None = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            try:
                self.user = pwd.getpwnam("postgres").pw_name
            except KeyError:
                missing_service("running as root and there is no postgres user for a private cluster")
            entry = pwd.getpwnam(self.user)
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/tipbox"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, cwd=self.directory)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        self.start()
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE tipbox")

    def _options(self) -> str:
        return f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=100"

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-o", self._options(), "-l", str(self.directory / "pg.log"),
                  "-w", "-t", "30", "start")

    def restart(self) -> None:
        """A real restart: every connection is cut, in-flight transactions roll back."""
        self._run("pg_ctl", "-D", str(self.data), "-o", self._options(), "-l", str(self.directory / "pg.log"),
                  "-m", "fast", "-w", "-t", "30", "restart")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass
class TipboxServer:
    """tipbox under gunicorn, set up through its own CLI like an operator would."""

    var_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    reviewer: ReviewerIdentity = field(default_factory=ReviewerIdentity.generate)
    process: subprocess.Popen | None = None
    port: int = 0
    log_path: Path | None = None

    @classmethod
    def create(cls, var_dir: Path, **env: str) -> TipboxServer:
        server = cls(var_dir)
        server.port = free_port()
        tmp = var_dir.parent / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        server.env = {**os.environ, "TIPBOX_VAR_DIR": str(var_dir), "TIPBOX_BIND": f"127.0.0.1:{server.port}",
                      "TIPBOX_WORKERS": "2", "TMPDIR": str(tmp), **env}
        server.tipbox("init")
        server.tipbox("db", "upgrade")
        server.tipbox("reviewers", "add", "test-reviewer", server.reviewer.recipient,
                      "--signing-key", server.reviewer.signing_public_key)
        return server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tipbox(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "tipbox"), *args], env=self.env, cwd=ROOT, capture_output=True, text=True,
                              check=True)

    def start(self, *extra: str) -> None:
        self.log_path = self.var_dir.parent / "gunicorn.log"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", "tipbox/gunicorn_conf.py", *extra, "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        if not wait_for_port(self.port, 30, self.process):
            self.stop()
            raise RuntimeError("gunicorn did not start:\n" + self.log())

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def kill_worker(self) -> int:
        """kill -9 one worker; the arbiter starts a new one."""
        pid = self.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""
