"""A Request class that never spools an upload to disk.

Werkzeug writes file parts larger than 500 KiB to a temporary file; for the
no-JS path that would be plaintext on disk. Here every part stays in memory,
bounded by MAX_CONTENT_LENGTH (TIPBOX_MAX_NOJS_BYTES for form posts), and is
sealed immediately by the intake view.
"""

from __future__ import annotations

import io
from typing import IO

from flask import Request


class InMemoryRequest(Request):
    def _get_file_stream(  # type: ignore[override]
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return io.BytesIO()
