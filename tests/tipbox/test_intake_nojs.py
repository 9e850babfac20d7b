"""The no-JavaScript path: the server seals in memory at once, honestly marked."""

from __future__ import annotations

import hashlib
import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from crypto import bundle, payload
from crypto.attachments import ContentDigest, open_attachment
from tests.tipbox.conftest import make_app
from tests.tipbox.leak_scan import FileWatch
from tests.tipbox.support import post_report_form
from tipbox import db, storage
from tipbox.models import Tip


def _ready(app: Flask) -> list[Tip]:
    with app.app_context():
        return list(db.session().scalars(select(Tip).where(Tip.state == "ready")))


def test_form_post_is_sealed_by_server_and_opens(app: Flask, client: FlaskClient, reviewers) -> None:
    evidence = bytes(range(256)) * 4096  # 1 MiB: far above werkzeug's 500 KiB spool threshold
    # Werkzeug must not spool uploads to disk: no file may be opened for writing (audit hook,
    # tests/tipbox/leak_scan.py; an O_TMPFILE spool has no name for any later scan to find).
    with FileWatch() as watch:
        response = post_report_form(
            client,
            description="Anak-anak bekerja di kapal\r\nsetiap malam",
            category="ANAK-EKO",
            province="35",
            regency="35.72",
            place="pelabuhan",
            ongoing="yes",
            victims_count="4",
            victims_age_band="13-17",
            how_known="saw",
            danger=["danger_now", "leaving_soon"],
            online_places="https://x.invalid/a\n\n@perekrut\n",
            contact="",
            contact_consent="1",
            attachments=[(io.BytesIO(evidence), "kapal.jpg", "image/jpeg")],
        )
    assert watch.opened == [], watch.opened
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="receipt-code"' in page
    [tip] = _ready(app)
    assert tip.sealed_by == "server"
    document = payload.open_tip(tip.payload, [reviewers[0].secret])
    answers = document["answers"]
    assert document["sealed_by"] == "server" and document["lang"] == "id"
    assert answers["description"] == "Anak-anak bekerja di kapal\nsetiap malam"
    assert answers["regency"] == "35.72" and answers["province"] == "35"
    assert answers["victims_count"] == 4 and answers["danger"] == ["danger_now", "leaving_soon"]
    assert answers["online_places"] == ["https://x.invalid/a", "@perekrut"]
    assert answers["contact"] is None and answers["contact_consent"] is True
    [entry] = document["attachments"]
    assert entry["name"] == "kapal.jpg" and entry["type"] == "image/jpeg"
    assert entry["sha256"] == hashlib.sha256(evidence).hexdigest()
    with app.app_context():
        sealed = b"".join(storage.iter_chunks(db.session(), tip.id, entry["id"]))
    out = io.BytesIO()
    open_attachment(io.BytesIO(sealed), out, [reviewers[1].secret], ContentDigest(len(evidence), entry["sha256"]))
    assert out.getvalue() == evidence
    assert bundle.attachment_path(tip.id, entry["id"])  # ids are valid bundle path components


def test_missing_description_keeps_the_text_and_stores_nothing(app: Flask, client: FlaskClient) -> None:
    response = post_report_form(client, description="   ", place="Desa Sukamaju", danger=["danger_now"])
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="Desa Sukamaju"' in page
    assert 'id="error-description"' in page
    assert "checked" in page.split('id="danger-danger_now"')[1].split(">")[0]
    assert _ready(app) == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"province": "99"}, "province"),
        ({"regency": "99.99"}, "regency"),
        ({"province": "18", "regency": "35.72"}, "regency"),
        ({"category": "NOPE"}, "category"),
        ({"victims_count": "-3"}, "victims_count"),
        ({"danger": ["whatever"]}, "danger"),
    ],
)
def test_invalid_answers_get_a_clear_400(app: Flask, client: FlaskClient, fields: dict, field: str) -> None:
    response = post_report_form(client, description="something", **fields)
    assert response.status_code == 400
    assert f'id="error-{field}"' in response.get_data(as_text=True) or field == "danger"
    assert _ready(app) == []


def test_missing_csrf_is_a_translated_400(client: FlaskClient) -> None:
    response = client.post("/", data={"description": "x"})
    assert response.status_code == 400
    assert "<html" in response.get_data(as_text=True)


def test_oversized_post_gets_a_page_not_a_bare_413(tmp_path, db_url, reviewers) -> None:
    app = make_app(
        tmp_path / "v",
        db_url,
        reviewers,
        TIPBOX_MAX_NOJS_BYTES="100000",
        TIPBOX_MAX_ATTACHMENT_BYTES="50000",
        TIPBOX_MAX_SUBMISSION_BYTES="100000",
    )
    client = app.test_client()
    response = post_report_form(
        client, description="x", attachments=[(io.BytesIO(b"x" * 200_000), "a.bin", "application/octet-stream")]
    )
    assert response.status_code == 413
    assert "<html" in response.get_data(as_text=True) and "Traceback" not in response.get_data(as_text=True)
    response = post_report_form(
        client, description="x", attachments=[(io.BytesIO(b"x" * 60_000), "a.bin", "application/octet-stream")]
    )
    assert response.status_code == 413
    assert _ready(app) == []
    app.extensions["tipbox.engine"].dispose()


def test_too_many_files(tmp_path, db_url, reviewers) -> None:
    app = make_app(tmp_path / "v", db_url, reviewers, TIPBOX_MAX_ATTACHMENTS="1")
    client = app.test_client()
    files = [(io.BytesIO(b"a"), "a.txt", "text/plain"), (io.BytesIO(b"b"), "b.txt", "text/plain")]
    response = post_report_form(client, description="x", attachments=files)
    assert response.status_code == 413
    assert _ready(app) == []
    app.extensions["tipbox.engine"].dispose()


def test_emergency_numbers_are_in_the_page_without_js(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    emergency = page.split('class="emergency"')[1].split("</div>")[0]
    for number in ("110", "112", "129", "08111-129-129"):
        assert number in emergency
    # The checkbox precedes the box as a sibling, so CSS alone can reveal it.
    assert page.index('id="danger-danger_now"') < page.index('class="emergency"')
    with client.get("/static/css/tipbox.css") as response:
        css = response.get_data(as_text=True)
    assert ".danger-danger_now:checked ~ .emergency { display: block; }" in css


def test_page_loads_nothing_external_and_pins_scripts(client: FlaskClient) -> None:
    import re

    page = client.get("/").get_data(as_text=True)
    # The one link off the site is the quick exit: a navigation the source chooses, not a load.
    quick_exit = client.application.extensions["tipbox.config"].quick_exit_url
    for url in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert url.startswith(("/", "?", "tel:")) or url == quick_exit, url
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts and all('integrity="sha384-' in s and "src=" in s for s in scripts)
    assert "<style" not in page and " style=" not in page and "<script>" not in page
