"""Configuration is a pure function of the environment, with messages that never echo values."""

from __future__ import annotations

from pathlib import Path

import pytest

from tipbox.config import ConfigError, load_config


def test_embedded_defaults(tmp_path: Path) -> None:
    config = load_config({"TIPBOX_VAR_DIR": str(tmp_path)})
    assert config.database_url == f"sqlite:///{tmp_path / 'tipbox.sqlite3'}"
    assert config.ratelimit_storage == "memory://"
    assert config.default_locale == "id"
    assert config.honour_accept_language is False
    assert config.quick_exit_url == "https://id.wikipedia.org/"
    assert config.retention.unexported_days == 30 and config.retention.grace_hours == 48


def test_postgres_url_uses_psycopg3() -> None:
    config = load_config({"TIPBOX_DATABASE_URL": "postgresql://u@db/tipbox"})
    assert config.database_url == "postgresql+psycopg://u@db/tipbox"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"TIPBOX_DATABASE_URL": "mysql://secret-host/db"}, "TIPBOX_DATABASE_URL"),
        ({"TIPBOX_MAX_ATTACHMENTS": "many"}, "TIPBOX_MAX_ATTACHMENTS"),
        ({"TIPBOX_MAX_ATTACHMENT_BYTES": "0"}, "TIPBOX_MAX_ATTACHMENT_BYTES"),
        ({"TIPBOX_MAX_ATTACHMENT_BYTES": "900", "TIPBOX_MAX_SUBMISSION_BYTES": "100"}, "TIPBOX_MAX_ATTACHMENT_BYTES"),
        ({"TIPBOX_DEFAULT_LOCALE": "fr"}, "TIPBOX_DEFAULT_LOCALE"),
        ({"TIPBOX_RATELIMIT_STORAGE": "mongodb://x"}, "TIPBOX_RATELIMIT_STORAGE"),
        ({"TIPBOX_ONION_LOCATION": "https://example.com"}, "TIPBOX_ONION_LOCATION"),
        ({"TIPBOX_RETENTION_GRACE_HOURS": "1000"}, "TIPBOX_RETENTION_GRACE_HOURS"),
        ({"TIPBOX_RETENTION_MAX_HOLD_DAYS": "99999"}, "TIPBOX_RETENTION_MAX_HOLD_DAYS"),
        ({"TIPBOX_RETENTION_EXPORTED_DAYS": "-1"}, "TIPBOX_RETENTION_EXPORTED_DAYS"),
        ({"TIPBOX_STATUS_ACCESS_MINUTES": "99999"}, "TIPBOX_STATUS_ACCESS_MINUTES"),
        ({"TIPBOX_STATUS_ACCESS_MINUTES": "0"}, "TIPBOX_STATUS_ACCESS_MINUTES"),
        ({"TIPBOX_RATELIMIT_STATUS": "lots"}, "TIPBOX_RATELIMIT_STATUS"),
        ({"TIPBOX_RATELIMIT_GLOBAL_STATUS": "0/minute"}, "TIPBOX_RATELIMIT_GLOBAL_STATUS"),
        ({"TIPBOX_HONOUR_ACCEPT_LANGUAGE": "sometimes"}, "TIPBOX_HONOUR_ACCEPT_LANGUAGE"),
        ({"TIPBOX_QUICK_EXIT_URL": "javascript:alert(1)"}, "TIPBOX_QUICK_EXIT_URL"),
        ({"TIPBOX_QUICK_EXIT_URL": "www.example.com"}, "TIPBOX_QUICK_EXIT_URL"),
        ({"TIPBOX_QUICK_EXIT_URL": "https://user:secret@example.com/"}, "TIPBOX_QUICK_EXIT_URL"),
        ({"TIPBOX_QUICK_EXIT_URL": 'https://example.com/"><script>'}, "TIPBOX_QUICK_EXIT_URL"),
        ({"TIPBOX_QUICK_EXIT_URL": "data:text/html,hello"}, "TIPBOX_QUICK_EXIT_URL"),
        ({"TIPBOX_QUICK_EXIT_URL": "https://example.com:99999/"}, "TIPBOX_QUICK_EXIT_URL"),
    ],
)
def test_bad_values_name_the_variable_without_echoing_it(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(env)
    message = str(info.value)
    assert names in message
    for value in env.values():
        assert value not in message


def test_missing_secret_key_file_is_a_clear_error(tmp_path: Path) -> None:
    config = load_config({"TIPBOX_VAR_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="tipbox init"):
        _ = config.secret_key
    (tmp_path / "secret.key").write_text("short")
    with pytest.raises(ConfigError, match="at least 32"):
        _ = config.secret_key


def test_language_and_quick_exit_settings() -> None:
    config = load_config({"TIPBOX_DEFAULT_LOCALE": "en", "TIPBOX_HONOUR_ACCEPT_LANGUAGE": "1",
                          "TIPBOX_QUICK_EXIT_URL": " https://www.bmkg.go.id/cuaca?kota=jakarta "})
    assert config.default_locale == "en" and config.honour_accept_language is True
    assert config.quick_exit_url == "https://www.bmkg.go.id/cuaca?kota=jakarta"
    assert load_config({"TIPBOX_QUICK_EXIT_URL": "http://127.0.0.1:8080/x"}).quick_exit_url == "http://127.0.0.1:8080/x"
