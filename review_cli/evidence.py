"""The evidence report of a tip: per attachment its kind, hashes, metadata and a safe preview.

Each attachment is decrypted once, as a stream, straight from its sealed file
in the workspace. Every piece of plaintext is hashed here (SHA-256, SHA-1,
MD5: review_cli/hashes.py) and, when the content is an image or a PDF,
written on to a contained decoder child (review_cli/sandbox.py,
review_cli/decoder.py) through a pipe. Nothing is written to disk, and the
parent holds no more than one piece of an attachment at a time, so its
memory does not grow with attachment size (bench/previews.py measures it).
While one child decodes, the parent decrypts the next attachment into another
(at most :data:`MAX_CHILDREN` at once, and no more than the CPUs).

A decoder that fails (a damaged file, a bomb, a limit, a crash, the
deadline) costs that attachment its preview and perceptual hash, nothing
else: its cryptographic hashes are still checked and reported, and the other
attachments go on. An attachment whose size or SHA-256 differs from the
tip's manifest is a verification failure for the whole command (exit 2),
as in `attachments --original`: the bytes are not what the source sent.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from crypto.attachments import ContentDigest, open_attachment
from crypto.bundle import BundleAttachment
from crypto.errors import TipboxCryptoError
from crypto.payload import AttachmentEntry

from .errors import InputError, VerificationError
from .hashes import FileHashes, Hasher
from .kinds import HEAD, Kind, disagreement, sniff
from .progress import CountingReader
from .sandbox import MIB, Child, Limits
from .tips import read_verified
from .workspace import Keys, Workspace, short

DECODER = "review_cli.decoder"
MAX_PREVIEW_INPUT = 256 * MIB  # larger files are hashed but not decoded
PREVIEW_PX = 192  # longest side of a blurred preview
SHARP_PX = 480  # longest side of an --unblur preview
BLUR_DIVISOR = 20  # Gaussian radius = longest side / this: shapes, no details
PDF_PAGES = 3
MAX_CHILDREN = 2  # decoders at work at once (each may use up to its RLIMIT_AS), bounded by the CPUs
MAX_PIXELS = 50_000_000  # Pillow's bomb limit in the child (a 12 MP photo is well below)


@dataclass(frozen=True)
class Preview:
    """A small greyscale picture as raw 8-bit pixels, row by row (never a file format to parse)."""

    width: int
    height: int
    pixels: bytes


@dataclass(frozen=True)
class Evidence:
    """What the report says about one attachment; ``problem`` says why there is no preview."""

    number: int  # 1-based, the tip's attachments first, then each follow-up's
    attachment_id: str
    name: str  # as the source's device named it: untrusted, never in a referral packet
    declared_type: str
    kind: Kind
    hashes: FileHashes
    details: str = ""
    pdq: str | None = None
    pdq_quality: int | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    previews: tuple[Preview, ...] = ()  # greyscale; blurred unless ``sharp``
    sharp: bool = False
    problem: str | None = None
    mismatch: str | None = None
    child_rss_kib: int = 0


def job(kind: Kind, sharp: bool) -> dict[str, Any]:
    """The decoder child's instructions for ``kind`` (review_cli/decoder.py)."""
    return {
        "op": kind.decoder,
        "sharp": sharp,
        "preview_px": PREVIEW_PX,
        "sharp_px": SHARP_PX,
        "blur_divisor": BLUR_DIVISOR,
        "pages": PDF_PAGES,
        "max_pixels": MAX_PIXELS,
        "max_input": MAX_PREVIEW_INPUT,
    }


