"""Configuration as a pure function of the environment (``TIPBOX_*``).

``load_config(os.environ)`` is the only place settings are read. Every helper
validates its value and raises :class:`ConfigError` with a message that names
the variable but never echoes its value (it may be a secret or a path an
operator would not want in a log). There are no default secrets: the secret
key and the server signing key live in files that ``tipbox init`` (or
``make run`` through ``tipbox demo-setup``) creates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from crypto.audit import MAX_HOLD_LIMIT_DAYS, Policy

MIB = 1024 * 1024


class ConfigError(ValueError):
    """A TIPBOX_* variable is missing or invalid; the message says which."""


@dataclass(frozen=True)
class Limits:
    max_attachment_bytes: int = 50 * MIB
    max_submission_bytes: int = 200 * MIB
    max_attachments: int = 10
    # The no-JS path holds the request in memory while sealing: keep it smaller.
    max_nojs_bytes: int = 25 * MIB
    max_field_chars: int = 20_000
    upload_chunk_bytes: int = 1 * MIB
    abandoned_upload_hours: int = 24
    # How long the status page's follow-up capability lasts after a receipt was entered.
    status_access_minutes: int = 30


@dataclass(frozen=True)
class RateLimits:
    """Request budgets in flask-limiter's notation ("10/minute;60/hour").

    Per-client buckets are keyed by a daily-rotating HMAC of the client's
    network (or Tor circuit), never by an address; the ``global_*`` buckets
    are shared by every client of the deployment, so a flood through many
    circuits still cannot fill the disk. See tipbox/security/ratelimit.py.
    """

    enabled: bool = True
    pages: str = "120/minute;3000/hour"  # GET/HEAD/OPTIONS of any page or API (static files are exempt)
    open_upload: str = "10/minute;60/hour;300/day"  # POST /api/v1/submissions
    chunks: str = "600/minute;6000/hour"  # PUT .../chunks/<seq> and POST .../complete
    finalize: str = "10/minute;60/hour;300/day"  # POST .../finalize
    nojs: str = "10/minute;60/hour;300/day"  # POST / (the no-JavaScript form)
    global_open: str = "300/minute;3000/hour;20000/day"
    global_chunks: str = "2000/minute;20000/hour;50000/day"  # x TIPBOX_UPLOAD_CHUNK_BYTES = disk per day
    global_submit: str = "300/minute;3000/hour;20000/day"  # finalize + no-JS posts together
    status: str = "10/minute;60/hour"  # receipt lookups (POST /status, POST /api/v1/status): brute force
    global_status: str = "600/minute"


RATELIMIT_VARIABLES = {
    "pages": "TIPBOX_RATELIMIT_PAGES",
    "open_upload": "TIPBOX_RATELIMIT_OPEN",
    "chunks": "TIPBOX_RATELIMIT_CHUNKS",
    "finalize": "TIPBOX_RATELIMIT_FINALIZE",
    "nojs": "TIPBOX_RATELIMIT_NOJS",
    "global_open": "TIPBOX_RATELIMIT_GLOBAL_OPEN",
    "global_chunks": "TIPBOX_RATELIMIT_GLOBAL_CHUNKS",
    "global_submit": "TIPBOX_RATELIMIT_GLOBAL_SUBMIT",
    "status": "TIPBOX_RATELIMIT_STATUS",
    "global_status": "TIPBOX_RATELIMIT_GLOBAL_STATUS",
}


@dataclass(frozen=True)
class Notify:
    """When and how teams are told that reports wait (tipbox/notify/, docs/notifications.md).

    Only the schedule lives here. The targets (apprise URLs, which hold
    credentials) are read from ``targets_file`` or ``TIPBOX_NOTIFY_URLS`` by
    ``tipbox notify`` alone, never by the web process, and never stored.
    """

    targets_file: Path | None = None
    # TIPBOX_NOTIFY_URLS: targets of every channel the file does not name (credentials: never in a repr)
    urls: tuple[str, ...] = field(default=(), repr=False)
    times: tuple[int, ...] = (8, 16)  # local hours of the digests
    timezone: str = "Asia/Jakarta"  # WIB
    waiting_hours: int = 24  # "M waiting more than X hours": not exported by the channel after X hours
    purge_warning_days: int = 7  # "P purged within Y days without a decision"
    send_empty: bool = True  # a digest at every slot, also when nothing arrived (hides whether anything did)
    language: str = "id"

    @property
    def enabled(self) -> bool:
        return self.targets_file is not None or bool(self.urls)


# Works over Tor without a captcha, tracks no one, and is an ordinary thing to have open.
DEFAULT_QUICK_EXIT_URL = "https://id.wikipedia.org/"


@dataclass(frozen=True)
class Config:
    var_dir: Path
    database_url: str
    secret_key_file: Path
    server_key_file: Path
    ratelimit_storage: str = "memory://"
    ratelimits: RateLimits = field(default_factory=RateLimits)
    onion_location: str | None = None
    # Secure (and __Host-) session cookie: only for deployments served over https.
    secure_cookies: bool = False
    # Reverse proxies in front of gunicorn whose X-Forwarded-For/-Proto to trust (0: none).
    trusted_proxies: int = 0
    default_locale: str = "id"
    # Off: every visitor gets default_locale until they pick a language (Tor Browser sends
    # "en-US,en;q=0.5" for everyone, so honouring it would give Indonesian sources English).
    honour_accept_language: bool = False
    # Where "Keluar cepat / Quick exit" goes: an ordinary public site that draws no attention.
    quick_exit_url: str = DEFAULT_QUICK_EXIT_URL
    limits: Limits = field(default_factory=Limits)
    retention: Policy = field(default_factory=Policy)
    notify: Notify = field(default_factory=Notify)
    testing: bool = False

    @property
    def secret_key(self) -> bytes:
        try:
            data = self.secret_key_file.read_bytes().strip()
        except OSError:
            raise ConfigError(
                "TIPBOX_SECRET_KEY_FILE: cannot read the secret key file; run `tipbox init` first"
            ) from None
        if len(data) < 32:
            raise ConfigError("TIPBOX_SECRET_KEY_FILE: the secret key must be at least 32 bytes")
        return data


def _path(env: Mapping[str, str], name: str, default: Path) -> Path:
    value = env.get(name)
    return Path(value).expanduser().resolve() if value else default


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1 or 0")


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name) or default
    if value not in allowed:
        raise ConfigError(f"{name} must be one of: {', '.join(allowed)}")
    return value


def _database_url(env: Mapping[str, str], var_dir: Path) -> str:
    url = env.get("TIPBOX_DATABASE_URL") or f"sqlite:///{var_dir / 'tipbox.sqlite3'}"
    if not url.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg://")):
        raise ConfigError("TIPBOX_DATABASE_URL must be a sqlite:/// or postgresql:// URL")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _ratelimit_storage(env: Mapping[str, str]) -> str:
    value = env.get("TIPBOX_RATELIMIT_STORAGE") or "memory://"
    if not value.startswith(("memory://", "redis://", "rediss://", "redis+unix://")):
        raise ConfigError("TIPBOX_RATELIMIT_STORAGE must be memory://, redis://, rediss:// or redis+unix://")
    return value


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    from limits import parse_many  # server-only dependency, imported where it is needed

    value = (env.get(name) or "").strip() or default
    try:
        items = parse_many(value)
    except ValueError:
        items = []
    if not items or any(item.amount < 1 for item in items):
        raise ConfigError(f'{name} must be one or more limits such as "12/minute;100/hour"')
    return value


def _ratelimits(env: Mapping[str, str], testing: bool) -> RateLimits:
    base = RateLimits()
    values = {field: _rate(env, name, getattr(base, field)) for field, name in RATELIMIT_VARIABLES.items()}
    # On unless turned off; test apps (TIPBOX_TESTING=1) opt in explicitly, so that
    # tests of other features are not throttled by the requests they make.
    return RateLimits(enabled=_bool(env, "TIPBOX_RATELIMIT_ENABLED", not testing), **values)


_ONION_HOST = re.compile(r"^(?:[a-z0-9-]+\.)*[a-z2-7]{56}\.onion\Z")


def _onion_location(env: Mapping[str, str]) -> str | None:
    """The onion address advertised in ``Onion-Location``: ``http://<v3 address>.onion``, no path."""
    value = (env.get("TIPBOX_ONION_LOCATION") or "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        parts.scheme not in ("http", "https")
        or not _ONION_HOST.match(parts.hostname or "")
        or parts.username is not None
        or parts.password is not None
        or port == -1
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise ConfigError("TIPBOX_ONION_LOCATION must be an http://<56 characters>.onion address without a path")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _quick_exit_url(env: Mapping[str, str]) -> str:
    """An absolute http(s) address with a host and no user name or password (it is put in every page)."""
    value = (env.get("TIPBOX_QUICK_EXIT_URL") or "").strip() or DEFAULT_QUICK_EXIT_URL
    parts = urlsplit(value)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or not port_ok
        or len(value) > 2000
        or any(c.isspace() or ord(c) < 0x20 or c in "<>\"\\`" for c in value)
    ):
        raise ConfigError("TIPBOX_QUICK_EXIT_URL must be an https:// (or http://) address of a public site")
    return value


