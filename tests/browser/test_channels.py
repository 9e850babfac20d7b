"""Channels end to end in Chromium (FORMAT.md §14, docs/channels.md): who the form says can read a tip,
whose export it lands in, and who can (and cannot) open it.

One gunicorn for the module, set up with the operator CLI: the ``default`` channel renamed "Tim umum" (the
catch-all), plus a Kota Blitar team, the East Java UPTD PPA (coordinating), a Bengkulu Tengah team and a
national coordinator (coordinating, any region), each with its own freshly generated reviewer. The tips are
sent once (JavaScript on, off, and with the JIT off) and every channel is exported once; the tests read those.

The screenshot goes to a temporary directory; to refresh the committed one:

    TIPBOX_SCREENSHOTS=docs/screenshots .venv/bin/python -m pytest -p no:cacheprovider tests/browser/test_channels.py
"""

from __future__ import annotations

import os
import secrets
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crypto import payload, receipt_keys
from crypto.errors import NoMatchingIdentity
from crypto.identity import ReviewerIdentity
from tests.browser.conftest import LiveServer, quick_exit_to
from tests.browser.support import export_channel, fill_routed_form, review_workspace, stock_age_decrypt

pytestmark = pytest.mark.browser

READERS_ID = "Laporan ini hanya dapat dibaca oleh:"
READERS_EN = "Only these can read this report:"
CATCH_ALL = "default"  # the server's own channel, already the catch-all; there can be only one

# id -> (name in Bahasa Indonesia, name in English, scope options)
CHANNELS = {
    "blitar-kota": ("Satgas PPA Kota Blitar", "Kota Blitar child protection task force", ["--region", "35.72"]),
    "jatim-uptd-ppa": ("UPTD PPA Jawa Timur", "UPTD PPA East Java", ["--region", "35", "--coordinating"]),
    "bengkulu-tengah": ("Imigrasi Bengkulu Tengah", "Immigration office Bengkulu Tengah", ["--region", "17.09"]),
    "nasional": ("Koordinator nasional", "National coordinator", ["--coordinating"]),
}
CATCH_ALL_NAMES = ("Tim umum", "General team")
NAME_ID = {CATCH_ALL: CATCH_ALL_NAMES[0], **{cid: names[0] for cid, names in CHANNELS.items()}}
NAME_EN = {CATCH_ALL: CATCH_ALL_NAMES[1], **{cid: names[1] for cid, names in CHANNELS.items()}}
ALL_CHANNELS = (CATCH_ALL, *CHANNELS)

BLITAR = ("35", "35.72")
SURABAYA = ("35", "35.78")
BENGKULU_TENGAH = ("17", "17.09")
NO_REGION = ("", "")

# Readers, lead first (FORMAT.md §14's seed set with `default` as the catch-all).
ROUTES = {
    BLITAR: ["blitar-kota", "jatim-uptd-ppa", "nasional"],
    SURABAYA: ["jatim-uptd-ppa", "nasional"],
    BENGKULU_TENGAH: ["bengkulu-tengah", "nasional"],
    NO_REGION: [CATCH_ALL, "nasional"],
}


def readers_line(route: list[str], lang: str = "id") -> str:
    """The readers as the page shows them (innerText): the title paragraph, then one team per line."""
    prefix, names = (READERS_ID, NAME_ID) if lang == "id" else (READERS_EN, NAME_EN)
    return prefix + "\n\n" + "\n".join(names[cid] for cid in route)


@dataclass
class ChannelServer:
    server: LiveServer
    identities: dict[str, ReviewerIdentity]  # channel id -> its one reviewer


