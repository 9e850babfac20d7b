"""Configuration as a pure function of the environment (``TIPBOX_*``).

``load_config(os.environ)`` is the only place settings are read. Every helper
validates its value and raises :class:`ConfigError` with a message that names
the variable but never echoes its value (it may be a secret or a path an
operator would not want in a log). There are no default secrets: the secret
key and the server signing key live in files that ``tipbox init`` (or
``make run`` through ``tipbox demo-setup``) creates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from crypto.audit import Policy

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


@dataclass(frozen=True)
class Config:
    var_dir: Path
    database_url: str
    secret_key_file: Path
    server_key_file: Path
    ratelimit_storage: str = "memory://"
    onion_location: str | None = None
    default_locale: str = "id"
    limits: Limits = field(default_factory=Limits)
    retention: Policy = field(default_factory=Policy)
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
    if not value.startswith(("memory://", "redis://", "rediss://", "unix://")):
        raise ConfigError("TIPBOX_RATELIMIT_STORAGE must be memory://, redis://, rediss:// or unix://")
    return value


def _onion_location(env: Mapping[str, str]) -> str | None:
    value = env.get("TIPBOX_ONION_LOCATION") or None
    if value is not None and not (value.startswith("http://") and ".onion" in value):
        raise ConfigError("TIPBOX_ONION_LOCATION must be an http://....onion URL")
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
    )
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
    if policy.max_hold_days > 3 * 365:
        raise ConfigError("TIPBOX_RETENTION_MAX_HOLD_DAYS must be at most 1095: holds are renewed, never indefinite")
    return policy


def load_config(env: Mapping[str, str]) -> Config:
    """Build the configuration from ``env``; raise :class:`ConfigError` on any bad value."""
    var_dir = _path(env, "TIPBOX_VAR_DIR", Path("var").resolve())
    return Config(
        var_dir=var_dir,
        database_url=_database_url(env, var_dir),
        secret_key_file=_path(env, "TIPBOX_SECRET_KEY_FILE", var_dir / "secret.key"),
        server_key_file=_path(env, "TIPBOX_SERVER_KEY_FILE", var_dir / "server-signing.key"),
        ratelimit_storage=_ratelimit_storage(env),
        onion_location=_onion_location(env),
        default_locale=_choice(env, "TIPBOX_DEFAULT_LOCALE", "id", ("id", "en")),
        limits=_limits(env),
        retention=_retention(env),
        testing=env.get("TIPBOX_TESTING") == "1",
    )
