"""Translations: the catalogs are complete and current, and the language is chosen as documented.

Bahasa Indonesia is the default and must be complete; English is the source
language, so its catalog may leave ``msgstr`` empty (gettext falls back to the
English msgid). The rendering tests need compiled catalogs: ``make
translations`` builds them (``make test`` does so first).

The deployment's language (``TIPBOX_DEFAULT_LOCALE``) wins over the
browser's Accept-Language unless ``TIPBOX_HONOUR_ACCEPT_LANGUAGE=1``: Tor
Browser sends ``en-US,en;q=0.5`` for every user, whatever their language.
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
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict
from werkzeug.test import encode_multipart

from crypto.identity import ReviewerIdentity
from tests.tipbox.conftest import csrf_token, make_app, receipt_of

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "tipbox" / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
LOCALES = ("id", "en")

# What Tor Browser sends for every user, whatever their language (resistFingerprinting).
TOR_BROWSER = "en-US,en;q=0.5"

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


@pytest.mark.parametrize("accept", ["en", "en-US,en;q=0.9", TOR_BROWSER, "fr-FR,fr;q=0.9", "id-ID,id;q=0.9"])
def test_accept_language_is_ignored_by_default(client: FlaskClient, accept: str) -> None:
    assert_indonesian(get(client, **{"Accept-Language": accept}))


def settings_app(tmp_path: Path, **env: str) -> Flask:
    return make_app(tmp_path / "var", f"sqlite:///{tmp_path / 'i18n.sqlite3'}", [ReviewerIdentity.generate()], **env)


@pytest.mark.parametrize(
    ("env", "accept", "expected"),
    [
        # The operator's default wins, whatever the browser says.
        ({"TIPBOX_DEFAULT_LOCALE": "en"}, None, "en"),
        ({"TIPBOX_DEFAULT_LOCALE": "en"}, "id-ID,id;q=0.9", "en"),
        ({"TIPBOX_DEFAULT_LOCALE": "id"}, TOR_BROWSER, "id"),
        ({"TIPBOX_DEFAULT_LOCALE": "id", "TIPBOX_HONOUR_ACCEPT_LANGUAGE": "0"}, "en", "id"),
        # Opted in: the browser's preference, then the default when it offers neither language.
        ({"TIPBOX_HONOUR_ACCEPT_LANGUAGE": "1"}, "en-US,en;q=0.9", "en"),
        ({"TIPBOX_HONOUR_ACCEPT_LANGUAGE": "1"}, TOR_BROWSER, "en"),  # the price of opting in (README)
        ({"TIPBOX_HONOUR_ACCEPT_LANGUAGE": "1"}, "id-ID,id;q=0.9,en-US;q=0.8,en;q=0.7", "id"),
        ({"TIPBOX_HONOUR_ACCEPT_LANGUAGE": "1"}, "fr-FR,fr;q=0.9", "id"),
        ({"TIPBOX_HONOUR_ACCEPT_LANGUAGE": "1", "TIPBOX_DEFAULT_LOCALE": "en"}, "fr-FR,fr;q=0.9", "en"),
        ({"TIPBOX_HONOUR_ACCEPT_LANGUAGE": "1", "TIPBOX_DEFAULT_LOCALE": "en"}, "id", "id"),
    ],
)
def test_default_locale_and_accept_language_settings(tmp_path: Path, env: dict[str, str], accept: str | None,
                                                     expected: str) -> None:
    app = settings_app(tmp_path, **env)
    client = app.test_client()
    headers = {"Accept-Language": accept} if accept else {}
    (assert_english if expected == "en" else assert_indonesian)(get(client, **headers))
    # The API's messages follow the same choice.
    message = client.get("/api/v1/no-such-thing", headers=headers).get_json()["message"]
    assert message == ("This page or upload does not exist (or has expired)." if expected == "en"
                       else "Halaman atau unggahan ini tidak ada (atau sudah kedaluwarsa).")
    # An explicit choice beats both, and is remembered.
    other = "id" if expected == "en" else "en"
    (assert_english if other == "en" else assert_indonesian)(get(client, f"/?lang={other}", **headers))
    (assert_english if other == "en" else assert_indonesian)(get(client, **headers))
    app.extensions["tipbox.engine"].dispose()


def test_lang_parameter_switches_and_is_remembered(client: FlaskClient) -> None:
    assert_english(get(client, "/?lang=en"))
    assert_english(get(client))  # remembered in the session
    assert_indonesian(get(client, "/?lang=id", **{"Accept-Language": "en"}))
    assert_indonesian(get(client, **{"Accept-Language": "en"}))  # the session beats the browser


def test_unknown_lang_parameter_is_ignored(client: FlaskClient) -> None:
    assert_indonesian(get(client, "/?lang=xx"))
    assert_indonesian(get(client, "/?lang=xx", **{"Accept-Language": "en"}))
    assert_english(get(client, "/?lang=en"))
    assert_english(get(client, "/?lang=xx"))  # nor did it replace the remembered choice
    assert_english(get(client, "/?lang=EN"))  # not a language we offer: ignored, the choice stays


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

    response = client.get("/api/v1/no-such-thing?lang=en")
    assert response.status_code == 404
    assert response.get_json() == {
        "error": "not_found",
        "message": "This page or upload does not exist (or has expired).",
    }


# ---------------------------------------------------------------- the receipt speaks both languages


@pytest.mark.parametrize(("lang", "other"), [("id", "en"), ("en", "id")])
def test_receipt_page_is_in_both_languages_and_offers_no_language_switch(client: FlaskClient, lang: str,
                                                                        other: str) -> None:
    """Without JavaScript, leaving the receipt page loses the code: it must not need a language switch."""
    response = post_form(client, f"/?lang={lang}", description="Anak dipaksa bekerja")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and html_lang(page) == lang
    receipt = receipt_of(page)
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){4}", receipt)
    words = {
        "id": ("Terima kasih. Laporan Anda sudah kami terima.", "Halaman ini tidak dapat ditampilkan lagi.",
               "Ini kode tanda terima Anda."),
        "en": ("Thank you. Your report was received.", "This page cannot be shown again.",
               "This is your receipt code."),
    }
    for phrase in words["id"] + words["en"]:
        assert phrase in page, phrase
    assert f'lang="{other}" aria-labelledby="receipt-other-title"' in page
    # Where to come back, as text to write down (a link would leave the page).
    assert "http://localhost/status</strong>" in page
    # No language links, no header or footer links: the only link is the quick exit, behind a confirmation.
    links = re.findall(r"<a\s[^>]*>", page)
    assert len(links) == 1 and 'id="quick-exit-now"' in links[0] and "data-confirmed-exit" in links[0], links
    assert "?lang=" not in page
    assert page.index('<details class="exit-confirm"') < page.index('id="quick-exit-now"')
