"""Issue #19: slow clients must not stall the server, the onion service included.

The attack (bench/slow_clients.py): connections that each send ``POST /`` with
``Content-Length: 1000``, a first piece of body carrying a canary, and then one
byte every 2 s. Through the documented nginx + gunicorn, on the onion site (one
circuit per connection, plus one circuit that tries more connections than
nginx allows it) and on the clearnet site, while other clients fetch
``GET /retention`` on new connections: each must be served within a second.
Meanwhile and afterwards nothing that carried the canary may be on disk.

For contrast, the same attack on gunicorn alone stalls it (the issue's report).
Every attack stops by itself within seconds; loopback only.
"""

from __future__ import annotations

import secrets
import time

import pytest

from bench.deploy import tor_proxy_line
from bench.nginx import files_containing
from bench.slow_clients import SlowClients
from tests.deploy.stack import Stack, timed_get

pytestmark = [pytest.mark.slow, pytest.mark.redis]

ATTACK_SECONDS = 10.0
CIRCUITS = 32  # slow connections on the onion site, one circuit each
GREEDY = 24  # slow connections from a single circuit: nginx holds 16 (limit_conn), refuses the rest
CLEARNET = 16  # slow connections to the https site, all from 127.0.0.1 (limit 32 per address)


def probe_until(deadline: float, *targets: dict) -> list[tuple[str, int, float]]:
    """Fetch /retention from each target in turn, every 0.3 s, until ``deadline``: (target, status, seconds)."""
    results = []
    while time.monotonic() < deadline:
        for target in targets:
            status, seconds = timed_get(target["port"], circuit=target.get("circuit"), tls=target.get("tls"))
            results.append((target["name"], status, seconds))
        for target in targets:
            if "circuit" in target:
                target["circuit"] += 1  # a new visitor each time
        time.sleep(0.3)
    return results


def test_slow_clients_do_not_stall_the_server_and_nothing_reaches_disk(stack: Stack) -> None:
    canary = f"SLOWCANARY{secrets.token_hex(8)}"
    preamble = f"csrf_token=x&description={canary}".encode()
    attacks = [
        SlowClients(stack.ports.onion, CIRCUITS, duration=ATTACK_SECONDS, preamble=preamble,
                    proxy_line=lambda n: tor_proxy_line(0x5100_0000 + n)),
        SlowClients(stack.ports.onion, GREEDY, duration=ATTACK_SECONDS, preamble=preamble,
                    proxy_line=lambda n: tor_proxy_line(0x5200_0000)),
        SlowClients(stack.ports.https, CLEARNET, duration=ATTACK_SECONDS, preamble=preamble, tls=stack.tls),
    ]
    for attack in attacks:
        attack.start()
    try:
        time.sleep(1.5)  # every slow connection has sent its header and first piece
        results = probe_until(time.monotonic() + ATTACK_SECONDS - 3,
                              {"name": "onion", "port": stack.ports.onion, "circuit": 0x5300_0000},
                              {"name": "clearnet", "port": stack.ports.https, "tls": stack.tls})
        # While the bodies are still arriving: no temporary file, no canary in any file.
        spooled_during = stack.nginx.spooled()
        on_disk_during = files_containing(canary.encode(), stack.root)
    finally:
        for attack in attacks:
            attack.stop()

    onion, greedy, clearnet = attacks
    slowest = {name: max(s for n, _, s in results if n == name) for name in ("onion", "clearnet")}
    print(f"\n{len(results)} GET /retention during the attack, slowest: "
          + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in slowest.items()))
    for attack, count in ((onion, CIRCUITS), (clearnet, CLEARNET)):  # all held to the end, none refused
        assert (attack.opened, attack.answered, attack.closed_by_server) == (count, {}, 0)
    # One circuit may keep only 16 requests in progress: nginx refused the other 8 at once.
    assert sorted(greedy.answered.values()) == [429] * (GREEDY - 16), greedy.answered
    slow = [r for r in results if r[1] != 200 or r[2] >= 1.0]
    assert len(results) >= 10 and not slow, f"not served within a second: {slow} of {len(results)}"
    assert spooled_during == [] and on_disk_during == []
    assert stack.nginx.spooled() == [] and files_containing(canary.encode(), stack.root) == []
    # nginx logged no request and no client (access_log off; error_log crit, which holds no timeouts or refusals).
    access_log = stack.nginx.prefix / "logs" / "access.log"
    assert not access_log.exists() or access_log.stat().st_size == 0
    logs = stack.nginx_logs()
    assert "client:" not in logs and "fc00:dead" not in logs and "127.0.0.1" not in logs, logs


def test_gunicorn_alone_is_stalled_by_the_same_attack(stack: Stack) -> None:
    """What the issue saw: without nginx, slow connections hold all of gunicorn's 2 x 4 threads.

    32 rather than the issue's 8, so that both workers surely accept more than
    their 4 threads' worth whichever way the kernel shares the connections out.
    """
    port = stack.server.gunicorn.port
    attack = SlowClients(port, 32, duration=9.0)
    attack.start()
    try:
        time.sleep(1.5)
        probes = [timed_get(port, timeout=2.0) for _ in range(3)]
    finally:
        attack.stop()
    assert attack.opened == 32 and attack.closed_by_server == 0
    assert any(status != 200 or seconds >= 1.0 for status, seconds in probes), probes
    # Once the slow clients are gone gunicorn recovers by itself.
    deadline = time.monotonic() + 20
    while timed_get(port, timeout=2.0)[0] != 200:
        assert time.monotonic() < deadline, "gunicorn did not recover after the slow clients left"
        time.sleep(0.5)
