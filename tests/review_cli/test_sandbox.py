"""review_cli/sandbox.py: each guard stops the misbehaviour it is for (a hostile-decoder stand-in,
tests/review_cli/hostile_child.py, applies the same limits as the real decoder and then misbehaves).

Each test fails if its guard is removed: without RLIMIT_CPU the spinning child runs into the
wall-clock deadline instead (another problem text); without the deadline the sleeping child
finishes "successfully"; without RLIMIT_AS the gigabyte is allocated; without RLIMIT_FSIZE the
file receives the plaintext.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from review_cli.sandbox import MIB, Child, Limits

HOSTILE = "tests.review_cli.hostile_child"


def _run(what: str, limits: Limits, data: bytes = b"x", *extra: str):
    child = Child.python(HOSTILE, [what, *extra], limits)
    child.write(data)
    started = time.monotonic()
    outcome = child.finish()
    return outcome, time.monotonic() - started


def test_cpu_limit_stops_a_spinning_decoder_before_the_deadline() -> None:
    outcome, took = _run("spin", Limits(cpu_seconds=1, timeout=20))
    assert not outcome.ok and outcome.problem == "CPU limit of 1 s reached"
    assert outcome.exit_code == -signal.SIGXCPU and took < 10


def test_the_wall_clock_deadline_stops_a_decoder_that_uses_no_cpu() -> None:
    outcome, took = _run("sleep", Limits(timeout=1.5))
    assert not outcome.ok and outcome.problem == "timeout: stopped after 1.5 s"
    assert took < 10


def test_the_address_space_limit_stops_a_bomb() -> None:
    outcome, _ = _run("allocate", Limits(address_space=512 * MIB))
    assert not outcome.ok and b"allocated" not in outcome.output
    assert outcome.problem == "the decoder failed (exit 1)"  # MemoryError


def test_a_decoder_cannot_write_a_file(tmp_path: Path) -> None:
    target = tmp_path / "leak.bin"
    outcome, _ = _run("write", Limits(), b"PLAINTEXT-CANARY", str(target))
    # CPython ignores SIGXFSZ, so the write fails with EFBIG and the child exits 1 (a C decoder that
    # does not ignore it is killed: "tried to write a file"). Either way nothing reaches the disk.
    assert not outcome.ok and outcome.problem in (
        "the decoder failed (exit 1)",
        "the decoder tried to write a file (stopped)",
    )
    assert not target.exists() or target.read_bytes() == b""


def test_limits_environment_and_working_directory_inside_the_child(monkeypatch) -> None:
    monkeypatch.setenv("TIPBOX_REVIEW_WORKSPACE", "/secret/workspace")
    limits = Limits(cpu_seconds=7, address_space=900 * MIB, timeout=30)
    outcome, _ = _run("limits", limits)
    assert outcome.ok, outcome.problem
    report = json.loads(outcome.output)
    assert report["limits"] == {
        "RLIMIT_CORE": [0, 0],  # a crash leaves no core file full of plaintext
        "RLIMIT_CPU": [7, 8],
        "RLIMIT_AS": [900 * MIB, 900 * MIB],
        "RLIMIT_FSIZE": [0, 0],
    }
    assert "TIPBOX_REVIEW_WORKSPACE" not in report["env"] and report["env"]["TMPDIR"] == "/nonexistent"
    assert report["cwd"] == "/"


def test_a_crash_is_reported_by_signal_and_the_parent_goes_on() -> None:
    outcome, _ = _run("abort", Limits())
    assert not outcome.ok and outcome.problem == "the decoder crashed (SIGABRT)"


def test_a_child_that_stops_reading_never_breaks_the_parent() -> None:
    child = Child.python(HOSTILE, ["exit-early"], Limits())
    for _ in range(64):  # 64 MiB into a pipe nobody reads: BrokenPipeError is swallowed
        child.write(bytes(MIB))
    outcome = child.finish()
    assert outcome.ok and outcome.output == b""


def test_input_streams_through_a_pipe_and_rss_is_measured() -> None:
    data = bytes(range(256)) * 40_000
    outcome, _ = _run("echo", Limits(), data)
    assert outcome.ok and outcome.output == data
    assert outcome.max_rss_kib > 0