def _trusted_proxies(env: Mapping[str, str]) -> int:
    value = _int(env, "TIPBOX_TRUSTED_PROXIES", 0, minimum=0)
    if value > 5:
        raise ConfigError("TIPBOX_TRUSTED_PROXIES must be at most 5 (the number of proxies in front of gunicorn)")
    return value


def _limits(env: Mapping[str, str]) -> Limits:
    base = Limits()
    limits = Limits(
        max_attachment_bytes=_int(env, "TIPBOX_MAX_ATTACHMENT_BYTES", base.max_attachment_bytes),
        max_submission_bytes=_int(env, "TIPBOX_MAX_SUBMISSION_BYTES", base.max_submission_bytes),
        max_attachments=_int(env, "TIPBOX_MAX_ATTACHMENTS", base.max_attachments, minimum=0),
        max_nojs_bytes=_int(env, "TIPBOX_MAX_NOJS_BYTES", base.max_nojs_bytes),
        max_field_chars=_int(env, "TIPBOX_MAX_FIELD_CHARS", base.max_field_chars),
        upload_chunk_bytes=_int(env, "TIPBOX_UPLOAD_CHUNK_BYTES", base.upload_chunk_bytes, minimum=64 * 1024),
        abandoned_upload_hours=_int(env, "TIPBOX_ABANDONED_UPLOAD_HOURS", base.abandoned_upload_hours),
        status_access_minutes=_int(env, "TIPBOX_STATUS_ACCESS_MINUTES", base.status_access_minutes),
    )
    if limits.status_access_minutes > 24 * 60:
        raise ConfigError("TIPBOX_STATUS_ACCESS_MINUTES must be at most 1440 (a day)")
    if limits.max_attachment_bytes > limits.max_submission_bytes:
        raise ConfigError("TIPBOX_MAX_ATTACHMENT_BYTES must not exceed TIPBOX_MAX_SUBMISSION_BYTES")
    return limits


