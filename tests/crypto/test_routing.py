"""Routing tips to channels (crypto/routing.py, FORMAT.md §14).

crypto/vectors/routing.json holds hand-worked outcomes (the JS twin is checked
against the same file by crypto/js/test/routing.test.mjs); the unit tests pin
the issue's examples and the edge cases; the property test checks the rule's
invariants over random channel sets and tips.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import NoChannel, RoutingError, TipboxCryptoError
from crypto.routing import Channel, Place, Route, Scope, check_channels, place, route, specificity
from crypto.routing import outcomes as routing_outcomes
from crypto.vectors.generate import routing_vectors
from crypto.vocabulary import Category, codes
from tests.support import load_vectors

V = load_vectors("routing")
ERRORS: dict[str, type[RoutingError]] = {"RoutingError": RoutingError, "NoChannel": NoChannel}


def channel(data: dict[str, Any]) -> Channel:
    scope = Scope(frozenset(data["regions"]), frozenset(data["categories"]))
    return Channel(data["id"], scope, data["coordinating"])


def channels_of(case: dict[str, Any]) -> list[Channel]:
    listed = V["channels"][case["channels"]] if isinstance(case["channels"], str) else case["channels"]
    return [channel(c) for c in listed]


def test_vectors_are_what_generate_writes() -> None:
    assert V == routing_vectors()


def test_vector_categories_are_the_vocabulary() -> None:
    assert V["categories"] == list(codes(Category))


@pytest.mark.parametrize("case", V["cases"], ids=[c["name"] for c in V["cases"]])
def test_vectors(case: dict[str, Any]) -> None:
    args = (channels_of(case), case["province"], case["regency"], case["category"])
    if "error" in case:
        with pytest.raises(ERRORS[case["error"]]) as raised:
            route(*args)
        assert type(raised.value) is ERRORS[case["error"]]
        return
    result = route(*args)
    assert result.lead.id == case["lead"]
    assert [c.id for c in result.readers] == case["readers"]


def test_vectors_do_not_depend_on_channel_order() -> None:
    for case in V["cases"]:
        if "error" in case:
            continue
        listed = channels_of(case)
        forward = route(listed, case["province"], case["regency"], case["category"])
        backward = route(list(reversed(listed)), case["province"], case["regency"], case["category"])
        assert forward == backward, case["name"]


# --- the issue's examples, spelled out ------------------------------------------

BLITAR = Channel("blitar-kota", Scope(regions=frozenset({"35.72"})))
EAST_JAVA = Channel("jatim-uptd-ppa", Scope(regions=frozenset({"35"})), coordinating=True)
BENTENG = Channel("bengkulu-tengah", Scope(regions=frozenset({"17.09"})))
NATIONAL = Channel("nasional", coordinating=True)
CATCH_ALL = Channel("umum")
ONLINE = Channel("anak-daring", Scope(categories=frozenset({"ANAK-DARING"})))
SEED = [BLITAR, EAST_JAVA, BENTENG, NATIONAL, CATCH_ALL, ONLINE]


def test_issue_examples() -> None:
    assert route(SEED, "35", "35.72", None) == Route(BLITAR, (BLITAR, EAST_JAVA, NATIONAL))
    assert route(SEED, "35", "35.78", None) == Route(EAST_JAVA, (EAST_JAVA, NATIONAL))
    assert route(SEED, None, None, None) == Route(CATCH_ALL, (CATCH_ALL, NATIONAL))


def test_place_normalises() -> None:
    assert place("", "35.72", "") == Place("35", "35.72", None)
    assert place(None, None, "LAIN") == Place(None, None, "LAIN")


@pytest.mark.parametrize(
    ("province", "regency", "category", "words"),
    [
        ("17", "35.72", None, "is not in province"),
        ("35.72", None, None, "unknown province"),
        ("35", "35", None, "unknown kabupaten/kota"),
        ("35", "35.99", None, "unknown kabupaten/kota"),
        (None, None, "anak-ks", "unknown category"),
    ],
)
def test_bad_answers_are_named(province: str | None, regency: str | None, category: str | None, words: str) -> None:
    with pytest.raises(RoutingError, match=words):
        place(province, regency, category)


def test_errors_are_tipbox_errors() -> None:
    assert issubclass(NoChannel, RoutingError)
    assert issubclass(RoutingError, TipboxCryptoError)
    with pytest.raises(NoChannel):
        route([], None, None, None)


def test_check_channels_refusals() -> None:
    with pytest.raises(RoutingError, match="more than one catch-all"):
        check_channels([CATCH_ALL, Channel("umum-2")])
    with pytest.raises(RoutingError, match="two channels have the id"):
        check_channels([CATCH_ALL, Channel("umum", coordinating=True)])
    with pytest.raises(RoutingError, match="unknown region code"):
        check_channels([Channel("x", Scope(regions=frozenset({"35.00"})))])
    with pytest.raises(RoutingError, match="channel id"):
        check_channels([Channel("")])
    assert check_channels(iter(SEED)) == tuple(SEED)


def test_specificity_levels() -> None:
    both = Scope(frozenset({"35", "35.72"}), frozenset({"ANAK-KS"}))
    assert specificity(both, Place("35", "35.72", "ANAK-KS")) == (2, 1)
    assert specificity(both, Place("35", "35.78", "ANAK-KS")) == (1, 1)
    assert specificity(both, Place("35", "35.78", None)) is None
    assert specificity(both, Place(None, None, "ANAK-KS")) is None
    assert specificity(Scope(), Place(None, None, None)) == (0, 0)


# --- properties -------------------------------------------------------------------

SOME_REGENCIES = ["35.72", "35.78", "35.01", "17.09", "17.01", "11.01"]
SCOPE_REGIONS = st.frozensets(st.sampled_from(["35", "17", "11", *SOME_REGENCIES]), max_size=3)
SCOPE_CATEGORIES = st.frozensets(st.sampled_from(["ANAK-DARING", "ANAK-KS", "TPPO-PMI"]), max_size=2)


@st.composite
def channel_sets(draw: st.DrawFn) -> list[Channel]:
    count = draw(st.integers(0, 7))
    ids = draw(
        st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,5}", fullmatch=True), min_size=count, max_size=count, unique=True)
    )
    result = [Channel(i, Scope(draw(SCOPE_REGIONS), draw(SCOPE_CATEGORIES)), draw(st.booleans())) for i in ids]
    seen_catch_all = False
    kept = []
    for c in result:  # at most one catch-all: the others become coordinating
        if c.catch_all and seen_catch_all:
            c = Channel(c.id, c.scope, True)
        seen_catch_all = seen_catch_all or c.catch_all
        kept.append(c)
    return kept


@st.composite
def tips(draw: st.DrawFn) -> tuple[str | None, str | None, str | None]:
    regency = draw(st.none() | st.sampled_from(SOME_REGENCIES))
    province = regency.split(".")[0] if regency and draw(st.booleans()) else None
    if regency is None:
        province = draw(st.none() | st.sampled_from(["35", "17", "11", "12"]))
    category = draw(st.none() | st.sampled_from(codes(Category)))
    return province, regency, category


@settings(max_examples=400, deadline=None)
@given(channel_sets(), tips())
def test_route_properties(channels: list[Channel], tip: tuple[str | None, str | None, str | None]) -> None:
    try:
        result = route(channels, *tip)
    except NoChannel:
        # Only when nothing scoped matches, there is no catch-all and no coordinating channel matches.
        where = place(*tip)
        assert not any(c.catch_all for c in channels)
        assert all(specificity(c.scope, where) is None for c in channels)
        return
    where = place(*tip)
    readers = set(result.readers)
    assert result.readers[0] == result.lead
    assert len(readers) == len(result.readers)
    assert [c.id for c in result.readers[1:]] == sorted(c.id for c in result.readers[1:])
    for c in channels:
        if c.coordinating and specificity(c.scope, where) is not None:
            assert c in readers, c.id
    for c in result.readers:
        assert c == result.lead or c.coordinating
        assert specificity(c.scope, where) is not None
    lead_level = specificity(result.lead.scope, where)
    assert lead_level is not None
    for c in channels:
        level = specificity(c.scope, where)
        if level is not None and not c.scope.empty:
            assert not result.lead.scope.empty
            assert level <= lead_level
            assert level < lead_level or c.id >= result.lead.id
    assert route(list(reversed(channels)), *tip) == result


# --- outcomes: what a server accepts from a page (FORMAT.md §14.1) ------------------------------


def test_outcomes_of_the_seed_set() -> None:
    """Exactly the readers some answer gives: Blitar's three, East Java's two, Bengkulu's, the catch-all's, and the
    online desk's (ANAK-DARING with no region, or in a province nobody else covers)."""
    seed = channels_of({"channels": "seed"})
    assert routing_outcomes(seed) == {
        ("blitar-kota", "jatim-uptd-ppa", "nasional"),
        ("jatim-uptd-ppa", "nasional"),
        ("bengkulu-tengah", "nasional"),
        ("umum", "nasional"),
        ("anak-daring", "nasional"),
    }


@settings(max_examples=25, deadline=None)
@given(channel_sets(), tips())
def test_every_route_is_an_outcome(channels: list[Channel], tip: tuple[str | None, str | None, str | None]) -> None:
    try:
        readers = tuple(c.id for c in route(channels, *tip).readers)
    except NoChannel:
        return
    assert readers in routing_outcomes(channels)
