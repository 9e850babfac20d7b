"""Database models: ciphertext, hashes and coarse metadata only.

Nothing here can hold plaintext of a tip: the payload and attachments are age
files, the receipt is kept only as a keyed hash of its lookup key
(tipbox/receipts.py), times are rounded to the hour and
there is no column for an IP address, user agent or cookie. Public ids are
random 128-bit hex strings, never sequential. Reviewers belong to a channel
from the start so several teams can share a server later (DESIGN.md).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TIP_UPLOADING = "uploading"
TIP_READY = "ready"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Channel(Base):
    """A team that receives tips: public names, a scope, and its own reviewers and key manifest.

    The scope lists are canonical sorted comma-separated strings ('' = any), so
    they compare the same on SQLite and PostgreSQL; tipbox/channels.py parses
    and validates them. An empty scope that is not coordinating is the
    catch-all (at most one: existing single-channel deployments' "default").
    """

    __tablename__ = "channels"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_id: Mapped[str] = mapped_column(String(100), default="", server_default="")
    name_en: Mapped[str] = mapped_column(String(100), default="", server_default="")
    scope_regions: Mapped[str] = mapped_column(Text, default="", server_default="")
    scope_categories: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Receives every tip within its scope even when a more specific channel leads.
    coordinating: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Never routed to and never on the form: an agency desk that only receives forwards (docs/channels.md).
    forward_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reviewers: Mapped[list[Reviewer]] = relationship(back_populates="channel")


class Reviewer(Base):
    __tablename__ = "reviewers"
    __table_args__ = (UniqueConstraint("channel_id", "recipient"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id"), index=True)
    label: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(128))
    signing_key: Mapped[str | None] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(DateTime)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime)

    channel: Mapped[Channel] = relationship(back_populates="reviewers")


class KeyManifest(Base):
    """Every signed key manifest ever issued; the newest per channel is current."""

    __tablename__ = "key_manifests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    fingerprint: Mapped[str] = mapped_column(String(64))
    recipient_count: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text)


class ChannelDirectory(Base):
    """Every signed channel directory issued (FORMAT.md §7); the newest is what the page routes over.

    Signed by the admin CLI whenever a key manifest is issued, in the same
    transaction, so the web process serves it without holding the server's
    signing key.
    """

    __tablename__ = "channel_directories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    document: Mapped[str] = mapped_column(Text)


class RecipientSet(Base):
    """Which public recipients a key fingerprint stands for: every set anything stored was sealed to.

    Tips and messages keep only the fingerprint of the recipients they were
    sealed to; this table turns it back into recipients, so an operator can
    see which stored tips a removed reviewer's key still opens (``tipbox
    reviewers list``) until they are re-sealed. Recipients are public keys.
    """

    __tablename__ = "recipient_sets"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    recipients: Mapped[str] = mapped_column(Text)  # sorted, one per line


class Tip(Base):
    __tablename__ = "tips"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    sealed_by: Mapped[str] = mapped_column(String(8))
    # Rounded to the hour: enough for retention, too coarse to match a source's visit.
    received_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    # When an unfinished upload may be cleaned up (rounded up to the hour).
    upload_expires_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    upload_token_hash: Mapped[str | None] = mapped_column(String(64))
    key_fingerprint: Mapped[str] = mapped_column(String(64))
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    payload_size: Mapped[int | None] = mapped_column(Integer)
    payload_sha256: Mapped[str | None] = mapped_column(String(64))
    # Keyed hash (HMAC under a key derived from the server secret) of the lookup key the
    # receipt derives (crypto/FORMAT.md §12): finds the tip, never reveals or tests the receipt.
    receipt_lookup: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The source's receipt-derived age recipient (public): reviewers seal replies to it.
    source_recipient: Mapped[str | None] = mapped_column(String(128))
    # The agency *kind* a reviewer chose to tell the source (crypto.dispositions.AGENCY_KINDS).
    disclosed_agency: Mapped[str | None] = mapped_column(String(32))
    exported_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set only by signed reviewer dispositions (tipbox/dispositions.py): a status
    # code, a hold's end and reason code, the hour it was closed. Never content.
    review_status: Mapped[str] = mapped_column(String(16), default="new", server_default="new", index=True)
    hold_until: Mapped[datetime | None] = mapped_column(DateTime)
    hold_reason: Mapped[str | None] = mapped_column(String(32))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The DispositionImport that last set review_status. Deliberately no FOREIGN KEY:
    # adding one to `tips` needs SQLite's copy-and-move batch migration, whose DROP
    # TABLE cascades (foreign_keys=ON) and would delete every attachment row.
    disposition_id: Mapped[str | None] = mapped_column(String(32))
    # The source ticked "alert the team now": the one thing about a report the server is told
    # on purpose (tipbox/notify/). urgent_alerted: the lead channel was alerted (once).
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    urgent_alerted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="tip", cascade="all, delete-orphan", order_by="Attachment.position"
    )
    messages: Mapped[list[Message]] = relationship(
        back_populates="tip", cascade="all, delete-orphan", order_by="Message.seq"
    )
    # Every channel the tip is sealed to: the lead (position 0, = channel_id) and the readers along.
    holders: Mapped[list[TipChannel]] = relationship(
        back_populates="tip", cascade="all, delete-orphan", order_by="TipChannel.position"
    )

    @property
    def channel_ids(self) -> list[str]:
        """The channels holding the tip, lead first (FORMAT.md §14 "readers")."""
        return [h.channel_id for h in self.holders] or [self.channel_id]


class TipChannel(Base):
    """A channel holding a tip, and how far that channel's exports have carried it.

    Each channel exports on its own: ``exported_at`` is this channel's first
    export of the tip and ``exported_seq`` the highest message number it has
    exported, so one channel's export never hides news from another.
    """

    __tablename__ = "tip_channels"

    tip_id: Mapped[str] = mapped_column(ForeignKey("tips.id", ondelete="CASCADE"), primary_key=True)
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)  # 0: the lead; then the readers in routing order
    exported_at: Mapped[datetime | None] = mapped_column(DateTime)
    exported_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    tip: Mapped[Tip] = relationship(back_populates="holders")


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tip_id: Mapped[str] = mapped_column(ForeignKey("tips.id", ondelete="CASCADE"), primary_key=True)
    # A follow-up's attachment names its message; the tip's own have none. No FOREIGN KEY
    # for the same reason as Tip.disposition_id; purge removes both with the tip.
    message_id: Mapped[str | None] = mapped_column(String(32), index=True)
    position: Mapped[int] = mapped_column(Integer)
    complete: Mapped[bool] = mapped_column(default=False)
    size: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))

    tip: Mapped[Tip] = relationship(back_populates="attachments")
    chunks: Mapped[list[AttachmentChunk]] = relationship(
        cascade="all, delete-orphan", order_by="AttachmentChunk.seq", lazy="raise"
    )


class Message(Base):
    """A source's follow-up or a reviewer's published reply: one age file (FORMAT.md §13).

    A follow-up is uploaded like a tip (``state`` uploading → ready, with an
    upload token); a reply arrives ready, from a signed dispositions file.
    """

    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tip_id: Mapped[str] = mapped_column(ForeignKey("tips.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # order within the tip's thread
    kind: Mapped[str] = mapped_column(String(16))  # "followup" | "reply"
    state: Mapped[str] = mapped_column(String(16), index=True)
    sealed_by: Mapped[str] = mapped_column(String(8))  # browser | server | reviewer
    received_at: Mapped[datetime | None] = mapped_column(DateTime)  # rounded to the hour
    upload_expires_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    upload_token_hash: Mapped[str | None] = mapped_column(String(64))
    key_fingerprint: Mapped[str] = mapped_column(String(64))
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    payload_size: Mapped[int | None] = mapped_column(Integer)
    payload_sha256: Mapped[str | None] = mapped_column(String(64))
    disposition_id: Mapped[str | None] = mapped_column(String(32))  # the file that published a reply
    exported_at: Mapped[datetime | None] = mapped_column(DateTime)

    tip: Mapped[Tip] = relationship(back_populates="messages")


class AttachmentChunk(Base):
    """Ciphertext of an attachment in order, so nothing buffers a whole file."""

    __tablename__ = "attachment_chunks"
    __table_args__ = (
        ForeignKeyConstraint(["tip_id", "attachment_id"], ["attachments.tip_id", "attachments.id"], ondelete="CASCADE"),
    )

    tip_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    attachment_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class DispositionImport(Base):
    """One imported dispositions file; its random id makes a replay fail."""

    __tablename__ = "disposition_imports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    reviewer_id: Mapped[str] = mapped_column(ForeignKey("reviewers.id"), index=True)
    # The reviewer's own `created` time: orders files so an older one never undoes a newer one.
    created: Mapped[datetime] = mapped_column(DateTime)
    imported_at: Mapped[datetime] = mapped_column(DateTime)  # rounded to the hour
    entry_count: Mapped[int] = mapped_column(Integer)
    applied_count: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))


class NotificationSlot(Base):
    """A channel's scheduled digest for one slot (tipbox/notify/): tried, and sent once."""

    __tablename__ = "notification_slots"

    channel_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot: Mapped[datetime] = mapped_column(DateTime, primary_key=True)  # the slot's instant, naive UTC, on the hour
    sent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
