"""What the newest imported bundle says about its server: its reviewers, its retention policy, its channels.

Both are public and arrive signed in every export bundle (crypto/FORMAT.md §8).
The reviewers are who a reply is sealed to (with the source); the policy's
``max_hold_days`` is the longest hold the server will accept, so ``triage``
refuses a longer one at once, with the limit in the message, instead of the
server refusing the whole dispositions file later. They are kept in
``reviewers.json`` (the name predates the policy), replaced only by a bundle
at least as new as the one they came from.

A bundle from a server with channels (FORMAT.md §14) also says whose export
it is and carries the signed channel directory; once the importer has verified
it (review_cli/channels.py), the channels whose manifests list this reviewer's
key and every channel's names are kept here too, so `reply` and `dispositions
export` can tell, without the passphrase, which tips this workspace leads, and
`list`/`show` can name the channels. They are public (the directory is).
"""

from __future__ import annotations

from dataclasses import dataclass

from crypto.audit import Policy
from crypto.bundle import BundleManifest
from crypto.documents import JSONObject, JSONValue, thawed
from crypto.errors import MalformedDocument

from .channels import ChannelName, Directory
from .records import Fields, RecordKind
from .workspace import Workspace, iso, utc_now, write_atomic

REVIEWERS = RecordKind("tipbox-review-reviewers", 1, "import the newest bundle again")


@dataclass(frozen=True)
class ServerFacts:
    recipients: list[str]
    policy: Policy | None  # None: the bundles imported so far predate the policy in the bundle
    bundle_created: str | None
    signer: str | None
    # From the newest bundle with channel facts (FORMAT.md §14); None: the bundles imported so far predate them.
    directory: Directory | None = None
    # The signed channel directory itself (FORMAT.md §7.1), kept whole so `forward` can verify it again
    # against the pinned key before trusting whose keys a channel has; None: no bundle carried one yet.
    signed_directory: JSONObject | None = None


@dataclass(frozen=True)
class HoldLimit:
    days: int
    origin: str  # where the limit comes from, for messages

    @classmethod
    def of(cls, facts: ServerFacts | None) -> HoldLimit:
        if facts is not None and facts.policy is not None:
            return cls(facts.policy.max_hold_days, f"the server's retention policy (bundle of {facts.bundle_created})")
        return cls(Policy().max_hold_days, "tipbox's default: no imported bundle states the server's policy yet")


def known(ws: Workspace) -> ServerFacts | None:
    try:
        data = ws.reviewers_file.read_bytes()
    except FileNotFoundError:
        return None
    raw = REVIEWERS.checked(data, f"the reviewers list ({ws.reviewers_file})")
    recipients = raw.texts("reviewers")
    if not all(r.startswith("age1") for r in recipients):
        raise raw.error("reviewers holds something that is not an age recipient")
    try:
        stated = raw.value("policy")
        policy = Policy.from_document(raw.nested(stated, "policy").raw) if stated is not None else None
    except MalformedDocument:
        raise raw.error("its policy is not a retention policy") from None
    signed = raw.value("directory")
    if signed is not None and not isinstance(signed, dict):
        raise raw.error("directory is not an object")
    return ServerFacts(
        list(recipients), policy, raw.optional_text("bundle_created"), raw.optional_text("signer"), _directory(raw),
        signed,
    )


def _directory(raw: Fields) -> Directory | None:
    """The channel facts of the record, if the bundle it came from had them."""
    stated = raw.value("channels")
    if stated is None:
        return None
    facts = raw.nested(stated, "channels")
    names = {
        channel: ChannelName(entry.text("id"), entry.text("en")) for channel, entry in facts.table("names").items()
    }
    return Directory(facts.optional_text("bundle"), facts.texts("mine"), names)


def _directory_document(directory: Directory | None) -> JSONObject | None:
    if directory is None:
        return None
    return {
        "bundle": directory.channel,
        "mine": list[JSONValue](directory.mine),
        "names": {channel: {"id": n.id, "en": n.en} for channel, n in sorted(directory.names.items())},
    }


def hold_limit(ws: Workspace) -> HoldLimit:
    return HoldLimit.of(known(ws))


def is_newest(ws: Workspace, manifest: BundleManifest) -> bool:
    """True unless an already imported bundle is newer than ``manifest`` (its facts then stand)."""
    current = known(ws)
    return current is None or not current.bundle_created or not manifest.created or (
        manifest.created >= current.bundle_created
    )


def remember(ws: Workspace, manifest: BundleManifest, signer: str, directory: Directory | None = None) -> bool:
    """Keep a verified bundle's reviewers, policy and channel facts unless an already imported bundle is newer;
    True if written."""
    created = manifest.created
    recipients = list(manifest.reviewers or ())
    policy = manifest.policy
    current = known(ws)
    signed = thawed(manifest.directory) if manifest.directory is not None and directory is not None else None
    if directory is None and current is not None:
        directory = current.directory  # a bundle without channel facts says nothing about them: keep the last
        signed = current.signed_directory
    if current is not None:
        if current.bundle_created and created and current.bundle_created > created:
            return False
        if (current.recipients, current.policy, current.bundle_created, current.directory,
                current.signed_directory) == (recipients, policy, created, directory, signed):
            return False
    record = REVIEWERS.json_text(
        {
            "reviewers": list(recipients),
            "policy": policy.as_document() if policy else None,
            "bundle_created": created,
            "signer": signer,
            "imported": iso(utc_now()),
            "channels": _directory_document(directory),
            "directory": signed,
        }
    )
    write_atomic(ws.reviewers_file, record, mode=0o600)
    return True
