"""The documented deployment on loopback: nginx (onion and clearnet sites) in front of two gunicorn instances.

Everything comes from docs/deploy/ through bench/deploy.py, which replaces only
addresses and paths. The tipbox behind it is set up with its own CLI
(bench/load.py's TipboxServer) and counts its rate limits in a private Redis
shared by both instances, as production shares one Redis.
"""

from __future__ import annotations

import datetime
import http.client
import os
import shutil
import socket
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.deploy import Loopback, tor_proxy_line
from bench.load import Gunicorn, TipboxServer
from bench.net import free_port
from bench.nginx import Nginx, nginx_binary
from tests.load.services import PrivateRedis
from tests.support import missing_service

# Above what the tests send from one place, except uploads opened (tests/deploy/test_circuits.py counts those).
LIMITS = {"TIPBOX_RATELIMIT_OPEN": "5/minute", "TIPBOX_RATELIMIT_NOJS": "1000/minute",
          "TIPBOX_RATELIMIT_PAGES": "1000/minute", "TIPBOX_MAX_NOJS_BYTES": str(25 * 1024 * 1024)}


def require_nginx() -> str:
    binary = nginx_binary()
    if binary is None:
        missing_service("nginx is not installed (apt-get install nginx)")
    return binary  # type: ignore[return-value]


def require_tor() -> str:
    binary = shutil.which("tor", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/usr/bin")
    if binary is None:
        missing_service("tor is not installed (apt-get install tor)")
    return binary  # type: ignore[return-value]


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


def loopback(directory: Path) -> Loopback:
    ports = Loopback(free_port(), free_port(), free_port(), free_port(), free_port(), directory, ipv6_loopback())
    ports.write_proxy_include()
    write_certificate(directory / "tls")
    return ports


def write_certificate(directory: Path) -> None:
    """A throwaway self-signed certificate where nginx-clearnet.conf expects Let's Encrypt's."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tips.example.org")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (directory / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "privkey.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def client_tls() -> ssl.SSLContext:
    """A browser that accepts the throwaway certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@dataclass
class Stack:
    """Running: nginx with both documented sites, the Tor and the web gunicorn, a private Redis."""

    root: Path
    ports: Loopback
    server: TipboxServer  # its gunicorn is the Tor instance (docs/deploy/tor.env)
    web: Gunicorn  # docs/deploy/web.env
    nginx: Nginx
    redis: PrivateRedis
    tls: ssl.SSLContext = field(default_factory=client_tls)

    @classmethod
    def start(cls, root: Path) -> Stack:
        require_nginx()
        if shutil.which("redis-server") is None:
            missing_service("redis-server is not installed (apt-get install redis-server)")
        ports = loopback(root / "deploy")
        redis = PrivateRedis(root / "redis")
        redis.start()
        server = web = nginx = None
        try:
            server = TipboxServer.create(root / "var", port=ports.tor_gunicorn, TIPBOX_RATELIMIT_STORAGE=redis.url,
                                         TIPBOX_LOG_LEVEL="warning", **LIMITS, **ports.tor_env())
            web = server.instance(ports.web_gunicorn, "gunicorn-web.log", **ports.web_env())
            nginx = Nginx(root / "nginx", {"tipbox-onion": ports.nginx_onion(), "tipbox": ports.nginx_clearnet()})
            server.start()
            web.start()
            nginx.start([ports.onion, ports.http, ports.https])
        except BaseException:
            for process in (nginx, web, server):
                if process is not None:
                    process.stop()
            redis.stop()
            raise
        return cls(root, ports, server, web, nginx, redis)

    def stop(self) -> None:
        self.nginx.stop()
        self.web.stop()
        self.server.stop()
        self.redis.stop()

    def onion_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.onion}"

    def nginx_logs(self) -> str:
        """nginx's own log and the sites' error logs (docs/deploy/: error_log ... crit)."""
        sites = [p.read_text(errors="replace") for p in (self.ports.directory / "logs").glob("*.log")]
        return "\n".join([self.nginx.errors(), *sites])


def fetch(port: int, path: str = "/", circuit: int | None = None, tls: ssl.SSLContext | None = None,
          headers: dict[str, str] | None = None, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """One GET on a new connection: (status, lower-cased headers, body).

    ``circuit``: arrive through the onion service (tor's PROXY line first);
    ``tls``: through the clearnet https site.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if circuit is not None:
        sock.sendall(tor_proxy_line(circuit))
    if tls is not None:
        sock = tls.wrap_socket(sock, server_hostname="tips.example.org")
    conn = http.client.HTTPConnection("tips.example.org", timeout=timeout)
    conn.sock = sock
    try:
        conn.request("GET", path, headers={"Host": "tips.example.org", **(headers or {})})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def timed_get(port: int, path: str = "/retention", circuit: int | None = None, tls: ssl.SSLContext | None = None,
              timeout: float = 5.0) -> tuple[int, float]:
    """:func:`fetch`, timed: (status, seconds); status 0 if it failed or timed out."""
    started = time.perf_counter()
    try:
        status = fetch(port, path, circuit, tls, timeout=timeout)[0]
    except (OSError, http.client.HTTPException):
        status = 0
    return status, time.perf_counter() - started
