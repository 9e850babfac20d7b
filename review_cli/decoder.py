"""The child side of a preview: decode one attachment from standard input, answer JSON on standard output.

Run only by review_cli/previews.py through review_cli/sandbox.py, as
``python -m review_cli.decoder LIMITS JOB``. The first thing it does is
:func:`review_cli.sandbox.apply_limits`; only then are Pillow, pypdfium2 and
pdqhash imported and the input read. It never opens a file: the bytes come
on a pipe, the previews go back as raw grey pixels in the JSON answer, and the
parent writes nothing of it but the preview sheet.

Jobs (``JOB`` is JSON with ``op``):

* ``image``: Pillow decodes it (``Image.MAX_IMAGE_PIXELS`` lowered, and a
  DecompressionBombWarning is an error); the answer has the format, size,
  the PDQ hash of the pixels as stored (pdqhash, Meta's reference C++
  code, on the RGB image: what an agency's tool computes on the same file),
  the capture time, device and GPS fix from EXIF, and one small greyscale
  preview, strongly blurred unless ``sharp``.
* ``pdf``: pypdfium2 (PDFium) renders the first ``pages`` pages the same
  way and reads the document information (author, creator, producer, dates).
* ``strip``: Pillow re-saves the image without EXIF, XMP, ICC profile or
  comments and answers the new bytes (what `attachments --strip` falls back
  to without mat2).

Previews go back as raw grey pixels with their width and height, not as a
PNG: a decoder that a hostile file took over could answer anything, and the
parent then only has to check two numbers and a length, never parse an
image format.

Any failure is ``{"ok": false, "problem": ...}`` with words that never quote
the input; a crash or a limit simply ends the process, and the parent says so.
"""

from __future__ import annotations

import base64
import io
import json
import sys
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .sandbox import Limits, apply_limits

if TYPE_CHECKING:
    from PIL import Image as ImageModule

MAX_TEXT = 200  # characters kept of any metadata value
STRIPPABLE = ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF")

Answer = dict[str, Any]


def _text(value: object) -> str | None:
    """A metadata value as short printable text (the terminal and the sheet sanitise it again)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if value is None:
        return None
    text = "".join(ch if ch.isprintable() else " " for ch in str(value)).strip().strip("\x00")
    return text[:MAX_TEXT] or None


def _rational(value: object) -> float:
    return float(value)  # type: ignore[arg-type]  # Pillow's IFDRational and plain numbers both convert


def _degrees(parts: object, ref: object) -> float | None:
    try:
        d, m, s = (_rational(p) for p in parts)  # type: ignore[attr-defined]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = d + m / 60 + s / 3600
    return -value if str(ref).upper().startswith(("S", "W")) else value


def image_metadata(image: ImageModule.Image) -> dict[str, str]:
    """Capture time, device, software and GPS fix from EXIF, and which metadata blocks the file carries."""
    out: dict[str, str] = {}
    exif = image.getexif()
    details = exif.get_ifd(0x8769)  # Exif IFD
    gps = exif.get_ifd(0x8825)  # GPS IFD
    when = details.get(0x9003) or details.get(0x9004) or exif.get(0x0132)  # DateTimeOriginal, Digitized, DateTime
    if when:
        offset = details.get(0x9011)
        out["capture_time"] = _text(f"{when} {offset or ''}") or ""
    device = " ".join(t for t in (_text(exif.get(0x010F)), _text(exif.get(0x0110))) if t)  # Make, Model
    if device:
        out["device"] = device
    software = _text(exif.get(0x0131))
    if software:
        out["software"] = software
    if gps:
        lat, lon = _degrees(gps.get(2), gps.get(1)), _degrees(gps.get(4), gps.get(3))
        if lat is not None and lon is not None:
            out["gps"] = f"{lat:.6f}, {lon:.6f}"
        altitude = gps.get(6)
        if altitude is not None:
            try:
                out["gps_altitude"] = f"{_rational(altitude):.1f} m"
            except (TypeError, ValueError, ZeroDivisionError):
                pass
        stamp = " ".join(t for t in (_text(gps.get(29)), _text(gps.get(7))) if t)
        if stamp:
            out["gps_time"] = stamp
    present = [name for name, found in (
        ("EXIF", len(exif) > 0),
        ("XMP", "xmp" in image.info or "XML:com.adobe.xmp" in image.info),
        ("ICC", "icc_profile" in image.info),
        ("comment", "comment" in image.info),
        ("text", bool(getattr(image, "text", None))),
    ) if found]
    if present:
        out["present"] = ", ".join(present)
    return {k: v for k, v in out.items() if v}


def _pixels(image: ImageModule.Image) -> dict[str, Any]:
    """Raw 8-bit grey pixels: the parent rebuilds the picture without parsing any file format."""
    return {
        "width": image.width,
        "height": image.height,
        "pixels": base64.b64encode(image.tobytes()).decode("ascii"),
    }


def _preview(image: ImageModule.Image, job: Mapping[str, Any]) -> dict[str, Any]:
    """Greyscale, small, and unless ``sharp`` blurred so shapes show and details do not."""
    from PIL import ImageFilter

    size = int(job["sharp_px"] if job["sharp"] else job["preview_px"])
    grey = image.convert("L")
    grey.thumbnail((size, size))
    if not job["sharp"]:
        grey = grey.filter(ImageFilter.GaussianBlur(radius=max(grey.size) / float(job["blur_divisor"])))
    return _pixels(grey)


def _pdq(image: ImageModule.Image) -> tuple[str, int]:
    """PDQ of the image's RGB pixels as stored (no EXIF rotation), as the 64 hex digits of the reference tools."""
    import numpy
    import pdqhash

    pixels = numpy.ascontiguousarray(numpy.asarray(image.convert("RGB"), dtype=numpy.uint8))
    vector, quality = pdqhash.compute(pixels)
    bits = "".join("1" if int(b) else "0" for b in vector)  # hash_to_vector: most significant bit first
    return f"{int(bits, 2):064x}", int(quality)


