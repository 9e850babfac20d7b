"""The demo reviewer that ``make run`` (``tipbox demo-setup``) creates, and what it prints.

The demo identity is written in the reviewer CLI's own format (crypto/FORMAT.md
§5: the age key under an age scrypt passphrase), inside a ready
``tipbox-review`` workspace, ``$VAR/demo-review/``. Its passphrase is fixed and
printed, so it protects nothing: the point is that the demo goes through the
same path a real reviewer does (``tipbox-review`` never accepts an unprotected
key), and that the stock ``age -d -i`` opens the same file with the same
passphrase. Earlier versions wrote the key unencrypted to
``$VAR/demo-reviewer.key``; that key is carried over into the new file.

:func:`instructions` depends only on its arguments (and whether a virtualenv
has an ``activate`` script), so a test can run the commands it prints.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

from crypto.identity import ReviewerIdentity, load_identity, save_identity

LABEL = "demo"
PASSPHRASE = "demo-passphrase-not-secret"
WORKSPACE = "demo-review"
LEGACY_IDENTITY = "demo-reviewer.key"  # unencrypted; written before tipbox-review could open the demo key


def workspace(var_dir: Path) -> Path:
    return var_dir / WORKSPACE


def identity_path(var_dir: Path) -> Path:
    return workspace(var_dir) / "identity.age"  # tipbox-review's default identity in that workspace


def demo_identity(var_dir: Path) -> ReviewerIdentity:
    """The demo identity: the existing file, else the legacy unencrypted key, else a new key; saved protected."""
    path = identity_path(var_dir)
    if path.exists():
        return load_identity(path, PASSPHRASE)
    legacy = var_dir / LEGACY_IDENTITY
    identity = ReviewerIdentity.from_text(legacy.read_text()) if legacy.is_file() else ReviewerIdentity.generate()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    save_identity(identity, path, PASSPHRASE)
    return identity


def identity_ready(var_dir: Path) -> bool:
    """Whether the demo identity file exists, once the legacy unencrypted key (if any) is carried over."""
    if not identity_path(var_dir).exists() and (var_dir / LEGACY_IDENTITY).is_file():
        demo_identity(var_dir)
    return identity_path(var_dir).exists()


def _shown(path: Path, cwd: Path) -> str:
    """``path`` as typed from ``cwd``: relative below it, absolute elsewhere; quoted for a POSIX shell."""
    try:
        return shlex.quote(str(path.relative_to(cwd)))
    except ValueError:
        return shlex.quote(str(path))


# Settings that decide which server state `tipbox export` reads; named (never their values) when set.
_STATE_VARIABLES = ("TIPBOX_DATABASE_URL", "TIPBOX_SECRET_KEY_FILE", "TIPBOX_SERVER_KEY_FILE")


def instructions(
    url: str, var_dir: Path, *, demo: bool, env: Mapping[str, str], cwd: Path, scripts: Path | None
) -> str:
    """What ``make run`` prints before serving: the address to open, and with a demo reviewer how to read tips.

    ``scripts`` is the directory holding the ``tipbox`` and ``tipbox-review``
    commands (the virtualenv's ``bin/``), or None to print bare command names.
    Commands are meant to be run from ``cwd`` (the repository root for ``make
    run``); ``TIPBOX_VAR_DIR`` is repeated on them when it is not the default.
    """
    tipbox = _shown(scripts / "tipbox", cwd) if scripts else "tipbox"
    review = _shown(scripts / "tipbox-review", cwd) if scripts else "tipbox-review"
    if var_dir != (cwd / "var").resolve():
        tipbox = f"TIPBOX_VAR_DIR={_shown(var_dir, cwd)} {tipbox}"
    serving = f"tipbox is starting on {url} (its log below shows [address] in place of addresses; Ctrl-C stops it)."
    if not demo:
        return f"Open {url} in a browser.\n{serving}\n"
    ws = _shown(workspace(var_dir), cwd)
    identity = _shown(identity_path(var_dir), cwd)
    where = "in one shell, from this directory"
    if scripts and (scripts / "activate").is_file():
        where += f" (or run `. {_shown(scripts / 'activate', cwd)}` first and leave out `{_shown(scripts, cwd)}/`)"
    lines = [
        "*** DEMO REVIEWER: for trying tipbox out only, never for real tips ***",
        f"Identity: {identity}   passphrase: {PASSPHRASE}",
        "(the passphrase is printed here, so it protects nothing; real reviewers run `tipbox-review keygen`)",
        "",
        f"1. Open {url} in a browser and send a tip, with a file to try attachments.",
        f"2. Read it as a reviewer would, {where}:",
        "",
        "  demo=$(mktemp -d)",
        f'  {tipbox} export --out "$demo/tips.tar"',
        f'  {review} --workspace {ws} import "$demo/tips.tar"',
        f"  {review} --workspace {ws} list",
        f"  {review} --workspace {ws} show ID",
        f'  {review} --workspace {ws} attachments ID --out "$demo/files"',
        "",
        "   Each tipbox-review command asks for the demo passphrase; ID is the first column of `list`.",
        "3. Or with the stock age CLI, which opens the same identity with the same passphrase:",
        "",
        '  tar -xf "$demo/tips.tar" -C "$demo" && ls "$demo/tips"',
        f'  age -d -i {identity} "$demo/tips/FULL-ID/payload.age"     # the JSON, then padding',
    ]
    others = [name for name in _STATE_VARIABLES if env.get(name)]
    if others:
        lines += ["", f"Keep {', '.join(others)} set as for this server when you run `tipbox`."]
    return "\n".join([*lines, "", serving]) + "\n"
