"""The shared codes: one definition, and a wording table that misses or invents a code cannot be built."""

from __future__ import annotations

from enum import StrEnum

import pytest

from crypto import dispositions, messages, payload, vocabulary
from crypto.vocabulary import AgencyKind, Category, MessageKind, codes, worded


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


def test_worded_keeps_the_vocabulary_order_and_accepts_exact_tables() -> None:
    table = worded(Colour, {"blue": "biru", "red": "merah"}, "here")
    assert list(table) == [Colour.RED, Colour.BLUE] and table["red"] == "merah"


@pytest.mark.parametrize(
    ("wording", "named"),
    [({"red": "merah"}, "no wording for ['blue']"), ({"red": "m", "blue": "b", "green": "h"}, "unknown codes ['green']")],
)
def test_worded_refuses_a_missing_or_an_unknown_code(wording: dict[str, str], named: str) -> None:
    with pytest.raises(RuntimeError, match="somewhere.py") as info:
        worded(Colour, wording, "somewhere.py")
    assert named in str(info.value)


def test_every_enum_has_unique_well_formed_codes() -> None:
    kinds = [v for v in vars(vocabulary).values() if isinstance(v, type) and issubclass(v, StrEnum) and v is not StrEnum]
    assert len(kinds) >= 12
    for kind in kinds:
        values = codes(kind)
        assert len(set(values)) == len(values) and all(v and v == v.strip() for v in values), kind


def test_the_format_modules_take_their_codes_from_the_vocabulary() -> None:
    assert dispositions.AGENCY_KINDS == codes(AgencyKind)
    assert dispositions.STATUSES == codes(vocabulary.Status)
    assert dispositions.HOLD_REASONS == codes(vocabulary.HoldReason)
    assert payload.SEALED_BY == ("browser", "server") and payload.LANGUAGES == ("id", "en")
    assert set(messages.SEALED_BY) == set(codes(MessageKind))
    assert vocabulary.ANSWER_CHOICES["category"] is Category


def test_format_md_names_the_enums_instead_of_listing_codes() -> None:
    from tests.support import ROOT

    text = (ROOT / "crypto" / "FORMAT.md").read_text()
    assert "crypto/vocabulary.py" in text
    for kind in ("Category", "Danger", "AgeBand", "HowKnown", "Status", "HoldReason", "AgencyKind"):
        assert f"`{kind}`" in text, kind
    assert "`child-protection`" not in text and "`victim-support`" not in text  # no second copy of a list
