"""Helpers shared by tests: vectors, and service checks that skip (or fail in CI) clearly."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "crypto" / "vectors"
REQUIRE_SERVICES = os.environ.get("TIPBOX_TEST_REQUIRE_SERVICES") == "1"


def load_vectors(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / f"{name}.json").read_text())


def missing_service(reason: str) -> None:
    """Skip with ``reason`` locally; fail in CI, where every service must be present."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required for CI: {reason}")
    pytest.skip(reason)


def opens_all(identity: Any, files: list[bytes]) -> bool:
    """True if ``identity`` (a ReviewerIdentity) opens every age file, False if it opens none; a mix fails.

    A real decrypt each: how the handover tests prove who can and cannot read what the server stores.
    """
    from crypto import envelope
    from crypto.errors import NoMatchingIdentity

    results = []
    for data in files:
        try:
            envelope.open_bytes(data, [identity.age_identity])
            results.append(True)
        except NoMatchingIdentity:
            results.append(False)
    assert len(set(results)) == 1, results
    return results[0]
