"""Opening imported tips, and the rows `list` shows.

A tip's payload is opened in memory only (crypto.payload.open_tip) after its
stored ciphertext has been checked against the SHA-256 the signed bundle
manifest gave. ``list`` needs a few fields of every tip; rather than open
10,000 payloads each time, it keeps them in ``index.age``, a cache sealed to
the reviewer's own key whose entries are checked against the ciphertext hashes
and rebuilt whenever they do not match.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from crypto import payload
from crypto import regions as region_data
from crypto.errors import NoMatchingIdentity, TipboxCryptoError, UnknownPayloadVersion

from .errors import InputError, NotSealedToYou, VerificationError
from .taxonomy import PRIORITIES
from .workspace import Keys, Workspace, open_record, seal_record, write_atomic

INDEX_TYPE = "tipbox-review-index"
INDEX_VERSION = 1
SORTS = ("received", "priority", "status")
STATUS_ORDER = {"new": 0, "in_review": 1, "hold": 2, "referred": 3, "closed": 4}


def short(tip_id: str) -> str:
    return tip_id[:8]


def open_failure(tip_id: str, exc: TipboxCryptoError) -> VerificationError:
    """A one-line error for a tip that cannot be opened (never any of its content)."""
    if isinstance(exc, NoMatchingIdentity):
        return NotSealedToYou(f"tip {short(tip_id)} was not sealed to your key (sealed to someone else)")
    if isinstance(exc, UnknownPayloadVersion):
        return VerificationError(f"tip {short(tip_id)}: {exc}")
    return VerificationError(f"tip {short(tip_id)} cannot be opened: {exc}")


def open_sealed_tip(data: bytes, tip_id: str, keys: Keys) -> dict[str, Any]:
    try:
        return payload.open_tip(data, [keys.age])
    except TipboxCryptoError as exc:
        raise open_failure(tip_id, exc) from None


def read_verified(path, expected: Mapping[str, Any], what: str) -> bytes:
    """Read a stored age file and check it against its manifest entry."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise VerificationError(f"{what} is missing from the workspace; import the bundle again") from None
    if len(data) != expected.get("size") or hashlib.sha256(data).hexdigest() != expected.get("sha256"):
        raise VerificationError(f"{what} in the workspace does not match the signed manifest; import the bundle again")
    return data


def open_payload(ws: Workspace, keys: Keys, tip_id: str, meta: Mapping[str, Any]) -> dict[str, Any]:
    data = read_verified(ws.payload_path(tip_id), meta["payload"], f"the payload of tip {short(tip_id)}")
    return open_sealed_tip(data, tip_id, keys)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def summarize(document: Mapping[str, Any]) -> dict[str, Any]:
    """The payload fields `list` needs (kept only in the sealed index)."""
    answers = document.get("answers", {})
    danger = answers.get("danger")
    return {
        "sealed_by": document.get("sealed_by"),
        "lang": document.get("lang"),
        "category": _text(answers.get("category")),
        "province": _text(answers.get("province")),
        "regency": _text(answers.get("regency")),
        "attachments": len(document.get("attachments", [])),
        "danger": bool(danger) if isinstance(danger, list) else False,
    }


@dataclass
class Index:
    tips: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {payload_sha256, summary}
    triage: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {sha256, current}
    dirty: bool = False

    @classmethod
    def load(cls, ws: Workspace, keys: Keys) -> Index:
        try:
            data = ws.index_file.read_bytes()
        except FileNotFoundError:
            return cls(dirty=True)
        try:
            document = open_record(data, keys, "the list cache")
        except VerificationError:
            return cls(dirty=True)  # a cache: rebuilt from the ciphertext below
        if document.get("type") != INDEX_TYPE or document.get("v") != INDEX_VERSION:
            return cls(dirty=True)
        tips, triage = document.get("tips"), document.get("triage")
        if not isinstance(tips, dict) or not isinstance(triage, dict):
            return cls(dirty=True)
        return cls(tips, triage)

    def save(self, ws: Workspace, keys: Keys) -> None:
        if self.dirty:
            document = {"type": INDEX_TYPE, "v": INDEX_VERSION, "tips": self.tips, "triage": self.triage}
            write_atomic(ws.index_file, seal_record(document, keys), fsync=False)
            self.dirty = False

    def put_tip(self, tip_id: str, payload_sha256: str, document: Mapping[str, Any]) -> None:
        self.tips[tip_id] = {"payload_sha256": payload_sha256, "summary": summarize(document)}
        self.dirty = True

    def put_triage(self, tip_id: str, file_sha256: str, current: Mapping[str, Any]) -> None:
        self.triage[tip_id] = {"sha256": file_sha256, "current": dict(current)}
        self.dirty = True


