"""The one JSON reader for documents that come from someone else.

Python's ``json.loads`` is lenient in ways that turn hostile input into
crashes or ambiguity, and every side of tipbox reads JSON it did not write
(API bodies on the server, sealed payloads in the review CLI, dispositions
files and bundle manifests). This reader refuses, with one exception type
(:class:`~crypto.errors.MalformedJSON`):

- bytes that are not UTF-8 (``json.loads`` would guess UTF-16 or UTF-32);
- nesting deeper than ``max_depth`` — thousands of ``[`` would otherwise end in
  ``RecursionError`` inside the decoder;
- integers longer than ``max_int_digits`` — Python's integer-string limit
  raises a bare ``ValueError`` at 4,300 digits, and no tipbox number is near
  20 digits;
- ``NaN``, ``Infinity`` and numbers too large for a float (not JSON, RFC 8259 §6);
- an object with the same key twice: two parsers could read two different
  documents out of it (RFC 8259 §4; a signed document must mean one thing).

Size is the caller's to bound before reading (it knows its own limit).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from .errors import MalformedJSON

DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_INT_DIGITS = 20


def _no_constant(_name: str) -> Any:
    raise MalformedJSON("NaN and Infinity are not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise MalformedJSON("a number is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise MalformedJSON("an object has the same key twice")
    return document


def depth(value: Any) -> int:
    """Nesting depth of a parsed document (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level + 1)
        stack.extend((child, level + 1) for child in children)
    return deepest


def loads(
    data: bytes | str, *, max_depth: int = DEFAULT_MAX_DEPTH, max_int_digits: int = DEFAULT_MAX_INT_DIGITS
) -> Any:
    """Parse ``data`` as strict JSON (rules in the module docstring)."""

    def bounded_int(text: str) -> int:
        if len(text.lstrip("-")) > max_int_digits:
            raise MalformedJSON("a number has too many digits")
        return int(text)

    try:
        text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
        document = json.loads(
            text,
            parse_int=bounded_int,
            parse_float=_finite_float,
            parse_constant=_no_constant,
            object_pairs_hook=_unique_keys,
        )
    except UnicodeDecodeError:
        raise MalformedJSON("not UTF-8") from None
    except json.JSONDecodeError:
        raise MalformedJSON("not JSON") from None
    except RecursionError:
        # The decoder is C and checks the interpreter's recursion limit as it nests.
        raise MalformedJSON("nested too deeply") from None
    if depth(document) > max_depth:
        raise MalformedJSON("nested too deeply")
    return document
