"""One exception class per way a sealed object can fail.

Callers (the server, the review CLI, tests) branch on the *type*, never on the
message, in the spirit of age's typed errors. Every class carries a message
that is safe to show a user: it never includes plaintext, key material or the
offending bytes.
"""

from __future__ import annotations


class TipboxCryptoError(Exception):
    """Base class: anything crypto/ refuses raises a subclass of this."""

    default_message = "the sealed data could not be processed"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)


class MalformedHeader(TipboxCryptoError):
    """The bytes are not a canonical age v1 header (or not age at all)."""

    default_message = "not a well-formed age v1 file (header rejected)"


class UnexpectedRecipients(TipboxCryptoError):
    """The header is well-formed but not sealed the way tipbox requires
    (e.g. a non-X25519 stanza, or not one stanza per active reviewer)."""

    default_message = "the file is not sealed to the expected reviewer keys"


class NoMatchingIdentity(TipboxCryptoError):
    """None of the given identities can open the file: sealed to someone else."""

    default_message = "this file was not sealed to your key"


class CiphertextCorrupted(TipboxCryptoError):
    """The payload failed authentication: truncated, modified or reordered."""

    default_message = "the sealed data is truncated or has been tampered with"


class WrongPassphrase(TipboxCryptoError):
    """The passphrase does not open the identity file."""

    default_message = "wrong passphrase"


class MalformedIdentity(TipboxCryptoError):
    """An identity file or recipient string is not what tipbox expects."""

    default_message = "not a valid tipbox reviewer identity or recipient"


class MalformedReceipt(TipboxCryptoError):
    """A string that does not normalise to a receipt code (nothing is derived)."""

    default_message = "not a valid receipt code"


class MalformedPadding(TipboxCryptoError):
    """The opened plaintext does not end in well-formed Padmé padding."""

    default_message = "the opened data has malformed padding"


class MalformedPayload(TipboxCryptoError):
    """The opened plaintext is not a valid tip payload document."""

    default_message = "the tip payload is not a valid tipbox document"


class UnknownPayloadVersion(MalformedPayload):
    """The payload declares a version this code does not know.

    A subclass of MalformedPayload so a caller that only cares about "can I
    read it" needs one except clause, while tests and the CLI can still tell
    "too new for this tool" apart from "garbage".
    """

    default_message = "the tip payload has an unknown version; update tipbox"


class BadSignature(TipboxCryptoError):
    """A signed document does not verify, or is signed by an unexpected key."""

    default_message = "signature verification failed"


class MalformedDocument(TipboxCryptoError):
    """A signed document, manifest or bundle is structurally invalid."""

    default_message = "the document is malformed"


class BundleInvalid(TipboxCryptoError):
    """An export bundle's contents do not match its signed manifest."""

    default_message = "the export bundle does not match its signed manifest"


class TooLarge(TipboxCryptoError):
    """The input exceeded the size limit the caller set; nothing usable was produced."""

    default_message = "the input exceeds the size limit"


class MalformedDispositions(TipboxCryptoError):
    """A dispositions body breaks FORMAT.md §10 (the message names the rule, never content)."""

    default_message = "the dispositions file is malformed"


class MalformedJSON(MalformedDocument):
    """Bytes that crypto.strict_json refuses: not UTF-8 JSON, or JSON outside tipbox's limits."""

    default_message = "not a well-formed JSON document"


class RoutingError(TipboxCryptoError):
    """A tip's place or category, or a set of channels, that FORMAT.md §14 refuses to route.

    Raised for input that is wrong (an unknown code, a regency outside the
    given province, two catch-alls), never for a tip that is merely unusual:
    the message names the rule and the code, which is a public region or
    category code, never tip content.
    """

    default_message = "the tip cannot be routed to a channel"


class NoChannel(RoutingError):
    """No channel would receive the tip: the form must not accept a tip nobody can read."""

    default_message = "no channel receives this tip"
