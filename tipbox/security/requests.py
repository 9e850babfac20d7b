"""The Request class: uploads never spool to disk, and a broken body is the client's error.

Werkzeug writes file parts larger than 500 KiB to a temporary file; for the
no-JS path that would be plaintext on disk. Here every part stays in memory,
bounded by MAX_CONTENT_LENGTH (TIPBOX_MAX_NOJS_BYTES for form posts), and is
sealed immediately by the intake view.

The WSGI server parses the body's transfer encoding while the app reads it.
gunicorn raises its own exceptions for a malformed chunked body
(``InvalidChunkSize``, ``ChunkMissingTerminator``…), which werkzeug does not
know (it turns only ``OSError``/``ValueError`` into a 400), so they ended as a
500. :class:`ClientBody` makes every failure to read the body a 400.
"""

from __future__ import annotations

import io
from typing import IO, Any

from flask import Request
from werkzeug.exceptions import BadRequest, HTTPException


class UnreadableBody(BadRequest):
    """The request body could not be read (malformed framing, or the client went away)."""


class ClientBody:
    """``wsgi.input`` whose read errors become :class:`UnreadableBody`.

    Any exception from the server's stream is about bytes the client sent (or
    did not send): it is never worth a 500, and its message, which may quote
    those bytes, is dropped.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._stream, method)(*args)
        except HTTPException:
            raise
        except Exception:
            raise UnreadableBody() from None

    def read(self, *args: Any) -> bytes:
        return self._call("read", *args)

    def readline(self, *args: Any) -> bytes:
        return self._call("readline", *args)

    def readlines(self, *args: Any) -> list[bytes]:
        return self._call("readlines", *args)

    def __iter__(self) -> ClientBody:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


class InMemoryRequest(Request):
    def __init__(self, environ: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        stream = environ.get("wsgi.input")
        if stream is not None and not isinstance(stream, ClientBody):
            environ["wsgi.input"] = ClientBody(stream)
        super().__init__(environ, *args, **kwargs)

    def _get_file_stream(  # type: ignore[override]
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return io.BytesIO()
