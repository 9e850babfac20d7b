"""Private services for tests that break things: a Redis and a PostgreSQL.

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
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from bench.load import free_port, wait_for_port
from tests.support import missing_service

if TYPE_CHECKING:
    import psycopg

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


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
        with self._admin() as conn:
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

    def _admin(self, database: str = "postgres") -> psycopg.Connection:
        """An autocommit superuser connection (the server must be running)."""
        import psycopg

        return psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/{database}", autocommit=True)

    def create_database(self, name: str) -> str:
        """A new empty database in this cluster (one per test, so tests sharing a cluster share nothing)."""
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def checkpoint(self) -> None:
        """Write every dirty buffer to the data files, so reading the files shows what the server holds."""
        with self._admin() as conn:
            conn.execute("CHECKPOINT")

    def database_dir(self, name: str) -> Path:
        """``base/<oid>`` of database ``name``: the files of all its tables, TOAST tables and indexes."""
        with self._admin() as conn:
            row = conn.execute("SELECT oid FROM pg_database WHERE datname = %s", (name,)).fetchone()
        assert row is not None, f"no database {name}"
        return self.data / "base" / str(row[0])

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.directory, ignore_errors=True)
