from __future__ import annotations

from flask.testing import FlaskClient


def test_retention_page_states_the_configured_policy(client: FlaskClient) -> None:
    page = client.get("/retention").get_data(as_text=True)
    assert "Berapa lama laporan disimpan" in page
    assert "30 hari" in page and "180 hari" in page and "365 hari" in page and "48 jam" in page
    english = client.get("/retention?lang=en").get_data(as_text=True)
    assert "deleted after 30 days" in english
    assert 'href="/retention"' in client.get("/").get_data(as_text=True)


def test_retention_page_tells_the_source_that_adding_information_keeps_the_report(client: FlaskClient) -> None:
    """The follow-up rule (docs/retention.md) is a promise to the source: the page states it, with its days."""
    page = client.get("/retention").get_data(as_text=True)
    assert "disimpan paling sedikit 30 hari sejak saat itu" in page and "Di luar itu, laporan hanya" in page
    english = client.get("/retention?lang=en").get_data(as_text=True)
    assert "it is kept for at least 30 days after that, even if the case was closed" in english
    assert "Otherwise, a report can be kept longer only if a reviewer signs a hold" in english