class _Sink:
    """Where open_attachment writes plaintext: hashed here, and piped to a decoder once the kind is known."""

    def __init__(self, size: int, sharp: bool, limits: Limits, decode: bool) -> None:
        self.hasher = Hasher()
        self.head = b""
        self.kind: Kind | None = None
        self.child: Child | None = None
        self._size, self._sharp, self._limits, self._decode = size, sharp, limits, decode

    def _decide(self) -> None:
        self.kind = sniff(self.head[:HEAD])
        if self._decode and self.kind.decoder is not None and self._size <= MAX_PREVIEW_INPUT:
            self.child = Child.python(DECODER, [json.dumps(job(self.kind, self._sharp))], self._limits)
            self.child.write(self.head)

    def write(self, data: bytes) -> int:
        self.hasher.update(data)
        if self.kind is None:
            self.head += bytes(data)
            if len(self.head) >= HEAD:
                self._decide()
        elif self.child is not None:
            self.child.write(data)
        return len(data)

    def flush(self) -> None:
        pass

    def finish(self) -> None:
        if self.kind is None:
            self._decide()


def _details(answer: dict[str, Any]) -> str:
    if answer.get("format") == "PDF":
        return f"{answer.get('pages', '?')} pages"
    size = f"{answer.get('width', '?')}×{answer.get('height', '?')} {answer.get('format', '')}".strip()
    frames = answer.get("frames", 1)
    return size + (f", {frames} frames" if isinstance(frames, int) and frames > 1 else "")


