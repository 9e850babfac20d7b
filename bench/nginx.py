"""Debian's nginx running site files as the current user, in a directory of its own.

The main configuration written here stands in for Debian's /etc/nginx/nginx.conf
(which the sites are included from): the same http-level defaults that matter
to tipbox's sites (an access log they must switch off, gzip they must switch
off), but every path inside ``prefix``, including the temporary directories
nginx would spool request and response bodies to. :meth:`Nginx.spooled` and
:func:`files_containing` let a test prove that nothing went there.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterable
from pathlib import Path

from bench.net import wait_for_port

TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
MIME_TYPES = Path("/etc/nginx/mime.types")


def nginx_binary() -> str | None:
    return shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")


class Nginx:
    """``nginx -p prefix`` with the given sites (``name -> text``), in the foreground of its own session."""

    def __init__(self, prefix: Path, sites: dict[str, str], workers: str = "1") -> None:
        binary = nginx_binary()
        if binary is None:
            raise FileNotFoundError("nginx is not installed (apt-get install nginx)")
        self.binary = binary
        self.prefix = prefix
        self.sites = sites
        self.workers = workers
        self.process: subprocess.Popen | None = None
        self._temp_mtimes: dict[Path, int] = {}

    @property
    def conf(self) -> Path:
        return self.prefix / "conf" / "nginx.conf"

    @property
    def log(self) -> Path:
        return self.prefix / "logs" / "error.log"

    def temp_dirs(self) -> list[Path]:
        return [self.prefix / "temp" / name for name in TEMP_DIRS]

    def write(self) -> None:
        for directory in ("conf", "logs", "temp"):
            (self.prefix / directory).mkdir(parents=True, exist_ok=True)
        includes = []
        for name, text in self.sites.items():
            path = self.prefix / "conf" / f"{name}.conf"
            path.write_text(text)
            includes.append(f"    include {path};")
        temp = "\n".join(f"    {name}_temp_path {self.prefix / 'temp' / name};" for name in TEMP_DIRS)
        self.conf.write_text("\n".join([
            # As root nginx would switch its workers to an unprivileged user who cannot enter the prefix.
            "user root;" if os.geteuid() == 0 else "",
            f"worker_processes {self.workers};",
            f"pid {self.prefix / 'nginx.pid'};",
            f"error_log {self.log};",  # Debian's level (error): what a site does not silence lands here
            "events { worker_connections 1024; }",
            "http {",
            f"    include {MIME_TYPES};" if MIME_TYPES.exists() else "",
            "    default_type application/octet-stream;",
            f"    access_log {self.prefix / 'logs' / 'access.log'};",  # as Debian's: each site must turn it off
            "    gzip on;",  # as Debian's
            temp,
            *includes,
            "}",
            "",
        ]))

    def _command(self, *extra: str) -> list[str]:
        return [self.binary, "-p", str(self.prefix), "-c", str(self.conf), "-e", str(self.prefix / "logs" / "startup.log"),
                *extra]

    def check(self) -> subprocess.CompletedProcess[str]:
        """``nginx -t``: parse every file and open what it names, without serving."""
        self.write()
        return subprocess.run(self._command("-t"), capture_output=True, text=True, timeout=30)

    def start(self, ports: Iterable[int]) -> None:
        self.write()
        with (self.prefix / "logs" / "stderr.log").open("ab") as out:
            self.process = subprocess.Popen(self._command("-g", "daemon off;"), stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        for port in ports:
            if not wait_for_port(port, 15, self.process):
                self.stop()
                raise RuntimeError(f"nginx did not start:\n{self.errors()}")
        self._temp_mtimes = {d: d.stat().st_mtime_ns for d in self.temp_dirs() if d.exists()}

    def stop(self) -> None:
        """Stop the master and every worker (its whole session), even if the master is stuck."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # workers that outlived their master
        except ProcessLookupError:
            pass
        self.process = None

    def spooled(self) -> list[str]:
        """Signs that nginx wrote a temporary file since it started: a file in, or a change to, a temp directory.

        nginx deletes a spooled body when its request ends, so the directory's
        modification time is the lasting evidence that one was there.
        """
        signs = []
        for directory in self.temp_dirs():
            if not directory.exists():
                continue
            signs += [f"{path} exists" for path in directory.rglob("*") if path.is_file()]
            if directory.stat().st_mtime_ns != self._temp_mtimes.get(directory):
                signs.append(f"{directory} was written to")
        return signs

    def errors(self) -> str:
        parts = [p.read_text(errors="replace") for p in (self.prefix / "logs").glob("*.log")]
        return "\n".join(parts)


def files_containing(needle: bytes, *roots: Path) -> list[Path]:
    """Every regular file under ``roots`` whose bytes contain ``needle``."""
    found = []
    for root in roots:
        for path in [root, *root.rglob("*")] if root.is_dir() else [root]:
            try:
                if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                    found.append(path)
            except OSError:
                continue
    return found
