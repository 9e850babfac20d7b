"""`attachments --strip`: copies for sharing without the metadata that can identify a source or a place.

A photo's EXIF can carry a GPS fix, the phone's make and serial, the owner's
name; office documents carry authors and edit histories. Before a copy goes
to anyone, they must go. Two tools, both well kept, neither written here:

* **mat2** (Debian/Tails package `mat2`), when installed, for every format it
  supports (images, PDF, office documents, audio, video, archives). It picks
  a format by file name, so the copy is named after its kind *as sniffed from
  the content* (review_cli/kinds.py), never after the source's name alone.
  It runs under review_cli/sandbox.py's limits (CPU, memory, no core dumps, a
  file-size limit just large enough for the cleaned copy) and a deadline.
* **Pillow** otherwise, for single-frame JPEG, PNG, WebP, TIFF, BMP and GIF:
  re-saved without EXIF, XMP, ICC or comments in the contained decoder child
  (review_cli/decoder.py ``strip``), which gets the bytes on a pipe and
  answers the clean ones.

Each file says what was done: which tool stripped it, or why it was not
(a format neither tool handles, a tool that failed): then the copy still
carries its metadata and the CLI warns.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from .kinds import Kind
from .sandbox import MIB, Child, Limits

# The file name ending mat2 needs for each kind (mat2 -l); None: mat2 has no parser for it.
MAT2_EXTENSIONS: dict[str, str] = {
    "jpeg": ".jpg",
    "png": ".png",
    "gif": ".gif",
    "tiff": ".tif",
    "pdf": ".pdf",
    "heic": ".heic",
    "mp3": ".mp3",
    "ogg": ".ogg",
    "flac": ".flac",
    "wav": ".wav",
    "avi": ".avi",
    "mp4": ".mp4",
    "text": ".txt",
    "zip": ".zip",
}
# Office and e-book files are zip archives: mat2 cleans them as such only under their own ending.
_ZIP_DOCUMENTS = (".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp", ".odg", ".epub")
PILLOW_KINDS = ("jpeg", "png", "webp", "tiff", "bmp", "gif")
_BLOCK = 1024 * 1024


@dataclass(frozen=True)
class Stripped:
    done: bool
    note: str  # what was removed and by which tool, or why not


def mat2_path() -> str | None:
    """mat2's program, if installed (``TIPBOX_REVIEW_MAT2=0`` turns it off, e.g. to compare)."""
    if os.environ.get("TIPBOX_REVIEW_MAT2") == "0":
        return None
    return shutil.which("mat2")


def mat2_extension(kind: Kind, name: str) -> str | None:
    """The ending mat2 must see for ``kind``: a zip keeps the source's office ending if it has one."""
    if kind.code == "zip":
        ending = os.path.splitext(name)[1].lower()
        return ending if ending in _ZIP_DOCUMENTS else ".zip"
    return MAT2_EXTENSIONS.get(kind.code)


def mat2_limits(size: int) -> Limits:
    """mat2 renders PDFs page by page and rewrites archives: more room than a preview, still bounded."""
    return Limits(cpu_seconds=120, address_space=4096 * MIB, file_size=max(4 * size, 64 * MIB), timeout=240.0)


def _mat2(program: str, args: list[str], limits: Limits) -> Child:
    return Child([sys.executable, "-B", "-s", "-m", "review_cli.sandbox", limits.as_json(), "--", program, *args],
                 limits)


def mat2_found(program: str, path: Path) -> list[str]:
    """The names (never the values) of the metadata ``mat2 --show`` finds, read under limits, writing nothing."""
    limits = replace(mat2_limits(path.stat().st_size), file_size=0)
    outcome = _mat2(program, ["--show", str(path)], limits).finish()
    if not outcome.ok:
        return []
    names = []
    for line in outcome.output.decode("utf-8", "replace").splitlines():
        name, colon, _value = line.strip().partition(":")
        if colon and not line.startswith("[") and name.isprintable() and name not in names:
            names.append(name[:40])
    return names


def strip_with_mat2(program: str, path: Path) -> Stripped:
    """Clean ``path`` in place with mat2 under limits; ``path`` must end as mat2 expects."""
    found = mat2_found(program, path)
    outcome = _mat2(program, ["--inplace", str(path)], mat2_limits(path.stat().st_size)).finish()
    if not outcome.ok:
        return Stripped(False, f"not stripped: mat2 could not clean it ({outcome.problem})")
    shown = ", ".join(found[:12]) + (f" and {len(found) - 12} more" if len(found) > 12 else "")
    return Stripped(True, f"metadata removed by mat2 (found: {shown or 'none listed'})")


def strip_with_pillow(path: Path, kind: Kind, limits: Limits | None = None) -> Stripped:
    """Re-save an image without metadata in the contained decoder; replace ``path`` only on success."""
    if kind.code not in PILLOW_KINDS:
        return Stripped(False, f"not stripped: {kind.code} files need mat2 (not installed)")
    from .evidence import MAX_PIXELS, MAX_PREVIEW_INPUT

    size = path.stat().st_size
    if size > MAX_PREVIEW_INPUT:
        return Stripped(False, "not stripped: too large to re-save")
    job = {"op": "strip", "max_pixels": MAX_PIXELS, "max_input": MAX_PREVIEW_INPUT}
    child = Child.python("review_cli.decoder", [json.dumps(job)], limits or Limits())
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            child.write(block)
    outcome = child.finish()
    if not outcome.ok:
        return Stripped(False, f"not stripped: {outcome.problem}")
    try:
        answer = json.loads(outcome.output)
        if not isinstance(answer, dict) or not answer.get("ok"):
            problem = answer.get("problem") if isinstance(answer, dict) else None
            return Stripped(False, f"not stripped: {str(problem or 'the image could not be re-saved')[:200]}")
        clean = base64.b64decode(str(answer["data"]), validate=True)
    except (ValueError, KeyError, binascii.Error):
        return Stripped(False, "not stripped: the image could not be re-saved cleanly")
    temp = path.with_name(path.name + ".strip")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(clean)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    removed = str(answer.get("removed") or "none found")[:100]
    return Stripped(True, f"metadata removed by Pillow (EXIF, XMP, ICC, comments; found: {removed})")


def strip_file(path: Path, kind: Kind, name: str) -> Stripped:
    """Strip ``path`` (a verified copy in the output directory) in place, with mat2 or else Pillow.

    ``path`` may be renamed by the caller afterwards; with mat2 it must already
    end as :func:`mat2_extension` says (the caller names the temporary file so).
    """
    program = mat2_path()
    if program is not None and mat2_extension(kind, name) is not None:
        result = strip_with_mat2(program, path)
        if result.done or kind.code not in PILLOW_KINDS:
            return result
    if kind.code in PILLOW_KINDS:
        return strip_with_pillow(path, kind)
    if program is not None:
        return Stripped(False, f"not stripped: mat2 does not handle {kind.code} files")
    return Stripped(False, f"not stripped: {kind.code} files need mat2 (not installed)")
