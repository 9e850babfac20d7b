"""Envelope benchmark: crypto/ (pyrage) against the stock ``age`` CLI, plus a memory budget.

    python bench/envelope.py [--sizes 1,64,256] [--repeat 3] [--rss-size MiB]

For each size (MiB of random bytes in a temp file) it times, file to file:

* ``seal`` / ``open``: crypto.envelope.seal / open_stream against ``age -r`` / ``age -d -i``;
* ``seal_attachment`` / ``open_attachment``: the same plus Padmé padding and SHA-256,
  compared with the same plain ``age`` numbers (age does neither).

Each timing is the median of ``--repeat`` runs; throughput is content MiB per second.
``age`` timings include starting the process (a few ms: it dominates at 1 MiB).
crypto/ runs in this process. Every output is checked against the input once.

Then, in a fresh interpreter per operation, it streams ``--rss-size`` MiB (default:
the largest size) and reports the growth of the peak RSS (VmHWM) over a warmed-up
baseline. Budget: < 64 MiB, i.e. streaming, never whole-file buffering. Exit status
1 if the budget is exceeded, 2 if an output did not match its input.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run from a checkout without `pip install -e .`

from crypto import attachments, envelope  # noqa: E402
from crypto.identity import ReviewerIdentity  # noqa: E402

MIB = 1024 * 1024
RSS_BUDGET_MIB = 64
RSS_FULL_SIZE_MIB = 256
REVIEWERS = 2  # sealed to two reviewers, as a small tipbox deployment would
OPS = ("seal", "open", "seal_attachment", "open_attachment")
AGE_OP = {"seal": "seal", "open": "open", "seal_attachment": "seal", "open_attachment": "open"}


# --- crypto/ operations, file to file ------------------------------------------------------------


def crypto_op(op: str, src: Path, dst: Path, reviewers: list[ReviewerIdentity]) -> None:
    recipients = [r.recipient for r in reviewers]
    identities = [reviewers[0].secret]
    with src.open("rb") as fin, dst.open("wb") as fout:
        if op == "seal":
            envelope.seal(fin, fout, recipients)
        elif op == "open":
            envelope.open_stream(fin, fout, identities)
        elif op == "seal_attachment":
            attachments.seal_attachment(fin, fout, recipients)
        elif op == "open_attachment":
            attachments.open_attachment(fin, fout, identities)
        else:
            raise ValueError(op)


def age_op(
    op: str, src: Path, dst: Path, age: str, reviewers: list[ReviewerIdentity], key_file: Path
) -> None:
    if op == "seal":
        args = [age, *[a for r in reviewers for a in ("-r", r.recipient)], "-o", str(dst), str(src)]
    else:
        args = [age, "-d", "-i", str(key_file), "-o", str(dst), str(src)]
    subprocess.run(args, check=True, capture_output=True)


def timed(action: Callable[[], None], repeat: int, cleanup: Callable[[], None]) -> float:
    """Median wall time of ``repeat`` runs of ``action`` (``cleanup`` runs after each)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
        cleanup()
    return statistics.median(times)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while piece := handle.read(MIB):
            digest.update(piece)
    return digest.hexdigest()


def write_random(path: Path, size_mib: int) -> None:
    with path.open("wb") as handle:
        for _ in range(size_mib):
            handle.write(os.urandom(MIB))


# --- peak RSS, measured in a fresh interpreter per operation -------------------------------------


def _peak_rss_kib() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB on Linux


def rss_child() -> None:
    """Child mode: read a job on stdin, warm up, stream it, print the peak-RSS growth as JSON."""
    job = json.load(sys.stdin)
    reviewers = [ReviewerIdentity(secret) for secret in job["secrets"]]
    # Warm up on a small file so imports, pyrage's lazy setup and buffers count as baseline.
    work = Path(job["dir"])
    warm = [work / f"warm-{job['op']}.{n}" for n in range(3)]
    warm[0].write_bytes(os.urandom(200_000))
    for seal_op, open_op in (("seal", "open"), ("seal_attachment", "open_attachment")):
        crypto_op(seal_op, warm[0], warm[1], reviewers)
        crypto_op(open_op, warm[1], warm[2], reviewers)
    for path in warm:
        path.unlink()

    before = _peak_rss_kib()
    crypto_op(job["op"], Path(job["src"]), Path(job["dst"]), reviewers)
    after = _peak_rss_kib()
    json.dump({"before_kib": before, "after_kib": after}, sys.stdout)


def measure_rss(op: str, src: Path, dst: Path, reviewers: list[ReviewerIdentity], work: Path) -> dict:
    job = {
        "op": op,
        "src": str(src),
        "dst": str(dst),
        "dir": str(work),
        "secrets": [r.secret for r in reviewers],
    }
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--rss-child"],
        input=json.dumps(job),  # keys on stdin, not argv
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(result.stdout)


# --- driver --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="1,64,256", help="payload sizes in MiB, comma-separated (default 1,64,256)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    parser.add_argument(
        "--rss-size",
        type=int,
        default=None,
        help="MiB streamed for the peak-RSS check (default: the largest of --sizes)",
    )
    parser.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes must be comma-separated integers (MiB)")
    if not args.sizes or min(args.sizes) < 1 or args.repeat < 1:
        parser.error("sizes and --repeat must be positive")
    if args.rss_size is None:
        args.rss_size = max(args.sizes)
    return args


def fmt_rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


