"""Official province and kabupaten/kota codes, shipped as data (see data/regions/README.md)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    province_code: str


@dataclass(frozen=True)
class Regions:
    provinces: tuple[Region, ...]
    regencies: tuple[Region, ...]

    def province(self, code: str) -> Region | None:
        return next((p for p in self.provinces if p.code == code), None)

    def regency(self, code: str) -> Region | None:
        return next((r for r in self.regencies if r.code == code), None)

    def regencies_of(self, province_code: str) -> list[Region]:
        return [r for r in self.regencies if r.province_code == province_code]


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("tipbox").joinpath("data", "regions", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def load_regions() -> Regions:
    provinces = tuple(Region(r["code"], r["name"], r["code"]) for r in _rows("provinces.csv"))
    regencies = tuple(Region(r["code"], r["name"], r["province_code"]) for r in _rows("regencies.csv"))
    return Regions(provinces, regencies)
