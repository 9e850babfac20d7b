"""Everything tipbox-review shows a person: tables, a tip, banners, progress bars.

The only module that uses rich. Text from a tip is untrusted: it is shown as
rich ``Text`` (never parsed as markup) after :func:`safe` has made control
characters, terminal escape sequences and bidirectional overrides visible
instead of letting them act on the reviewer's terminal.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from crypto import regions as region_data
from crypto.vocabulary import MessageKind, SealedBy, Status
from crypto.vocabulary import Priority as PriorityCode

from .channels import Directory, leads
from .channels import display as channel_display
from .channels import label as channel_label
from .taxonomy import (
    AGE_BANDS,
    AGENCIES,
    AGENCY_KINDS,
    CATEGORIES,
    DANGER,
    HOLD_REASONS,
    HOW_KNOWN,
    MATERIAL_CLASSES,
    ONGOING,
    PRIORITIES,
    STATUSES,
    SUGGESTED_AGENCIES,
    name_of,
)

if TYPE_CHECKING:
    from crypto.audit import Report
    from crypto.payload import TipDocument

    from .conversation import Thread, ThreadItem, WrittenReply
    from .evidence import Evidence
    from .extract import Extracted
    from .importer import ImportReport
    from .tips import Row
    from .triage_record import FieldValue, HistoryItem, Triage, TriageRecord
    from .workspace import TipMeta


def _width() -> int | None:
    return None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "160"))


def out() -> Console:
    # Created per call: click's test runner swaps sys.stdout between invocations.
    return Console(file=sys.stdout, width=_width(), highlight=False, soft_wrap=False)


def err() -> Console:
    return Console(file=sys.stderr, highlight=False)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``1 tip``, ``2 tips``: the number and the noun that agrees with it."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def safe(value: object) -> str:
    """Untrusted text made inert for a terminal: controls and format characters become visible codes."""
    if value is None:
        return "-"
    chars = []
    for ch in str(value):
        if ch in "\n\t":
            chars.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") or ch in "\u2028\u2029":
            chars.append(f"\\u{ord(ch):04x}")
        else:
            chars.append(ch)
    return "".join(chars)


def T(value: object, style: str = "") -> Text:  # noqa: N802 - reads like a constructor
    return Text(safe(value), style=style)


def error(message: str) -> None:
    """One line on stderr; used by main only. Made inert like tip text: a message may quote a channel's name."""
    print(f"tipbox-review: error: {safe(' '.join(message.split()))}", file=sys.stderr)


def warn(message: str) -> None:
    err().print(Text(f"tipbox-review: warning: {' '.join(message.split())}", style="bold yellow"))


def echo(message: str) -> None:
    out().print(Text(message))


# --- keygen / whoami / import ---------------------------------------------------------------------


def identity_card(recipient: str, recipient_fp: str, signing_key: str, signing_fp: str, label: str, path: Path) -> None:
    console = out()
    table = Table.grid(padding=(0, 2))
    table.add_row("identity file", Text(str(path)))
    table.add_row("age recipient", Text(recipient, style="bold"))
    table.add_row("recipient fingerprint", Text(recipient_fp))
    table.add_row("signing key (Ed25519)", Text(signing_key, style="bold"))
    table.add_row("signing key fingerprint", Text(signing_fp))
    console.print(table)
    console.print()
    console.print(Text("Give the operator this line (over a channel you trust), and read both fingerprints to them:"))
    console.print(Text(f"  tipbox reviewers add {label} {recipient} --signing-key {signing_key}", style="bold"))


def pinned_banner(fingerprint: str) -> None:
    err().print(
        Panel(
            Text.assemble(
                ("First import into this workspace: the server key is now pinned.\n", "bold"),
                ("Server key fingerprint: ", ""),
                (fingerprint, "bold reverse"),
                "\nCompare it with the fingerprint `tipbox export` printed for the operator. "
                "Bundles signed by any other key will be refused.",
            ),
            title="PINNED / KUNCI SERVER DISEMATKAN",
            border_style="yellow",
        )
    )


