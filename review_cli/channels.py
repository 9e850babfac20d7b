"""Channels (crypto/FORMAT.md §7, §8, §14): whose bundle this is, who leads a tip, what the channels are called.

A server with channels exports one channel's tips per bundle, with the signed
channel directory (every channel's key manifest). The importer checks the
directory against the pinned server key and refuses another channel's export:
its tips are sealed to this reviewer only if they happen to be coordinated
with this reviewer's channel, and its status changes and replies would be
refused by the server anyway. What the directory says is kept in the server
facts (review_cli/server_facts.py).

Status, holds, closure, disclosure and replies belong to a tip's **lead**
channel (the server refuses a dispositions file that touches a tip its
signer's channel only reads along: tipbox/dispositions.py). A reviewer of a
coordinating channel may read and triage such a tip locally; `reply` refuses,
and `dispositions export` keeps those changes in the workspace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from crypto import key_manifest
from crypto.bundle import BundleManifest
from crypto.documents import thawed
from crypto.errors import TipboxCryptoError

from .errors import InputError, VerificationError
from .workspace import Workspace, short


@dataclass(frozen=True)
class ChannelName:
    id: str  # Bahasa Indonesia
    en: str

    def of(self, lang: str) -> str:
        return self.en if lang == "en" else self.id


@dataclass(frozen=True)
class Directory:
    """What a verified bundle said about channels."""

    channel: str | None  # whose export the bundle was (None: a bundle that names none)
    mine: tuple[str, ...]  # the channels whose manifests list this reviewer's recipient
    names: Mapping[str, ChannelName] = field(default_factory=dict)

    def name(self, channel: str, lang: str = "id") -> str | None:
        known = self.names.get(channel)
        return known.of(lang) if known is not None else None


def label(channel: str, directory: Directory | None, lang: str = "id") -> str:
    """``id (name)`` for messages; the id alone when the directory gives no name."""
    name = directory.name(channel, lang) if directory is not None else None
    return f"{channel} ({name})" if name else channel


def display(channel: str, directory: Directory | None, lang: str = "id") -> str:
    """The channel's name when the directory gives one, else its id (for `list`)."""
    name = directory.name(channel, lang) if directory is not None else None
    return name or channel


def _not_yours(channel: str, directory: Directory | None) -> VerificationError:
    return VerificationError(
        f"this bundle is the export of channel {label(channel, directory)}; your key is not one of its reviewers: "
        "ask for your own channel's export"
    )


def _verified_manifests(manifest: BundleManifest, server_key: str) -> dict[str, dict[str, object]]:
    """Channel id -> manifest body, once the directory's signature and each manifest's are checked."""
    assert manifest.directory is not None
    try:
        body = key_manifest.verify_directory(thawed(manifest.directory), [server_key])
    except TipboxCryptoError as exc:
        raise VerificationError(
            f"REFUSED: the bundle's channel directory is not signed by the pinned server key ({exc}); "
            "nothing was imported"
        ) from None
    return key_manifest.directory_manifests(body)


def _names(manifests: Mapping[str, Mapping[str, object]]) -> dict[str, ChannelName]:
    names: dict[str, ChannelName] = {}
    for channel, body in manifests.items():
        given = body.get("names")
        if isinstance(given, Mapping):
            names[channel] = ChannelName(str(given["id"]), str(given["en"]))
    return names


def _listing(body: Mapping[str, object], recipient: str) -> bool:
    reviewers = body.get("reviewers")
    return isinstance(reviewers, list) and any(
        isinstance(r, Mapping) and r.get("recipient") == recipient for r in reviewers
    )


def check_bundle(manifest: BundleManifest, server_key: str, recipient: str) -> Directory | None:
    """Verify a bundle's channel facts and refuse another channel's export; None for a bundle without them.

    Called before anything is written: a refusal leaves the workspace as it was.
    """
    if manifest.directory is None:
        if manifest.channel is None:
            return None
        # No directory: the bundle's own reviewers list (signed with it) is its channel's.
        if recipient not in (manifest.reviewers or ()):
            raise _not_yours(manifest.channel, None)
        return Directory(manifest.channel, (manifest.channel,))
    manifests = _verified_manifests(manifest, server_key)
    mine = tuple(channel for channel, body in manifests.items() if _listing(body, recipient))
    directory = Directory(manifest.channel, mine, _names(manifests))
    if manifest.channel is not None and manifest.channel not in mine:
        raise _not_yours(manifest.channel, directory)
    return directory


def leads(directory: Directory | None, channels: Sequence[str] | None) -> bool:
    """Whether this workspace leads a tip held by ``channels`` (lead first).

    A tip from a bundle without channels, or a workspace that has not learnt its
    channels yet, counts as led: the behaviour before channels existed.
    """
    if not channels or directory is None:
        return True
    return channels[0] in directory.mine


def led_elsewhere(ws: Workspace, directory: Directory | None) -> set[str]:
    """Ids of the imported tips another channel leads, from ``meta.json`` alone.

    Read from every tip's signed entry, not from what `list` could open, so a
    reply to a tip that cannot be opened now is still held back.
    """
    if directory is None:
        return set()
    return {meta.id for meta in ws.metas() if not leads(directory, meta.entry.channels)}


def require_lead(directory: Directory | None, tip_id: str, channels: Sequence[str] | None) -> None:
    """Refuse, in one line, a reply to a tip another channel leads (the server would refuse the file)."""
    if channels and not leads(directory, channels):
        raise InputError(
            f"tip {short(tip_id)} is led by channel {label(channels[0], directory)}: "
            "only its reviewers reply to the source"
        )