@pytest.fixture(scope="module")
def channel_server(tmp_path_factory: pytest.TempPathFactory, neutral_site) -> Iterator[ChannelServer]:
    server = LiveServer.create(tmp_path_factory.mktemp("channels") / "var",
                               TIPBOX_QUICK_EXIT_URL=quick_exit_to(neutral_site))
    # `tipbox init` made `default` (the catch-all) and LiveServer.create gave it server.reviewer.
    server.tipbox("channels", "update", CATCH_ALL, "--name-id", CATCH_ALL_NAMES[0], "--name-en", CATCH_ALL_NAMES[1])
    identities = {CATCH_ALL: server.reviewer}
    for cid, (name_id, name_en, scope) in CHANNELS.items():
        server.tipbox("channels", "add", cid, "--name-id", name_id, "--name-en", name_en, *scope)
        identities[cid] = ReviewerIdentity.generate()
        server.tipbox("reviewers", "add", f"{cid}-reviewer", identities[cid].recipient,
                      "--signing-key", identities[cid].signing_public_key, "--channel", cid)
    listing = server.tipbox("channels", "list").stdout
    assert "cannot receive tips" not in listing, listing
    server.start()
    yield ChannelServer(server, identities)
    server.stop()


# --------------------------------------------------------------------------- 1. the readers line follows the region


def _select_region(page, province: str, regency: str) -> None:
    page.select_option("#province", province)
    page.select_option("#regency", regency)


def test_readers_line_follows_the_region(chromium, channel_server: ChannelServer) -> None:
    context = chromium.new_context(locale="id-ID")
    page = context.new_page()
    page.goto(channel_server.server.url + "/")
    readers = page.locator("#readers")
    # Nothing chosen yet: the catch-all and the national coordinator.
    assert readers.inner_text() == readers_line(ROUTES[NO_REGION])
    for region in (BLITAR, SURABAYA, BENGKULU_TENGAH, NO_REGION, BLITAR):
        _select_region(page, *region)
        assert readers.inner_text() == readers_line(ROUTES[region]), region
    # Another province drops a regency outside it; Bengkulu without a kabupaten/kota is nobody's scope
    # but the national coordinator's, which does not lead: the catch-all does.
    page.select_option("#province", BENGKULU_TENGAH[0])
    assert page.input_value("#regency") == ""
    assert readers.inner_text() == readers_line([CATCH_ALL, "nasional"])
    # The kind of report does not matter to these channels (none is scoped by category).
    _select_region(page, *BLITAR)
    page.select_option("#category", "TPPO-PMI")
    assert readers.inner_text() == readers_line(ROUTES[BLITAR])
    # Choosing "no province" clears the kabupaten/kota too (it would still imply its province, §14).
    _select_region(page, *BENGKULU_TENGAH)
    page.select_option("#province", "")
    assert page.input_value("#regency") == ""
    assert readers.inner_text() == readers_line(ROUTES[NO_REGION])
    # A regency alone implies its province.
    _select_region(page, *NO_REGION)
    assert readers.inner_text() == readers_line(ROUTES[NO_REGION])
    page.select_option("#regency", SURABAYA[1])
    assert page.input_value("#province") == "35"
    assert readers.inner_text() == readers_line(ROUTES[SURABAYA])

    page.goto(channel_server.server.url + "/?lang=en")
    _select_region(page, *BLITAR)
    assert readers.inner_text() == readers_line(ROUTES[BLITAR], "en")
    context.close()


def test_readers_line_with_the_jit_off(chromium_jitless, channel_server: ChannelServer) -> None:
    context = chromium_jitless.new_context(locale="id-ID")
    page = context.new_page()
    page.goto(channel_server.server.url + "/")
    assert page.evaluate("typeof WebAssembly") == "undefined"
    for region in (BLITAR, BENGKULU_TENGAH):
        _select_region(page, *region)
        assert page.inner_text("#readers") == readers_line(ROUTES[region]), region
    context.close()


def test_readers_without_javascript_list_the_rule_and_every_team(chromium, channel_server: ChannelServer) -> None:
    context = chromium.new_context(java_script_enabled=False, locale="id-ID")
    page = context.new_page()
    page.goto(channel_server.server.url + "/")
    _select_region(page, *BLITAR)
    rule = page.inner_text("#readers")
    assert rule.startswith("Siapa yang dapat membaca laporan ini bergantung pada wilayah"), rule
    # No script to name the readers: none of them is named as "the" readers.
    assert READERS_ID not in rule and not any(name in rule for name in NAME_ID.values())
    page.click("details.teams summary")  # opens without any script
    teams = page.locator("details.teams li").all_inner_texts()
    assert sorted(item.split(":")[0] for item in teams) == sorted(NAME_ID.values())
    assert "Satgas PPA Kota Blitar: Kota Blitar" in teams
    assert "Imigrasi Bengkulu Tengah: Kabupaten Bengkulu Tengah" in teams
    context.close()


