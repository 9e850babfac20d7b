"""The issue's seed network of channels, set up through the operator CLI, for the server tests.

Kota Blitar's task force (35.72), East Java's UPTD PPA coordinating its
province (35), Bengkulu Tengah's immigration office (17.09), a national
coordinating desk, and the catch-all (the deployment's ``default`` channel,
renamed). Each has one reviewer of its own.
"""

from __future__ import annotations

from flask import Flask

from crypto.identity import ReviewerIdentity
from tests.tipbox.support import run_cli

BLITAR, JATIM, BENGKULU, NASIONAL, UMUM = "blitar-kota", "jatim-uptd-ppa", "bengkulu-tengah", "nasional", "default"
NETWORK = [
    (BLITAR, "Satgas PPA Kota Blitar", "Child protection task force, Kota Blitar", ["--region", "35.72"]),
    (JATIM, "UPTD PPA Jawa Timur", "UPTD PPA East Java", ["--region", "35", "--coordinating"]),
    (BENGKULU, "Imigrasi Bengkulu Tengah", "Immigration, Bengkulu Tengah", ["--region", "17.09"]),
    (NASIONAL, "Koordinator nasional", "National coordinators", ["--coordinating"]),
]


def add_reviewer(app: Flask, channel_id: str, label: str) -> ReviewerIdentity:
    identity = ReviewerIdentity.generate()
    run_cli(app, "reviewers", "add", label, identity.recipient, "--signing-key", identity.signing_public_key,
            "--channel", channel_id)
    return identity


def seed_network(app: Flask, catch_all_reviewer: ReviewerIdentity) -> dict[str, ReviewerIdentity]:
    """Create the seed channels on ``app``; channel id -> its reviewer's identity."""
    run_cli(app, "channels", "update", UMUM, "--name-id", "Tim umum", "--name-en", "General team")
    identities = {UMUM: catch_all_reviewer}
    for channel_id, name_id, name_en, scope in NETWORK:
        run_cli(app, "channels", "add", channel_id, "--name-id", name_id, "--name-en", name_en, *scope)
        identities[channel_id] = add_reviewer(app, channel_id, f"r-{channel_id}")
    return identities
