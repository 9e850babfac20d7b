"""The review CLI's failure kinds and the exit code each one maps to.

Helpers raise these (or crypto/'s typed errors); only ``review_cli.main``
turns them into a message and an exit status, in one place. Messages are safe
to print: they never contain plaintext from a tip, a key or a passphrase.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_USAGE = 1  # bad option, unknown code, missing file, nothing to do
EXIT_VERIFY = 2  # signature, passphrase, tampering, not sealed to you, unknown version
EXIT_CONFLICT = 3  # the workspace or an output already holds something different


class ReviewError(Exception):
    """Base class; ``exit_code`` says how ``main`` exits."""

    exit_code = EXIT_USAGE


class InputError(ReviewError):
    """The reviewer asked for something invalid (an unknown code, an unknown tip id...)."""

    exit_code = EXIT_USAGE


class VerificationError(ReviewError):
    """Something failed verification or decryption; nothing was changed."""

    exit_code = EXIT_VERIFY


class StateConflict(ReviewError):
    """The workspace or an output file already holds something this would change or overwrite."""

    exit_code = EXIT_CONFLICT


class DamagedRecord(StateConflict):
    """A workspace record cannot be used: it does not open with this identity, its padding or JSON is
    broken, it is another kind of record or another tip's, or a newer tipbox-review wrote it.

    One class, so one exit code, for every record (review_cli/records.py); the
    message names the record and says what the reviewer can do.
    """


class NotSealedToYou(VerificationError):
    """A tip (or record) was sealed to other reviewers' keys, not this identity."""
