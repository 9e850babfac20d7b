"""Reviewer identity files. scrypt costs about a second per operation, so the
passphrase cases share one encrypted file per module."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from crypto import errors
from crypto.envelope import open_bytes, seal_bytes
from crypto.identity import (
    ReviewerIdentity,
    decrypt_identity,
    load_identity,
    recipient_fingerprint,
    save_identity,
)
from tests.support import load_vectors

V = load_vectors("identity")
S = load_vectors("signing")


def test_committed_identity_file_loads_with_its_passphrase() -> None:
    ident = decrypt_identity(base64.b64decode(V["identity_file_b64"]), V["passphrase"])
    assert ident.secret == V["secret"]
    assert ident.recipient == V["recipient"]
    assert ident.signing_public_key == V["signing_public_key"]


def test_wrong_passphrase() -> None:
    with pytest.raises(errors.WrongPassphrase):
        decrypt_identity(base64.b64decode(V["identity_file_b64"]), "not the passphrase")


@pytest.mark.parametrize("cut", [5, 40, 150])
def test_truncated_identity_file(cut: int) -> None:
    data = base64.b64decode(V["identity_file_b64"])
    with pytest.raises(errors.MalformedIdentity):
        decrypt_identity(data[:-cut], V["passphrase"])


def test_file_that_is_not_passphrase_protected() -> None:
    sealed_to_key = seal_bytes(b"AGE-SECRET-KEY-1...", [V["recipient"]])
    with pytest.raises(errors.MalformedIdentity):
        decrypt_identity(sealed_to_key, V["passphrase"])
    with pytest.raises(errors.MalformedIdentity):
        decrypt_identity(b"AGE-SECRET-KEY-1 plain text", V["passphrase"])


def test_save_and_load(tmp_path: Path) -> None:
    ident = ReviewerIdentity.generate()
    path = tmp_path / "reviewer.age"
    save_identity(ident, path, "sandi rahasia")
    assert path.stat().st_mode & 0o777 == 0o600
    assert b"AGE-SECRET-KEY" not in path.read_bytes()
    assert load_identity(path, "sandi rahasia") == ident
    with pytest.raises(FileExistsError):
        save_identity(ident, path, "again")
    with pytest.raises(errors.MalformedIdentity):
        load_identity(tmp_path / "missing.age", "x")


def test_identity_opens_what_is_sealed_to_its_recipient() -> None:
    ident = ReviewerIdentity.generate()
    assert open_bytes(seal_bytes(b"halo", [ident.recipient]), [ident.secret]) == b"halo"


def test_signing_key_is_derived_deterministically() -> None:
    for entry in S["reviewers"]:
        ident = ReviewerIdentity.from_secret(entry["secret"])
        assert ident.signing_public_key == entry["signing_public_key"]
        assert recipient_fingerprint(ident.recipient) == entry["recipient_fingerprint"]


def test_text_format_round_trips_and_rejects_garbage() -> None:
    ident = ReviewerIdentity.generate()
    assert ReviewerIdentity.from_text(ident.to_text()) == ident
    with pytest.raises(errors.MalformedIdentity):
        ReviewerIdentity.from_text("# no key here\n")
    with pytest.raises(errors.MalformedIdentity):
        ReviewerIdentity.from_text(ident.to_text() + ident.to_text())