# --------------------------------------------------------------------------- the tips, sent once


@dataclass(frozen=True)
class Sent:
    region: tuple[str, str]
    canary: str
    receipt: str
    receipt_readers: str  # the text the receipt page shows

    @property
    def source_recipient(self) -> str:
        return receipt_keys.derive(self.receipt).recipient


def _send_with_js(browser, server: LiveServer, region: tuple[str, str], label: str) -> Sent:
    canary = f"CANARY-CHANNELS-{label}-" + secrets.token_hex(6)
    context = browser.new_context(locale="id-ID")
    page = context.new_page()
    page.goto(server.url + "/")
    fill_routed_form(page, canary, *region)
    assert page.inner_text("#readers") == readers_line(ROUTES[region])
    page.click("#submit")
    page.wait_for_selector("#js-receipt:not([hidden])", timeout=60_000)
    receipt = page.inner_text("#js-receipt-code").strip()
    assert page.locator("#js-readable-by").is_visible()
    readers = page.inner_text("#js-readable-by")
    context.close()
    return Sent(region, canary, receipt, readers)


def _send_without_js(browser, server: LiveServer, region: tuple[str, str], label: str, lang: str = "id") -> Sent:
    canary = f"CANARY-CHANNELS-{label}-" + secrets.token_hex(6)
    context = browser.new_context(java_script_enabled=False, locale="id-ID" if lang == "id" else "en-US")
    page = context.new_page()
    page.goto(server.url + ("/" if lang == "id" else "/?lang=en"))
    fill_routed_form(page, canary, *region)
    with page.expect_navigation():
        page.click("#submit")
    receipt = page.inner_text("#receipt-code").strip()
    assert page.locator("#readable-by").is_visible()
    readers = page.inner_text("#readable-by")
    context.close()
    return Sent(region, canary, receipt, readers)


@pytest.fixture(scope="module")
def sent(chromium, chromium_jitless, channel_server: ChannelServer) -> dict[str, Sent]:
    server = channel_server.server
    return {
        "blitar-js": _send_with_js(chromium, server, BLITAR, "BLITAR-JS"),
        "blitar-nojs": _send_without_js(chromium, server, BLITAR, "BLITAR-NOJS"),
        "blitar-jitless": _send_with_js(chromium_jitless, server, BLITAR, "BLITAR-JITLESS"),
        "surabaya-js": _send_with_js(chromium, server, SURABAYA, "SURABAYA-JS"),
        "bengkulu-nojs": _send_without_js(chromium, server, BENGKULU_TENGAH, "BENGKULU-NOJS"),
        "no-region-js": _send_with_js(chromium, server, NO_REGION, "NOREGION-JS"),
        "no-region-nojs-en": _send_without_js(chromium, server, NO_REGION, "NOREGION-NOJS", lang="en"),
    }


BLITAR_TIPS = ("blitar-js", "blitar-nojs", "blitar-jitless")


@pytest.fixture(scope="module")
def exports(channel_server: ChannelServer, sent: dict[str, Sent], tmp_path_factory: pytest.TempPathFactory):
    """Each channel's whole export (``tipbox export --channel ID``), verified with the server key."""
    out = tmp_path_factory.mktemp("exports")
    return {cid: export_channel(channel_server.server, out, cid) for cid in ALL_CHANNELS}


def _ours(verified, sent: dict[str, Sent]) -> dict[str, dict]:
    """This test's tips in a bundle, by name (found by the recipient derived from each receipt)."""
    by_recipient = {tip.get("source_recipient"): tip for tip in verified.body["tips"]}
    return {name: by_recipient[s.source_recipient] for name, s in sent.items() if s.source_recipient in by_recipient}


