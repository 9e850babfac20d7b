"""A forward end to end (issue #15, FORMAT.md §10.2): Chromium, the real form, the real CLIs, a live server.

A source sends a Kota Blitar tip through the form (JavaScript on); the Kota
Blitar reviewer imports their channel's export and forwards the tip to
Bengkulu Tengah's immigration office with `tipbox-review forward`; the
dispositions package goes to `tipbox dispositions import`; the Bengkulu
reviewer's next export opens it, and the source, entering the receipt at
/status, reads that the report was referred.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crypto import receipt_keys
from crypto.identity import ReviewerIdentity
from tests.browser.conftest import LiveServer, quick_exit_to
from tests.browser.support import export_channel, fill_routed_form, review_workspace

pytestmark = pytest.mark.browser

# id -> (name in Bahasa Indonesia, name in English, scope options): the seed network of docs/channels.md
CHANNELS = {
    "blitar-kota": ("Satgas PPA Kota Blitar", "Kota Blitar child protection task force", ["--region", "35.72"]),
    "jatim-uptd-ppa": ("UPTD PPA Jawa Timur", "UPTD PPA East Java", ["--region", "35", "--coordinating"]),
    "bengkulu-tengah": ("Imigrasi Bengkulu Tengah", "Immigration office Bengkulu Tengah", ["--region", "17.09"]),
    "nasional": ("Koordinator nasional", "National coordinator", ["--coordinating"]),
}
REFERRED_ID = "Dirujuk. Laporan Anda sudah diteruskan ke lembaga yang dapat menindaklanjutinya."


@dataclass
class Network:
    server: LiveServer
    identities: dict[str, ReviewerIdentity]


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory, neutral_site) -> Iterator[Network]:
    server = LiveServer.create(tmp_path_factory.mktemp("handover") / "var",
                               TIPBOX_QUICK_EXIT_URL=quick_exit_to(neutral_site))
    identities = {}
    for cid, (name_id, name_en, scope) in CHANNELS.items():
        server.tipbox("channels", "add", cid, "--name-id", name_id, "--name-en", name_en, *scope)
        identities[cid] = ReviewerIdentity.generate()
        server.tipbox("reviewers", "add", f"{cid}-reviewer", identities[cid].recipient,
                      "--signing-key", identities[cid].signing_public_key, "--channel", cid)
    server.start()
    yield Network(server, identities)
    server.stop()


def _send(browser, server: LiveServer, canary: str) -> str:
    context = browser.new_context(locale="id-ID")
    page = context.new_page()
    page.goto(server.url + "/")
    fill_routed_form(page, canary, "35", "35.72")
    page.click("#submit")
    page.wait_for_selector("#js-receipt:not([hidden])", timeout=60_000)
    receipt = page.inner_text("#js-receipt-code").strip()
    context.close()
    return receipt


def _status_text(browser, server: LiveServer, receipt: str) -> str:
    context = browser.new_context(locale="id-ID")
    page = context.new_page()
    page.goto(server.url + "/status")
    page.fill("#receipt", receipt)
    page.click("#lookup-submit")
    try:
        page.wait_for_selector("#status-thread:not([hidden])", timeout=60_000)
    except Exception:
        pytest.fail(f"the status page never opened; it says: {page.inner_text('#status-lookup')!r}")
    text = page.inner_text("#status-text").strip()
    context.close()
    return text


def test_a_forwarded_tip_reaches_the_target_and_the_source_reads_referred(
    chromium, network: Network, tmp_path: Path
) -> None:
    server = network.server
    canary = "CANARY-HANDOVER-" + secrets.token_hex(6)
    receipt = _send(chromium, server, canary)
    assert REFERRED_ID not in _status_text(chromium, server, receipt)

    blitar_export = export_channel(server, tmp_path, "blitar-kota")
    source = receipt_keys.derive(receipt).recipient
    [tip] = [t for t in blitar_export.body["tips"] if t.get("source_recipient") == source]
    assert tip["channels"] == ["blitar-kota", "jatim-uptd-ppa", "nasional"]
    blitar = review_workspace(tmp_path, network.identities["blitar-kota"], "blitar")
    for args in (("import", str(blitar_export.path)),
                 ("forward", tip["id"][:8], "--to", "bengkulu-tengah"),
                 ("dispositions", "export", "--out", str(tmp_path / "disposisi.tar"))):
        result = blitar(*args)
        assert result.exit_code == 0, (args, result.output)
    imported = server.tipbox("dispositions", "import", str(tmp_path / "disposisi.tar"))
    assert "1 tip forwarded" in imported.stdout, imported.stdout + imported.stderr

    bengkulu_export = export_channel(server, tmp_path, "bengkulu-tengah")
    assert [t["id"] for t in bengkulu_export.body["tips"]] == [tip["id"]]
    bengkulu = review_workspace(tmp_path, network.identities["bengkulu-tengah"], "bengkulu")
    assert bengkulu("import", str(bengkulu_export.path)).exit_code == 0
    shown = bengkulu("show", tip["id"][:8])
    assert shown.exit_code == 0 and canary in shown.output, shown.output

    assert _status_text(chromium, server, receipt) == REFERRED_ID
