"""Contain code that reads hostile bytes: a child process with resource limits and a deadline.

Attachments come from anonymous senders. Image and PDF decoders are large C
libraries with a long history of memory-safety bugs, and a few kilobytes can
unpack into gigabytes (decompression bombs). So no decoder ever runs in the
reviewer's `tipbox-review` process: each attachment is handed to a fresh
child (``python -m review_cli.decoder``, or a tool such as mat2 started
through :func:`exec_limited`) that

* sets its own limits with :mod:`resource` before it reads a byte
  (:func:`apply_limits`): CPU seconds, address space, no core dumps (a core
  file would be plaintext on disk), and a file size of 0 for decoders so they
  cannot write anything anywhere;
* gets the bytes through a pipe on standard input, never a file, and answers
  on standard output (pipes are not files: RLIMIT_FSIZE does not apply);
* runs in a new session with a minimal environment, ``/`` as its working
  directory and ``TMPDIR`` and ``HOME`` pointing nowhere;
* is killed, with its whole process group, when the parent's wall-clock
  deadline passes (a decoder stuck in a system call uses no CPU time).

A crash, a limit or a deadline is an :class:`Outcome` with ``ok`` false and
a reason safe to show (never a byte of the input); the caller marks that one
attachment "no preview" and goes on. The parent reads the child's peak
resident set from ``wait4`` so bench/previews.py can report it.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

MIB = 1024 * 1024
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])
_MAX_OUTPUT = 256 * MIB  # what a child may answer; more is treated as hostile


@dataclass(frozen=True)
class Limits:
    """What one child may use. ``timeout`` is enforced by the parent, the rest by the kernel."""

    cpu_seconds: int = 30
    address_space: int = 2048 * MIB
    file_size: int = 0  # bytes a child may write to files; 0 for decoders
    timeout: float = 90.0  # wall-clock seconds, from start to exit

    def as_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Limits:
        raw = json.loads(text)
        return cls(int(raw["cpu_seconds"]), int(raw["address_space"]), int(raw["file_size"]), float(raw["timeout"]))


def apply_limits(limits: Limits) -> None:
    """In the child, before touching any input: lower the limits for good (soft and hard alike).

    RLIMIT_CPU's soft limit sends SIGXCPU, the hard one a second later
    SIGKILL; RLIMIT_AS turns a bomb's allocation into MemoryError (or a
    failed mmap in C, which decoders report as an error); RLIMIT_FSIZE of 0
    kills a write to any file with SIGXFSZ; RLIMIT_CORE of 0 keeps a crash
    from writing a core file full of plaintext.
    """
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.address_space, limits.address_space))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))


def child_env() -> dict[str, str]:
    """A minimal environment: no reviewer variables, single-threaded numerics, nowhere to put temp files."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "PYTHONPATH": _PACKAGE_ROOT,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "LC_ALL": "C.UTF-8",
        "HOME": "/nonexistent",
        "TMPDIR": "/nonexistent",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


@dataclass(frozen=True)
class Outcome:
    """How a child ended. ``problem`` is None on success, else words safe to show (no input bytes)."""

    output: bytes
    exit_code: int  # negative: killed by that signal
    problem: str | None
    max_rss_kib: int  # the child's peak resident set size (ru_maxrss)
    seconds: float

    @property
    def ok(self) -> bool:
        return self.problem is None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class Child:
    """One contained child: :meth:`write` its input in pieces (as it is decrypted), then :meth:`finish`.

    Writing never raises: a child that died or stopped reading (a crash, a
    limit) makes further writes no-ops, so the caller can go on decrypting and
    hashing the attachment to its end.
    """

    def __init__(self, command: Sequence[str], limits: Limits, *, cwd: str = "/") -> None:
        self.limits = limits
        self._started = time.monotonic()
        self._timed_out = threading.Event()
        self._output = bytearray()
        self._too_much = False
        self._process = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # a traceback could quote the input
            cwd=cwd,
            env=child_env(),
            close_fds=True,
            start_new_session=True,
        )
        self._stdin: IO[bytes] | None = self._process.stdin
        self._timer = threading.Timer(limits.timeout, self._expire)
        self._timer.daemon = True
        self._timer.start()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @classmethod
    def python(cls, module: str, args: Sequence[str], limits: Limits) -> Child:
        """``python -m module LIMITS ARGS...``: the child applies ``limits`` itself, first thing."""
        return cls([sys.executable, "-B", "-s", "-m", module, limits.as_json(), *args], limits)

    def _expire(self) -> None:
        self._timed_out.set()
        self._kill()

    def _kill(self) -> None:
        try:
            os.killpg(self._process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def _read(self) -> None:
        stdout = self._process.stdout
        assert stdout is not None
        while chunk := stdout.read(64 * 1024):
            if len(self._output) + len(chunk) > _MAX_OUTPUT:
                self._too_much = True
                self._kill()
                break
            self._output += chunk
        stdout.close()

    def write(self, data: bytes | memoryview) -> None:
        if self._stdin is None:
            return
        try:
            self._stdin.write(data)
        except (BrokenPipeError, ConnectionResetError, ValueError, OSError):
            self._close_input()

    def close_input(self) -> None:
        """All input is written: the child reads end-of-file and starts decoding."""
        self._close_input()

    def _close_input(self) -> None:
        stdin, self._stdin = self._stdin, None
        if stdin is not None:
            try:
                stdin.close()
            except OSError:
                pass

    def finish(self) -> Outcome:
        """Close the input, wait for the child (the deadline still applies) and say how it ended."""
        self._close_input()
        self._reader.join()
        _pid, status, usage = os.wait4(self._process.pid, 0)
        self._process.returncode = code = os.waitstatus_to_exitcode(status)
        self._timer.cancel()
        self._kill()  # anything it left behind in its session
        return Outcome(bytes(self._output), code, self._problem(code), usage.ru_maxrss, time.monotonic() - self._started)

    def abandon(self) -> None:
        """Kill the child (the caller failed, e.g. the attachment did not verify) and reap it."""
        self._kill()
        self._close_input()
        self._reader.join()
        self._process.wait()
        self._timer.cancel()

    def _problem(self, code: int) -> str | None:
        if self._timed_out.is_set():
            return f"timeout: stopped after {self.limits.timeout:g} s"
        if self._too_much:
            return "the decoder answered too much"
        if code == 0:
            return None
        if code == -signal.SIGXCPU:
            return f"CPU limit of {self.limits.cpu_seconds} s reached"
        if code == -signal.SIGKILL:
            return "the decoder was killed (CPU or memory limit)"
        if code == -signal.SIGXFSZ:
            return "the decoder tried to write a file (stopped)"
        if code < 0:
            return f"the decoder crashed ({_signal_name(-code)})"
        return f"the decoder failed (exit {code})"


def exec_limited(argv: Sequence[str]) -> None:
    """``python -m review_cli.sandbox LIMITS -- PROGRAM ARGS...``: apply the limits, then become PROGRAM.

    For tools that are programs of their own (mat2): limits survive exec.
    """
    if len(argv) < 3 or argv[1] != "--":
        raise SystemExit("usage: python -m review_cli.sandbox LIMITS -- PROGRAM [ARGS...]")
    apply_limits(Limits.from_json(argv[0]))
    os.environ.pop("PYTHONPATH", None)  # the program (mat2 runs on the system's Python) must not see this checkout
    os.execvp(argv[2], list(argv[2:]))


if __name__ == "__main__":
    exec_limited(sys.argv[1:])