# --------------------------------------------------------------------------- 2. and 3. exports and who opens what


def test_each_channel_exports_exactly_the_tips_routed_to_it(exports, sent: dict[str, Sent],
                                                            channel_server: ChannelServer) -> None:
    for cid, verified in exports.items():
        assert verified.body["channel"] == cid
        expected = {name for name, s in sent.items() if cid in ROUTES[s.region]}
        assert set(_ours(verified, sent)) == expected, cid
        assert len(verified.body["tips"]) == len(expected), cid  # nothing else either
    for name, s in sent.items():
        route = ROUTES[s.region]
        for cid in route:
            tip = _ours(exports[cid], sent)[name]
            # Lead first, then the coordinating readers; sealed to their reviewers and nobody else.
            assert tip["channels"] == route, (name, cid)
            assert sorted(tip["reviewers"]) == sorted(channel_server.identities[c].recipient for c in route), name
    assert _ours(exports["jatim-uptd-ppa"], sent)["surabaya-js"]["channels"][0] == "jatim-uptd-ppa"
    assert _ours(exports["blitar-kota"], sent)["blitar-nojs"]["sealed_by"] == "server"
    assert _ours(exports["blitar-kota"], sent)["blitar-jitless"]["sealed_by"] == "browser"


def test_every_reader_opens_the_blitar_tips_with_the_review_cli(exports, sent: dict[str, Sent],
                                                                channel_server: ChannelServer,
                                                                tmp_path: Path) -> None:
    for cid in ROUTES[BLITAR]:
        review = review_workspace(tmp_path, channel_server.identities[cid], cid)
        imported = review("import", str(exports[cid].path))
        assert imported.exit_code == 0, (cid, imported.output)
        assert "imported" in imported.output, (cid, imported.output)
        ours = _ours(exports[cid], sent)
        for name in BLITAR_TIPS:
            tip_id = ours[name]["id"]
            shown = review("show", tip_id[:8])
            assert shown.exit_code == 0, (cid, name, shown.output)
            assert sent[name].canary in shown.output, (cid, name)
            assert "Kota Blitar" in shown.output, (cid, name)


def test_other_teams_cannot_open_a_blitar_tip(exports, sent: dict[str, Sent], channel_server: ChannelServer,
                                              tmp_path: Path) -> None:
    blitar = exports["blitar-kota"]
    for name in BLITAR_TIPS:
        sealed = blitar.open_member(_ours(blitar, sent)[name]["payload"]["path"])
        # The stock age CLI with a reader's key opens it (so the refusals below are about the key) ...
        opened = stock_age_decrypt(tmp_path, channel_server.identities["blitar-kota"], sealed)
        assert opened.returncode == 0, opened.stderr
        assert sent[name].canary.encode() in opened.stdout
        # ... with the Bengkulu Tengah reviewer's, or the catch-all's, it does not.
        for outsider in ("bengkulu-tengah", CATCH_ALL):
            refused = stock_age_decrypt(tmp_path, channel_server.identities[outsider], sealed)
            assert refused.returncode != 0, (name, outsider)
            assert b"no identity matched" in refused.stderr, refused.stderr
            assert sent[name].canary.encode() not in refused.stdout + refused.stderr
    # Bengkulu Tengah's own export holds its own tip, and no Blitar tip in any form.
    bengkulu = exports["bengkulu-tengah"]
    assert set(_ours(bengkulu, sent)) == {"bengkulu-nojs"}
    blitar_ids = {_ours(blitar, sent)[name]["id"] for name in BLITAR_TIPS}
    assert not blitar_ids & {tip["id"] for tip in bengkulu.body["tips"]}
    assert not any(tip_id.encode() in bengkulu.path.read_bytes() for tip_id in blitar_ids)


