"""Translations: the catalogs are complete and current, and the language is chosen as documented.

Bahasa Indonesia is the default and must be complete; English is the source
language, so its catalog may leave ``msgstr`` empty (gettext falls back to the
English msgid). The rendering tests need compiled catalogs: ``make
translations`` builds them (``make test`` does so first).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict
from werkzeug.test import encode_multipart

from tests.tipbox.conftest import csrf_token

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "tipbox" / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
LOCALES = ("id", "en")

# Must match the `messages` target in the Makefile.
EXTRACT_ARGS = ["extract", "-F", "tipbox/translations/babel.cfg", "-k", "_l", "-k", "lazy_gettext"]

# printf-style conversions, as Python's % operator reads them (Jinja's
# newstyle gettext applies % to every template string, even without variables).
PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]")

# Phrases of the Indonesian form page (GET /) and their English source.
ID_FORM = (
    "Laporkan eksploitasi anak atau perdagangan orang dengan aman",
    "Kirim laporan dengan aman",
    "SAPA 129 (Kementerian Pemberdayaan Perempuan dan Perlindungan Anak):",
    "Jangan pernah mengunggah gambar atau video seksual anak",
)
EN_FORM = (
    "Report child exploitation or human trafficking, safely",
    "Send report securely",
    "SAPA 129 (Ministry of Women's Empowerment and Child Protection):",
    "Never upload sexual images or videos of a child",
)


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def keys(catalog: Catalog) -> set[tuple[object, str | None]]:
    return {(m.id, m.context) for m in catalog if m.id}


def label(message: Message) -> str:
    return repr(message.id if isinstance(message.id, str) else message.id[0])


def strings(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, (list, tuple)) else [message.string]


def placeholders(text: str) -> tuple[Counter[str], list[str], int]:
    """All conversions (named and %%, as a multiset), positional ones in order, and stray % signs."""
    tokens = [m.group(0) for m in PLACEHOLDER.finditer(text)]
    positional = [t for t in tokens if not t.startswith("%(") and t != "%%"]
    return Counter(tokens), positional, PLACEHOLDER.sub("", text).count("%")


# ---------------------------------------------------------------- catalogs


def test_template_is_up_to_date_with_the_sources(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    result = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", *EXTRACT_ARGS, "-o", str(fresh), "tipbox"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    extracted, committed = keys(read_catalog(fresh)), keys(read_catalog(TEMPLATE))
    assert extracted, "extraction found no messages: check tipbox/translations/babel.cfg"
    new, gone = extracted - committed, committed - extracted
    assert not new and not gone, (
        f"messages.pot is stale (run `make messages`): new in the sources {sorted(map(str, new))}, "
        f"no longer in the sources {sorted(map(str, gone))}"
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_has_every_template_message(locale: str) -> None:
    catalog, template = read_catalog(po_path(locale)), read_catalog(TEMPLATE)
    assert str(catalog.locale) == locale
    missing, extra = keys(template) - keys(catalog), keys(catalog) - keys(template)
    assert not missing, f"{locale} catalog lacks {sorted(map(str, missing))}: run `make messages`"
    assert not extra, f"{locale} catalog has messages the template does not: {sorted(map(str, extra))}"


def test_indonesian_catalog_is_complete() -> None:
    catalog = read_catalog(po_path("id"))
    assert not catalog.fuzzy, "the id catalog header is marked fuzzy"
    untranslated = [label(m) for m in catalog if m.id and not all(s.strip() for s in strings(m))]
    fuzzy = [label(m) for m in catalog if m.id and m.fuzzy]
    assert not untranslated, f"untranslated in id: {untranslated}"
    assert not fuzzy, f"fuzzy in id (review, then remove the flag): {fuzzy}"
    assert catalog.num_plurals == 1, "Indonesian has one plural form (nplurals=1; plural=0)"


def test_english_catalog_has_no_fuzzy_entries() -> None:
    catalog = read_catalog(po_path("en"))
    assert not catalog.fuzzy
    assert not [label(m) for m in catalog if m.id and m.fuzzy]


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_the_placeholders(locale: str) -> None:
    catalog = read_catalog(po_path(locale))
    problems = []
    for message in catalog:
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[-1]
        expected = placeholders(source)
        for text in strings(message):
            if text and placeholders(text) != expected:
                problems.append(f"{label(message)} -> {text!r}")
    # Babel's own checkers too (python-format flags, number of plural forms).
    problems += [f"{label(m)}: {[str(e) for e in errors]}" for m, errors in catalog.check()]
    assert not problems, "placeholders differ from the msgid:\n" + "\n".join(problems)


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_add_no_markup(locale: str) -> None:
    """Jinja's newstyle gettext marks translations safe (unescaped): a msgstr must not bring HTML of its own."""
    catalog = read_catalog(po_path(locale))
    problems = []
    for message in catalog:
        if not message.id:
            continue
        source = "".join([message.id] if isinstance(message.id, str) else message.id)
        for text in strings(message):
            if any(text.count(c) > source.count(c) for c in "<>&"):
                problems.append(f"{label(message)} -> {text!r}")
    assert not problems, "markup characters not in the msgid:\n" + "\n".join(problems)


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalog_matches_the_po(locale: str) -> None:
    mo = po_path(locale).with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run `make translations`"
    with mo.open("rb") as f:
        compiled = {m.id: m.string for m in read_mo(f) if m.id}
    source = {m.id: m.string for m in read_catalog(po_path(locale)) if m.id and m.string and not m.fuzzy}
    assert compiled == source, f"{mo} is stale: run `make translations`"


