"""What the newest imported bundle says about its server: its reviewers and its retention policy.

Both are public and arrive signed in every export bundle (crypto/FORMAT.md §8).
The reviewers are who a reply is sealed to (with the source); the policy's
``max_hold_days`` is the longest hold the server will accept, so ``triage``
refuses a longer one at once, with the limit in the message, instead of the
server refusing the whole dispositions file later. They are kept in
``reviewers.json`` (the name predates the policy), replaced only by a bundle
at least as new as the one they came from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crypto.audit import Policy
from crypto.errors import MalformedDocument

from .errors import StateConflict
from .workspace import Workspace, iso, utc_now, write_atomic

RECORD_TYPE = "tipbox-review-reviewers"
RECORD_VERSION = 1


@dataclass(frozen=True)
class ServerFacts:
    recipients: list[str]
    policy: Policy | None  # None: the bundles imported so far predate the policy in the bundle
    bundle_created: str | None
    signer: str | None


@dataclass(frozen=True)
class HoldLimit:
    days: int
    origin: str  # where the limit comes from, for messages

    @classmethod
    def of(cls, facts: ServerFacts | None) -> HoldLimit:
        if facts is not None and facts.policy is not None:
            return cls(facts.policy.max_hold_days, f"the server's retention policy (bundle of {facts.bundle_created})")
        return cls(Policy().max_hold_days, "tipbox's default: no imported bundle states the server's policy yet")


def _damaged(ws: Workspace) -> StateConflict:
    return StateConflict(f"{ws.reviewers_file} is damaged; import the newest bundle again")


def known(ws: Workspace) -> ServerFacts | None:
    try:
        data = json.loads(ws.reviewers_file.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        raise StateConflict(f"{ws.reviewers_file} is unreadable; import the newest bundle again") from None
    if not isinstance(data, dict) or data.get("type") != RECORD_TYPE:
        raise _damaged(ws)
    recipients = data.get("reviewers")
    if not isinstance(recipients, list) or not all(isinstance(r, str) and r.startswith("age1") for r in recipients):
        raise _damaged(ws)
    try:
        policy = Policy.from_document(data["policy"]) if data.get("policy") is not None else None
    except MalformedDocument:
        raise _damaged(ws) from None
    return ServerFacts(list(recipients), policy, data.get("bundle_created"), data.get("signer"))


def hold_limit(ws: Workspace) -> HoldLimit:
    return HoldLimit.of(known(ws))


def remember(ws: Workspace, body: Mapping[str, Any], signer: str) -> bool:
    """Keep a verified bundle's reviewers and policy unless an already imported bundle is newer; True if written."""
    created = body.get("created")
    recipients = list(body.get("reviewers") or [])
    policy = Policy.from_document(body["policy"]) if "policy" in body else None
    current = known(ws)
    if current is not None:
        if current.bundle_created and created and current.bundle_created > created:
            return False
        if (current.recipients, current.policy, current.bundle_created) == (recipients, policy, created):
            return False
    record = {
        "type": RECORD_TYPE,
        "v": RECORD_VERSION,
        "reviewers": recipients,
        "policy": policy.as_document() if policy else None,
        "bundle_created": created,
        "signer": signer,
        "imported": iso(utc_now()),
    }
    write_atomic(ws.reviewers_file, json.dumps(record, indent=1).encode() + b"\n", mode=0o600)
    return True