def test_the_lead_and_the_coordinators_read_the_surabaya_and_no_region_tips(
        exports, sent: dict[str, Sent], channel_server: ChannelServer) -> None:
    for name in ("surabaya-js", "bengkulu-nojs", "no-region-js", "no-region-nojs-en"):
        route = ROUTES[sent[name].region]
        for cid in ALL_CHANNELS:
            verified = exports[cid]
            tip = _ours(verified, sent).get(name)
            if cid not in route:
                assert tip is None, (name, cid)
                continue
            assert tip["channels"][0] == route[0], (name, cid)  # the lead
            document = payload.open_tip(verified.open_member(tip["payload"]["path"]),
                                        [channel_server.identities[cid].secret])
            assert document["answers"]["description"].endswith(sent[name].canary)
            province, regency = sent[name].region
            assert (document["answers"].get("province"), document["answers"].get("regency")) == \
                (province or None, regency or None)


# --------------------------------------------------------------------------- 4. the receipt names the readers


def test_the_receipt_names_the_readers(sent: dict[str, Sent]) -> None:
    for name, s in sent.items():
        lang = "en" if name.endswith("-en") else "id"
        assert s.receipt_readers == readers_line(ROUTES[s.region], lang), name


# --------------------------------------------------------------------------- the screenshot


def test_readers_screenshot_on_a_small_phone(chromium, channel_server: ChannelServer, tmp_path: Path) -> None:
    out = Path(os.environ.get("TIPBOX_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(locale="id-ID", viewport={"width": 360, "height": 640}, is_mobile=True,
                                   has_touch=True, device_scale_factor=1)
    page = context.new_page()
    page.goto(channel_server.server.url + "/")
    _select_region(page, *BLITAR)
    assert page.inner_text("#readers") == readers_line(ROUTES[BLITAR])
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.locator("#submit").scroll_into_view_if_needed()
    page.evaluate("document.getElementById('readers-box').scrollIntoView({block: 'center'})")
    box = page.locator("#readers").bounding_box()
    assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= 640 and box["width"] <= 360
    shot = out / "channels-readers-360.png"
    page.screenshot(path=str(shot))
    assert struct.unpack(">II", shot.read_bytes()[16:24]) == (360, 640)
    context.close()


# --------------------------------------------------------------------------- 5. Firefox ESR at Tor Browser "Safer"


def test_readers_and_routed_sealing_in_firefox_safer(channel_server: ChannelServer, tmp_path: Path) -> None:
    """Tor Browser "Safer" (no JIT, no WebAssembly): the readers line follows the region, and a Kota Blitar
    tip sealed in that browser is in Blitar's export and opens for Blitar's reviewer only among Blitar/Bengkulu."""
    from tests.browser.firefox import SAFER, launch, wait_until

    canary = "canary-firefox-" + secrets.token_hex(6)
    for fx in launch(SAFER, log_path=tmp_path / "firefox.log", width=360, height=800):
        fx.navigate(channel_server.server.url + "/")
        for region, (province, regency) in ((BLITAR, BLITAR), (BENGKULU_TENGAH, BENGKULU_TENGAH)):
            fx.find(f"#province option[value='{province}']").click()
            fx.find(f"#regency option[value='{regency}']").click()
            assert fx.text("#readers") == readers_line(ROUTES[region]).replace("\n\n", "\n"), region
        fx.find(f"#province option[value='{BLITAR[0]}']").click()
        fx.find(f"#regency option[value='{BLITAR[1]}']").click()
        fx.find("#description").send_keys(f"Anak dipaksa bekerja. {canary}")
        fx.find("#submit").click()
        wait_until(lambda fx=fx: fx.visible("#js-receipt"), 120, lambda fx=fx: f"no receipt: {fx.page_errors()}")
        assert fx.text("#js-readable-by") == readers_line(ROUTES[BLITAR]).replace("\n\n", "\n")
    exported = export_channel(channel_server.server, tmp_path, "blitar-kota")
    sealed = [exported.open_member(t.payload.path) for t in exported.manifest.tips]
    blitar = channel_server.identities["blitar-kota"].age_identity
    (mine,) = [s for s in sealed if canary in str(payload.open_tip(s, [blitar])["answers"]["description"])]
    with pytest.raises(NoMatchingIdentity):
        payload.open_tip(mine, [channel_server.identities["bengkulu-tengah"].age_identity])
