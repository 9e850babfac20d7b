"""The production configuration in docs/deploy/, rendered to run on loopback.

docs/deploy/ holds the files exactly as an operator installs them (torrc, the
nginx sites and their shared include, the gunicorn instances' environment
files). Tests and benchmarks run *those* files, so they may change nothing but
where things live: :data:`PLACEHOLDERS` lists every string that is replaced
(docs/deploy.md lists the same), and :func:`render` refuses a file in which one
of them is missing, so a changed file fails loudly instead of being run
half-substituted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "docs" / "deploy"

# The production value of each placeholder and what it stands for (docs/deploy.md, "The files").
PLACEHOLDERS = {
    "127.0.0.1:8081": "nginx's onion listener, tor's HiddenServicePort target",
    "127.0.0.1:8001": "gunicorn, Tor instance",
    "127.0.0.1:8000": "gunicorn, web instance",
    "listen 80;": "clearnet http (redirect)",
    "listen [::]:80;": "clearnet http (redirect), IPv6",
    "listen 443 ssl;": "clearnet https",
    "listen [::]:443 ssl;": "clearnet https, IPv6",
    "/etc/nginx/tipbox-proxy.conf": "the shared include",
    "/var/log/nginx/": "nginx's error logs",
    "/etc/letsencrypt/live/tips.example.org/": "the TLS certificate",
    "/var/lib/tor/tipbox/": "tor's HiddenServiceDir",
    "http://YOUR56CHARACTERONIONADDRESS.onion": "the onion address the web instance advertises",
}


def render(name: str, replacements: dict[str, str]) -> str:
    """docs/deploy/``name`` with each placeholder in ``replacements`` replaced everywhere it occurs."""
    text = (DEPLOY / name).read_text()
    for old, new in replacements.items():
        if old not in PLACEHOLDERS:
            raise ValueError(f"{old!r} is not a documented placeholder (bench/deploy.py PLACEHOLDERS)")
        if old not in text:
            raise ValueError(f"docs/deploy/{name} no longer contains {old!r}: update the placeholders")
        text = text.replace(old, new)
    return text


def read_env(text: str) -> dict[str, str]:
    """``KEY=VALUE`` lines of an EnvironmentFile (systemd), comments and blank lines skipped."""
    env = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


@dataclass(frozen=True)
class Loopback:
    """Where the rendered files put everything: free loopback ports and a directory of the caller's."""

    onion: int  # nginx's onion listener
    tor_gunicorn: int
    web_gunicorn: int
    http: int
    https: int
    directory: Path  # nginx's logs and include, the certificate, tor's HiddenServiceDir
    ipv6: bool = True  # [::1] for the clearnet IPv6 listeners; without it they are dropped

    def tor_env(self) -> dict[str, str]:
        return read_env(render("tor.env", {"127.0.0.1:8001": f"127.0.0.1:{self.tor_gunicorn}"}))

    def web_env(self) -> dict[str, str]:
        return read_env(render("web.env", {
            "127.0.0.1:8000": f"127.0.0.1:{self.web_gunicorn}",
            "http://YOUR56CHARACTERONIONADDRESS.onion": f"http://{'tipbox2test' * 5}x.onion",
        }))

    def torrc(self) -> str:
        return render("torrc", {"/var/lib/tor/tipbox/": f"{self.directory / 'tor-hs'}/",
                                "127.0.0.1:8081": f"127.0.0.1:{self.onion}"})

    def proxy_include(self) -> Path:
        return self.directory / "tipbox-proxy.conf"

    def nginx_onion(self) -> str:
        return render("nginx-onion.conf", {
            "127.0.0.1:8081": f"127.0.0.1:{self.onion}",
            "127.0.0.1:8001": f"127.0.0.1:{self.tor_gunicorn}",
            "/etc/nginx/tipbox-proxy.conf": str(self.proxy_include()),
            "/var/log/nginx/": f"{self.directory / 'logs'}/",
        })

    def nginx_clearnet(self) -> str:
        return render("nginx-clearnet.conf", {
            "listen 80;": f"listen 127.0.0.1:{self.http};",
            "listen [::]:80;": f"listen [::1]:{self.http};" if self.ipv6 else "",
            "listen 443 ssl;": f"listen 127.0.0.1:{self.https} ssl;",
            "listen [::]:443 ssl;": f"listen [::1]:{self.https} ssl;" if self.ipv6 else "",
            "127.0.0.1:8000": f"127.0.0.1:{self.web_gunicorn}",
            "/etc/letsencrypt/live/tips.example.org/": f"{self.directory / 'tls'}/",
            "/etc/nginx/tipbox-proxy.conf": str(self.proxy_include()),
            "/var/log/nginx/": f"{self.directory / 'logs'}/",
        })

    def write_proxy_include(self) -> Path:
        """The shared include needs no substitution: it is copied as it is."""
        path = self.proxy_include()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text((DEPLOY / "tipbox-proxy.conf").read_text())
        (self.directory / "logs").mkdir(exist_ok=True)
        return path


def tor_proxy_line(circuit: int, virtual_port: int = 80) -> bytes:
    """The PROXY v1 line tor sends first on each connection (HiddenServiceExportCircuitID haproxy).

    Byte for byte what tor's ``export_hs_client_circuit_id`` writes: the circuit's
    global id in the low 32 bits of an fc00:dead:beef:4dad::/64 source address,
    its low 16 bits as the source port, ``::1`` and the onion's virtual port.
    """
    return (f"PROXY TCP6 fc00:dead:beef:4dad::{circuit >> 16 & 0xFFFF:x}:{circuit & 0xFFFF:x} ::1 "
            f"{circuit & 0xFFFF} {virtual_port}\r\n").encode()
