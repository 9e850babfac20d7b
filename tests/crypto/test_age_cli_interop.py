"""Interoperability with the stock ``age`` CLI (Debian package ``age``, 1.1.x).

DESIGN.md, "The envelope": any reviewer can fall back on the stock CLI, so
this is a feature under test, in both directions: what crypto/ seals, ``age``
opens; what ``age`` seals, crypto/ opens (binary only); and a reviewer
identity file written by crypto/ works with ``age -d -i``.

Skipped when ``age`` is not on PATH, unless TIPBOX_TEST_REQUIRE_SERVICES=1.
scrypt costs one to two seconds per operation, so only one test touches a
passphrase (one save by crypto/, one unlock by the CLI).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from crypto import attachments, envelope, errors, header, padding, payload
from crypto.attachments import ContentDigest
from crypto.identity import ReviewerIdentity, save_identity
from tests.support import REQUIRE_SERVICES

AGE = shutil.which("age")
if AGE is None:
    _REASON = "the stock age CLI is not on PATH (install the Debian package `age`)"
    if REQUIRE_SERVICES:
        pytest.fail(f"required for CI: {_REASON}", pytrace=False)
    pytest.skip(_REASON, allow_module_level=True)

import pexpect  # noqa: E402  (dev dependency; only needed once age is known to be present)

TIMEOUT = 60
# Go age (filippo.io/age) refuses scrypt stanzas above this work factor by default.
STOCK_AGE_MAX_SCRYPT_LOG_N = 22
# Three full 64 KiB STREAM chunks and then some: exercises chunk boundaries.
ATTACHMENT_SIZE = 300 * 1024 + 1


def _age(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [AGE, *map(str, args)], input=stdin, capture_output=True, timeout=TIMEOUT, check=False
    )


def _ok(result: subprocess.CompletedProcess[bytes]) -> bytes:
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


@pytest.fixture(scope="module")
def reviewers() -> list[ReviewerIdentity]:
    return [ReviewerIdentity.generate() for _ in range(3)]


@pytest.fixture(scope="module")
def identity_files(reviewers: list[ReviewerIdentity], tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Plain (unencrypted) age-keygen text identity files, one per reviewer."""
    folder = tmp_path_factory.mktemp("identities")
    paths = []
    for number, reviewer in enumerate(reviewers):
        path = folder / f"reviewer{number}.txt"
        path.write_text(reviewer.to_text())
        path.chmod(0o600)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def document() -> dict:
    return payload.build(
        {"what": "Dana desa dipakai untuk membeli mobil kepala desa.", "where": "Kab. Contoh — ✓", "n": 3},
        lang="id",
        sealed_by="server",
    )


def test_age_cli_opens_a_sealed_tip_with_each_reviewers_identity(
    reviewers: list[ReviewerIdentity], identity_files: list[Path], document: dict, tmp_path: Path
) -> None:
    tip = tmp_path / "tip.age"
    tip.write_bytes(payload.seal_tip(document, [r.recipient for r in reviewers[:2]]))
    for identity_file in identity_files[:2]:
        framed = _ok(_age("-d", "-i", identity_file, tip))
        assert padding.unpad(framed) == payload.encode(document)
        assert payload.decode(padding.unpad(framed)) == document


def test_age_cli_opens_a_sealed_attachment_across_chunk_boundaries(
    reviewers: list[ReviewerIdentity], identity_files: list[Path], tmp_path: Path
) -> None:
    content = os.urandom(ATTACHMENT_SIZE)
    sealed = tmp_path / "attachment.age"
    with sealed.open("wb") as dst:
        digest = attachments.seal_attachment(io.BytesIO(content), dst, [r.recipient for r in reviewers[:2]])
    assert digest == ContentDigest(len(content), hashlib.sha256(content).hexdigest())
    for number, identity_file in enumerate(identity_files[:2]):
        out = tmp_path / f"attachment.{number}.padded"
        _ok(_age("-d", "-i", identity_file, "-o", out, sealed))
        framed = out.read_bytes()
        assert len(framed) == padding.padded_length(len(content))
        assert padding.unpad(framed) == content


