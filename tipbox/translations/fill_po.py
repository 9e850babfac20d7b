"""Fill untranslated entries of a catalog from a JSON map {msgid: msgstr} (translator helper).

Usage: python tipbox/translations/fill_po.py tipbox/translations/id/LC_MESSAGES/messages.po translations.json
"""

from __future__ import annotations

import json
import sys

from babel.messages.pofile import read_po, write_po


def main(po_path: str, json_path: str) -> None:
    with open(po_path, "rb") as handle:
        catalog = read_po(handle)
    table = json.loads(open(json_path, encoding="utf-8").read())
    for message in catalog:
        if message.id in table and not message.string:
            message.string = table[message.id]
    with open(po_path, "wb") as handle:
        write_po(handle, catalog, width=76)
    missing = [m.id for m in catalog if m.id and not m.string]
    if missing:
        sys.exit(f"{len(missing)} messages still untranslated")


if __name__ == "__main__":
    main(*sys.argv[1:3])