def _retention(env: Mapping[str, str]) -> Policy:
    base = Policy()
    policy = Policy(
        unexported_days=_int(env, "TIPBOX_RETENTION_UNEXPORTED_DAYS", base.unexported_days),
        exported_days=_int(env, "TIPBOX_RETENTION_EXPORTED_DAYS", base.exported_days),
        closed_days=_int(env, "TIPBOX_RETENTION_CLOSED_DAYS", base.closed_days, minimum=0),
        max_hold_days=_int(env, "TIPBOX_RETENTION_MAX_HOLD_DAYS", base.max_hold_days),
        grace_hours=_int(env, "TIPBOX_RETENTION_GRACE_HOURS", base.grace_hours, minimum=0),
    )
    if policy.grace_hours > 24 * 7:
        raise ConfigError("TIPBOX_RETENTION_GRACE_HOURS must be at most 168 (a week)")
    if policy.max_hold_days > MAX_HOLD_LIMIT_DAYS:
        raise ConfigError(
            f"TIPBOX_RETENTION_MAX_HOLD_DAYS must be at most {MAX_HOLD_LIMIT_DAYS}: holds are renewed, never indefinite"
        )
    return policy


def _notify_times(env: Mapping[str, str]) -> tuple[int, ...]:
    """``TIPBOX_NOTIFY_TIMES``: whole local hours ("08:00,16:00"). Whole hours because every time
    tipbox keeps of a tip is rounded to the hour: a digest at 08:30 could not say what came since 08:00."""
    raw = (env.get("TIPBOX_NOTIFY_TIMES") or "").strip()
    if not raw:
        return Notify().times
    hours = []
    for part in raw.split(","):
        match = re.fullmatch(r"\s*([01]?\d|2[0-3]):00\s*", part)
        if match is None:
            raise ConfigError('TIPBOX_NOTIFY_TIMES must be whole hours such as "08:00,16:00"')
        hours.append(int(match.group(1)))
    if len(set(hours)) != len(hours):
        raise ConfigError("TIPBOX_NOTIFY_TIMES must not repeat a time")
    return tuple(sorted(hours))