def image_job(data: bytes, job: Mapping[str, Any]) -> Answer:
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = int(job["max_pixels"])
    with Image.open(io.BytesIO(data)) as image:
        answer: Answer = {
            "ok": True,
            "format": image.format or "?",
            "width": image.width,
            "height": image.height,
            "frames": int(getattr(image, "n_frames", 1)),
            "metadata": image_metadata(image),
        }
        image.load()
        answer["pdq"], answer["pdq_quality"] = _pdq(image)
        upright = ImageOps.exif_transpose(image)
        answer["previews"] = [_preview(upright, job)]
    return answer


def pdf_job(data: bytes, job: Mapping[str, Any]) -> Answer:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        info = document.get_metadata_dict(skip_empty=True)
        metadata = {key.lower(): text for key, value in info.items() if (text := _text(value))}
        count = len(document)
        previews = []
        size = int(job["sharp_px"] if job["sharp"] else job["preview_px"])
        for number in range(min(count, int(job["pages"]))):
            page = document[number]
            width, height = page.get_size()
            scale = min(4.0, size / max(width, height, 1.0))
            bitmap = page.render(scale=scale, grayscale=True)
            previews.append(_preview(bitmap.to_pil(), job))
            bitmap.close()
            page.close()
    finally:
        document.close()
    return {"ok": True, "format": "PDF", "pages": count, "metadata": metadata, "previews": previews}


def strip_job(data: bytes, job: Mapping[str, Any]) -> Answer:
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = int(job["max_pixels"])
    with Image.open(io.BytesIO(data)) as image:
        kind = image.format or ""
        if kind not in STRIPPABLE:
            return {"ok": False, "problem": f"{kind or 'this'} format is not re-saved by tipbox-review"}
        if getattr(image, "n_frames", 1) > 1:
            return {"ok": False, "problem": "animated or multi-page image"}
        removed = image_metadata(image).get("present", "")
        image.load()
        clean = ImageOps.exif_transpose(image)  # keep the picture upright once EXIF is gone
        clean.info = {}
        options: dict[str, int] = {"quality": 95} if kind in ("JPEG", "WEBP") else {}
        out = io.BytesIO()
        clean.save(out, format=kind, **options)
    with Image.open(io.BytesIO(out.getvalue())) as check:
        if len(check.getexif()) or {"exif", "xmp", "icc_profile", "comment"} & set(check.info):
            return {"ok": False, "problem": "metadata survived re-saving"}
    return {"ok": True, "data": base64.b64encode(out.getvalue()).decode("ascii"), "removed": removed or "none found"}


JOBS = {"image": image_job, "pdf": pdf_job, "strip": strip_job}


def answer(data: bytes, job: Mapping[str, Any]) -> Answer:
    """The job's answer; every failure of the input becomes a problem in words, never a traceback."""
    from PIL import Image, UnidentifiedImageError

    warnings.simplefilter("error", Image.DecompressionBombWarning)
    try:
        return JOBS[str(job["op"])](data, job)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return {"ok": False, "problem": f"decompression bomb: more than {int(job['max_pixels']):,} pixels"}
    except MemoryError:
        return {"ok": False, "problem": "memory limit reached"}
    except UnidentifiedImageError:
        return {"ok": False, "problem": "not an image Pillow can read"}
    except Exception as exc:  # a damaged or hostile file: the type only, the message could quote it
        return {"ok": False, "problem": f"cannot be decoded ({type(exc).__name__})"}


def main(argv: list[str]) -> int:
    apply_limits(Limits.from_json(argv[0]))  # before reading a byte
    job = json.loads(argv[1])
    data = sys.stdin.buffer.read(int(job["max_input"]) + 1)
    if len(data) > int(job["max_input"]):
        result: Answer = {"ok": False, "problem": "too large for a preview"}
    else:
        result = answer(data, job)
    sys.stdout.buffer.write(json.dumps(result).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
