"""The v3 dispositions body: forwards, reseals and a forward's note (FORMAT.md §10.2), parsed strictly."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from crypto.dispositions import HANDOVER_VERSION, parse_body, part_path
from crypto.errors import MalformedDispositions

NOW = datetime(2026, 11, 29, 12)
TIP = "a" * 32


def _part(kind: str, part_id: str | None, handover: str = "forwards") -> dict[str, Any]:
    return {"kind": kind, "id": part_id, "path": part_path(handover, TIP, kind, part_id), "size": 100, "sha256": "0" * 64}


def _body(**lists: Any) -> dict[str, Any]:
    return {"type": "tipbox-dispositions", "v": HANDOVER_VERSION, "id": "b" * 32, "created": "2026-11-29T11:00:00Z",
            "entries": [], "replies": [], **lists}


def _forward(*parts: dict[str, Any], lead: Any = False, to: Any = "bengkulu-tengah") -> dict[str, Any]:
    return {"tip_id": TIP, "to": to, "lead": lead, "parts": list(parts)}


def test_a_forward_with_a_note_and_a_reseal_parse() -> None:
    body = parse_body(_body(
        forwards=[_forward(_part("payload", None), _part("attachment", "c" * 32), _part("note", "d" * 32))],
        reseals=[{"tip_id": "e" * 32, "parts": [
            {**_part("payload", None, "reseals"), "path": part_path("reseals", "e" * 32, "payload", None)}]}],
    ), NOW, 365)
    (forward,) = body.forwards
    assert forward.forward and forward.to == "bengkulu-tengah" and not forward.lead
    assert [p.kind for p in forward.parts] == ["payload", "attachment", "note"]
    assert forward.parts[2].path == f"forwards/{TIP}/notes/{'d' * 32}.age"
    assert [p.path for p in body.parts][-1] == f"reseals/{'e' * 32}/payload.age"


@pytest.mark.parametrize(
    ("lists", "words"),
    [
        ({"forwards": [_forward(_part("attachment", "c" * 32))]}, "the payload once"),
        ({"forwards": [_forward(_part("payload", None), _part("payload", None))]}, "the payload once"),
        ({"forwards": [_forward(_part("payload", None), _part("note", "d" * 32), _part("note", "f" * 32))]},
         "at most one note"),
        ({"reseals": [{"tip_id": TIP, "parts": [_part("payload", None, "reseals"), _part("note", "d" * 32, "reseals")]}]},
         "a note travels only with a forward"),
        ({"forwards": [_forward(_part("payload", None), _part("script", "d" * 32))]}, "unknown kind"),
        ({"forwards": [_forward(_part("payload", "c" * 32))]}, "id must be null for the payload"),
        ({"forwards": [_forward({**_part("payload", None), "path": "forwards/x/payload.age"})]}, "path does not match"),
        ({"forwards": [_forward({**_part("payload", None), "size": 0})]}, "positive integer"),
        ({"forwards": [_forward(_part("payload", None), lead="yes")]}, "lead must be true or false"),
        ({"forwards": [_forward(_part("payload", None), to="Not An Id!")]}, "to must be a channel id"),
        ({"forwards": [_forward(_part("payload", None))], "reseals": [{"tip_id": TIP, "parts": [
            _part("payload", None, "reseals")]}]}, "forwarded or re-sealed twice"),
        ({"forwards": [{"tip_id": TIP, "parts": [], "to": "x"}]}, "must have exactly"),
    ],
)
def test_malformed_handovers_are_refused(lists: dict[str, Any], words: str) -> None:
    with pytest.raises(MalformedDispositions, match=words):
        parse_body(_body(**lists), NOW, 365)


def test_v2_files_cannot_carry_handovers() -> None:
    with pytest.raises(MalformedDispositions, match="unexpected or missing members"):
        parse_body({**_body(forwards=[]), "v": 2}, NOW, 365)
