"""Every Alembic revision up and down, with data in the tables, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from tipbox.admin.migrate import alembic_config
from tipbox.models import Base


def _revisions(url: str) -> list[str]:
    script = ScriptDirectory.from_config(alembic_config(url))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def test_single_linear_history(db_url: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(db_url))
    assert len(script.get_bases()) == 1
    assert len(script.get_heads()) == 1
    for revision in script.walk_revisions():
        assert not isinstance(revision.down_revision, tuple), "merge revisions are not allowed"


def _insert_sample(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO channels (id) VALUES ('default')"))
        conn.execute(
            text(
                "INSERT INTO tips (id, channel_id, state, sealed_by, key_fingerprint, payload, payload_size) "
                "VALUES (:id, 'default', 'ready', 'server', 'FP', :payload, 3)"
            ),
            {"id": "a" * 32, "payload": b"age"},
        )
        conn.execute(
            text("INSERT INTO attachments (id, tip_id, position, complete) VALUES (:a, :t, 0, true)"),
            {"a": "b" * 32, "t": "a" * 32},
        )
        conn.execute(
            text("INSERT INTO attachment_chunks (tip_id, attachment_id, seq, data) VALUES (:t, :a, 0, :d)"),
            {"t": "a" * 32, "a": "b" * 32, "d": b"chunk"},
        )


def test_every_revision_up_and_down_with_data(db_url: str) -> None:
    config = alembic_config(db_url)
    engine = create_engine(db_url)
    try:
        revisions = _revisions(db_url)
        for index, revision in enumerate(revisions):
            command.upgrade(config, revision)
            if index == 0:
                _insert_sample(engine)
            command.upgrade(config, revision)  # a second upgrade is a no-op
            if index > 0:
                command.downgrade(config, revisions[index - 1])
                command.upgrade(config, revision)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM attachment_chunks")).scalar() == 1
        command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        command.upgrade(config, "head")
    finally:
        engine.dispose()


def test_models_match_the_head_schema(db_url: str) -> None:
    command.upgrade(alembic_config(db_url), "head")
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_0005_names_the_existing_channel_and_makes_it_the_catch_all(db_url: str) -> None:
    """Single-channel deployments keep working: their channel gets names and an empty scope; down drops them."""
    config = alembic_config(db_url)
    engine = create_engine(db_url)
    try:
        command.upgrade(config, "0004")
        _insert_sample(engine)
        command.upgrade(config, "0005")
        with engine.begin() as conn:
            row = conn.execute(
                text("SELECT name_id, name_en, scope_regions, scope_categories, coordinating FROM channels")
            ).one()
            assert tuple(row) == ("Tim peninjau", "Review team", "", "", False)
            conn.execute(
                text(
                    "INSERT INTO channels (id, name_id, name_en, scope_regions, coordinating) "
                    "VALUES ('uptd-ppa-jatim', 'UPTD PPA Jawa Timur', 'UPTD PPA East Java', '35', true)"
                )
            )
        command.downgrade(config, "0004")
        columns = {c["name"] for c in inspect(engine).get_columns("channels")}
        assert columns == {"id"}
        with engine.connect() as conn:
            assert sorted(conn.execute(text("SELECT id FROM channels")).scalars()) == ["default", "uptd-ppa-jatim"]
            assert conn.execute(text("SELECT count(*) FROM attachment_chunks")).scalar() == 1
        command.upgrade(config, "head")
        with engine.connect() as conn:
            names = {row.id: row.name_en for row in conn.execute(text("SELECT id, name_en FROM channels"))}
        # A downgrade loses names and scopes; re-upgrading names every channel that has none.
        assert names == {"default": "Review team", "uptd-ppa-jatim": "Review team"}
    finally:
        engine.dispose()


def test_0006_gives_every_existing_tip_its_one_channel_and_keeps_what_was_exported(db_url: str) -> None:
    """A tip from before routing was sealed to its one channel: it gets one holder row, exported as it was."""
    config = alembic_config(db_url)
    engine = create_engine(db_url)
    try:
        command.upgrade(config, "0005")
        _insert_sample(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE tips SET exported_at = '2026-11-20 10:00:00'"))
            for seq, exported in ((1, "2026-11-21 10:00:00"), (2, "2026-11-22 10:00:00"), (3, None)):
                conn.execute(
                    text("INSERT INTO messages (id, tip_id, seq, kind, state, sealed_by, key_fingerprint, exported_at) "
                         "VALUES (:id, :tip, :seq, 'followup', 'ready', 'server', 'FP', :exported)"),
                    {"id": f"{seq}" * 32, "tip": "a" * 32, "seq": seq, "exported": exported},
                )
        command.upgrade(config, "0006")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT tip_id, channel_id, position, exported_at, exported_seq FROM tip_channels"))
            (row,) = [tuple(r) for r in rows]
        assert row[:3] == ("a" * 32, "default", 0)
        assert str(row[3]).startswith("2026-11-20 10:00:00") and row[4] == 2  # message 3 is still new to it
        assert "channel_directories" in inspect(engine).get_table_names()
        command.downgrade(config, "0005")
        assert not {"tip_channels", "channel_directories"} & set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            assert conn.execute(text("SELECT channel_id FROM tips")).scalar() == "default"
            assert conn.execute(text("SELECT count(*) FROM attachment_chunks")).scalar() == 1
    finally:
        engine.dispose()
