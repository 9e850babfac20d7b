"""Opening imported tips, and the rows `list` shows.

A tip's payload is opened in memory only (crypto.payload.open_tip) after its
stored ciphertext has been checked against the SHA-256 the signed bundle
manifest gave. ``list`` reads the few fields it needs of every tip from the
sealed cache (review_cli/index.py), which is checked against the ciphertext
hashes and brought up to date whenever they do not match.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from crypto import payload
from crypto import regions as region_data
from crypto.bundle import BundleFileEntry
from crypto.documents import JSONObject
from crypto.errors import NoMatchingIdentity, TipboxCryptoError, UnknownPayloadVersion
from crypto.payload import TipDocument
from crypto.vocabulary import SealedBy, Status

from . import triage_record
from .errors import InputError, NotSealedToYou, VerificationError
from .index import Index, TipSummary
from .taxonomy import PRIORITIES
from .triage_record import Triage
from .workspace import Keys, TipMeta, Workspace, short

SORTS = ("received", "priority", "status")
STATUS_ORDER = {Status.NEW: 0, Status.IN_REVIEW: 1, Status.HOLD: 2, Status.REFERRED: 3, Status.CLOSED: 4}


def open_failure(tip_id: str, exc: TipboxCryptoError) -> VerificationError:
    """A one-line error for a tip that cannot be opened (never any of its content)."""
    if isinstance(exc, NoMatchingIdentity):
        return NotSealedToYou(f"tip {short(tip_id)} was not sealed to your key (sealed to someone else)")
    if isinstance(exc, UnknownPayloadVersion):
        return VerificationError(f"tip {short(tip_id)}: {exc}")
    return VerificationError(f"tip {short(tip_id)} cannot be opened: {exc}")


def open_sealed_tip(data: bytes, tip_id: str, keys: Keys) -> TipDocument:
    try:
        return payload.open_tip(data, [keys.age])
    except TipboxCryptoError as exc:
        raise open_failure(tip_id, exc) from None


def read_verified(path: Path, expected: BundleFileEntry, what: str) -> bytes:
    """Read a stored age file and check it against its manifest entry."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise VerificationError(f"{what} is missing from the workspace; import the bundle again") from None
    if len(data) != expected.size or hashlib.sha256(data).hexdigest() != expected.sha256:
        raise VerificationError(f"{what} in the workspace does not match the signed manifest; import the bundle again")
    return data


def open_payload(ws: Workspace, keys: Keys, meta: TipMeta) -> TipDocument:
    data = read_verified(ws.payload_path(meta.id), meta.payload, f"the payload of tip {short(meta.id)}")
    return open_sealed_tip(data, meta.id, keys)


@dataclass
class Row:
    id: str
    received: str
    sealed_by: SealedBy  # as the signed bundle says
    payload_sealed_by: SealedBy  # as the tip itself says
    category: str | None
    priority: str | None
    regions: list[str]
    status: Status
    targets: list[str]
    hold_until: str | None
    attachments: int
    danger: bool
    triaged: bool
    channels: list[str] | None = None  # lead first (FORMAT.md §14); None: the bundle predates channels

    @property
    def lead(self) -> str | None:
        return self.channels[0] if self.channels else None

    def as_json(self) -> JSONObject:
        document: JSONObject = asdict(self)
        if self.channels is None:
            del document["channels"]  # the rows of bundles without channels stay as they were
        else:
            document["lead"] = self.lead
        return document


@dataclass
class Listing:
    rows: list[Row]
    unreadable: list[str]  # one-line reasons for tips that could not be opened
    triage: dict[str, Triage] = field(default_factory=dict)  # tip id -> current triage fields


def _row(meta: TipMeta, summary: TipSummary, triage: Triage | None) -> Row:
    current = triage or Triage()
    place = summary.regency or summary.province
    return Row(
        id=meta.id,
        received=meta.received,
        sealed_by=meta.sealed_by,
        payload_sealed_by=summary.sealed_by,
        category=current.category or summary.category,
        priority=current.priority,
        regions=list(current.regions or ([place] if place else [])),
        status=current.status,
        targets=list(current.targets),
        hold_until=current.hold_until,
        attachments=summary.attachments,
        danger=summary.danger,
        triaged=triage is not None,
        channels=list(meta.entry.channels) if meta.entry.channels is not None else None,
    )


def load_listing(ws: Workspace, keys: Keys) -> Listing:
    index = Index.load(ws, keys)
    listing = Listing([], [])
    triaged = ws.triage_ids()
    for meta in ws.metas():
        tip_id = meta.id
        cached = index.tips.get(tip_id)
        if cached is None or cached.payload_sha256 != meta.payload.sha256:
            try:
                document = open_payload(ws, keys, meta)
            except VerificationError as exc:
                listing.unreadable.append(str(exc))
                continue
            cached = index.put_tip(tip_id, meta.payload.sha256, document)
        current = None
        if tip_id in triaged:
            current = _current_triage(ws, keys, index, tip_id)
            listing.triage[tip_id] = current
        else:
            index.forget_triage(tip_id)
        listing.rows.append(_row(meta, cached.summary, current))
    index.save(ws, keys)
    return listing


def _current_triage(ws: Workspace, keys: Keys, index: Index, tip_id: str) -> Triage:
    """The tip's current triage fields, from the cache while it matches the sealed record."""
    data = ws.triage_path(tip_id).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    entry = index.triage.get(tip_id)
    if entry is not None and entry.sha256 == digest:
        return entry.current
    current = triage_record.read(data, keys, tip_id).current
    index.put_triage(tip_id, digest, current)
    return current


def _region_matches(codes: Iterable[str], wanted: str) -> bool:
    return any(code == wanted or code.startswith(wanted + ".") for code in codes)


def filter_rows(
    rows: list[Row],
    *,
    status: tuple[str, ...] = (),
    category: tuple[str, ...] = (),
    priority: tuple[str, ...] = (),
    region: tuple[str, ...] = (),
    channel: tuple[str, ...] = (),
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
        and (not channel or any(c in (r.channels or ()) for c in channel))
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
