"""Kemendagri province and kabupaten/kota codes: one copy of the data, one loader, for every side.

The form offers these codes, the server validates answers against them and
the offline CLI names them and checks ``--region``; so the data ships inside
this package (``crypto/data/regions``, from the npm package ``idn-area-data``
4.0.1; code MIT, data ODbL 1.0, © its contributors, source Kemendagri; see
the README there), read with ``importlib.resources`` so it is found wherever
the package is installed. A missing file is a broken install and fails
loudly: a CLI that silently accepted any code would let a typo through.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

CODE = re.compile(r"[0-9]{2}(\.[0-9]{2})?")


@dataclass(frozen=True)
class Region:
    code: str  # "18" (province) or "18.09" (kabupaten/kota)
    name: str
    province_code: str


@dataclass(frozen=True)
class Regions:
    provinces: tuple[Region, ...]
    regencies: tuple[Region, ...]
    _by_code: dict[str, Region] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_code", {r.code: r for r in (*self.provinces, *self.regencies)})

    def province(self, code: str) -> Region | None:
        region = self._by_code.get(code)
        return region if region is not None and region.code == region.province_code else None

    def regency(self, code: str) -> Region | None:
        region = self._by_code.get(code)
        return region if region is not None and region.code != region.province_code else None

    def regencies_of(self, province_code: str) -> list[Region]:
        return [r for r in self.regencies if r.province_code == province_code]

    def known(self, code: str) -> bool:
        return code in self._by_code

    def name(self, code: str) -> str | None:
        region = self._by_code.get(code)
        return region.name if region else None

    def describe(self, code: str) -> str:
        """``18.09 Kabupaten Pesawaran, Lampung`` (or just the code when unknown)."""
        region = self._by_code.get(code)
        if region is None:
            return code
        if region.code == region.province_code:
            return f"{code} {region.name}"
        return f"{code} {region.name}, {self._by_code[region.province_code].name}"


def valid_code(code: str) -> bool:
    """The shape of a region code (not whether it exists: see :meth:`Regions.known`)."""
    return CODE.fullmatch(code) is not None


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("crypto").joinpath("data", "regions", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def load() -> Regions:
    provinces = tuple(Region(r["code"], r["name"], r["code"]) for r in _rows("provinces.csv"))
    regencies = tuple(Region(r["code"], r["name"], r["province_code"]) for r in _rows("regencies.csv"))
    return Regions(provinces, regencies)
