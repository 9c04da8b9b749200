"""Reusable Streamlit pieces: banner, upload guard, error box, headline cards, status badges, charts, model cards,
downloads.

With ``medai_core/ui/cache.py`` this is the only part of the core that imports Streamlit.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import streamlit as st
from plotly.basedatatypes import BaseFigure

from medai_core.audit import get_audit_log
from medai_core.config import get_settings
from medai_core.display import STATUS_COLOURS, Status, StatusLevel, format_metric, humanise
from medai_core.errors import InputError, UploadTooLargeError
from medai_core.models import ModelCard
from medai_core.reports import RESEARCH_USE_NOTICE, CaseReport, render_html, render_json, render_pdf
from medai_core.ui.cache import per_result

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "MODELS_PAGE",
    "FigureDict",
    "Headline",
    "arrow_table",
    "chart",
    "error_box",
    "headline_cards",
    "meaning_line",
    "escape_markdown",
    "model_card_body",
    "model_card_expander",
    "record_once",
    "report_downloads",
    "research_banner",
    "result_card",
    "result_chart",
    "result_table",
    "slow",
    "status_badge",
    "status_html",
    "upload_guard",
]

MODELS_PAGE = "pages/models.py"

# Every character with a meaning in Streamlit's Markdown (CommonMark + GFM, its colour/icon/emoji directives and
# LaTeX), escaped with a backslash; & < > become entities, so no HTML tag or entity survives either.
_MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()#+-.!|~:$>=\"'")
_HTML_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape_markdown(text: object) -> str:
    """``text`` made inert for ``st.markdown``/``st.caption``/``st.write``: shown as typed, never interpreted.

    For user-controlled strings (file names, column names, sample ids, text from inside a file): no link, image,
    emphasis, heading, HTML tag, colour or icon directive and no LaTeX can be injected. Line breaks become spaces.
    """
    out: list[str] = []
    for char in str(text):
        if char in _HTML_ENTITIES:
            out.append(_HTML_ENTITIES[char])
        elif char in _MARKDOWN_SPECIAL:
            out.append("\\" + char)
        elif char in "\r\n\t":
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


def research_banner() -> None:
    """The research-use-only notice, with the reason, shown at the top of every page, and the project's styles
    (headline cards, status badges, caption contrast): one style element per page run, for every element of it."""
    _style()
    st.warning(
        f"**{RESEARCH_USE_NOTICE}** See the model cards for intended use, data, metrics and limits.",
        icon=":material/warning:",
    )


def upload_guard(uploaded: Any) -> bytes | None:
    """The uploaded file's bytes (kept in memory, never written to disk), or None when nothing was uploaded.

    Raises:
        UploadTooLargeError: the upload is larger than ``MEDAI_MAX_UPLOAD_MB``.
    """
    if uploaded is None:
        return None
    limit = get_settings().max_upload_bytes
    size = int(getattr(uploaded, "size", 0) or 0)
    if size > limit:
        raise UploadTooLargeError(
            f"{uploaded.name} is {size / 2**20:.1f} MiB; the limit is {limit / 2**20:.0f} MiB (MEDAI_MAX_UPLOAD_MB)."
        )
    data: bytes = uploaded.getvalue()
    if len(data) > limit:
        raise UploadTooLargeError(f"{uploaded.name} is larger than the {limit / 2**20:.0f} MiB upload limit.")
    return data


def error_box(exc: InputError) -> None:
    """Show an input error as the reader wrote it: what was wrong, what is accepted."""
    st.error(f"**This input cannot be used.** {escape_markdown(exc)}", icon=":material/block:")


def result_card(label: str, value: str, help: str | None = None, delta: str | None = None) -> None:
    """One headline figure."""
    st.metric(label, value, delta=delta, help=help, delta_color="off")


# The project's own markup: headline cards that wrap instead of truncating, status badges whose word and colour
# agree, and captions and slider end labels dark enough for WCAG 2.1 AA (Streamlit's faded grey is 2.8:1 on
# white; #4b5563 is 7.6:1). Streamlit shows a slider's end labels only on hover or focus, fading them in; the fade
# is switched off so that a label is never read (or measured) half-transparent.
_STYLE = """<style>
.medai-cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.6rem;margin:.25rem 0 .5rem}
.medai-card{border:1px solid #c9ced6;border-left-width:.35rem;border-radius:.5rem;padding:.55rem .8rem;
background:#fff;min-width:0}
.medai-card-label{font-size:.9rem;color:#374151;overflow-wrap:anywhere}
.medai-card-value{font-size:1.55rem;font-weight:600;color:#262730;line-height:1.25;overflow-wrap:anywhere}
.medai-card-detail{font-size:.875rem;color:#374151;overflow-wrap:anywhere;margin-top:.15rem}
.medai-status{display:inline-block;max-width:100%;padding:0 .45rem;border-radius:.3rem;font-weight:600;
border:1px solid;overflow-wrap:anywhere;font-size:.85rem;line-height:1.5;vertical-align:middle}
[data-testid="stCaptionContainer"],[data-testid="stCaptionContainer"] p,[data-testid="stCaptionContainer"] strong
{color:#4b5563 !important}
[data-testid="stSliderTickBar"] p{color:#4b5563 !important}
[data-testid="stSliderTickBar"]{transition:none !important}
</style>"""


@dataclass(frozen=True)
class Headline:
    """One headline card: a label, the value with its unit, a line of detail (uncertainty in words, what it is
    compared with) and optionally a status that colours the card's edge and shows its word; ``muted`` greys the
    value (a figure shown but not to be read as an answer, e.g. an input outside what the model was trained on)."""

    label: str
    value: str
    detail: str = ""
    status: Status | None = None
    muted: bool = False


_MUTED = ' style="color:#6b7280"'  # grey with 4.8:1 contrast on white (WCAG 2.1 AA)


def _style() -> None:
    st.markdown(_STYLE, unsafe_allow_html=True)


def status_html(status: Status) -> str:
    """A badge: the status word in the level's colour pair (never colour or a symbol alone)."""
    fg, bg = STATUS_COLOURS[status.level]
    return (
        f'<span class="medai-status" style="color:{fg};background:{bg};border-color:{fg}">'
        f"{html.escape(status.label)}</span>"
    )


def status_badge(status: Status) -> None:
    """A status as a badge followed by its explanation (``status.text``, shown as typed). Styled by the frame's
    one style element (:func:`research_banner`)."""
    st.markdown(f"{status_html(status)} {html.escape(status.text)}", unsafe_allow_html=True)


def headline_cards(cards: Sequence[Headline]) -> None:
    """One row of headline cards that wraps (never truncates) at any width; every string is shown as typed. Styled
    by the frame's one style element (:func:`research_banner`)."""
    items = []
    for card in cards:
        edge = STATUS_COLOURS[card.status.level][0] if card.status else "#1f6f8b"
        badge = f" {status_html(card.status)}" if card.status else ""
        detail = f'<div class="medai-card-detail">{html.escape(card.detail)}</div>' if card.detail else ""
        items.append(
            f'<div class="medai-card" role="listitem" style="border-left-color:{edge}">'
            f'<div class="medai-card-label">{html.escape(card.label)}</div>'
            f'<div class="medai-card-value"{_MUTED if card.muted else ""}>{html.escape(card.value)}{badge}</div>'
            f"{detail}</div>"
        )
    st.markdown(
        f'<div class="medai-cards" role="list" data-testid="medai-headline">{"".join(items)}</div>',
        unsafe_allow_html=True,
    )


def meaning_line(means: str, does_not_mean: str) -> None:
    """The one line under the headline cards: what the answer means, and what it does not mean."""
    st.markdown(f"**What this means:** {means} **What it does not mean:** {does_not_mean}")


def chart(fig: Any, key: str, **kwargs: Any) -> Any:
    """A plotly figure drawn with the project's theme (:mod:`medai_core.plots.theme`), not Streamlit's."""
    return st.plotly_chart(fig, key=key, theme=None, config={"displaylogo": False}, **kwargs)


class FigureDict(BaseFigure):
    """A built figure in the form ``st.plotly_chart`` sends it, computed once: for a figure shown on many runs.

    ``st.plotly_chart`` turns a figure into its dict (``to_dict``: a deep copy of every trace and array, the
    arrays base64-encoded) on every call, then into JSON. This holds that dict, made once from ``figure``, and
    hands it out: the JSON sent is the figure's own, and each run is spared the copy. Only :meth:`to_dict` is
    meant to be called (nothing may change the figure); the dict is shared and never mutated.
    """

    def __init__(self, figure: BaseFigure) -> None:  # no BaseFigure.__init__: nothing but to_dict is used
        self._figure_dict: dict[str, Any] = figure.to_dict()

    def to_dict(self) -> dict[str, Any]:
        """The figure's dict (the one ``figure.to_dict()`` gave)."""
        return self._figure_dict

    def __repr__(self) -> str:
        return f"FigureDict({len(self._figure_dict.get('data', ()))} traces)"


def result_chart(result: object, key: str, build: Callable[[], Any], *, variant: object = None, **kwargs: Any) -> Any:
    """:func:`chart` of the figure ``build()`` makes from an analysis ``result`` (and ``variant``: the unit, a
    chosen view), built and turned into the dict Streamlit sends (:class:`FigureDict`) once per server for every
    session showing that result (:func:`per_result`), not on every run of the page."""
    return chart(per_result(result, f"figure:{key}:{variant!r}", lambda: FigureDict(build())), key, **kwargs)


def arrow_table(data: Any) -> pa.Table:
    """``data`` (a DataFrame, a list of row dicts) as the Arrow table ``st.dataframe`` would make of it (Streamlit's
    own conversion, its automatic fixes of mixed-type columns included), for a table shown on many runs:
    ``st.dataframe`` of the result sends the same data without converting it again."""
    from streamlit import dataframe_util

    return dataframe_util.convert_pandas_df_to_arrow_table(
        dataframe_util.convert_anything_to_pandas_df(data, ensure_copy=False)
    )


def result_table(result: object, key: str, build: Callable[[], Any], **kwargs: Any) -> Any:
    """``st.dataframe`` of the table ``build()`` makes from ``result`` (rows or a DataFrame), converted once per
    server (:func:`arrow_table`, :func:`per_result`); ``key`` names the table (and anything else it depends on)."""
    return st.dataframe(per_result(result, f"table:{key}", lambda: arrow_table(build())), **kwargs)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _cell(value: Any) -> Any:
    """A table cell for a reader: None -> "not reported", floats with 3 significant decimals, booleans as yes/no."""
    if value is None:
        return "not reported"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return value


def _one_type_per_column(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with every column of one type: a column mixing numbers and text (a count of patients beside a
    formatted size) becomes text, so Arrow takes it as it is instead of failing and retrying with a logged
    traceback."""
    mixed = {
        key
        for key in {k for row in rows for k in row}
        if len({type(row[key]) for row in rows if row.get(key) is not None}) > 1
    }
    return [{k: (str(v) if k in mixed and v is not None else v) for k, v in row.items()} for row in rows]


def _section_items(data: Mapping[str, Any], depth: int = 0) -> list[tuple[str, Any]]:
    """What a card section shows, in order: ``("table", Arrow table)`` for rows of numbers, ``("markdown", text)``
    for single values and sub-headings; every key in words (nested sections one level deep)."""
    items: list[tuple[str, Any]] = []
    rows = [
        {"": humanise(name), **{humanise(k): _cell(v) for k, v in value.items() if _is_scalar(v)}}
        for name, value in data.items()
        if isinstance(value, Mapping) and any(_is_scalar(v) for v in value.values())
    ]
    if rows:
        items.append(("table", arrow_table(_one_type_per_column(rows))))
    scalars = {k: v for k, v in data.items() if _is_scalar(v)}
    if scalars:
        lines = (f"- {humanise(k)}: {escape_markdown(_cell(v))}" for k, v in scalars.items())
        items.append(("markdown", "\n".join(lines)))
    for name, value in data.items():
        nested = isinstance(value, Mapping) and any(isinstance(v, Mapping) for v in value.values())
        if nested and depth < 1:
            items.append(("markdown", f"*{humanise(name)}*"))
            items.extend(_section_items(value, depth + 1))
    return items


def _nested_tables(items: Sequence[tuple[str, Any]]) -> None:
    """Draw a card section prepared by :func:`_section_items`."""
    for kind, value in items:
        if kind == "table":
            st.dataframe(value, hide_index=True)
        else:
            st.markdown(value)


def _data_lines(data: Mapping[str, Any]) -> str:
    """Training-data facts as Markdown bullets: text and counts, each key in words (nested counts inline)."""
    lines = []
    for key, value in data.items():
        if isinstance(value, Mapping) and all(_is_scalar(v) for v in value.values()):
            text = ", ".join(f"{_cell(v)} {humanise(k)}" for k, v in value.items())
        elif _is_scalar(value):
            text = str(_cell(value))
        else:
            continue
        label = humanise(key)
        lines.append(f"- **{label[:1].upper()}{label[1:]}:** {escape_markdown(text)}")
    return "\n".join(lines)


def model_card_body(card: ModelCard, *, available: bool = True, problem: str = "") -> None:
    """A model card as a reader needs it: headline against its baseline, intended use, data, limits, version and
    date first; metrics, calibration and the full card JSON one click away (the caller shows the card's name).

    Its tables and texts are prepared once per card object (:func:`per_result`; the caches hand out one object per
    card for a minute), not on every run of every page that shows the card."""
    head = card.headline
    status = (
        Status(StatusLevel.OK, "weights verified against the card's sha256", "Ready")
        if available
        else Status(StatusLevel.PROBLEM, problem, "Cannot be used")
    )
    headline_cards(
        [
            Headline(f"Held-out {head.name}", format_metric(head.value), f"Evaluated on {head.split}"),
            Headline("Baseline", format_metric(head.baseline_value), f"{head.baseline_name}, same held-out data"),
            Headline("Version", f"v{card.version}", f"Trained {card.created}", status),
        ]
    )
    st.markdown(f"**Task.** {card.task}")
    st.markdown(f"**Intended use.** {card.intended_use}")
    st.markdown(f"**Out of scope.** {card.out_of_scope}")
    st.markdown("**Training data**")
    st.markdown(per_result(card, "card:data", lambda: _data_lines(card.training_data)) or "- not stated")
    st.markdown("**Limits**")
    st.markdown("\n".join(f"- {item}" for item in card.limitations) or "- none stated")
    with st.expander("Held-out metrics beside baselines, and calibration"):
        _nested_tables(per_result(card, "card:metrics", lambda: _section_items(card.metrics)))
        st.markdown("**Calibration**")
        _nested_tables(per_result(card, "card:calibration", lambda: _section_items(card.calibration)))
    with st.expander("Full model card (JSON)"):
        st.caption(
            f"Reproduce with `{card.training_command}` · weights file {escape_markdown(card.weights_file)}, "
            f"sha256 {card.weights_sha256}"
        )
        st.json(per_result(card, "card:json", card.to_dict), expanded=1)


def model_card_expander(card: ModelCard) -> None:
    """A collapsed model card, with a link to the Models page."""
    with st.expander(f"Model card: {card.name} v{card.version}"):
        model_card_body(card)
        st.page_link(MODELS_PAGE, label="All model cards", icon=":material/description:")


@contextmanager
def slow(label: str) -> Iterator[None]:
    """A spinner around anything that may take more than a second."""
    with st.spinner(label):
        yield


def report_downloads(report: CaseReport, payload: Mapping[str, Any], key_prefix: str) -> None:
    """Download buttons for the HTML, PDF and JSON forms of ``report``.

    Each file is rendered when its button is clicked (Streamlit's deferred download), not on every run of the
    page: rendering the PDF was the largest single cost of a page run.
    """
    cols = st.columns(3)
    stem = report.title.lower().replace(" ", "_")
    cols[0].download_button(
        "Report (HTML)", lambda: render_html(report), f"{stem}.html", "text/html", key=f"{key_prefix}.report_html"
    )
    cols[1].download_button(
        "Report (PDF)", lambda: render_pdf(report), f"{stem}.pdf", "application/pdf", key=f"{key_prefix}.report_pdf"
    )
    cols[2].download_button(
        "Record (JSON)",
        lambda: render_json(report, payload),
        f"{stem}.json",
        "application/json",
        key=f"{key_prefix}.report_json",
    )


def record_once(page: str, card: ModelCard, input_sha256: str, outputs: Mapping[str, Any]) -> None:
    """Append one audit row per distinct analysis in this session (reruns of the same analysis add none).

    A busy or unwritable audit log shows a warning under the result instead of failing the page.
    """
    key = json.dumps([page, card.id, card.version, input_sha256, outputs], sort_keys=True, default=str)
    done: set[str] = st.session_state.setdefault("_medai_audited", set())
    if key in done:
        return
    written = get_audit_log().record(page, card.id, card.version, input_sha256, outputs)
    if written.warning is not None:
        st.warning(written.warning, icon=":material/history_toggle_off:")
        return  # not marked done: the next rerun tries again
    done.add(key)
