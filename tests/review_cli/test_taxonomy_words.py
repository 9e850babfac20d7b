"""The CLI names every shared code, in both languages, and nothing else."""

from __future__ import annotations

import pytest

from crypto import vocabulary
from crypto.vocabulary import codes
from review_cli import taxonomy

TABLES = [
    (taxonomy.CATEGORIES, vocabulary.Category),
    (taxonomy.PRIORITIES, vocabulary.Priority),
    (taxonomy.STATUSES, vocabulary.Status),
    (taxonomy.HOLD_REASONS, vocabulary.HoldReason),
    (taxonomy.AGENCY_KINDS, vocabulary.AgencyKind),
    (taxonomy.DANGER, vocabulary.Danger),
    (taxonomy.ONGOING, vocabulary.Ongoing),
    (taxonomy.AGE_BANDS, vocabulary.AgeBand),
    (taxonomy.HOW_KNOWN, vocabulary.HowKnown),
    (taxonomy.MATERIAL_CLASSES, vocabulary.MaterialClass),
]


@pytest.mark.parametrize(("table", "kind"), TABLES, ids=[k.__name__ for _, k in TABLES])
def test_every_code_has_terms_in_both_languages(table, kind) -> None:
    assert tuple(table) == codes(kind)
    for code, term in table.items():
        assert term.code == code and term.id.strip() and term.en.strip(), code


def test_every_agency_discloses_a_known_kind_and_every_category_has_a_legal_basis() -> None:
    assert {agency.kind for agency in taxonomy.AGENCIES.values()} <= set(codes(vocabulary.AgencyKind))
    assert set(taxonomy.LEGAL_BASIS) == set(codes(vocabulary.Category))
