"""``index.age``: the cache of what `list` shows, sealed to the reviewer like every record.

``list`` needs a few fields of every tip; rather than open 10,000 payloads each
time, it keeps them here, each entry with the SHA-256 of the ciphertext it was
read from (the payload's, or the triage record's), and reads an entry again
whenever the hash differs. A cache that cannot be read for any reason is
rebuilt, never an error: everything in it can be read again from the
ciphertext. Both review_cli/tips.py (listing) and review_cli/triage.py (which
updates the cache when it saves a record) use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crypto.documents import JSONObject
from crypto.payload import TipDocument
from crypto.vocabulary import Language, SealedBy

from .errors import DamagedRecord
from .records import Fields, RecordKind
from .triage_record import Triage
from .workspace import Keys, Workspace, write_atomic

INDEX = RecordKind("tipbox-review-index", 1, "it is rebuilt")


@dataclass(frozen=True)
class TipSummary:
    """The payload fields `list` needs (kept only in the sealed index)."""

    sealed_by: SealedBy  # as the payload itself says
    lang: Language
    category: str | None
    province: str | None
    regency: str | None
    attachments: int
    danger: bool

    @classmethod
    def of(cls, document: TipDocument) -> TipSummary:
        answers = document.answers
        return cls(
            document.sealed_by,
            document.lang,
            answers.category,
            answers.province,
            answers.regency,
            len(document.attachments),
            bool(answers.danger),
        )

    def as_json(self) -> JSONObject:
        return {
            "sealed_by": self.sealed_by.value,
            "lang": self.lang.value,
            "category": self.category,
            "province": self.province,
            "regency": self.regency,
            "attachments": self.attachments,
            "danger": self.danger,
        }

    @classmethod
    def read(cls, raw: Fields) -> TipSummary:
        danger = raw.value("danger")
        if not isinstance(danger, bool):
            raise raw.error("danger is not true or false")
        return cls(
            raw.code("sealed_by", SealedBy),
            raw.code("lang", Language),
            raw.optional_text("category"),
            raw.optional_text("province"),
            raw.optional_text("regency"),
            raw.integer("attachments"),
            danger,
        )


@dataclass(frozen=True)
class CachedTip:
    payload_sha256: str
    summary: TipSummary


@dataclass(frozen=True)
class CachedTriage:
    sha256: str  # of the sealed triage record
    current: Triage


@dataclass
class Index:
    tips: dict[str, CachedTip] = field(default_factory=dict)
    triage: dict[str, CachedTriage] = field(default_factory=dict)
    dirty: bool = False

    @classmethod
    def load(cls, ws: Workspace, keys: Keys) -> Index:
        try:
            data = ws.index_file.read_bytes()
        except FileNotFoundError:
            return cls(dirty=True)
        try:
            raw = INDEX.open(data, keys, "the list cache")
            tips = {
                tip_id: CachedTip(entry.text("payload_sha256"), TipSummary.read(entry.member("summary")))
                for tip_id, entry in raw.table("tips").items()
            }
            triage = {
                tip_id: CachedTriage(entry.text("sha256"), Triage.read(entry.member("current")))
                for tip_id, entry in raw.table("triage").items()
            }
        except DamagedRecord:
            return cls(dirty=True)  # a cache: rebuilt from the ciphertext by whoever reads it
        return cls(tips, triage)

    def save(self, ws: Workspace, keys: Keys) -> None:
        if self.dirty:
            body: JSONObject = {
                "tips": {
                    tip_id: {"payload_sha256": cached.payload_sha256, "summary": cached.summary.as_json()}
                    for tip_id, cached in self.tips.items()
                },
                "triage": {
                    tip_id: {"sha256": cached.sha256, "current": cached.current.as_json()}
                    for tip_id, cached in self.triage.items()
                },
            }
            write_atomic(ws.index_file, INDEX.seal(body, keys), fsync=False)
            self.dirty = False

    def put_tip(self, tip_id: str, payload_sha256: str, document: TipDocument) -> CachedTip:
        cached = self.tips[tip_id] = CachedTip(payload_sha256, TipSummary.of(document))
        self.dirty = True
        return cached

    def put_triage(self, tip_id: str, file_sha256: str, current: Triage) -> None:
        self.triage[tip_id] = CachedTriage(file_sha256, current)
        self.dirty = True

    def forget_triage(self, tip_id: str) -> None:
        if self.triage.pop(tip_id, None) is not None:
            self.dirty = True


__all__ = ["INDEX", "CachedTip", "CachedTriage", "Index", "TipSummary"]