@pytest.mark.parametrize("how", ["-r", "-R"])
def test_crypto_opens_binary_files_the_age_cli_sealed(
    how: str, reviewers: list[ReviewerIdentity], tmp_path: Path
) -> None:
    content = os.urandom(150 * 1024 + 7)
    plain = tmp_path / "plain.bin"
    plain.write_bytes(content)
    sealed = tmp_path / "plain.bin.age"
    if how == "-r":
        sealed_to = reviewers[:1]
        _ok(_age("-r", reviewers[0].recipient, "-o", sealed, plain))
    else:
        sealed_to = reviewers
        recipients_file = tmp_path / "reviewers.txt"
        recipients_file.write_text("# tipbox reviewers\n" + "".join(f"{r.recipient}\n" for r in reviewers))
        _ok(_age("-R", recipients_file, "-o", sealed, plain))
    data = sealed.read_bytes()

    # The stock CLI writes one plain X25519 stanza per recipient: the server's
    # strict header rules accept it (only the Padmé length check would not).
    parsed = header.parse_header(io.BytesIO(data))
    header.check_x25519_recipients(parsed, len(sealed_to))

    for reviewer in sealed_to:
        assert envelope.open_bytes(data, [reviewer.secret]) == content
        sink = io.BytesIO()
        with sealed.open("rb") as src:
            envelope.open_stream(src, sink, [reviewer.age_identity])
        assert sink.getvalue() == content


def test_crypto_rejects_armored_files_from_the_age_cli(
    reviewers: list[ReviewerIdentity], tmp_path: Path
) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"an armored tip")
    armored = _ok(_age("-a", "-r", reviewers[0].recipient, plain))
    assert armored.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")
    # Verified behaviour: crypto/ refuses ASCII armor with MalformedHeader, because
    # envelope.open_stream runs the strict binary header parser before pyrage sees
    # a byte. (pyrage.decrypt on its own would silently de-armor and succeed.)
    # tipbox stores and exports binary age files only; a reviewer holding an
    # armored file can use `age -d` directly.
    with pytest.raises(errors.MalformedHeader):
        envelope.open_bytes(armored, [reviewers[0].secret])
    sink = io.BytesIO()
    with pytest.raises(errors.MalformedHeader):
        envelope.open_stream(io.BytesIO(armored), sink, [reviewers[0].secret])
    assert sink.getvalue() == b""


def test_age_cli_refuses_a_tip_sealed_to_someone_else(
    reviewers: list[ReviewerIdentity], identity_files: list[Path], document: dict, tmp_path: Path
) -> None:
    tip = tmp_path / "tip.age"
    tip.write_bytes(payload.seal_tip(document, [reviewers[0].recipient]))
    result = _age("-d", "-i", identity_files[1], tip)
    assert result.returncode != 0
    assert result.stdout == b""
    assert b"no identity matched" in result.stderr


def test_crypto_refuses_an_age_cli_file_sealed_to_someone_else(
    reviewers: list[ReviewerIdentity], tmp_path: Path
) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"for reviewer 0 only")
    sealed = tmp_path / "plain.txt.age"
    _ok(_age("-r", reviewers[0].recipient, "-o", sealed, plain))
    data = sealed.read_bytes()
    with pytest.raises(errors.NoMatchingIdentity):
        envelope.open_bytes(data, [reviewers[1].secret, reviewers[2].secret])
    sink = io.BytesIO()
    with pytest.raises(errors.NoMatchingIdentity):
        envelope.open_stream(io.BytesIO(data), sink, [reviewers[1].secret])
    assert sink.getvalue() == b""


@pytest.mark.slow
def test_stock_cli_uses_an_identity_file_saved_by_crypto(
    reviewers: list[ReviewerIdentity], document: dict, tmp_path: Path
) -> None:
    """The fallback DESIGN.md promises: `age -d -i reviewer.age tip.age` plus the passphrase."""
    passphrase = "kopi tubruk di warung pojok"
    identity_file = tmp_path / "reviewer.age"
    save_identity(reviewers[0], identity_file, passphrase)  # scrypt #1

    parsed = header.parse_header(io.BytesIO(identity_file.read_bytes()))
    [stanza] = parsed.stanzas
    assert stanza.type == "scrypt"
    # rage picks the work factor that takes ~1 s on *this* machine; stock age refuses > 22.
    assert int(stanza.args[1]) <= STOCK_AGE_MAX_SCRYPT_LOG_N

    tip = tmp_path / "tip.age"
    tip.write_bytes(payload.seal_tip(document, [reviewers[0].recipient]))
    out = tmp_path / "tip.padded"
    # age reads the passphrase from the terminal, so give it one (a pty).
    child = pexpect.spawn(AGE, ["-d", "-i", str(identity_file), "-o", str(out), str(tip)], timeout=TIMEOUT)
    try:
        child.expect("Enter passphrase for identity file")
        child.sendline(passphrase)  # scrypt #2, done by the CLI
        child.expect(pexpect.EOF)
        transcript = (child.before or b"") + (child.after if isinstance(child.after, bytes) else b"")
    finally:
        child.close()
    assert child.exitstatus == 0, transcript
    assert passphrase.encode() not in transcript  # typed with echo off
    assert padding.unpad(out.read_bytes()) == payload.encode(document)
