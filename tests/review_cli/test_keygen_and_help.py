"""keygen, whoami, --help, prompts and the exit-code contract, through click's runner."""

from __future__ import annotations

from pathlib import Path

from crypto.envelope import parse_recipient
from crypto.identity import ReviewerIdentity, load_identity, recipient_fingerprint
from crypto.signing import key_fingerprint
from review_cli.render import counted
from tests.review_cli.conftest import Run, one_line_error
from tests.review_cli.support import PASSPHRASE


def test_help_documents_exit_codes_and_every_command(run: Run) -> None:
    result = run("--help", input=None)
    assert result.exit_code == 0
    for text in (
        "0  success",
        "1  usage",
        "2  verification",
        "3  workspace",
        "keygen",
        "import",
        "list",
        "show",
        "attachments",
        "triage",
        "refer",
        "dispositions",
    ):
        assert text in result.stdout
    for command in ("keygen", "import", "list", "show", "attachments", "triage", "refer", "codes"):
        assert run(command, "--help", input=None).exit_code == 0
    assert run("dispositions", "export", "--help", input=None).exit_code == 0


def test_keygen_prints_what_the_operator_needs(run: Run, tmp_path: Path) -> None:
    ws = tmp_path / "fresh"
    result = run("keygen", "--label", "peninjau-1", input=f"{PASSPHRASE}\n{PASSPHRASE}\n", workspace_dir=ws)
    assert result.exit_code == 0, result.stderr
    path = ws / "identity.age"
    assert path.stat().st_mode & 0o777 == 0o600
    assert PASSPHRASE not in result.stdout + result.stderr
    identity = load_identity(path, PASSPHRASE)  # the real scrypt, once
    assert identity.secret not in result.stdout
    parse_recipient(identity.recipient)
    out = result.stdout
    assert identity.recipient in out and recipient_fingerprint(identity.recipient) in out
    assert identity.signing_public_key in out and key_fingerprint(identity.signing_public_key) in out
    assert f"tipbox reviewers add peninjau-1 {identity.recipient} --signing-key {identity.signing_public_key}" in out
    # whoami shows the same card after asking for the passphrase.
    again = run("whoami", workspace_dir=ws)
    assert again.exit_code == 0 and identity.recipient in again.stdout
    # Never overwritten.
    before = path.read_bytes()
    refused = run("keygen", input=f"{PASSPHRASE}\n{PASSPHRASE}\n", workspace_dir=ws)
    assert refused.exit_code == 3
    assert "refusing to overwrite" in one_line_error(refused)
    assert path.read_bytes() == before


def test_keygen_refuses_mismatched_or_short_passphrases(run: Run, tmp_path: Path) -> None:
    ws = tmp_path / "fresh"
    mismatch = run("keygen", input=f"{PASSPHRASE}\n{PASSPHRASE}x\n", workspace_dir=ws)
    assert mismatch.exit_code == 1 and "do not match" in one_line_error(mismatch)
    short = run("keygen", input="pendek\npendek\n", workspace_dir=ws)
    assert short.exit_code == 1 and "at least" in one_line_error(short)
    empty = run("keygen", input="", workspace_dir=ws)
    assert empty.exit_code == 1
    assert not (ws / "identity.age").exists()


def test_missing_identity_and_wrong_passphrase(run: Run, tmp_path: Path) -> None:
    missing = run("list", workspace_dir=tmp_path / "nothing-here")
    assert missing.exit_code == 1 and "keygen" in one_line_error(missing)
    wrong = run("list", input="bukan kata sandinya\n")
    assert wrong.exit_code == 2
    assert one_line_error(wrong) == "tipbox-review: error: wrong passphrase"


def test_usage_errors_exit_1_on_one_line(run: Run) -> None:
    result = run("triage", "abcd", "--priority", "P9", input=None)
    assert result.exit_code == 1
    assert "--priority" in one_line_error(result)
    assert run("no-such-command", input=None).exit_code == 1
    assert run("list", "--region", "Lampung", input=None).exit_code == 1


def test_codes_lists_the_taxonomy(run: Run) -> None:
    out = run("codes", input=None).stdout
    for code in (
        "TPPO-SEKS",
        "ANAK-DARING",
        "LAIN",
        "P1",
        "in_review",
        "investigation",
        "POLRI-PPA",
        "SAPA129",
        "ECPAT-IWF",
        "08111-129-129",
    ):
        assert code in out


def test_an_unexpected_failure_shows_only_its_type(run: Run, monkeypatch, server, tmp_path: Path) -> None:
    from review_cli import render

    run("import", str(server.bundle(tmp_path / "b.tar", [server.tip()])))

    def broken(rows, *_directory) -> None:
        raise KeyError("Anak-anak bekerja di kapal")

    monkeypatch.setattr(render, "tips_table", broken)
    result = run("list")
    assert result.exit_code == 1
    assert one_line_error(result) == (
        "tipbox-review: error: internal error (KeyError); set TIPBOX_REVIEW_DEBUG=1 to see it, and report it"
    )
    assert "kapal" not in result.stdout + result.stderr


def test_prompts_end_their_line_when_stdin_is_not_a_terminal(run: Run, workspace: Path, tmp_path: Path) -> None:
    """Issue #12: a piped passphrase is not echoed, so the prompt must end the line itself."""
    listed = run("list")
    assert listed.exit_code == 0, listed.stderr
    assert listed.stderr == f"Passphrase for {workspace / 'identity.age'}: \n"
    ended = run("list", input="")  # end of input: the prompt's line still ends before the error
    assert ended.exit_code == 1
    assert ended.stderr == f"Passphrase for {workspace / 'identity.age'}: \ntipbox-review: error: aborted\n"
    fresh = tmp_path / "fresh"
    made = run("keygen", input=f"{PASSPHRASE}\n{PASSPHRASE}\n", workspace_dir=fresh)
    assert made.exit_code == 0, made.stderr
    assert made.stderr.startswith("New passphrase: \nRepeat for confirmation: \n")


def test_an_unprotected_age_key_is_refused_without_asking_for_a_passphrase(run: Run, tmp_path: Path) -> None:
    """The demo key of `make run` used to be a bare age key; tipbox-review opens only protected ones."""
    bare = tmp_path / "demo-reviewer.key"
    bare.write_text(ReviewerIdentity.generate().to_text())
    result = run("--identity", str(bare), "list")
    assert result.exit_code == 1
    error = one_line_error(result)
    assert "unprotected age key" in error and "keygen" in error and "var/demo-review/identity.age" in error
    assert "Passphrase" not in result.stderr


def test_counts_agree_with_their_noun() -> None:
    assert counted(1, "attachment") == "1 attachment"
    assert counted(0, "attachment") == "0 attachments"
    assert counted(2, "new tip") == "2 new tips"
    assert counted(1, "published reply", "published replies") == "1 published reply"
    assert counted(3, "published reply", "published replies") == "3 published replies"
