"""Evidence previews benchmark: the preview sheet of a heavy tip against a small one.

    python bench/previews.py [--images 10] [--megapixels 12] [--pdf-pages 50] [--repeat 1]

Seals, as tipbox attachments in a throwaway workspace, ``--images`` photo-sized JPEGs of
``--megapixels`` MP (noise over a gradient, so they compress like photos: a few MB each) and one
PDF of ``--pdf-pages`` pages (fpdf2, text and shapes); and, as the baseline, one small JPEG and a
2-page PDF. Then, for each tip, a fresh process does exactly what `tipbox-review attachments ID
--out DIR` does after the passphrase: review_cli.evidence.inspect (stream-decrypt every
attachment, hash it, pipe images and PDFs to a contained decoder child: PDQ, metadata, blurred
previews) and review_cli.sheet.render_sheet, writing the sheet once.

Printed per tip: seconds, the peak RSS of that process (the CLI's "parent", ru_maxrss of
RUSAGE_SELF), the peak RSS of the largest decoder child (each child's ru_maxrss from wait4), the
total attachment bytes, and the ratio of the parent's peak RSS, heavy ÷ small. The goal is a
ratio near 1: the parent holds one decrypted piece of an attachment at a time and the previews,
never a whole file, so its memory does not grow with attachment size. The children grow with
the pictures (a 12 MP photo decodes to 36 MB of RGB, and PDQ works on the full image) and are
capped by RLIMIT_AS (review_cli/sandbox.py). A child's ru_maxrss includes what its parent had
resident when it was spawned (Linux carries the peak across fork and exec), so the child column is
an upper bound of the decoder's own use.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run from a checkout without `pip install -e .`

from crypto.attachments import seal_attachment  # noqa: E402
from crypto.bundle import BundleAttachment  # noqa: E402
from crypto.identity import ReviewerIdentity  # noqa: E402
from crypto.payload import AttachmentEntry  # noqa: E402

TIP = "b" * 32


def photo(megapixels: float, seed: int) -> bytes:
    """A JPEG of about ``megapixels`` MP at 4:3 that compresses like a photo (noise over a gradient)."""
    from PIL import Image

    width = int((megapixels * 1_000_000 * 4 / 3) ** 0.5)
    height = int(width * 3 / 4)
    noise = Image.effect_noise((width, height), 40 + seed)
    gradient = Image.linear_gradient("L").resize((width, height))
    grey = Image.blend(noise, gradient, 0.5)
    image = Image.merge("RGB", (grey, gradient, noise))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=88)
    return out.getvalue()


def document(pages: int) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.set_font("Helvetica", size=14)
        for line in range(30):
            pdf.cell(0, 8, f"Halaman {number}, baris {line}: laporan lowongan kerja ke luar negeri", new_x="LMARGIN",
                     new_y="NEXT")
        pdf.rect(20, 20, 50 + number % 100, 40)
    return bytes(pdf.output())


def seal_tip(root: Path, recipient: str, files: list[tuple[str, str, bytes]]) -> Path:
    """A workspace-shaped directory holding the sealed files and a JSON list of their entries."""
    directory = root / "tips" / TIP / "attachments"
    directory.mkdir(parents=True)
    entries = []
    for n, (name, media_type, data) in enumerate(files):
        attachment_id = f"{n:032x}"
        path = directory / f"{attachment_id}.age"
        with path.open("wb") as out:
            digest = seal_attachment(io.BytesIO(data), out, [recipient])
        entries.append({"id": attachment_id, "name": name, "type": media_type, "size": digest.size,
                        "sha256": digest.sha256, "sealed_size": path.stat().st_size})
    (root / "entries.json").write_text(json.dumps(entries))
    return root


def measure(root: Path, secret: str) -> dict[str, float]:
    """Run in a fresh process: what `attachments` does after the passphrase; report time and memory."""
    from review_cli import evidence
    from review_cli.sheet import render_sheet
    from review_cli.workspace import Keys, Workspace, utc_now, write_atomic

    entries = json.loads((root / "entries.json").read_text())
    content = [AttachmentEntry(e["id"], e["name"], e["type"], e["size"], e["sha256"]) for e in entries]
    sealed = [
        BundleAttachment(path=f"tips/{TIP}/attachments/{e['id']}.age", size=e["sealed_size"], sha256="-", id=e["id"])
        for e in entries
    ]
    keys = Keys.of(ReviewerIdentity.from_secret(secret))
    started = time.perf_counter()
    items = evidence.inspect(Workspace(root), keys, TIP, content, sealed)
    sheet = render_sheet(TIP, items, {}, "id", utc_now())
    write_atomic(root / "sheet.pdf", sheet, exclusive=True)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "parent_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "largest_child_rss_mib": max(i.child_rss_kib for i in items) / 1024,
        "children_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "attachment_mib": sum(e["size"] for e in entries) / 1024 / 1024,
        "previews": sum(1 for i in items if i.previews),
        "attachments": len(items),
        "sheet_kib": len(sheet) / 1024,
    }


def run_measure(root: Path, secret: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--measure", str(root)],
        input=secret, capture_output=True, text=True, check=True, cwd=ROOT,
    )
    return json.loads(result.stdout)


def make(root: Path, recipient: str, heavy: bool, args: argparse.Namespace) -> None:
    """Build one tip's sealed files (run in a process of its own, see main)."""
    if heavy:
        files = [(f"foto{n}.jpg", "image/jpeg", photo(args.megapixels, n)) for n in range(args.images)]
        files.append(("dokumen.pdf", "application/pdf", document(args.pdf_pages)))
    else:
        files = [("kecil.jpg", "image/jpeg", photo(0.3, 0)), ("surat.pdf", "application/pdf", document(2))]
    seal_tip(root, recipient, files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--pdf-pages", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--make", nargs=3, metavar=("DIR", "RECIPIENT", "KIND"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure, sys.stdin.read().strip())))
        return
    if args.make is not None:
        make(Path(args.make[0]), args.make[1], args.make[2] == "heavy", args)
        return
    # Linux keeps a process's peak RSS across fork and exec (ru_maxrss starts at the spawning process's
    # resident set), so this process stays small: the files are made, and measured, in processes of their own.
    identity = ReviewerIdentity.generate()
    with tempfile.TemporaryDirectory(prefix="tipbox-bench-previews-") as temp:
        base = Path(temp)
        print(f"making {args.images} photos of {args.megapixels:g} MP and a {args.pdf_pages}-page PDF ...", flush=True)
        tips = {
            "small tip (1 photo 0.3 MP, 2-page PDF)": (base / "small", "small"),
            f"heavy tip ({args.images} × {args.megapixels:g} MP, {args.pdf_pages}-page PDF)": (base / "heavy", "heavy"),
        }
        for root, kind in tips.values():
            subprocess.run(
                [sys.executable, __file__, "--make", str(root), identity.recipient, kind,
                 "--images", str(args.images), "--megapixels", str(args.megapixels), "--pdf-pages", str(args.pdf_pages)],
                check=True, cwd=ROOT,
            )
        rows = []
        for label, (root, _kind) in tips.items():
            best: dict[str, float] | None = None
            for _ in range(args.repeat):
                (root / "sheet.pdf").unlink(missing_ok=True)
                result = run_measure(root, identity.secret)
                if best is None or result["seconds"] < best["seconds"]:
                    best = result
            assert best is not None
            rows.append((label, best))
        print(f"{'tip':48} {'MiB in':>8} {'previews':>9} {'seconds':>8} {'parent RSS':>11} {'largest child':>14}")
        for label, r in rows:
            print(
                f"{label:48} {r['attachment_mib']:8.1f} {int(r['previews']):4d}/{int(r['attachments']):<4d} "
                f"{r['seconds']:8.2f} {r['parent_rss_mib']:8.1f} MiB {r['largest_child_rss_mib']:10.1f} MiB"
            )
        small_rss, heavy_rss = rows[0][1]["parent_rss_mib"], rows[1][1]["parent_rss_mib"]
        size_ratio = rows[1][1]["attachment_mib"] / rows[0][1]["attachment_mib"]
        print(f"parent peak RSS, heavy ÷ small: {heavy_rss / small_rss:.2f} (attachment bytes: ×{size_ratio:.0f};"
              " goal: about 1, the parent does not grow with attachment size)")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
