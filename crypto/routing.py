"""Routing a tip to channels (FORMAT.md §14): a pure function of (province, regency, category).

A *channel* is a group of reviewers a tip is sealed to. Routing decides, from
the three answers a source may give (all optional), which channels' reviewers
the tip is sealed to: the most specific matching channel **leads**, and every
**coordinating** channel whose scope contains the tip reads along. It is pure
(no clock, no randomness, no database) so that the browser (crypto/js/src/
routing.js), the no-JS path (the server, in memory) and the offline tools
reach the same answer from the same inputs, and so that crypto/vectors/
routing.json can pin it for both languages.

Callers pass only channels that can read a tip: a channel with no active
reviewer is excluded *before* routing (routing knows nothing of reviewers),
so that a tip is never led by a channel nobody can open it in; if that leaves
nothing to receive the tip, :class:`~crypto.errors.NoChannel` is raised and
the form refuses the tip rather than accept one nobody can read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from crypto import regions as region_data
from crypto.errors import NoChannel, RoutingError
from crypto.vocabulary import Category, codes

# ASCII only, so that "lowest id first" is the same order in Python (code
# points) and JS (UTF-16 code units): the two differ above U+FFFF.
CHANNEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
CATEGORIES = frozenset(codes(Category))


@dataclass(frozen=True)
class Scope:
    """What a channel covers: region codes (provinces "35", kabupaten/kota "35.72") and category codes.

    Within ``regions`` a tip matches any listed code; within ``categories``
    any listed category; a scope with both needs both to match. An empty
    set does not restrict: a scope with neither is the empty scope.
    """

    regions: frozenset[str] = field(default_factory=frozenset)
    categories: frozenset[str] = field(default_factory=frozenset)

    @property
    def empty(self) -> bool:
        return not self.regions and not self.categories


@dataclass(frozen=True)
class Channel:
    """A channel: ``coordinating`` channels read every tip in their scope, even when another leads.

    A channel with the empty scope and ``coordinating=False`` is the
    *catch-all*: it leads only the tips no channel with a scope matches (at
    most one per channel set). With ``coordinating=True`` the empty scope
    means "every tip" (a national desk).
    """

    id: str
    scope: Scope = field(default_factory=Scope)
    coordinating: bool = False

    @property
    def catch_all(self) -> bool:
        return self.scope.empty and not self.coordinating


@dataclass(frozen=True)
class Place:
    """A tip's routing answers, normalised: the province is always set when the regency is."""

    province: str | None
    regency: str | None
    category: str | None


@dataclass(frozen=True)
class Route:
    """The outcome: ``readers`` is the lead first, then the other readers by id (no duplicates)."""

    lead: Channel
    readers: tuple[Channel, ...]


def place(province: str | None, regency: str | None, category: str | None) -> Place:
    """Validate and normalise a tip's answers; ``None`` and ``""`` both mean "not said".

    A regency without a province implies the province of its code prefix
    ("35.72" is in "35": every Kemendagri code is built that way, and a
    source who picks only a city has said the province too). A regency whose
    prefix is not the given province is contradictory: it is refused rather
    than guessed, since either answer could be the mistaken one.
    """
    known = region_data.load()
    province, regency, category = province or None, regency or None, category or None
    if province is not None and known.province(province) is None:
        raise RoutingError(f"unknown province code {province!r}")
    if regency is not None:
        if known.regency(regency) is None:
            raise RoutingError(f"unknown kabupaten/kota code {regency!r}")
        implied = regency.split(".")[0]
        if province is None:
            province = implied
        elif province != implied:
            raise RoutingError(f"kabupaten/kota {regency!r} is not in province {province!r}")
    if category is not None and category not in CATEGORIES:
        raise RoutingError(f"unknown category code {category!r}")
    return Place(province, regency, category)