class Bench:
    """Temp dir, throwaway reviewer keys and the checks shared by every measurement."""

    def __init__(self, work: Path, age: str | None, repeat: int) -> None:
        self.work = work
        self.age = age
        self.repeat = repeat
        self.reviewers = [ReviewerIdentity.generate() for _ in range(REVIEWERS)]
        self.key_file = work / "reviewer.txt"
        self.key_file.write_text(self.reviewers[0].to_text())
        self.key_file.chmod(0o600)
        self.out = work / "out"
        self.mismatches: list[str] = []

    def drop_out(self) -> None:
        self.out.unlink(missing_ok=True)

    def check(self, label: str, expected: str, kind: str) -> None:
        """Compare ``self.out`` with the input; ``kind`` names the crypto op that opens it, or "plain"."""
        path = self.out
        if kind != "plain":
            path = self.work / "check"
            crypto_op(kind, self.out, path, self.reviewers)
        if sha256_file(path) != expected:
            self.mismatches.append(label)
        (self.work / "check").unlink(missing_ok=True)

    def prepare(self, size: int, tag: str) -> dict[str, Path]:
        """Random plaintext plus reference ciphertexts (untimed): the input of each op."""
        plain = self.work / f"{tag}-plain"
        write_random(plain, size)
        sealed = self.work / f"{tag}-sealed.age"
        sealed_att = self.work / f"{tag}-attachment.age"
        crypto_op("seal", plain, sealed, self.reviewers)
        crypto_op("seal_attachment", plain, sealed_att, self.reviewers)
        return {"seal": plain, "open": sealed, "seal_attachment": plain, "open_attachment": sealed_att}

    def throughput(self, size: int) -> list[tuple[int, str, float, float | None]]:
        inputs = self.prepare(size, f"t{size}")
        expected = sha256_file(inputs["seal"])
        opener = {"seal": "open", "seal_attachment": "open_attachment"}
        age_rates: dict[str, float | None] = {"seal": None, "open": None}
        if self.age is not None:
            age = self.age
            for op in ("seal", "open"):
                src = inputs[op]
                age_op(op, src, self.out, age, self.reviewers, self.key_file)  # age opens crypto's file
                self.check(f"{size} MiB age {op}", expected, opener.get(op, "plain"))
                self.drop_out()
                seconds = timed(
                    lambda op=op, src=src: age_op(op, src, self.out, age, self.reviewers, self.key_file),
                    self.repeat,
                    self.drop_out,
                )
                age_rates[op] = size / seconds
        rows = []
        for op in OPS:
            src = inputs[op]
            crypto_op(op, src, self.out, self.reviewers)
            self.check(f"{size} MiB crypto {op}", expected, opener.get(op, "plain"))
            self.drop_out()
            seconds = timed(
                lambda op=op, src=src: crypto_op(op, src, self.out, self.reviewers),
                self.repeat,
                self.drop_out,
            )
            rows.append((size, op, size / seconds, age_rates[AGE_OP[op]]))
        for path in set(inputs.values()):
            path.unlink()
        return rows

    def peak_rss(self, size: int) -> float:
        """Print each op's peak-RSS growth (fresh interpreter each); return the worst, in MiB."""
        inputs = self.prepare(size, "rss")
        worst = 0.0
        for op in OPS:
            rss = measure_rss(op, inputs[op], self.out, self.reviewers, self.work)
            self.drop_out()
            before, after = rss["before_kib"] / 1024, rss["after_kib"] / 1024
            growth = after - before
            worst = max(worst, growth)
            print(f"  {op:<16} baseline {before:6.1f} MiB  peak {after:6.1f} MiB  growth {growth:6.1f} MiB")
        for path in set(inputs.values()):
            path.unlink()
        return worst


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.rss_child:
        rss_child()
        return 0

    age = shutil.which("age")
    print(
        f"tipbox envelope bench: crypto/ (pyrage) vs {age or 'the age CLI (not found)'}; "
        f"{REVIEWERS} recipients, file to file, median of {args.repeat}"
    )
    if age is None:
        print("warning: `age` is not on PATH; the age column is n/a", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="tipbox-bench-") as tmp:
        bench = Bench(Path(tmp), age, args.repeat)
        rows = [row for size in args.sizes for row in bench.throughput(size)]

        print()
        print(f"{'size':>8}  {'op':<16} {'crypto MiB/s':>12} {'age MiB/s':>10} {'crypto÷age':>10}")
        for size, op, rate, age_rate in rows:
            ratio = "n/a" if age_rate is None else f"{rate / age_rate:.2f}"
            print(f"{size:>4} MiB  {op:<16} {fmt_rate(rate):>12} {fmt_rate(age_rate):>10} {ratio:>10}")
        print("(*_attachment adds Padmé padding and SHA-256; its age column is plain `age -r` / `age -d`)")

        print()
        print(f"peak RSS growth of crypto/ streaming {args.rss_size} MiB (fresh process per op, VmHWM):")
        worst = bench.peak_rss(args.rss_size)

    verdict = "PASS" if worst < RSS_BUDGET_MIB else "FAIL"
    note = "" if args.rss_size >= RSS_FULL_SIZE_MIB else f" (only {args.rss_size} MiB streamed: smoke run)"
    print(f"RSS budget, growth < {RSS_BUDGET_MIB} MiB: {verdict} (worst {worst:.1f} MiB){note}")
    if bench.mismatches:
        print("OUTPUT MISMATCH: " + ", ".join(bench.mismatches), file=sys.stderr)
        return 2
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
