"""Case reports: printable HTML, PDF (fpdf2) and a JSON record, each carrying provenance.

Provenance is what lets a reader trace a report back to exactly one model and one input: the app version, the
model's id, version and weights sha256, the sha256 of the uploaded bytes, and the UTC time of the analysis. Reports
hold no names or patient identifiers; the input is referred to by its hash only.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from medai_core.config import APP_NAME, APP_VERSION
from medai_core.models.card import ModelCard
from medai_core.serialization import json_default

__all__ = [
    "CaseReport",
    "Provenance",
    "RESEARCH_USE_NOTICE",
    "ReportSection",
    "provenance_for",
    "render_html",
    "render_json",
    "render_pdf",
    "sha256_bytes",
]

RESEARCH_USE_NOTICE = (
    "Research use only. The models are not cleared or approved medical devices; their output is not a diagnosis. "
    "The clinician decides."
)


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Provenance:
    """Where a result comes from.

    Attributes:
        app_version: MedAI Dashboard version.
        model_id: the model's registry id.
        model_version: the model's version.
        weights_sha256: sha256 of the weights file that produced the result.
        input_sha256: sha256 of the input bytes as uploaded.
        timestamp: UTC time of the analysis, ISO 8601.
    """

    app_version: str
    model_id: str
    model_version: str
    weights_sha256: str
    input_sha256: str
    timestamp: str


def provenance_for(card: ModelCard, input_bytes: bytes, *, timestamp: datetime | None = None) -> Provenance:
    """Provenance of an analysis of ``input_bytes`` by the model described by ``card``."""
    when = (timestamp or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    return Provenance(APP_VERSION, card.id, card.version, card.weights_sha256, sha256_bytes(input_bytes), when)


@dataclass(frozen=True)
class ReportSection:
    """One section: key-value rows, a paragraph, and/or a table.

    Attributes:
        heading: the section title.
        rows: (label, value) pairs.
        text: a paragraph.
        table_header: column names of an optional table.
        table_rows: the table's rows, each as long as ``table_header``.
    """

    heading: str
    rows: tuple[tuple[str, str], ...] = ()
    text: str = ""
    table_header: tuple[str, ...] = ()
    table_rows: tuple[tuple[str, ...], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        for row in self.table_rows:
            if len(row) != len(self.table_header):
                raise ValueError(f"section {self.heading!r}: table row {row!r} does not match {self.table_header!r}")


@dataclass(frozen=True)
class CaseReport:
    """A case report.

    Attributes:
        title: e.g. ``"CT nodule analysis"``.
        page: the page that produced it.
        provenance: where the result comes from.
        summary: the result in one or two sentences.
        sections: the body.
        caveats: limits the reader must keep in mind (the model card's, and this case's).
    """

    title: str
    page: str
    provenance: Provenance
    summary: str
    sections: tuple[ReportSection, ...] = ()
    caveats: tuple[str, ...] = ()


def _provenance_rows(prov: Provenance) -> list[tuple[str, str]]:
    return [
        ("App", f"{APP_NAME} {prov.app_version}"),
        ("Model", f"{prov.model_id} v{prov.model_version}"),
        ("Weights sha256", prov.weights_sha256),
        ("Input sha256", prov.input_sha256),
        ("Analysed (UTC)", prov.timestamp),
    ]


def render_html(report: CaseReport) -> str:
    """A self-contained, printable HTML document (no scripts, no external resources)."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(report.title)}</title>",
        "<style>body{font-family:sans-serif;max-width:52em;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;padding:.25em .5em;text-align:left}"
        ".notice{border:2px solid #c0392b;padding:.5em;background:#fdecea}"
        "@media print{.notice{break-inside:avoid}}</style></head><body>",
        f"<h1>{e(report.title)}</h1>",
        f'<p class="notice"><strong>{e(RESEARCH_USE_NOTICE)}</strong></p>',
        f"<p>{e(report.summary)}</p>",
    ]
    for section in report.sections:
        parts.append(f"<h2>{e(section.heading)}</h2>")
        if section.text:
            parts.append(f"<p>{e(section.text)}</p>")
        if section.rows:
            parts.append("<table>")
            parts.extend(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in section.rows)
            parts.append("</table>")
        if section.table_header:
            parts.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in section.table_header) + "</tr>")
            parts.extend("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in section.table_rows)
            parts.append("</table>")
    if report.caveats:
        parts.append("<h2>Limits</h2><ul>" + "".join(f"<li>{e(c)}</li>" for c in report.caveats) + "</ul>")
    parts.append("<h2>Provenance</h2><table>")
    parts.extend(
        f"<tr><th>{e(k)}</th><td><code>{e(v)}</code></td></tr>" for k, v in _provenance_rows(report.provenance)
    )
    parts.append("</table></body></html>")
    return "\n".join(parts)


_LATIN1_FALLBACKS = {
    "≥": ">=",
    "≤": "<=",
    "–": "-",
    "—": "-",
    "…": "...",
    "→": "->",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "×": "x",
    "±": "+/-",
    "³": "3",
}


def _latin1(text: str) -> str:
    """Text the PDF core fonts can draw: common symbols spelled out, anything else outside Latin-1 as '?'."""
    for char, repl in _LATIN1_FALLBACKS.items():
        text = text.replace(char, repl)
    return text.encode("latin-1", "replace").decode("latin-1")


def render_pdf(report: CaseReport) -> bytes:
    """The report as a PDF (A4, built-in Helvetica; non-Latin-1 symbols are spelled out)."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.epw

    def line(text: str, size: int = 10, style: str = "", height: float = 5.5) -> None:
        pdf.set_font("Helvetica", style=style, size=size)
        pdf.multi_cell(width, height, _latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def table(rows: Sequence[Sequence[str]], header: Sequence[str] = ()) -> None:
        pdf.set_font("Helvetica", size=8)
        with pdf.table(text_align="LEFT", first_row_as_headings=bool(header)) as tbl:
            for row in ([header] if header else []) + list(rows):
                cells = tbl.row()
                for cell in row:
                    cells.cell(_latin1(str(cell)))
        pdf.ln(2)

    line(report.title, size=16, style="B", height=9)
    pdf.set_text_color(192, 57, 43)
    line(RESEARCH_USE_NOTICE, size=9, style="B")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(2)
    line(report.summary)
    for section in report.sections:
        pdf.ln(2)
        line(section.heading, size=12, style="B", height=7)
        if section.text:
            line(section.text)
        if section.rows:
            table([(k, v) for k, v in section.rows])
        if section.table_header:
            table(section.table_rows, section.table_header)
    if report.caveats:
        pdf.ln(2)
        line("Limits", size=12, style="B", height=7)
        for caveat in report.caveats:
            line(f"- {caveat}", size=9)
    pdf.ln(2)
    line("Provenance", size=12, style="B", height=7)
    table(_provenance_rows(report.provenance))
    return bytes(pdf.output())


def render_json(report: CaseReport, payload: Mapping[str, Any]) -> str:
    """A JSON record of the report: provenance, summary, caveats and the analysis ``payload`` (JSON-ready)."""
    record = {
        "title": report.title,
        "page": report.page,
        "notice": RESEARCH_USE_NOTICE,
        "summary": report.summary,
        "provenance": asdict(report.provenance),
        "caveats": list(report.caveats),
        "result": dict(payload),
    }
    return json.dumps(record, indent=2, sort_keys=True, default=json_default)
