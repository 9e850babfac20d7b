"""What a file is, from its first bytes: never from its name or the type the browser declared.

A source's file name and media type are whatever the sender's device (or an
attacker) said; `foto.jpg` may be a PDF or a program. The kind decides which
decoder may look at a file (images: Pillow; PDFs: PDFium; anything else is
listed without a preview), and a name or type that disagrees with the
content is pointed out. This matches fixed signatures only (the "magic
numbers" every format defines in its first bytes); it parses nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

HEAD = 64  # bytes needed to tell the kinds below apart


@dataclass(frozen=True)
class Kind:
    code: str  # short name shown to people: jpeg, png, pdf, zip ...
    media_type: str
    decoder: str | None  # "image", "pdf" or None (no preview is made)
    extensions: tuple[str, ...] = ()


UNKNOWN = Kind("unknown", "application/octet-stream", None)
TEXT = Kind("text", "text/plain", None, (".txt", ".csv", ".md", ".log"))
EMPTY = Kind("empty", "application/octet-stream", None)

# (offset, signature, kind), first match wins.
_SIGNATURES: tuple[tuple[int, bytes, Kind], ...] = (
    (0, b"\xff\xd8\xff", Kind("jpeg", "image/jpeg", "image", (".jpg", ".jpeg", ".jfif"))),
    (0, b"\x89PNG\r\n\x1a\n", Kind("png", "image/png", "image", (".png",))),
    (0, b"GIF87a", Kind("gif", "image/gif", "image", (".gif",))),
    (0, b"GIF89a", Kind("gif", "image/gif", "image", (".gif",))),
    (0, b"BM", Kind("bmp", "image/bmp", "image", (".bmp",))),
    (0, b"II*\x00", Kind("tiff", "image/tiff", "image", (".tif", ".tiff"))),
    (0, b"MM\x00*", Kind("tiff", "image/tiff", "image", (".tif", ".tiff"))),
    (0, b"%PDF-", Kind("pdf", "application/pdf", "pdf", (".pdf",))),
    (0, b"PK\x03\x04", Kind("zip", "application/zip", None, (".zip", ".docx", ".xlsx", ".pptx", ".odt", ".apk"))),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", Kind("ole", "application/x-ole-storage", None, (".doc", ".xls", ".ppt"))),
    (0, b"Rar!\x1a\x07", Kind("rar", "application/vnd.rar", None, (".rar",))),
    (0, b"7z\xbc\xaf\x27\x1c", Kind("7z", "application/x-7z-compressed", None, (".7z",))),
    (0, b"\x1f\x8b", Kind("gzip", "application/gzip", None, (".gz", ".tgz"))),
    (0, b"ID3", Kind("mp3", "audio/mpeg", None, (".mp3",))),
    (0, b"OggS", Kind("ogg", "audio/ogg", None, (".ogg", ".oga", ".opus"))),
    (0, b"fLaC", Kind("flac", "audio/flac", None, (".flac",))),
    (0, b"\x1aE\xdf\xa3", Kind("matroska", "video/x-matroska", None, (".mkv", ".webm"))),
    (0, b"\x7fELF", Kind("elf", "application/x-executable", None)),
    (0, b"MZ", Kind("exe", "application/x-msdownload", None, (".exe", ".dll"))),
)
_WEBP = Kind("webp", "image/webp", "image", (".webp",))
_WAV = Kind("wav", "audio/wav", None, (".wav",))
_AVI = Kind("avi", "video/x-msvideo", None, (".avi",))
_HEIC = Kind("heic", "image/heic", None, (".heic", ".heif"))  # Pillow cannot decode it without a plug-in
_MP4 = Kind("mp4", "video/mp4", None, (".mp4", ".m4v", ".m4a", ".mov", ".3gp"))


def sniff(head: bytes) -> Kind:
    """The kind of a file from its first :data:`HEAD` bytes."""
    if not head:
        return EMPTY
    for offset, signature, kind in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return kind
    if head[:4] == b"RIFF":
        return {b"WEBP": _WEBP, b"WAVE": _WAV, b"AVI ": _AVI}.get(head[8:12], UNKNOWN)
    if head[4:8] == b"ftyp":
        return _HEIC if head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heif") else _MP4
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut at the end of the head
            return UNKNOWN
    return TEXT if all(ch >= 0x20 or ch in b"\t\r\n\f" for ch in head) else UNKNOWN


def disagreement(kind: Kind, name: str, declared: str) -> str | None:
    """Words saying how the source's name or declared type disagrees with the content, or None."""
    if kind in (UNKNOWN, EMPTY):
        return None
    problems = []
    extension = os.path.splitext(name.replace("\\", "/").rsplit("/", 1)[-1])[1].lower()
    if extension and kind.extensions and extension not in kind.extensions:
        problems.append(f"name ends {extension}")
    major = declared.split("/", 1)[0]
    if declared and declared != kind.media_type and major != kind.media_type.split("/", 1)[0]:
        problems.append(f"declared {declared}")
    if not problems:
        return None
    return f"{' and '.join(problems)}, but the content is {kind.code}"
