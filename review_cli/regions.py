"""Kemendagri province and kabupaten/kota names, when the data files are at hand.

The codes and names ship with the server package as CSV (``tipbox/data/regions``,
from the npm package ``idn-area-data`` 4.0.1; code MIT, data ODbL 1.0, © its
contributors, source Kemendagri). review_cli must not import ``tipbox``, so it
reads the files by path: they sit next to this package both in a checkout and
in a normal ``pip install`` of the project. When they are missing, codes are
shown without names and only their format is checked.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "tipbox" / "data" / "regions"
CODE = re.compile(r"^[0-9]{2}(\.[0-9]{2})?\Z")


@dataclass(frozen=True)
class Regions:
    names: dict[str, str]  # "18" -> "Lampung", "18.09" -> "Kabupaten Pesawaran"

    @property
    def available(self) -> bool:
        return bool(self.names)

    def name(self, code: str) -> str | None:
        return self.names.get(code)

    def describe(self, code: str) -> str:
        """``18.09 Kabupaten Pesawaran, Lampung`` (or just the code when unknown)."""
        name = self.names.get(code)
        if name is None:
            return code
        if "." in code:
            province = self.names.get(code.split(".")[0])
            return f"{code} {name}, {province}" if province else f"{code} {name}"
        return f"{code} {name}"

    def known(self, code: str) -> bool:
        return not self.available or code in self.names


def valid_code(code: str) -> bool:
    return bool(CODE.match(code))


@lru_cache(maxsize=4)
def load(directory: Path = DATA_DIR) -> Regions:
    names: dict[str, str] = {}
    try:
        with (directory / "provinces.csv").open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                names[row["code"]] = row["name"]
        with (directory / "regencies.csv").open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                names[row["code"]] = row["name"]
    except (OSError, KeyError, csv.Error):
        return Regions({})
    return Regions({code: name for code, name in names.items() if valid_code(code)})
