"""The retention policy travels signed in the export bundle (FORMAT.md §8) and is checked like the rest."""

from __future__ import annotations

import pytest

from crypto import bundle
from crypto.audit import Policy
from crypto.errors import MalformedDocument


def _body(**extra: object) -> dict:
    return {"type": bundle.DOCUMENT_TYPE, "v": bundle.VERSION, "created": "2026-11-23T12:00:00Z", "since": None,
            "tips": [], **extra}


def test_a_policy_round_trips_and_an_old_bundle_without_one_is_still_valid() -> None:
    policy = Policy(unexported_days=20, exported_days=90, closed_days=10, max_hold_days=180, grace_hours=24)
    assert Policy.from_document(bundle.validate_body(_body(policy=policy.as_document()))["policy"]) == policy
    assert "policy" not in bundle.validate_body(_body())


@pytest.mark.parametrize(
    "policy",
    [
        {**Policy().as_document(), "max_hold_days": -1},
        {**Policy().as_document(), "max_hold_days": "365"},
        {**Policy().as_document(), "type": "something-else"},
        {k: v for k, v in Policy().as_document().items() if k != "closed_days"},
        None,
        [],
    ],
)
def test_a_malformed_policy_makes_the_bundle_invalid(policy: object) -> None:
    with pytest.raises(MalformedDocument):
        bundle.validate_body(_body(policy=policy))
