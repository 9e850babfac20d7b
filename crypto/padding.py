"""Padmé length hiding (Nikitin et al., PETS 2019) for everything tipbox seals.

A plaintext of L bytes is framed as ``content || 0x80 || 0x00 * k`` so that the
framed length is ``padme(L + 1)``. The 0x80 marker makes the padding
self-delimiting (ISO/IEC 7816-4 style), so an attachment can be unpadded while
streaming without knowing its length in advance; the length check makes any
other trailing bytes a hard error instead of silently accepted junk. Padmé
leaks at most O(log log L) bits of the length with at most 12 % overhead.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .errors import MalformedPadding

MARKER = 0x80
_ZEROS = bytes(64 * 1024)


def padme(length: int) -> int:
    """Return the Padmé bucket for ``length`` (the smallest padded size >= length)."""
    if length < 0:
        raise ValueError("length must be non-negative")
    if length < 2:
        return length
    exponent = length.bit_length() - 1  # floor(log2(L))
    mantissa_bits = exponent.bit_length()  # floor(log2(E)) + 1
    low_bits = exponent - mantissa_bits
    mask = (1 << low_bits) - 1
    return (length + mask) & ~mask


def padded_length(content_length: int) -> int:
    """Length on the wire (before sealing) of ``content_length`` bytes of content."""
    return padme(content_length + 1)


def pad(content: bytes) -> bytes:
    """Frame ``content`` with marker and zero padding to its Padmé bucket."""
    total = padded_length(len(content))
    return content + bytes([MARKER]) + bytes(total - len(content) - 1)


def unpad(framed: bytes) -> bytes:
    """Strip tipbox padding, refusing anything that is not exactly well-formed."""
    end = len(framed.rstrip(b"\x00"))
    if end == 0 or framed[end - 1] != MARKER:
        raise MalformedPadding("padding marker missing")
    if len(framed) != padded_length(end - 1):
        raise MalformedPadding("padded length is not a Padmé bucket of the content")
    return framed[: end - 1]


def pad_stream(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Yield ``chunks`` followed by the marker and zeros, in bounded memory."""
    length = 0
    for chunk in chunks:
        length += len(chunk)
        if chunk:
            yield chunk
    zeros = padded_length(length) - length - 1
    yield bytes([MARKER])
    while zeros > 0:
        step = min(zeros, len(_ZEROS))
        yield _ZEROS[:step]
        zeros -= step


class StreamUnpadder:
    """Incremental inverse of :func:`pad_stream`.

    Feed framed chunks; it returns content as soon as it is known not to be
    padding. A trailing run of zeros is held back only as a *count*, so memory
    stays bounded no matter how long the padding is. :meth:`finish` validates
    the frame and raises :class:`MalformedPadding` if it is not exact.
    """

    def __init__(self) -> None:
        self._content_length = 0
        self._held_marker = False
        self._held_zeros = 0

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        if not chunk:
            return
        # Fast path: a chunk that does not end in a zero byte needs no scan (and no copy).
        stripped = chunk if chunk[-1] != 0 else chunk.rstrip(b"\x00")
        if not stripped:
            self._held_zeros += len(chunk)
            return
        # A non-zero byte appeared, so whatever was held back is content.
        if self._held_marker:
            self._content_length += 1
            yield bytes([MARKER])
        while self._held_zeros:
            step = min(self._held_zeros, len(_ZEROS))
            self._content_length += step
            self._held_zeros -= step
            yield _ZEROS[:step]
        last = stripped[-1]
        body = stripped[:-1] if last == MARKER else stripped
        self._held_marker = last == MARKER
        self._held_zeros = len(chunk) - len(stripped)
        self._content_length += len(body)
        if body:
            yield body

    def finish(self) -> int:
        """Validate the frame; return the content length."""
        if not self._held_marker:
            raise MalformedPadding("padding marker missing")
        total = self._content_length + 1 + self._held_zeros
        if total != padded_length(self._content_length):
            raise MalformedPadding("padded length is not a Padmé bucket of the content")
        return self._content_length