@dataclass
class Row:
    id: str
    received: str
    sealed_by: str
    payload_sealed_by: str | None
    category: str | None
    priority: str | None
    regions: list[str]
    status: str
    targets: list[str]
    hold_until: str | None
    attachments: int
    danger: bool
    triaged: bool

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Listing:
    rows: list[Row]
    unreadable: list[str]  # one-line reasons for tips that could not be opened
    triage: dict[str, dict[str, Any]] = field(default_factory=dict)  # tip id -> current triage fields


def _row(meta: Mapping[str, Any], summary: Mapping[str, Any], triage: Mapping[str, Any] | None) -> Row:
    current = triage or {}
    payload_regions = [summary["regency"] or summary["province"]] if (summary["regency"] or summary["province"]) else []
    return Row(
        id=meta["id"],
        received=meta["received"],
        sealed_by=meta["sealed_by"],
        payload_sealed_by=summary["sealed_by"],
        category=current.get("category") or summary["category"],
        priority=current.get("priority"),
        regions=list(current.get("regions") or payload_regions),
        status=current.get("status") or "new",
        targets=list(current.get("targets") or []),
        hold_until=current.get("hold_until"),
        attachments=summary["attachments"],
        danger=summary["danger"],
        triaged=triage is not None,
    )


def load_listing(ws: Workspace, keys: Keys) -> Listing:
    from .triage import current_of  # late: triage imports this module

    index = Index.load(ws, keys)
    rows, unreadable = [], []
    currents: dict[str, dict[str, Any]] = {}
    triaged = ws.triage_ids()
    for tip_id, meta in ws.metas():
        cached = index.tips.get(tip_id)
        if cached is None or cached.get("payload_sha256") != meta["payload"]["sha256"]:
            try:
                document = open_payload(ws, keys, tip_id, meta)
            except VerificationError as exc:
                unreadable.append(str(exc))
                continue
            index.put_tip(tip_id, meta["payload"]["sha256"], document)
            cached = index.tips[tip_id]
        current = None
        if tip_id in triaged:
            data = ws.triage_path(tip_id).read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            entry = index.triage.get(tip_id)
            if entry is None or entry.get("sha256") != digest:
                current = current_of(open_record(data, keys, f"the triage record of tip {short(tip_id)}"), tip_id)
                index.put_triage(tip_id, digest, current)
            else:
                current = entry["current"]
        elif tip_id in index.triage:
            del index.triage[tip_id]
            index.dirty = True
        rows.append(_row(meta, cached["summary"], current))
        if current is not None:
            currents[tip_id] = current
    index.save(ws, keys)
    return Listing(rows, unreadable, currents)


def _region_matches(codes: Iterable[str], wanted: str) -> bool:
    return any(code == wanted or code.startswith(wanted + ".") for code in codes)


def filter_rows(
    rows: list[Row],
    *,
    status: tuple[str, ...] = (),
    category: tuple[str, ...] = (),
    priority: tuple[str, ...] = (),
    region: tuple[str, ...] = (),
) -> list[Row]:
    for code in region:
        if not region_data.valid_code(code):
            raise InputError(f"--region {code!r}: a region code looks like 18 or 18.09")
    return [
        r
        for r in rows
        if (not status or r.status in status)
        and (not category or r.category in category)
        and (not priority or r.priority in priority)
        and (not region or any(_region_matches(r.regions, w) for w in region))
    ]


def sort_rows(rows: list[Row], by: str) -> list[Row]:
    if by not in SORTS:
        raise InputError(f"--sort must be one of {', '.join(SORTS)}")
    newest_first = sorted(rows, key=lambda r: (r.received, r.id), reverse=True)
    if by == "priority":
        order = list(PRIORITIES)
        return sorted(newest_first, key=lambda r: order.index(r.priority) if r.priority in order else len(order))
    if by == "status":
        return sorted(newest_first, key=lambda r: STATUS_ORDER.get(r.status, len(STATUS_ORDER)))
    return newest_first
