"""Real files for the evidence tests, made here: photos with EXIF GPS, a PNG, PDFs whole and cut short,
a decompression bomb, and a file whose name lies about its type."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

CANARY = b"KANARI-PLAINTEXT-7f3a"  # in a JPEG comment: must never appear on disk outside --out


def checkerboard(width: int = 640, height: int = 480, square: int = 8) -> Image.Image:
    image = Image.new("RGB", (width, height), (255, 255, 255))
    pixels = image.load()
    for y in range(height):
        for x in range(width):
            if (x // square + y // square) % 2:
                pixels[x, y] = (20, 60, 200)
    return image


def jpeg_with_gps(image: Image.Image | None = None) -> bytes:
    """A photo as a phone takes it: make, model, time and a GPS fix (Pesawaran, Lampung) in EXIF."""
    image = image or checkerboard()
    exif = Image.Exif()
    exif[0x010F] = "KameraPelapor"  # Make
    exif[0x0110] = "X-100"  # Model
    exif[0x0132] = "2026:11:20 21:15:00"  # DateTime
    exif.get_ifd(0x8769)[0x9003] = "2026:11:20 21:14:59"  # DateTimeOriginal
    exif[0x8825] = {1: "S", 2: (5.0, 26.0, 0.0), 3: "E", 4: (105.0, 16.0, 30.0), 6: 12.5}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=CANARY, quality=90)
    return out.getvalue()


def png_pattern() -> bytes:
    image = Image.new("L", (300, 200), 0)
    for y in range(200):
        for x in range(300):
            image.putpixel((x, y), (x * 3 + y * 5) % 256)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def pdf_pages(count: int = 5) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_author("Penulis Dokumen")
    pdf.set_creator("Aplikasi Kantor")
    for number in range(1, count + 1):
        pdf.add_page()
        pdf.set_font("Helvetica", size=40)
        pdf.cell(0, 30, f"Halaman {number}")
    return bytes(pdf.output())


def truncated_pdf() -> bytes:
    data = pdf_pages(5)
    return data[: len(data) // 3]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(side: int = 20_000) -> bytes:
    """A 1-bit PNG of side × side pixels (400 megapixels at the default), all black: about 50 KB."""
    row = b"\x00" + bytes((side + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def pdq_hex(data: bytes) -> str:
    """PDQ of an image file computed independently of review_cli: pdqhash on its RGB pixels."""
    import numpy
    import pdqhash

    with Image.open(io.BytesIO(data)) as image:
        pixels = numpy.asarray(image.convert("RGB"))
    vector, _quality = pdqhash.compute(pixels)
    return f"{int(''.join(str(int(bit)) for bit in vector), 2):064x}"
