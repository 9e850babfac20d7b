"""Reviewer identities: one age X25519 key, protected by a passphrase.

The identity file is the stock ``age-keygen`` text (comments plus one
``AGE-SECRET-KEY-1...`` line) encrypted with an age scrypt passphrase stanza,
so a reviewer can always fall back on the stock CLI: ``age -d -i
reviewer.age tip.age`` asks for the passphrase and decrypts. The reviewer's
Ed25519 signing key (for dispositions) is not stored separately: it is derived
from the age secret with HKDF-SHA256, so there is exactly one secret to
protect and back up. See FORMAT.md, "Reviewer identities".
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import nacl.signing
import pyrage
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .envelope import parse_identity
from .errors import MalformedHeader, MalformedIdentity, WrongPassphrase
from .header import parse_header
from .signing import grouped_fingerprint, public_key_b64

SECRET_PREFIX = "AGE-SECRET-KEY-1"
SIGNING_KEY_INFO = b"tipbox/reviewer-signing-key/v1"
MAX_SCRYPT_WORK_FACTOR = 22


@dataclass(frozen=True)
class ReviewerIdentity:
    """An age X25519 identity plus the Ed25519 signing key derived from it."""

    secret: str  # AGE-SECRET-KEY-1..., canonical upper-case Bech32

    @classmethod
    def generate(cls) -> ReviewerIdentity:
        return cls(str(pyrage.x25519.Identity.generate()))

    @classmethod
    def from_secret(cls, secret: str) -> ReviewerIdentity:
        return cls(str(parse_identity(secret)))

    @property
    def age_identity(self) -> pyrage.x25519.Identity:
        return parse_identity(self.secret)

    @property
    def recipient(self) -> str:
        return str(self.age_identity.to_public())

    @property
    def signing_key(self) -> nacl.signing.SigningKey:
        seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SIGNING_KEY_INFO).derive(
            self.secret.encode("ascii")
        )
        return nacl.signing.SigningKey(seed)

    @property
    def signing_public_key(self) -> str:
        return public_key_b64(self.signing_key)

    def to_text(self, created: datetime | None = None) -> str:
        """The identity in age-keygen's text format."""
        when = (created or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            f"# tipbox reviewer identity\n# created: {when}\n"
            f"# public key: {self.recipient}\n"
            f"# tipbox signing key: {self.signing_public_key}\n"
            f"{self.secret}\n"
        )

    @classmethod
    def from_text(cls, text: str) -> ReviewerIdentity:
        secrets = [ln.strip() for ln in text.splitlines() if ln.strip().startswith(SECRET_PREFIX)]
        if len(secrets) != 1:
            raise MalformedIdentity("identity file must hold exactly one age secret key")
        return cls.from_secret(secrets[0])


def recipient_fingerprint(recipient: str) -> str:
    """Human-comparable fingerprint of one age recipient (for the operator)."""
    return grouped_fingerprint(b"tipbox/age-recipient/v1\n" + recipient.strip().encode())


def encrypt_identity(identity: ReviewerIdentity, passphrase: str) -> bytes:
    if not passphrase:
        raise MalformedIdentity("an empty passphrase is not allowed")
    return pyrage.passphrase.encrypt(identity.to_text().encode(), passphrase)


def check_passphrase_file(data: bytes) -> None:
    """Refuse anything but a strict age header with one acceptable scrypt stanza.

    age caps the scrypt work factor at 22; pyrage does not, and a crafted file
    with 2^23 or more would cost seconds and gigabytes before being refused.
    """
    try:
        header = parse_header(io.BytesIO(data))
    except MalformedHeader:
        raise MalformedIdentity("not a passphrase-protected identity file") from None
    if [s.type for s in header.stanzas] != ["scrypt"]:
        raise MalformedIdentity("not a passphrase-protected identity file")
    args = header.stanzas[0].args
    if len(args) != 2 or not args[1].isdigit() or not 1 <= int(args[1]) <= MAX_SCRYPT_WORK_FACTOR:
        raise MalformedIdentity("identity file has an unacceptable scrypt work factor")


def decrypt_identity(data: bytes, passphrase: str) -> ReviewerIdentity:
    check_passphrase_file(data)
    try:
        plaintext = pyrage.passphrase.decrypt(data, passphrase)
    except pyrage.DecryptError as exc:
        # rage says "Decryption failed" only when the scrypt stanza does not
        # unwrap (wrong passphrase); MAC and STREAM failures say otherwise.
        if str(exc) == "Decryption failed":
            raise WrongPassphrase() from None
        raise MalformedIdentity("identity file is truncated or corrupted") from None
    except OSError:
        raise MalformedIdentity("identity file is truncated or corrupted") from None
    try:
        return ReviewerIdentity.from_text(plaintext.decode("ascii"))
    except UnicodeDecodeError:
        raise MalformedIdentity("identity file does not hold an age key") from None


def save_identity(identity: ReviewerIdentity, path: Path, passphrase: str) -> None:
    """Write the encrypted identity with mode 0600; never overwrite a file."""
    data = encrypt_identity(identity, passphrase)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def load_identity(path: Path, passphrase: str) -> ReviewerIdentity:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise MalformedIdentity(f"cannot read identity file ({exc.strerror})") from None
    return decrypt_identity(data, passphrase)