def _timezone(env: Mapping[str, str]) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    value = (env.get("TIPBOX_NOTIFY_TIMEZONE") or "").strip() or Notify().timezone
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError('TIPBOX_NOTIFY_TIMEZONE must be a time zone name such as "Asia/Jakarta"') from None
    return value


def _notify(env: Mapping[str, str]) -> Notify:
    base = Notify()
    targets = (env.get("TIPBOX_NOTIFY_TARGETS_FILE") or "").strip()
    return Notify(
        targets_file=Path(targets).expanduser().resolve() if targets else None,
        urls=tuple((env.get("TIPBOX_NOTIFY_URLS") or "").split()),
        times=_notify_times(env),
        timezone=_timezone(env),
        waiting_hours=_int(env, "TIPBOX_NOTIFY_WAITING_HOURS", base.waiting_hours),
        purge_warning_days=_int(env, "TIPBOX_NOTIFY_PURGE_DAYS", base.purge_warning_days),
        send_empty=_bool(env, "TIPBOX_NOTIFY_EMPTY", base.send_empty),
        language=_choice(env, "TIPBOX_NOTIFY_LANGUAGE", base.language, ("id", "en")),
    )


def load_config(env: Mapping[str, str]) -> Config:
    """Build the configuration from ``env``; raise :class:`ConfigError` on any bad value."""
    var_dir = _path(env, "TIPBOX_VAR_DIR", Path("var").resolve())
    return Config(
        var_dir=var_dir,
        database_url=_database_url(env, var_dir),
        secret_key_file=_path(env, "TIPBOX_SECRET_KEY_FILE", var_dir / "secret.key"),
        server_key_file=_path(env, "TIPBOX_SERVER_KEY_FILE", var_dir / "server-signing.key"),
        ratelimit_storage=_ratelimit_storage(env),
        ratelimits=_ratelimits(env, env.get("TIPBOX_TESTING") == "1"),
        onion_location=_onion_location(env),
        secure_cookies=_bool(env, "TIPBOX_SECURE_COOKIES", False),
        trusted_proxies=_trusted_proxies(env),
        default_locale=_choice(env, "TIPBOX_DEFAULT_LOCALE", "id", ("id", "en")),
        honour_accept_language=_bool(env, "TIPBOX_HONOUR_ACCEPT_LANGUAGE", False),
        quick_exit_url=_quick_exit_url(env),
        limits=_limits(env),
        retention=_retention(env),
        notify=_notify(env),
        testing=env.get("TIPBOX_TESTING") == "1",
    )
