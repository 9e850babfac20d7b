"""Every workspace record, damaged in every way, is the same error: one line naming it, exit code 3.

Records are read through review_cli/records.py (type, version, then typed
members). Before, the same damage gave exit code 2 for a triage record and 3
for the others; a damaged list cache is not an error at all, it is rebuilt.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from crypto.identity import ReviewerIdentity
from review_cli.errors import EXIT_CONFLICT, DamagedRecord
from review_cli.records import RecordKind
from review_cli.workspace import Keys
from tests.review_cli.conftest import Run, SavedIdentity, one_line_error
from tests.review_cli.support import FakeServer, SealedTip


@dataclass(frozen=True)
class Kind:
    """A record: where it lives, how it is stored, which command reads it, how its error names it."""

    name: str
    path: Callable[[Path, str], Path]
    record: RecordKind | None  # None: plain JSON without type and version (meta.json, the pinned key)
    sealed: bool
    command: Callable[[str, Path], tuple[str, ...]]
    named: str  # how the error line begins


def _show(tip_id: str, _bundle: Path) -> tuple[str, ...]:
    return ("show", tip_id[:8])


KINDS = [
    Kind("triage", lambda ws, t: ws / "triage" / f"{t}.age", RecordKind("tipbox-triage", 1, ""), True, _show,
         "the triage record of tip"),
    Kind("sources", lambda ws, t: ws / "sources.age", RecordKind("tipbox-review-sources", 1, ""), True, _show,
         "the source recipients record"),
    Kind("replies", lambda ws, t: ws / "replies" / f"{t}.age", RecordKind("tipbox-review-replies", 1, ""), True,
         _show, "the replies record of tip"),
    Kind("dispositions", lambda ws, t: ws / "dispositions.age",
         RecordKind("tipbox-review-dispositions-state", 1, ""), True, _show, "the dispositions record"),
    Kind("reviewers", lambda ws, t: ws / "reviewers.json", RecordKind("tipbox-review-reviewers", 1, ""), False,
         lambda t, b: ("triage", t[:8], "--status", "in_review"), "the reviewers list"),
    Kind("meta", lambda ws, t: ws / "tips" / t / "meta.json", None, False, _show, "the workspace record of tip"),
    Kind("pinned key", lambda ws, t: ws / "pinned-server-key.json", None, False,
         lambda t, b: ("import", str(b)), "the pinned server key"),
]


def _sealed_to_another(kind: Kind, keys: Keys, other: Keys) -> bytes:
    assert kind.record is not None
    return kind.record.seal({}, other)


def _another_kind(kind: Kind, keys: Keys, other: Keys) -> bytes:
    stranger = RecordKind("tipbox-review-something-else", 1, "")
    return stranger.seal({}, keys) if kind.sealed else stranger.json_text({})


def _newer_version(kind: Kind, keys: Keys, other: Keys) -> bytes:
    assert kind.record is not None
    newer = RecordKind(kind.record.type, kind.record.version + 1, "")
    return newer.seal({}, keys) if kind.sealed else newer.json_text({})


def _wrong_members(kind: Kind, keys: Keys, other: Keys) -> bytes:
    body = {"tip_id": 7, "current": [], "history": {}, "sources": [], "replies": 3, "exported": [], "reviewers": 5}
    if kind.record is None:
        return json.dumps({"id": 7, "key": 7}).encode()
    return kind.record.seal(body, keys) if kind.sealed else kind.record.json_text(body)


DAMAGES: dict[str, Callable[[Kind, Keys, Keys], bytes]] = {
    "garbage": lambda kind, keys, other: b"\x00 not a record \xff",
    "not JSON": lambda kind, keys, other: RecordKind("x", 1, "").seal({}, keys)[:-1] if kind.sealed else b"{",
    "sealed to another key": _sealed_to_another,
    "another kind of record": _another_kind,
    "a newer version": _newer_version,
    "members of the wrong type": _wrong_members,
}
CASES = [
    pytest.param(kind, damage, id=f"{kind.name}: {damage}")
    for kind in KINDS
    for damage in DAMAGES
    if not (damage in ("sealed to another key",) and not kind.sealed)
    and not (damage in ("another kind of record", "a newer version") and kind.record is None)
]


@pytest.fixture
def imported(run: Run, server: FakeServer, tmp_path: Path) -> tuple[SealedTip, Path]:
    recipient = ReviewerIdentity.generate().recipient
    tip = server.tip(source_recipient=recipient)
    path = server.bundle(tmp_path / "b.tar", [tip], reviewers=server.recipients)
    assert run("import", str(path)).exit_code == 0
    return tip, path


@pytest.mark.parametrize(("kind", "damage"), CASES)
def test_a_damaged_record_is_one_error_with_one_exit_code(
    run: Run, workspace: Path, reviewer: SavedIdentity, imported: tuple[SealedTip, Path], kind: Kind, damage: str
) -> None:
    tip, bundle_path = imported
    keys, other = Keys.of(reviewer.identity), Keys.of(ReviewerIdentity.generate())
    path = kind.path(workspace, tip.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(DAMAGES[damage](kind, keys, other))
    result = run(*kind.command(tip.id, bundle_path))
    assert result.exit_code == EXIT_CONFLICT, result.output
    line = one_line_error(result).removeprefix("tipbox-review: error: ")
    assert line.startswith(kind.named), line
    if damage == "a newer version":
        assert "which this tipbox-review does not know" in line and line.endswith("update tipbox-review")
    else:
        assert " is damaged (" in line and "); " in line, line  # what, why; what to do


def test_the_error_is_a_state_conflict_subclass_with_the_conflict_exit_code() -> None:
    assert issubclass(DamagedRecord, Exception) and DamagedRecord.exit_code == EXIT_CONFLICT == 3


def test_a_damaged_list_cache_is_rebuilt_not_an_error(
    run: Run, workspace: Path, imported: tuple[SealedTip, Path]
) -> None:
    tip, _ = imported
    (workspace / "index.age").write_bytes(b"damaged")
    listed = run("list", "--json")
    assert listed.exit_code == 0 and [row["id"] for row in json.loads(listed.stdout)] == [tip.id]
    assert (workspace / "index.age").read_bytes().startswith(b"age-encryption.org/v1\n")