def check_channels(channels: Iterable[Channel]) -> tuple[Channel, ...]:
    """Refuse a channel set routing cannot be exact about; returns it as a tuple.

    Ids must be unique (they break ties) and ASCII; every code must exist, so
    a typo in a scope is an error when the set is saved, not a channel that
    silently never matches; at most one catch-all, since "the channel that
    receives what no other takes" must be one channel.
    """
    result = tuple(channels)
    known = region_data.load()
    seen: set[str] = set()
    catch_alls: list[str] = []
    for channel in result:
        if not isinstance(channel.id, str) or CHANNEL_ID.fullmatch(channel.id) is None:
            raise RoutingError(f"channel id {channel.id!r} is not 1-64 ASCII letters, digits, '.', '_' or '-'")
        if channel.id in seen:
            raise RoutingError(f"two channels have the id {channel.id!r}")
        seen.add(channel.id)
        for code in sorted(channel.scope.regions):
            if not known.known(code):
                raise RoutingError(f"channel {channel.id!r}: unknown region code {code!r}")
        for code in sorted(channel.scope.categories):
            if code not in CATEGORIES:
                raise RoutingError(f"channel {channel.id!r}: unknown category code {code!r}")
        if channel.catch_all:
            catch_alls.append(channel.id)
    if len(catch_alls) > 1:
        raise RoutingError(f"more than one catch-all channel: {', '.join(sorted(catch_alls))}")
    return result


def specificity(scope: Scope, tip: Place) -> tuple[int, int] | None:
    """(region level, category level) of a match, or ``None`` when the scope does not contain the tip.

    Region level: 0 for a scope without regions, 2 when the tip's regency is
    listed, 1 when only its province is. Category level: 0 without
    categories, 1 when the tip's category is listed. A tip that did not say
    its region (or category) matches no scope that restricts it.
    """
    if not scope.regions:
        region_level = 0
    elif tip.regency is not None and tip.regency in scope.regions:
        region_level = 2
    elif tip.province is not None and tip.province in scope.regions:
        region_level = 1
    else:
        return None
    if not scope.categories:
        category_level = 0
    elif tip.category is not None and tip.category in scope.categories:
        category_level = 1
    else:
        return None
    return (region_level, category_level)


def route(channels: Iterable[Channel], province: str | None, regency: str | None, category: str | None) -> Route:
    """The channels a tip goes to (FORMAT.md §14).

    Lead: among matching channels with a non-empty scope (coordinating or
    not), the highest (region level, category level), compared region first
    since a place is what decides who can act on a tip; ties go to the lowest
    id, so the result never depends on the order channels are listed. With no
    such channel the catch-all leads; without a catch-all, the matching
    coordinating channel with the lowest id (a national desk then leads).
    Nothing at all: :class:`NoChannel`. Readers: the lead and every matching
    coordinating channel.
    """
    return _route(check_channels(channels), place(province, regency, category))


def _route(checked: tuple[Channel, ...], tip: Place) -> Route:
    """:func:`route` for a checked channel set and a normalised place."""
    matches = [(level, c) for c in checked if (level := specificity(c.scope, tip)) is not None]
    scoped = [(level, c) for level, c in matches if not c.scope.empty]
    lead: Channel | None = None
    if scoped:
        best = max(level for level, _ in scoped)
        lead = min((c for level, c in scoped if level == best), key=lambda c: c.id)
    else:
        lead = next((c for c in checked if c.catch_all), None)
        if lead is None:
            lead = min((c for _, c in matches if c.coordinating), key=lambda c: c.id, default=None)
    if lead is None:
        raise NoChannel("no channel receives this tip and there is no catch-all channel")
    others = sorted((c for _, c in matches if c.coordinating and c.id != lead.id), key=lambda c: c.id)
    return Route(lead, (lead, *others))


def outcomes(channels: Iterable[Channel]) -> frozenset[tuple[str, ...]]:
    """Every readers tuple (ids, lead first) some answer routes to: what a server may accept from a browser.

    The browser routes and tells the server only the outcome, never the
    answers; the server then checks that outcome is one routing can give
    (:func:`route` over every province, kabupaten/kota and category, each
    also "not said"), so a tampered page cannot leave out a coordinating
    channel or pick a lead the answers could not have chosen. Pure, so the
    result can be cached per channel set.
    """
    checked = check_channels(channels)
    known = region_data.load()
    places = [Place(None, None, None)]
    places += [Place(p.code, None, None) for p in known.provinces]
    places += [Place(r.province_code, r.code, None) for r in known.regencies]
    found: set[tuple[str, ...]] = set()
    for where in places:
        for category in (None, *sorted(CATEGORIES)):
            try:
                readers = _route(checked, Place(where.province, where.regency, category)).readers
            except NoChannel:
                continue
            found.add(tuple(c.id for c in readers))
    return frozenset(found)
