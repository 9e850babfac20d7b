"""The vendored region codes are exactly the pinned npm package's data."""

from __future__ import annotations

from pathlib import Path

import pytest

from crypto import regions
from tests.support import missing_service

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "node_modules" / "idn-area-data" / "data"
VENDORED = ROOT / "crypto" / "data" / "regions"


@pytest.mark.parametrize("name", ["provinces.csv", "regencies.csv"])
def test_vendored_files_match_the_npm_package(name: str) -> None:
    if not PACKAGE.exists():
        missing_service("node_modules/idn-area-data is not installed (run `npm ci`)")
    assert (VENDORED / name).read_bytes() == (PACKAGE / name).read_bytes()


def test_counts_and_seed_places() -> None:
    data = regions.load()
    assert len(data.provinces) == 38
    assert len(data.regencies) == 514
    for code, name in [("18.09", "Pesawaran"), ("17.09", "Bengkulu Tengah"), ("35.72", "Blitar"), ("34.01", "Kulon Progo")]:
        regency = data.regency(code)
        assert regency is not None and name in regency.name
        assert regency.province_code == code.split(".")[0]
