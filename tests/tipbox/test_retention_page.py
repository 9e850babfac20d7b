from __future__ import annotations

from flask.testing import FlaskClient


def test_retention_page_states_the_configured_policy(client: FlaskClient) -> None:
    page = client.get("/retention").get_data(as_text=True)
    assert "Berapa lama laporan disimpan" in page
    assert "30 hari" in page and "180 hari" in page and "365 hari" in page and "48 jam" in page
    english = client.get("/retention?lang=en").get_data(as_text=True)
    assert "deleted after 30 days" in english
    assert 'href="/retention"' in client.get("/").get_data(as_text=True)
