"""The production files in docs/deploy/ are valid as documented, and docs/deploy.md shows them unchanged.

tor checks the torrc itself (``tor --verify-config``, Debian's tor) and nginx
each site (``nginx -t``, Debian's nginx), after bench/deploy.py replaced only
the documented placeholders.
"""

from __future__ import annotations

import re
import runpy
import subprocess
from pathlib import Path

import pytest

from bench.deploy import DEPLOY, PLACEHOLDERS, ROOT, Loopback, render
from bench.nginx import Nginx
from tests.deploy.stack import loopback, require_nginx, require_tor

DOC = ROOT / "docs" / "deploy.md"
COPY = re.compile(r"<!-- copy of docs/deploy/(?P<name>[\w.-]+) -->\n```[a-z]*\n(?P<text>.*?)```", re.S)


def verify_torrc(tor: str, directory: Path, text: str) -> subprocess.CompletedProcess[str]:
    (directory / "tor-hs").mkdir(mode=0o700, exist_ok=True)
    (directory / "tor-data").mkdir(mode=0o700, exist_ok=True)
    torrc, defaults = directory / "torrc", directory / "defaults-torrc"
    torrc.write_text(text)
    defaults.write_text("")  # nothing but the documented file
    return subprocess.run([tor, "--verify-config", "--defaults-torrc", str(defaults), "-f", str(torrc),
                           "--DataDirectory", str(directory / "tor-data")], capture_output=True, text=True, timeout=60)


def test_torrc_passes_tors_own_check(tmp_path: Path) -> None:
    tor = require_tor()
    ports = Loopback(8081, 8001, 8000, 80, 443, tmp_path)
    result = verify_torrc(tor, tmp_path, ports.torrc())
    assert result.returncode == 0 and "Configuration was valid" in result.stdout, result.stdout + result.stderr
    # The check is a real one: the option nginx depends on, misspelt, fails it.
    broken = ports.torrc().replace("HiddenServiceExportCircuitID haproxy", "HiddenServiceExportCircuitID proxy")
    assert verify_torrc(tor, tmp_path, broken).returncode != 0
    # Tor hands the onion service to nginx's PROXY listener, never to gunicorn.
    assert "HiddenServicePort 80 127.0.0.1:8081" in render("torrc", {})


@pytest.mark.parametrize("sites", [("onion",), ("clearnet",), ("onion", "clearnet")])
def test_nginx_accepts_the_documented_sites(tmp_path: Path, sites: tuple[str, ...]) -> None:
    require_nginx()
    ports = loopback(tmp_path / "deploy")
    rendered = {"onion": ports.nginx_onion, "clearnet": ports.nginx_clearnet}
    nginx = Nginx(tmp_path / "nginx", {name: rendered[name]() for name in sites})
    result = nginx.check()
    assert result.returncode == 0 and "test is successful" in result.stderr, result.stderr


def test_nginx_check_is_a_real_one(tmp_path: Path) -> None:
    require_nginx()
    ports = loopback(tmp_path / "deploy")
    site = ports.nginx_onion().replace("proxy_protocol;", "proxy_protocol_please;")
    assert Nginx(tmp_path / "nginx", {"onion": site}).check().returncode != 0


def test_docs_show_the_files_unchanged() -> None:
    copies = {m["name"]: m["text"] for m in COPY.finditer(DOC.read_text())}
    assert {"torrc", "tor.env", "web.env"} <= set(copies), sorted(copies)
    for name, text in copies.items():
        assert text == (DEPLOY / name).read_text(), f"docs/deploy.md's copy of docs/deploy/{name} differs from the file"


def test_docs_name_every_placeholder_and_every_file() -> None:
    doc = DOC.read_text()
    for placeholder in PLACEHOLDERS:
        assert f"`{placeholder}`" in doc, f"docs/deploy.md does not list the placeholder {placeholder!r}"
    for path in DEPLOY.iterdir():
        assert f"docs/deploy/{path.name}" in doc, f"docs/deploy.md does not mention docs/deploy/{path.name}"


def test_gunicorn_speaks_no_proxy_protocol_and_refuses_an_old_tor_env(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = str(ROOT / "tipbox" / "gunicorn_conf.py")
    settings = runpy.run_path(conf)
    assert settings["worker_class"] == "gthread" and "proxy_protocol" not in settings
    monkeypatch.setenv("TIPBOX_PROXY_PROTOCOL", "v1")  # what docs/deploy.md's tor.env used to say
    with pytest.raises(SystemExit, match="nginx"):
        runpy.run_path(conf)
