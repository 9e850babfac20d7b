"""The server words every shared code, and a code it does not know never costs a source a 500."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from crypto import vocabulary
from crypto.vocabulary import codes
from tests.tipbox.browser_like import BrowserLike
from tipbox import db
from tipbox.intake import fields
from tipbox.models import Tip
from tipbox.status import service


def test_every_form_choice_is_a_vocabulary_code_and_every_code_is_offered() -> None:
    by_field = {f.name: f for f in fields.FIELDS}
    for name, kind in vocabulary.ANSWER_CHOICES.items():
        assert tuple(code for code, _ in by_field[name].choices) == codes(kind), name
        assert all(str(label).strip() for _, label in by_field[name].choices), name
    assert {f.name for f in fields.FIELDS if f.kind in ("choice", "multi")} == set(vocabulary.ANSWER_CHOICES)


def test_every_status_and_agency_kind_has_words_for_the_source() -> None:
    assert tuple(service.PUBLIC_STATUS) == codes(vocabulary.Status)
    assert set(service.PUBLIC_STATUS.values()) == set(service.STATUS_TEXT)
    assert tuple(service.AGENCY_TEXT) == codes(vocabulary.AgencyKind)


def test_an_agency_kind_this_server_does_not_know_reads_as_another_agency(app: Flask, client: FlaskClient) -> None:
    """A newer CLI may disclose a kind an older server has no words for: the source still gets a page."""
    browser = BrowserLike(client)
    receipt = browser.submit({"description": "x"})
    with app.app_context(), db.transaction() as session:
        session.execute(update(Tip).values(review_status="referred", disclosed_agency="ministry-of-the-future"))
    answer = browser.status(receipt)
    assert answer.status_code == 200
    assert answer.get_json()["agency_text"] == "lembaga berwenang lainnya"
    assert answer.get_json()["agency_kind"] == "other"
