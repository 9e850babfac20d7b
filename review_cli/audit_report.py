"""Audit verification for auditors: read an exported audit log, judge it, report.

Needs no identity and no passphrase: the audit log holds no content. The
server key is taken from ``--server-key``, else from the workspace's pinned
key; without either the verifier still runs but says that a forger could
have re-signed everything.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path

from crypto import audit

from .errors import InputError

ISO = audit.ISO


def parse_at(text: str | None) -> datetime | None:
    if text is None:
        return None
    for fmt in (ISO, "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise InputError("--at must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ")


def load_policy(path: Path | None) -> audit.Policy | None:
    if path is None:
        return None
    try:
        return audit.Policy.from_document(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        raise InputError(f"{path}: not a readable retention policy document (JSON)") from None


def verify_file(path: Path, server_key: str | None, policy: audit.Policy | None, at: datetime | None) -> audit.Report:
    with path.open(encoding="utf-8", errors="replace") as handle:
        return audit.verify(handle, [server_key] if server_key else None, policy=policy, at=at)


def _channel_rows(report: audit.Report) -> str:
    """One row per channel holding tips (lead or reader): its tips, their states, the violations touching them."""
    violations = report.violations_by_channel()
    rows = []
    for channel, states in report.counts_by_channel().items():
        summary = ", ".join(f"{state} {n}" for state, n in sorted(states.items()))
        rows.append(
            f"<tr><td>{html.escape(channel)}</td><td>{sum(states.values())}</td>"
            f"<td>{violations.get(channel, 0)}</td><td>{html.escape(summary)}</td></tr>"
        )
    return "".join(rows)


def html_report(report: audit.Report, source: str) -> str:
    """A self-contained page an auditor can file (no scripts, no external resources)."""
    rows = "".join(
        f"<tr><td>{html.escape(v.kind)}</td><td>{'' if v.seq is None else v.seq}</td>"
        f"<td>{html.escape(v.tip or '')}</td><td>{html.escape(v.message)}</td></tr>"
        for v in report.violations
    )
    counts = "".join(f"<li>{html.escape(k)}: {n}</li>" for k, n in sorted(report.counts().items()))
    channels = _channel_rows(report)
    verdict = "COMPLIANT" if report.ok else "NOT COMPLIANT"
    at = report.at.strftime(ISO) if report.at else "-"
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>tipbox audit report</title></head><body>
<h1>tipbox audit report: {verdict}</h1>
<p>Log: {html.escape(source)}<br>Judged at: {at}<br>Server key: {html.escape(report.server_key or "-")}<br>
Entries: {report.entries}, signed checkpoints: {report.checkpoints}</p>
<h2>Tips</h2><ul>{counts or "<li>none</li>"}</ul>
<h2>Channels</h2>
<table border="1" cellpadding="4"><tr><th>channel</th><th>tips</th><th>violations</th><th>states</th></tr>{channels}</table>
<h2>Violations ({len(report.violations)})</h2>
<table border="1" cellpadding="4"><tr><th>kind</th><th>entry</th><th>tip</th><th>detail</th></tr>{rows}</table>
</body></html>
"""
