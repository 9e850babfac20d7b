"""crypto.strict_json: the one reader for JSON that someone else wrote."""

from __future__ import annotations

import json

import pytest

from crypto import payload, strict_json
from crypto.errors import MalformedDocument, MalformedJSON, MalformedPayload


def test_ordinary_documents_read_as_json_loads_reads_them() -> None:
    document = {"a": [1, -2, 3.5, True, None, "ü"], "b": {"c": []}, "n": 10**19, "m": -(10**19)}
    text = json.dumps(document)
    assert strict_json.loads(text) == json.loads(text)
    assert strict_json.loads(text.encode()) == document


@pytest.mark.parametrize("text", [
    "[" * 100_000,                        # the decoder's own recursion
    "[" * 33 + "]" * 33,                  # past the default depth
    '{"a":' * 40 + "1" + "}" * 40,
])
def test_deep_nesting_is_refused_without_recursion_error(text: str) -> None:
    with pytest.raises(MalformedJSON):
        strict_json.loads(text)


def test_depth_is_the_callers_to_choose() -> None:
    assert strict_json.loads("[[[1]]]", max_depth=3) == [[[1]]]
    with pytest.raises(MalformedJSON):
        strict_json.loads("[[[[1]]]]", max_depth=3)
    assert strict_json.depth({"a": [{"b": 1}], "c": 2}) == 3
    assert strict_json.depth(7) == 0


@pytest.mark.parametrize("number", ["9" * 21, "-" + "9" * 21, "9" * 5000, "1e400", "-1e999", "NaN", "Infinity",
                                    "-Infinity"])
def test_numbers_outside_the_limits_are_refused(number: str) -> None:
    with pytest.raises(MalformedJSON):
        strict_json.loads('{"n": %s}' % number)  # noqa: UP031


def test_twenty_digits_are_allowed_and_the_limit_can_move() -> None:
    assert strict_json.loads("[" + "9" * 20 + "]") == [int("9" * 20)]
    with pytest.raises(MalformedJSON):
        strict_json.loads("[123]", max_int_digits=2)


@pytest.mark.parametrize("data", [
    b'{"a": 1, "a": 2}',
    b'{"a": {"b": 1, "b": 1}}',
    json.dumps({"a": 1}).encode("utf-16"),
    json.dumps({"a": 1}).encode("utf-32"),
    b'{"a": "\xff"}',
    b"",
    b"{",
])
def test_ambiguous_or_undecodable_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(MalformedJSON) as caught:
        strict_json.loads(data)
    assert isinstance(caught.value, MalformedDocument)  # callers that catch the broader kind still do


def test_a_hostile_payload_is_a_payload_error_for_the_reviewer() -> None:
    """A source controls the sealed payload: deep nesting must not crash the review CLI."""
    with pytest.raises(MalformedPayload):
        payload.parse_json(b"[" * 50_000)
    with pytest.raises(MalformedPayload):
        payload.parse_json(b'{"v": 1, "v": 2}')
