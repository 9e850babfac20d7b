"""Where a channel's notifications go: apprise URLs, read from a file or TIPBOX_NOTIFY_URLS, never stored.

The URLs hold credentials (an SMTP password, a bot token), so they are read
only by ``tipbox notify`` when it runs, never by the web process, never
written to the database, and never logged or echoed: errors name the
channel, the target's position and its scheme, nothing more.
"""

from __future__ import annotations

import logging
import stat
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..config import ConfigError, Notify

log = logging.getLogger("tipbox.notify")


@dataclass(frozen=True)
class Target:
    channel_id: str
    position: int  # 1-based, as an operator counts the lines of the file
    url: str

    def __repr__(self) -> str:  # never the URL: it holds credentials
        return f"Target({self.channel_id!r}, #{self.position}, {self.scheme}://…)"

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0].lower() if "://" in self.url else "?"


def _apprise():  # imported where it is used: the web process never needs it
    import apprise

    # apprise logs failures with hosts and sometimes more of the URL, and urllib3's debug lines name the
    # request path, where some services carry a token (Telegram's /bot<token>/): keep both out of the logs.
    for name in ("apprise", "urllib3", "requests_oauthlib"):
        quiet = logging.getLogger(name)
        quiet.setLevel(logging.CRITICAL + 1)
        quiet.propagate = False
    return apprise


def _read_file(path: Path) -> Mapping[str, object]:
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError("TIPBOX_NOTIFY_TARGETS_FILE: the file holds credentials; make it private (chmod 600)")
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise ConfigError("TIPBOX_NOTIFY_TARGETS_FILE: cannot read the targets file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        raise ConfigError("TIPBOX_NOTIFY_TARGETS_FILE: not a valid TOML file") from None


def _urls(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(u, str) and u.strip() for u in value):
        raise ConfigError(f"TIPBOX_NOTIFY_TARGETS_FILE: {where} needs urls = [\"...\"], a list of apprise URLs")
    return [u.strip() for u in value]


def load(settings: Notify, channel_ids: Iterable[str]) -> dict[str, list[Target]]:
    """Every known channel's targets: its own from the file, else TIPBOX_NOTIFY_URLS, else none."""
    known = set(channel_ids)
    own: dict[str, list[str]] = {}
    if settings.targets_file is not None:
        data = _read_file(settings.targets_file)
        channels = data.get("channels", {})
        if not isinstance(channels, dict) or set(data) - {"channels"}:
            raise ConfigError("TIPBOX_NOTIFY_TARGETS_FILE: only [channels.<id>] tables are allowed")
        for channel_id, table in channels.items():
            if channel_id not in known:
                raise ConfigError(f"TIPBOX_NOTIFY_TARGETS_FILE: no channel {channel_id!r} (see `tipbox channels list`)")
            if not isinstance(table, dict) or set(table) != {"urls"}:
                raise ConfigError(f"TIPBOX_NOTIFY_TARGETS_FILE: [channels.{channel_id}] needs exactly urls = [...]")
            own[channel_id] = _urls(table["urls"], f"[channels.{channel_id}]")
    targets = {
        channel_id: [Target(channel_id, i, url) for i, url in enumerate(own.get(channel_id, settings.urls), 1)]
        for channel_id in sorted(known)
    }
    apprise = _apprise()
    for found in targets.values():
        for target in found:
            if apprise.Apprise.instantiate(target.url) is None:
                raise ConfigError(f"notification target #{target.position} of channel {target.channel_id!r} "
                                  f"is not an apprise URL apprise can use ({target.scheme}://…)")
    return targets


def deliver(targets: list[Target], title: str, body: str) -> bool:
    """Send to every target of one channel; True if at least one took it. Failures are logged without secrets."""
    apprise = _apprise()
    delivered = False
    for target in targets:
        sender = apprise.Apprise()
        sender.add(target.url)
        try:
            ok = bool(sender.notify(title=title, body=body))
        except Exception:  # a plugin bug must not stop the other targets or the other channels
            ok = False
        if ok:
            delivered = True
        else:
            log.warning("notify: target #%d (%s) of channel %s did not take the notice; the next run tries again",
                        target.position, target.scheme, target.channel_id)
    return delivered