def import_report(report: ImportReport) -> None:
    parts = [f"imported {counted(len(report.new), 'new tip')} ({counted(report.attachments, 'attachment')})"]
    parts.append(f"{len(report.present)} already present")
    if report.repaired:
        parts.append(f"{len(report.repaired)} repaired")
    if report.resealed:
        parts.append(f"{counted(len(report.resealed), 'tip')} re-sealed (same content, checked)")
    if report.skipped:
        parts.append(f"{len(report.skipped)} skipped (not sealed to your key)")
    echo("; ".join(parts))
    if report.followups or report.replies:
        echo(
            f"{counted(report.followups, 'new follow-up')} ({counted(report.followup_attachments, 'attachment')}), "
            f"{counted(report.replies, 'published reply', 'published replies')}"
        )
    if report.notes:
        echo(f"{counted(report.notes, 'note')} from a forwarding team (`show` the tip to read it)")
    if report.skipped_messages:
        echo(f"{counted(report.skipped_messages, 'message')} skipped (not sealed to your key)")
    echo(f"server key: {report.signer.fingerprint}")
    if report.directory is not None:
        echo(_channel_line(report.directory))
    for tip_id in report.sealed_by_mismatch:
        warn(f"tip {tip_id[:8]}: the bundle and the tip disagree on who sealed it; see `show {tip_id[:8]}`")
    for tip_id, message_id in report.message_sealed_by_mismatch:
        warn(
            f"tip {tip_id[:8]}: the bundle and message {message_id[:8]} disagree on who sealed it; "
            f"see `show {tip_id[:8]}`"
        )


def _channel_line(directory: Directory) -> str:
    """Whose export it was and which channels this reviewer's key belongs to, named as the directory names them."""
    mine = ", ".join(channel_label(c, directory) for c in directory.mine) or "none"
    whose = f"export of channel {channel_label(directory.channel, directory)}; " if directory.channel else ""
    return safe(f"{whose}you review for: {mine}")


# --- list -----------------------------------------------------------------------------------------


LIST_HEADERS = ("id", "received (UTC)", "sealed by", "category", "priority", "region", "status", "referred to")
CHANNELS_HEADER = "channels (*lead)"
LEAD_MARK = "*"


def channels_text(channels: Sequence[str], directory: Directory | None, lang: str = "id") -> str:
    """The channels holding a tip, by name when the directory gives one, the lead first and marked."""
    return ", ".join(
        channel_display(c, directory, lang) + (LEAD_MARK if n == 0 else "") for n, c in enumerate(channels)
    )


def _channels_cell(row: Row, directory: Directory | None) -> tuple[str, str]:
    if not row.channels:
        return ("-", "")
    return (safe(channels_text(row.channels, directory))[:60], "")


def _list_cells(row: Row) -> list[tuple[str, str]]:
    """(text, style) per column; the text is made safe and short (it may come from a tip)."""
    sealed = (row.sealed_by.value, "yellow" if row.sealed_by == SealedBy.SERVER else "")
    if row.payload_sealed_by != row.sealed_by:
        sealed = (f"{row.sealed_by.value}≠{row.payload_sealed_by.value}", "bold red")
    priority = (row.priority or "-", "bold red" if row.priority == PriorityCode.P1 else "")
    if row.danger and not row.priority:
        priority = ("! danger", "bold red")
    category = row.category if row.category in CATEGORIES else (f"{row.category}?" if row.category else "-")
    return [
        (row.id[:8], ""),
        (row.received.replace("T", " ").removesuffix(":00:00Z") + "h", ""),
        sealed,
        (safe(category)[:20], ""),
        priority,
        (safe(", ".join(row.regions) or "-")[:24], ""),
        (row.status.value + (f" → {row.hold_until}" if row.hold_until else ""), ""),
        (", ".join(row.targets) or "-", ""),
    ]


