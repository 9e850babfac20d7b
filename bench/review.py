"""Review CLI benchmark: import and list many tips; decrypt a large attachment against `age`.

    python bench/review.py [--tips 10000] [--attachment-mib 256] [--repeat 3]

Part 1 writes a signed export bundle of ``--tips`` small sealed tips (crypto.bundle.write_bundle,
one throwaway server key and reviewer identity), then times, with review_cli's own functions:

* ``import``: verify the bundle, copy it into a fresh workspace, open every payload once;
* ``list``: what `tipbox-review list` does after the passphrase (the sealed index cache,
  every meta.json, filters, sort), rendered as the rich table and as --json, to /dev/null;
* ``list, cold cache``: the same after deleting the cache, so every payload is opened again;
* the whole command in a fresh process (`python -m review_cli list --json`), which adds
  interpreter start-up and the identity's scrypt (about a second, once per command).

Part 2 seals a ``--attachment-mib`` MiB random file as a tipbox attachment and decrypts it
file to file, as `tipbox-review attachments` does (review_cli.extract.decrypt_to on the sealed
file's path: crypto.attachments.open_attachment_file, i.e. the strict header check, pyrage
reading through C buffered I/O, Padmé unpadding, SHA-256 and the write in a worker thread, the
check against the manifest, a 0600 file created exclusively), and with the stock `age -d`,
alternating, ``--repeat`` times each; it prints the medians and tipbox÷age (target: >= 0.8).
`age` does neither unpadding nor hashing, so the ratio is conservative. Two more rows locate the
cost: crypto.attachments.open_attachment (the file-object API: unpad, hash and write inside
pyrage's callbacks, one thread) into a plain file, and crypto.envelope.open_file into a sink that
discards (pyrage alone, as the fast path drives it: no unpad, hash or write). The machine may be
shared: compare rows of one run, and repeat.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run from a checkout without `pip install -e .`

import nacl.signing  # noqa: E402

from crypto import bundle, envelope, payload  # noqa: E402
from crypto.attachments import ContentDigest, open_attachment, seal_attachment  # noqa: E402
from crypto.bundle import BundleFile  # noqa: E402
from crypto.identity import ReviewerIdentity, save_identity  # noqa: E402
from crypto.vocabulary import Category  # noqa: E402
from review_cli import importer, render, tips  # noqa: E402
from review_cli.extract import decrypt_to  # noqa: E402
from review_cli.workspace import Keys, Workspace  # noqa: E402

MIB = 1024 * 1024
CATEGORIES = tuple(Category)  # every category, so listing and filtering see them all
REGENCIES = ("18.09", "17.09", "35.72", "34.01")
PASSPHRASE = "bench passphrase, throwaway"


def make_bundle(path: Path, count: int, recipients: list[str], key: nacl.signing.SigningKey) -> None:
    entries, files = [], []
    for n in range(count):
        tip_id = os.urandom(16).hex()
        regency = REGENCIES[n % len(REGENCIES)]
        document = payload.build(
            {
                "description": f"laporan sintetis nomor {n} " * 8,
                "category": CATEGORIES[n % len(CATEGORIES)],
                "province": regency[:2],
                "regency": regency,
                "danger": ["danger_now"] if n % 7 == 0 else [],
            },
            lang="id",
            sealed_by="server" if n % 3 == 0 else "browser",
        )
        sealed = payload.seal_tip(document, recipients)
        entry = {"path": bundle.payload_path(tip_id), "size": len(sealed), "sha256": hashlib.sha256(sealed).hexdigest()}
        entries.append(
            {
                "id": tip_id,
                "received": f"2026-11-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
                "sealed_by": document.sealed_by.value,
                "key_fingerprint": "BENCH",
                "payload": entry,
                "attachments": [],
            }
        )
        files.append(BundleFile(entry["path"], entry["size"], entry["sha256"], lambda s=sealed: io.BytesIO(s)))
    body = {"type": bundle.DOCUMENT_TYPE, "v": 1, "created": "2026-11-30T00:00:00Z", "since": None, "tips": entries}
    with path.open("wb") as handle:
        bundle.write_bundle(handle, body, files, key)


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def part_list(work: Path, count: int, identity: ReviewerIdentity) -> None:
    keys = Keys.of(identity)
    server = nacl.signing.SigningKey.generate()
    bundle_path = work / "bundle.tar"
    made = timed(
        lambda: make_bundle(bundle_path, count, [identity.recipient, ReviewerIdentity.generate().recipient], server)
    )
    print(f"bundle: {count:,} tips, {bundle_path.stat().st_size / MIB:.1f} MiB, written in {made:.1f} s")
    ws = Workspace(work / "ws")
    ws.ensure()
    signer = importer.check_signer(ws, bundle_path, None)
    took = timed(lambda: importer.import_bundle(ws, keys, bundle_path, signer))
    print(f"import                {took:7.2f} s   {took / count * 1000:6.3f} s per 1,000 tips")

    per = count / 1000
    devnull = open(os.devnull, "w")  # noqa: SIM115
    stdout = sys.stdout

    def listing(as_json: bool) -> None:
        rows = tips.sort_rows(tips.filter_rows(tips.load_listing(ws, keys).rows), "received")
        sys.stdout = devnull
        os.environ["FORCE_COLOR"] = "1"  # render the table as for a terminal, with colours
        try:
            render.tips_json(rows) if as_json else render.tips_table(rows)
        finally:
            sys.stdout = stdout
            os.environ.pop("FORCE_COLOR")

    os.environ.setdefault("COLUMNS", "160")
    for label, as_json in (("list (table)", False), ("list --json", True)):
        runs = [timed(lambda j=as_json: listing(j)) for _ in range(3)]
        best = statistics.median(runs)
        print(f"{label:21s} {best:7.2f} s   {best / per:6.3f} s per 1,000 tips")
    ws.index_file.unlink()
    cold = timed(lambda: listing(True))
    print(f"list, cold cache      {cold:7.2f} s   {cold / per:6.3f} s per 1,000 tips (opens every payload)")

    identity_file = work / "identity.age"
    save_identity(identity, identity_file, PASSPHRASE)
    command = [
        sys.executable,
        "-m",
        "review_cli",
        "--workspace",
        str(ws.root),
        "--identity",
        str(identity_file),
        "list",
        "--json",
    ]
    start = time.perf_counter()
    result = subprocess.run(command, input=PASSPHRASE + "\n", capture_output=True, text=True, cwd=ROOT, check=True)
    whole = time.perf_counter() - start
    assert len(json.loads(result.stdout)) == count
    print(f"whole `list --json`   {whole:7.2f} s   (fresh process, includes scrypt and start-up)")


def part_attachment(
    work: Path, size_mib: int, repeat: int, identity: ReviewerIdentity, age: str | None
) -> float | None:
    keys = Keys.of(identity)
    plain, sealed = work / "plain.bin", work / "sealed.age"
    with plain.open("wb") as handle:
        for _ in range(size_mib):
            handle.write(os.urandom(MIB))
    with plain.open("rb") as src, sealed.open("wb") as dst:
        digest = seal_attachment(src, dst, [identity.recipient, ReviewerIdentity.generate().recipient])
    key_file = work / "key.txt"
    key_file.write_text(identity.secret + "\n")
    key_file.chmod(0o600)
    expected = ContentDigest(digest.size, digest.sha256)
    plain.unlink()
    os.sync()  # write back the new sealed file now, not (as the kernel would) during the timed runs

    def tipbox() -> None:
        out = work / "out-tipbox"
        decrypt_to(sealed, out, keys, expected, lambda n: None)
        out.unlink()

    def plain_open() -> None:
        out = work / "out-plain"
        with sealed.open("rb") as src, out.open("wb") as dst:
            open_attachment(src, dst, [keys.age], expected)
        out.unlink()

    class Discard(envelope.WatchedSink):
        def write(self, data: bytes) -> int:
            return len(data)

    def ceiling() -> None:
        envelope.open_file(sealed, Discard(), [keys.age])

    def stock_age() -> None:
        out = work / "out-age"
        subprocess.run([age, "-d", "-i", str(key_file), "-o", str(out), str(sealed)], check=True, capture_output=True)
        out.unlink()

    # Check once that both produce the content.
    decrypt_to(sealed, work / "check", keys, expected, lambda n: None)
    assert hashlib.sha256((work / "check").read_bytes()).hexdigest() == digest.sha256
    (work / "check").unlink()

    results: dict[str, list[float]] = {
        "tipbox-review attachments": [],
        "open_attachment (streams)": [],
        "open_file only, discarded": [],
        "age -d": [],
    }
    for _ in range(repeat):
        results["tipbox-review attachments"].append(timed(tipbox))
        results["open_attachment (streams)"].append(timed(plain_open))
        results["open_file only, discarded"].append(timed(ceiling))
        if age:
            results["age -d"].append(timed(stock_age))
    print(f"\ndecrypt one {size_mib} MiB attachment, file to file, median of {repeat}:")
    medians = {name: statistics.median(runs) for name, runs in results.items() if runs}
    for name, seconds in medians.items():
        print(
            f"  {name:30s} {size_mib / seconds:7.0f} MiB/s  ({', '.join(f'{size_mib / s:.0f}' for s in results[name])})"
        )
    if "age -d" not in medians:
        print("  age not found on PATH: no ratio")
        return None
    ratio = medians["age -d"] / medians["tipbox-review attachments"]
    print(f"  tipbox-review ÷ age = {ratio:.2f}  (target >= 0.8: {'PASS' if ratio >= 0.8 else 'below target'})")
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tips", type=int, default=10_000)
    parser.add_argument("--attachment-mib", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: a temporary one)")
    args = parser.parse_args(argv)
    age = shutil.which("age")
    work = Path(tempfile.mkdtemp(prefix="tipbox-bench-review-", dir=args.dir))
    try:
        identity = ReviewerIdentity.generate()
        print(f"tipbox review bench: {args.tips:,} tips; {args.attachment_mib} MiB attachment vs {age or 'no age CLI'}")
        part_list(work, args.tips, identity)
        part_attachment(work, args.attachment_mib, args.repeat, identity, age)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