# ---------------------------------------------------------------- rendering


def html_lang(page: str) -> str:
    match = re.search(r'<html lang="([^"]*)"', page)
    assert match, "no <html lang> attribute"
    return match.group(1)


def get(client: FlaskClient, path: str = "/", **headers: str) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def assert_indonesian(page: str) -> None:
    assert html_lang(page) == "id"
    for phrase in ID_FORM:
        assert phrase in page
    for phrase in EN_FORM:
        assert phrase not in page


def assert_english(page: str) -> None:
    assert html_lang(page) == "en"
    for phrase in EN_FORM:
        assert phrase in page
    for phrase in ID_FORM:
        assert phrase not in page


def test_indonesian_by_default(client: FlaskClient) -> None:
    page = get(client)
    assert_indonesian(page)
    assert 'data-lang="id"' in page  # the language the browser sealer records in the payload
    assert re.search(r"Paling banyak \d+ file, masing-masing maksimal \d+ MB\.", page)  # placeholders filled


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("id-ID,id;q=0.9,en-US;q=0.8,en;q=0.7", "id"),
        ("fr-FR,fr;q=0.9", "id"),  # neither offered: Indonesian
    ],
)
def test_accept_language(client: FlaskClient, accept: str, expected: str) -> None:
    page = get(client, **{"Accept-Language": accept})
    (assert_english if expected == "en" else assert_indonesian)(page)


def test_lang_parameter_switches_and_is_remembered(client: FlaskClient) -> None:
    assert_english(get(client, "/?lang=en"))
    assert_english(get(client))  # remembered in the session
    assert_indonesian(get(client, "/?lang=id", **{"Accept-Language": "en"}))
    assert_indonesian(get(client, **{"Accept-Language": "en"}))  # the session beats the browser


def test_unknown_lang_parameter_is_ignored(client: FlaskClient) -> None:
    assert_indonesian(get(client, "/?lang=xx"))
    assert_english(get(client, "/?lang=xx", **{"Accept-Language": "en"}))
    assert_english(get(client, **{"Accept-Language": "en"}))  # "xx" was not remembered
    assert_english(get(client, "/?lang=en"))
    assert_english(get(client, "/?lang=xx"))  # nor did it replace the remembered choice


def post_form(client: FlaskClient, path: str, **fields: str):
    values = MultiDict({"csrf_token": csrf_token(client, path), **fields})
    boundary, body = encode_multipart(values)
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_validation_messages_are_translated(client: FlaskClient) -> None:
    response = post_form(client, "/", description="")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert html_lang(page) == "id"
    assert "Silakan periksa jawaban yang ditandai di bawah." in page
    assert 'id="error-description">Silakan ceritakan apa yang terjadi.</p>' in page

    response = post_form(client, "/?lang=en", description="")
    page = response.get_data(as_text=True)
    assert html_lang(page) == "en"
    assert 'id="error-description">Please describe what happened.</p>' in page


def test_error_pages_are_translated(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert html_lang(page) == "id"
    assert "Halaman atau unggahan ini tidak ada (atau sudah kedaluwarsa)." in page

    response = client.get("/api/v1/no-such-thing", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert response.get_json() == {
        "error": "not_found",
        "message": "This page or upload does not exist (or has expired).",
    }