def _read_answer(output: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(output)
    except (UnicodeDecodeError, ValueError):
        return {"ok": False, "problem": "the decoder gave no answer"}
    return answer if isinstance(answer, dict) else {"ok": False, "problem": "the decoder gave no answer"}


def _previews(values: object) -> tuple[Preview, ...]:
    """The child's previews, accepted only as raw grey pixels of a size this module asked for."""
    if not isinstance(values, list):
        return ()
    out = []
    for value in values[:PDF_PAGES]:
        if not isinstance(value, dict):
            continue
        width, height = value.get("width"), value.get("height")
        if not isinstance(width, int) or not isinstance(height, int):
            continue
        if not (0 < width <= SHARP_PX and 0 < height <= SHARP_PX):
            continue
        try:
            pixels = base64.b64decode(str(value.get("pixels")), validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(pixels) == width * height:
            out.append(Preview(width, height, pixels))
    return tuple(out)


def _metadata(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k)[:40]: str(v)[:200] for k, v in value.items() if isinstance(v, str)}


@dataclass(frozen=True)
class _Fed:
    """An attachment decrypted, hashed and verified; its decoder child (if any) has all its input."""

    evidence: Evidence
    child: Child | None
    decode: bool


def _feed(
    ws: Workspace,
    keys: Keys,
    tip_id: str,
    number: int,
    entry: AttachmentEntry,
    sealed: BundleAttachment | None,
    sharp: bool,
    decode: bool,
    limits: Limits | None,
    on_bytes: Callable[[int], None],
) -> _Fed:
    what = f"attachment {number} of tip {short(tip_id)}"
    source = ws.attachment_path(tip_id, entry.id)
    if sealed is None or not source.is_file():
        raise VerificationError(f"{what} is missing from the workspace; nothing was written")
    if source.stat().st_size != sealed.size:
        read_verified(source, sealed, what)
    sink = _Sink(entry.size, sharp, limits or Limits(), decode)
    try:
        with source.open("rb") as handle:
            open_attachment(CountingReader(handle, on_bytes), sink, [keys.age], ContentDigest(entry.size, entry.sha256))  # type: ignore[arg-type]
        sink.finish()
    except TipboxCryptoError as exc:
        if sink.child is not None:
            sink.child.abandon()
        raise VerificationError(f"{what} failed verification: {exc}; nothing was written") from None
    except BaseException:
        if sink.child is not None:
            sink.child.abandon()
        raise
    if sink.child is not None:
        sink.child.close_input()  # the child decodes while the next attachment is decrypted
    kind = sink.kind
    assert kind is not None  # finish() decided it
    evidence = Evidence(
        number, entry.id, entry.name, entry.media_type, kind, sink.hasher.result(),
        mismatch=disagreement(kind, entry.name, entry.media_type), sharp=sharp,
    )
    return _Fed(evidence, sink.child, decode)


def _complete(fed: _Fed) -> Evidence:
    """Wait for the decoder child and read its answer into the evidence."""
    evidence, child = fed.evidence, fed.child
    if child is None:
        if evidence.kind.decoder is None:
            return _with(evidence, problem=f"no preview for {evidence.kind.code} files")
        if not fed.decode:
            return evidence
        return _with(evidence, problem="too large for a preview")
    outcome = child.finish()
    if not outcome.ok:
        return _with(evidence, problem=outcome.problem, child_rss_kib=outcome.max_rss_kib)
    answer = _read_answer(outcome.output)
    if not answer.get("ok"):
        return _with(evidence, problem=str(answer.get("problem") or "no preview")[:200],
                     child_rss_kib=outcome.max_rss_kib)
    pdq = answer.get("pdq")
    quality = answer.get("pdq_quality")
    return _with(
        evidence,
        details=_details(answer),
        pdq=pdq if isinstance(pdq, str) and len(pdq) == 64 else None,
        pdq_quality=quality if isinstance(quality, int) else None,
        metadata=_metadata(answer.get("metadata")),
        previews=_previews(answer.get("previews")),
        child_rss_kib=outcome.max_rss_kib,
    )


def inspect_one(
    ws: Workspace,
    keys: Keys,
    tip_id: str,
    number: int,
    entry: AttachmentEntry,
    sealed: BundleAttachment | None,
    *,
    sharp: bool = False,
    decode: bool = True,
    limits: Limits | None = None,
    on_bytes: Callable[[int], None] = lambda n: None,
) -> Evidence:
    """Decrypt, verify, hash and (for images and PDFs) preview one attachment, without writing anything."""
    return _complete(_feed(ws, keys, tip_id, number, entry, sealed, sharp, decode, limits, on_bytes))


def _with(evidence: Evidence, **changes: Any) -> Evidence:
    from dataclasses import replace

    return replace(evidence, **changes)


def inspect(
    ws: Workspace,
    keys: Keys,
    tip_id: str,
    content: Sequence[AttachmentEntry],
    sealed: Sequence[BundleAttachment],
    *,
    sharp: Collection[int] = (),
    decode: bool = True,
    limits: Limits | None = None,
    on_start: Callable[[str, int], None] = lambda name, total: None,
    on_bytes: Callable[[int], None] = lambda n: None,
) -> list[Evidence]:
    """The evidence report of every attachment ``content`` lists (the tip's, then its follow-ups')."""
    if not content:
        raise InputError(f"tip {short(tip_id)} has no attachments")
    check_numbers(sharp, len(content), "--unblur")
    by_id = {a.id: a for a in sealed}
    workers = max(1, min(MAX_CHILDREN, os.cpu_count() or 1))
    fed: list[_Fed] = []
    done: list[Evidence] = []
    try:
        for number, entry in enumerate(content, 1):
            on_start(f"attachment {number}", by_id[entry.id].size if entry.id in by_id else 0)
            fed.append(
                _feed(ws, keys, tip_id, number, entry, by_id.get(entry.id), number in sharp, decode, limits, on_bytes)
            )
            while sum(1 for f in fed[len(done):] if f.child is not None) >= workers:
                done.append(_complete(fed[len(done)]))
        while len(done) < len(fed):
            done.append(_complete(fed[len(done)]))
    except BaseException:
        for waiting in fed[len(done):]:
            if waiting.child is not None:
                waiting.child.abandon()
        raise
    return done


def check_numbers(numbers: Collection[int], count: int, option: str) -> None:
    """Refuse attachment numbers the tip does not have (1..count), naming the option."""
    bad = sorted(n for n in numbers if not 1 <= n <= count)
    if bad:
        raise InputError(f"{option} {bad[0]}: the tip has attachments 1 to {count} (see `show` or the preview sheet)")