def tips_table(rows: Sequence[Row], directory: Directory | None = None) -> None:
    """A plain aligned table, fast for 10,000 rows (rich's Table measures every cell: ~1 s per 1,000).

    The channels column is there only when some tip came with channels, so a
    workspace of older bundles sees the table it always saw.
    """
    from rich.cells import cell_len

    console = out()
    if not rows:
        console.print(Text("no tips match"))
        return
    headers: Sequence[str] = LIST_HEADERS
    cells = [_list_cells(row) for row in rows]
    if any(row.channels for row in rows):
        headers = (*LIST_HEADERS, CHANNELS_HEADER)
        for row, row_cells in zip(rows, cells, strict=True):
            row_cells.append(_channels_cell(row, directory))
    widths = [max([cell_len(h)] + [cell_len(r[i][0]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(text + " " * (widths[i] - cell_len(text)) + "  ", style) for i, (text, style) in enumerate(values)]

    if not console.is_terminal:  # plain text for pipes and files
        parts = ["".join(t for t, _ in line([(h, "") for h in headers])).rstrip()]
        parts.append("-" * (sum(widths) + 2 * len(widths) - 2))
        parts.extend("".join(t for t, _ in line(r)).rstrip() for r in cells)
        parts.append(counted(len(rows), "tip"))
        sys.stdout.write("\n".join(parts) + "\n")
        return
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("".join(t for t, _ in line([(h, "") for h in headers])).rstrip() + "\n", style="bold")
    for r in cells:
        for piece, style in line(r):
            text.append(piece, style=style or None)
        text.append("\n")
    text.append(counted(len(rows), "tip"))
    console.print(text, soft_wrap=True)


def tips_json(rows: Sequence[Row]) -> None:
    sys.stdout.write(json.dumps([r.as_json() for r in rows], ensure_ascii=False, indent=1) + "\n")


# --- show -----------------------------------------------------------------------------------------

SHOW = {
    "received": ("Diterima (UTC, dibulatkan ke jam)", "Received (UTC, rounded to the hour)"),
    "sealed_by": ("Dienkripsi oleh", "Encrypted by"),
    "urgent": ("MENDESAK", "URGENT"),
    "urgent_yes": ("pelapor meminta tim segera diberi tahu", "the source asked to alert the team at once"),
    "lang": ("Bahasa pelapor", "Source's language"),
    "danger": ("BAHAYA", "DANGER"),
    "category": ("Kategori (pilihan pelapor)", "Category (source's choice)"),
    "description": ("Apa yang terjadi", "What happened"),
    "region": ("Wilayah", "Region"),
    "place": ("Tempat", "Place"),
    "when": ("Kapan", "When"),
    "ongoing": ("Masih berlangsung", "Still happening"),
    "victims": ("Korban", "Victims"),
    "victims_count": ("jumlah", "number"),
    "victims_age": ("usia", "age"),
    "victims_nat": ("kewarganegaraan", "nationality"),
    "responsible": ("Pihak yang bertanggung jawab", "Who is responsible"),
    "online": ("Tempat daring", "Online places"),
    "how_known": ("Cara pelapor mengetahui", "How the source knows"),
    "contact": ("Kontak pelapor", "Source contact"),
    "consent_yes": ("pelapor SETUJU kontak ini diteruskan", "the source AGREED this contact may be passed on"),
    "consent_no": (
        "pelapor TIDAK menyetujui: jangan pernah diteruskan",
        "the source did NOT agree: never pass it on",
    ),
    "attachments": ("Lampiran", "Attachments"),
    "triage": ("Triase", "Triage"),
    "history": ("Riwayat", "History"),
    "suggested": ("Saran rujukan", "Suggested referral"),
    "thread": ("Percakapan dengan pelapor", "Conversation with the source"),
    "no_messages": ("Belum ada pesan lanjutan atau balasan.", "No follow-ups or replies yet."),
    "cannot_reply": (
        "Pelapor ini tidak dapat menerima balasan: laporannya tidak membawa kunci penerima "
        "(dikirim sebelum fitur balasan ada).",
        "This source cannot receive replies: the report carried no source recipient "
        "(it was sent before replies existed).",
    ),
    MessageKind.FOLLOWUP: ("Pesan lanjutan dari pelapor", "Follow-up from the source"),
    MessageKind.REPLY: ("Balasan peninjau", "Reviewers' reply"),
    MessageKind.NOTE: ("Catatan tim yang meneruskan (tidak terlihat oleh pelapor)",
                       "Note from the forwarding team (never shown to the source)"),
    "state_received": ("diterima server {when} (dibulatkan ke jam)", "received by the server {when} (to the hour)"),
    "state_published": ("diterbitkan di halaman status {when}", "published on the status page {when}"),
    "state_sent": (
        "terkirim dalam berkas disposisi {file}, belum terlihat di bundel (ditulis {when})",
        "sent in dispositions file {file}, not yet seen in a bundle (written {when})",
    ),
    "state_pending": (
        "tertunda (belum dikirim): ikut pada `dispositions export` berikutnya (ditulis {when})",
        "pending (not yet sent): goes with the next `dispositions export` (written {when})",
    ),
    "message_lang": ("bahasa", "language"),
    "message_server_sealed": (
        "Dienkripsi oleh SERVER (tanpa JavaScript): server sempat melihat isinya di memori.",
        "Encrypted by the SERVER (no JavaScript): the server saw it in memory.",
    ),
    "message_mismatch": (
        "TIDAK KONSISTEN: bundel menyebut sealed_by={meta}, pesan itu sendiri {payload}.",
        "INCONSISTENT: the bundle says sealed_by={meta}, the message itself {payload}.",
    ),
    "unopened": ("Tidak dapat dibuka", "Cannot be opened"),
    "unknown_answers": (
        "Jawaban lain (tidak dikenal versi ini)",
        "Other answers (unknown to this version)",
    ),
    "disclose": ("Diberitahukan ke pelapor", "Told to the source"),
    "channels": ("Kanal (* = kanal pemimpin)", "Channels (* = lead channel)"),
    "reads_along": (
        "Kanal Anda hanya ikut membaca laporan ini: pilah dan catat di ruang kerja Anda; status, penahanan, "
        "penutupan, pemberitahuan dan balasan ke pelapor hanya oleh peninjau kanal pemimpin ({lead}).",
        "Your channel reads this tip along: triage and take notes in your workspace; status, holds, closure, "
        "disclosure and replies to the source belong to the lead channel's reviewers ({lead}).",
    ),
    "disclose_none": (
        "tidak ada (pelapor tidak diberi tahu ke mana laporan dirujuk)",
        "nothing (the source is not told where it went)",
    ),
    "server_sealed": (
        "Laporan ini dienkripsi oleh SERVER, bukan oleh peramban pelapor (tanpa JavaScript): server sempat "
        "melihat isinya di memori.",
        "This tip was encrypted by the SERVER, not the source's browser (no JavaScript): the server saw it in memory.",
    ),
    "mismatch": (
        "TIDAK KONSISTEN: bundel yang ditandatangani server menyebut sealed_by={meta}, tetapi laporan itu sendiri "
        "menyebut {payload}. Anggap laporan ini mungkin telah diubah; tanyakan kepada operator.",
        "INCONSISTENT: the server's signed bundle says sealed_by={meta}, but the tip itself says {payload}. "
        "Treat it as possibly tampered with; ask the operator.",
    ),
}


def _s(key: str, lang: str) -> str:
    return SHOW[key][0 if lang == "id" else 1]


def _show_channels(channels: Sequence[str], directory: Directory | None, lang: str) -> str:
    """``id (name)`` of each channel holding the tip, the lead first and marked."""
    return ", ".join(
        channel_label(c, directory, lang) + (LEAD_MARK if n == 0 else "") for n, c in enumerate(channels)
    )


def _region_text(code: str | None, regions: region_data.Regions) -> str:
    if not code:
        return "-"
    return regions.describe(code) if region_data.valid_code(code) else f"{safe(code)} (?)"


def tip_detail(
    tip_id: str,
    meta: TipMeta,
    document: TipDocument,
    record: TriageRecord,
    lang: str,
    directory: Directory | None = None,
) -> None:
    console = out()
    regions = region_data.load()
    answers = document.answers
    current = record.current

    console.print(Text(f"Tip {tip_id}", style="bold"))
    facts = Table.grid(padding=(0, 2))
    facts.add_row(_s("received", lang), Text(meta.received))
    facts.add_row(_s("sealed_by", lang), Text(document.sealed_by.value))
    facts.add_row(_s("lang", lang), Text(document.lang.value))
    channels = meta.entry.channels
    if channels:
        facts.add_row(_s("channels", lang), T(_show_channels(channels, directory, lang)))
    if meta.entry.urgent:
        facts.add_row(_s("urgent", lang), Text(_s("urgent_yes", lang), style="bold red"))
    console.print(facts)
    if channels and not leads(directory, channels):
        lead = channel_label(channels[0], directory, lang)
        console.print(Panel(T(_s("reads_along", lang).format(lead=lead)), border_style="cyan", title="i"))
    if meta.sealed_by != document.sealed_by:
        console.print(
            Panel(
                Text(
                    _s("mismatch", lang).format(meta=meta.sealed_by.value, payload=document.sealed_by.value),
                    style="bold",
                ),
                border_style="red",
                title="!!",
            )
        )
    if SealedBy.SERVER in (meta.sealed_by, document.sealed_by):
        console.print(Panel(Text(_s("server_sealed", lang)), border_style="yellow", title="!"))

    if answers.danger:
        console.print(
            Panel(
                Text("\n".join(safe(name_of(DANGER, d, lang)) for d in answers.danger), style="bold"),
                title=_s("danger", lang),
                border_style="red",
            )
        )

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    category = answers.category
    table.add_row(_s("category", lang), T(f"{category}: {name_of(CATEGORIES, category, lang)}" if category else "-"))
    table.add_row(_s("region", lang), T(_region_text(answers.regency or answers.province, regions)))
    table.add_row(_s("place", lang), T(answers.place))
    table.add_row(_s("when", lang), T(answers.when))
    table.add_row(_s("ongoing", lang), T(name_of(ONGOING, answers.ongoing, lang)))
    count = answers.victims_count
    table.add_row(
        _s("victims", lang),
        T(
            f"{_s('victims_count', lang)}: {count if count is not None else '-'}; "
            f"{_s('victims_age', lang)}: {name_of(AGE_BANDS, answers.victims_age_band, lang)}; "
            f"{_s('victims_nat', lang)}: {answers.victims_nationality or '-'}"
        ),
    )
    table.add_row(_s("how_known", lang), T(name_of(HOW_KNOWN, answers.how_known, lang)))
    table.add_row(_s("online", lang), T("\n".join(answers.online_places) if answers.online_places else None))
    if answers.contact:
        consent = answers.contact_consent
        table.add_row(
            _s("contact", lang),
            Text.assemble(
                Text(safe(answers.contact)),
                Text(
                    f"  ({_s('consent_yes' if consent else 'consent_no', lang)})",
                    style="green" if consent else "bold red",
                ),
            ),
        )
    else:
        table.add_row(_s("contact", lang), Text("-"))
    unknown = answers.unknown()
    if unknown:  # a newer form's questions: shown as sent, never interpreted
        lines = (f"{key}: {', '.join(v) if isinstance(v, tuple) else v}" for key, v in sorted(unknown.items()))
        table.add_row(_s("unknown_answers", lang), T("\n".join(lines)))
    console.print(table)
    console.print(Panel(T(answers.description), title=_s("description", lang), title_align="left"))
    if answers.responsible:
        console.print(Panel(T(answers.responsible), title=_s("responsible", lang), title_align="left"))

    if document.attachments:
        files = Table(title=_s("attachments", lang), title_justify="left", box=box.SIMPLE_HEAD)
        for header in ("#", "name", "type", "bytes", "SHA-256"):
            files.add_column(header)
        for n, a in enumerate(document.attachments, 1):
            files.add_row(str(n), T(a.name), T(a.media_type), str(a.size), a.sha256)
        console.print(files)

    console.print(triage_panel(current, lang, category))
    if record.history:
        console.print(history_table(record.history, lang))


def thread(conversation: Thread, lang: str) -> None:
    """The conversation after a tip: follow-ups, published replies, sent and pending replies, oldest first."""
    console = out()
    console.print(Text(_s("thread", lang), style="bold"))
    if not conversation.can_reply:
        console.print(Text(_s("cannot_reply", lang), style="yellow"))
    if not conversation.items:
        console.print(Text(_s("no_messages", lang)))
        return
    for number, item in enumerate(conversation.items, 1):
        console.print(_message_panel(number, item, lang))
        attachments = item.document.attachments if item.document else ()
        if attachments:
            files = Table(title=_s("attachments", lang), title_justify="left", box=box.SIMPLE_HEAD)
            for header in ("#", "name", "type", "bytes", "SHA-256"):
                files.add_column(header)
            for n, a in enumerate(attachments, 1):
                files.add_row(f"{number}.{n}", T(a.name), T(a.media_type), str(a.size), a.sha256)
            console.print(files)


def _message_panel(number: int, item: ThreadItem, lang: str) -> Panel:
    document = item.document
    when = (item.when or "-").replace("T", " ").removesuffix("Z")[:16] + (" UTC" if item.when else "")
    state = _s(f"state_{item.state}", lang).format(when=when, file=(item.sent_in or "?")[:8])
    heading = Text.assemble(
        (f"#{number} {_s(item.kind, lang)}", "bold"),
        f"  {item.id[:8]}  ",
        (state, "bold yellow" if item.state == "pending" else ""),
    )
    lines: list[Text] = [heading]
    if document is not None:
        sealed_by = document.sealed_by
        lines.append(Text(f"{_s('message_lang', lang)}: {document.lang.value}; sealed_by: {sealed_by.value}"))
        if item.sealed_by and item.sealed_by != sealed_by:
            lines.append(
                Text(
                    _s("message_mismatch", lang).format(meta=item.sealed_by.value, payload=sealed_by.value),
                    style="bold red",
                )
            )
        if SealedBy.SERVER in (item.sealed_by, sealed_by):
            lines.append(Text(_s("message_server_sealed", lang), style="yellow"))
        lines.append(Text(""))
        lines.append(T(document.text))
    else:
        lines.append(Text(f"{_s('unopened', lang)}: {safe(item.problem)}", style="bold red"))
    style = "yellow" if item.state == "pending" else ("cyan" if item.kind == MessageKind.FOLLOWUP else "green")
    return Panel(Text("\n").join(lines), border_style=style, title_align="left")


def reply_written(written: WrittenReply) -> None:
    echo(
        f"reply {written.id[:8]} to tip {written.tip_id[:8]} ({written.lang.value}) sealed to the source and "
        f"{counted(len(written.recipients) - 1, 'reviewer')}; pending (not yet sent) until the next "
        "`tipbox-review dispositions export`"
    )


def triage_panel(current: Triage, lang: str, payload_category: str | None = None) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    status = current.status
    grid.add_row("status", Text(f"{status.value}: {name_of(STATUSES, status, lang)}"))
    if status == Status.HOLD:
        grid.add_row("hold", Text(f"until {current.hold_until}, {name_of(HOLD_REASONS, current.hold_reason, lang)}"))
    category = current.category
    grid.add_row("category", Text(f"{category}: {name_of(CATEGORIES, category, lang)}" if category else "-"))
    priority = current.priority
    if priority:
        p = PRIORITIES[priority]
        grid.add_row("priority", Text(f"{priority} {p.name(lang)} ({p.within(lang)})"))
        grid.add_row("reason", T(current.priority_reason))
    else:
        grid.add_row("priority", Text("-"))
    regions = region_data.load()
    grid.add_row("region", Text("\n".join(regions.describe(c) for c in current.regions) or "-"))
    grid.add_row("referred to", Text(", ".join(current.targets) or "-"))
    disclose = current.disclose
    grid.add_row(
        _s("disclose", lang),
        Text(f"{disclose.value}: {name_of(AGENCY_KINDS, disclose, lang)}" if disclose else _s("disclose_none", lang)),
    )
    for attachment_id, code in current.class_of().items():
        grid.add_row(
            f"class {attachment_id[:8]}", Text(f"{code}: {name_of(MATERIAL_CLASSES, code, lang)}")
        )
    if current.notes:
        grid.add_row("notes", T(current.notes))
    suggestion = SUGGESTED_AGENCIES.get(category or payload_category or "")
    if suggestion and not current.targets:
        grid.add_row(_s("suggested", lang), Text(", ".join(suggestion)))
    return Panel(grid, title=_s("triage", lang), title_align="left")


def history_table(history: Sequence[HistoryItem], lang: str) -> Table:
    table = Table(title=_s("history", lang), title_justify="left", box=box.SIMPLE_HEAD)
    for header in ("when (UTC)", "by", "change"):
        table.add_column(header)
    for item in history:
        lines = [f"{k}: {_short(old)} → {_short(new)}" for k, (old, new) in item.changes.items()]
        referral = item.referral
        if referral is not None:
            lines.insert(
                0,
                f"referral packet to {referral.to} ({referral.format}, sha256 {referral.sha256[:16]}…)",
            )
        table.add_row(Text(item.at), Text(item.by[:19]), T("\n".join(lines)))
    return table


def _short(value: FieldValue) -> str:
    if isinstance(value, tuple):
        text = ", ".join(value) or "-"
    else:
        text = "-" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def triage_changes(tip_id: str, changes: Mapping[str, tuple[FieldValue, FieldValue]]) -> None:
    if not changes:
        echo(f"tip {tip_id[:8]}: nothing changed")
        return
    console = out()
    console.print(Text(f"tip {tip_id[:8]}: triage updated"))
    for key, (old, new) in changes.items():
        console.print(T(f"  {key}: {_short(old)} → {_short(new)}"))


# --- attachments, referral, dispositions, codes ---------------------------------------------------


class ProgressSink:
    """What long operations report to: a new file of ``total`` bytes, then bytes done."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def start(self, name: str, total: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=self._progress.tasks[self._task].total)
        self._task = self._progress.add_task(safe(name)[:40], total=total)

    def advance(self, n: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, n)


@contextlib.contextmanager
def byte_progress() -> Iterator[ProgressSink]:
    console = err()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=False,
    )
    with progress:
        yield ProgressSink(progress)


def attachments_done(results: Sequence[Extracted]) -> None:
    console = out()
    table = Table(box=box.SIMPLE_HEAD)
    for header in ("#", "file", "bytes", "SHA-256 (as submitted)", "metadata"):
        table.add_column(header)
    for r in results:
        if r.stripped is None:
            meta = Text("kept (use --strip to remove)")
        elif r.stripped:
            meta = Text(f"{r.note}; new SHA-256 {r.stripped_sha256}", style="green")
        else:
            meta = Text(r.note or "not stripped", style="bold yellow")
        table.add_row(str(r.number), T(str(r.path)), str(r.size), r.sha256, meta)
    console.print(table)
    console.print(Text(f"{counted(len(results), 'attachment')} verified against the tip's SHA-256 and written"))
    if any(r.stripped is False for r in results):
        warn("some files still carry their metadata (see the table); it can identify the source")


def _preview_cell(item: Evidence) -> Text:
    if item.previews:
        return Text("sharp" if item.sharp else "blurred", style="bold red" if item.sharp else "")
    return Text(f"no preview: {safe(item.problem)}", style="yellow")


def sheet_done(items: Sequence[Evidence], path: Path, classes: Mapping[str, str]) -> None:
    """What `attachments` (the preview sheet) reports: one row per attachment, then where the sheet is."""
    console = out()
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("#", no_wrap=True)
    table.add_column("kind", max_width=40)
    table.add_column("bytes", no_wrap=True)
    table.add_column("SHA-256", no_wrap=True, min_width=64)  # whole: a hash cut short cannot be matched
    table.add_column("preview", max_width=40)
    table.add_column("class", no_wrap=True)
    for item in items:
        kind = Text(item.kind.code + (f" ({item.details})" if item.details else ""))
        if item.mismatch:
            kind.append(f"\n! {safe(item.mismatch)}", style="bold red")
        table.add_row(
            str(item.number), kind, str(item.hashes.size), item.hashes.sha256, _preview_cell(item),
            Text(classes.get(item.attachment_id, "-")),
        )
    console.print(table)
    console.print(
        Text(
            f"{counted(len(items), 'attachment')} verified against the tip's SHA-256; preview sheet written to "
            f"{safe(str(path))} (no originals written: use --original N)"
        )
    )
    if any(item.mismatch for item in items):
        warn("a file's name or declared type disagrees with its content (marked !): do not open it by its name")
    if any("gps" in item.metadata for item in items):
        warn("an attachment carries a GPS position: it can locate a child or the source (see the sheet or `show`)")


EVIDENCE_WORDS: dict[str, tuple[str, str]] = {
    "title": ("Bukti: lampiran (dari isi berkas, bukan namanya)", "Evidence: attachments (from content, not names)"),
    "problem": ("Tidak dapat diperiksa", "Cannot be checked"),
}


def evidence_section(
    items: Sequence[Evidence | tuple[int, str]], classes: Mapping[str, str], lang: str
) -> None:
    """`show`'s evidence: per attachment kind, hashes, PDQ, class and metadata; never a picture."""
    from .sheet import meta_label

    console = out()
    i = 0 if lang == "id" else 1
    console.print(Text(EVIDENCE_WORDS["title"][i], style="bold"))
    for item in items:
        if isinstance(item, tuple):
            number, problem = item
            console.print(Text(f"#{number} {EVIDENCE_WORDS['problem'][i]}: {safe(problem)}", style="bold red"))
            continue
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        kind = Text(item.kind.code + (f" ({item.details})" if item.details else ""))
        if item.mismatch:
            kind.append(f"  ! {safe(item.mismatch)}", style="bold red")
        grid.add_row("kind", kind)
        grid.add_row("bytes", Text(str(item.hashes.size)))
        grid.add_row("SHA-256", Text(item.hashes.sha256))
        grid.add_row("SHA-1", Text(item.hashes.sha1))
        grid.add_row("MD5", Text(item.hashes.md5))
        if item.pdq:
            grid.add_row("PDQ", Text(f"{item.pdq} (quality {item.pdq_quality})"))
        code = classes.get(item.attachment_id)
        grid.add_row("class", Text(f"{code}: {name_of(MATERIAL_CLASSES, code, lang)}" if code else "-"))
        for key, value in item.metadata.items():
            grid.add_row(meta_label(key, lang), T(value, "bold red" if key == "gps" else ""))
        if not item.previews and item.problem:
            grid.add_row("preview", Text(f"none: {safe(item.problem)}", style="yellow"))
        console.print(Panel(grid, title=f"#{item.number}", title_align="left"))


def codes() -> None:
    console = out()
    for title, table in (
        ("categories (--category)", CATEGORIES),
        ("priorities (--priority)", PRIORITIES),
        ("statuses (--status)", STATUSES),
        ("hold reasons (--hold-reason)", HOLD_REASONS),
        ("attachment classes (triage --attachment N --class)", MATERIAL_CLASSES),
    ):
        grid = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
        for header in ("code", "Bahasa Indonesia", "English"):
            grid.add_column(header)
        for term in table.values():
            grid.add_row(term.code, term.id, term.en)
        console.print(grid)
    grid = Table(title="agencies (--target, --to)", title_justify="left", box=box.SIMPLE_HEAD)
    for header in ("code", "name", "contact"):
        grid.add_column(header)
    grid.add_column("kind (--disclose)")
    for agency in AGENCIES.values():
        grid.add_row(agency.code, agency.id, agency.contact_id, agency.kind)
    console.print(grid)
    grid = Table(
        title="agency kinds (--disclose; none tells the source nothing)", title_justify="left", box=box.SIMPLE_HEAD
    )
    for header in ("code", "Bahasa Indonesia", "English"):
        grid.add_column(header)
    for term in AGENCY_KINDS.values():
        grid.add_row(term.code, term.id, term.en)
    console.print(grid)
    console.print(Text("regions (--region): Kemendagri codes such as 18 (province) or 18.09 (kabupaten/kota)"))


def audit_report(report: Report, pinned: bool) -> None:
    """The auditor's compliance table."""
    console = out()
    verdict = T("COMPLIANT", "bold green") if report.ok else T("NOT COMPLIANT", "bold red")
    console.print(Text.assemble("Audit: ", verdict))
    if not pinned:
        warn("no server key pinned or given (--server-key): a forger could have re-signed this log; "
             f"compare the key in the log ({safe(report.server_key)}) with one obtained out of band")
    at = report.at.strftime("%Y-%m-%dT%H:%M:%SZ") if report.at else "-"
    console.print(T(f"{report.entries} entries, {report.checkpoints} signed checkpoints, judged at {at}"))
    summary = Table(box=box.SIMPLE, title="Tips")
    summary.add_column("state")
    summary.add_column("count", justify="right")
    for state, count in sorted(report.counts().items()):
        summary.add_row(T(state), T(str(count)))
    console.print(summary)
    by_channel = report.counts_by_channel()
    if by_channel:
        violations = report.violations_by_channel()
        per_channel = Table(box=box.SIMPLE, title="Channels")
        for column in ("channel", "tips", "violations"):
            per_channel.add_column(column, justify="left" if column == "channel" else "right")
        per_channel.add_column("states")
        for channel, states in by_channel.items():
            per_channel.add_row(
                T(safe(channel)),
                T(str(sum(states.values()))),
                T(str(violations.get(channel, 0)), "red" if violations.get(channel) else ""),
                T(", ".join(f"{state} {n}" for state, n in sorted(states.items()))),
            )
        console.print(per_channel)
    if report.violations:
        table = Table(box=box.SIMPLE, title="Violations")
        for column in ("kind", "entry", "tip", "detail"):
            table.add_column(column)
        for v in report.violations:
            table.add_row(T(v.kind, "red"), T("" if v.seq is None else str(v.seq)), T((v.tip or "")[:8]),
                          T(safe(v.message)))
        console.print(table)
