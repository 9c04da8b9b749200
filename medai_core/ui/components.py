"""Reusable Streamlit pieces: banner, upload guard, error box, result card, model-card expander, downloads.

With ``medai_core/ui/cache.py`` this is the only part of the core that imports Streamlit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import streamlit as st

from medai_core.audit import get_audit_log
from medai_core.config import get_settings
from medai_core.errors import InputError, UploadTooLargeError
from medai_core.models import ModelCard
from medai_core.reports import RESEARCH_USE_NOTICE, CaseReport, render_html, render_json, render_pdf

__all__ = [
    "MODELS_PAGE",
    "error_box",
    "escape_markdown",
    "model_card_body",
    "model_card_expander",
    "record_once",
    "report_downloads",
    "research_banner",
    "result_card",
    "slow",
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
    """The research-use-only notice, with the reason, shown at the top of every page."""
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


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _nested_tables(data: Mapping[str, Any], depth: int = 0) -> None:
    """Draw a card section: rows of numbers as tables, single numbers as a caption, the rest as collapsed JSON."""
    rows = [
        {"": name, **{k: v for k, v in value.items() if _is_scalar(v)}}
        for name, value in data.items()
        if isinstance(value, Mapping) and any(_is_scalar(v) for v in value.values())
    ]
    if rows:
        st.dataframe(rows, hide_index=True)
    scalars = {k: v for k, v in data.items() if _is_scalar(v)}
    if scalars:
        st.caption(" · ".join(f"{k}: {v}" for k, v in scalars.items()))
    for name, value in data.items():
        nested = isinstance(value, Mapping) and any(isinstance(v, Mapping) for v in value.values())
        if nested and depth < 1:
            st.markdown(f"*{name}*")
            _nested_tables(value, depth + 1)
    details = {k: v for k, v in data.items() if not _is_scalar(v)}
    if details and depth == 0:
        with st.popover("Full detail (JSON)"):
            st.json(details)


def model_card_body(card: ModelCard) -> None:
    """Render every section of a model card (the caller shows the card's name)."""
    st.caption(f"`{card.id}` v{card.version} · {card.task}")
    st.markdown(f"**Intended use.** {card.intended_use}")
    st.markdown(f"**Out of scope.** {card.out_of_scope}")
    head = card.headline
    st.markdown(
        f"**Headline (held out).** {head.name} = {head.value:.3f} on {head.split}; "
        f"{head.baseline_name} = {head.baseline_value:.3f}."
    )
    st.markdown("**Held-out metrics, model beside baselines**")
    _nested_tables(card.metrics)
    st.markdown("**Calibration**")
    _nested_tables(card.calibration)
    st.markdown("**Limits**")
    st.markdown("\n".join(f"- {item}" for item in card.limitations) or "- none stated")
    st.markdown("**Training data and provenance**")
    _nested_tables(card.training_data)
    st.markdown("**Inputs and outputs**")
    cols = st.columns(2)
    cols[0].json(dict(card.inputs), expanded=False)
    cols[1].json(dict(card.outputs), expanded=False)
    st.caption(
        f"Trained {card.created} with `{card.training_command}` · weights `{card.weights_file}` "
        f"sha256 `{card.weights_sha256}`"
    )


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
    """Download buttons for the HTML, PDF and JSON forms of ``report``."""
    cols = st.columns(3)
    stem = report.title.lower().replace(" ", "_")
    cols[0].download_button(
        "Report (HTML)", render_html(report), f"{stem}.html", "text/html", key=f"{key_prefix}.report_html"
    )
    cols[1].download_button(
        "Report (PDF)", render_pdf(report), f"{stem}.pdf", "application/pdf", key=f"{key_prefix}.report_pdf"
    )
    cols[2].download_button(
        "Record (JSON)",
        render_json(report, payload),
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
