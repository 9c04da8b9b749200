"""User-controlled strings (file names, column names, text from files) reach Streamlit's Markdown inert.

Unit tests render the escaped text with a CommonMark parser (markdown-it, GFM tables and strikethrough on) and find
no link, image, emphasis, heading or HTML; page tests upload hostile names to each page and read what it shows.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from markdown_it import MarkdownIt

from medai_core.ui.components import escape_markdown
from tests.conftest import open_page

HOSTILE = "**x**[a](javascript:alert(1))<img src=x>"
HOSTILE_CASES = (
    HOSTILE,
    "# heading",
    "> quote",
    "- item",
    "1. item",
    "`code` ``x``",
    "_under_ __bold__",
    "~~strike~~",
    "![img](http://example.org/i.png)",
    "<script>alert(1)</script>",
    "&lt;b&gt; &amp; &#60;b&#62;",
    "<http://example.org>",
    "[ref]: http://example.org",
    ":red[coloured] :material/warning: $x^2$ $$y$$",
    "a | b\n--|--\n1 | 2",
    "line\n===",
    "back\\slash\\*",
)


def _render(text: str) -> str:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)


@pytest.mark.parametrize("text", HOSTILE_CASES)
def test_escaped_text_renders_as_one_plain_paragraph(text: str) -> None:
    html = _render(escape_markdown(text))
    for tag in ("<a", "<img", "<strong", "<em", "<h1", "<h2", "<blockquote", "<ul", "<ol", "<code", "<s>", "<table",
                "<script", "<hr"):  # fmt: skip
        assert tag not in html, (text, html)
    assert html.startswith("<p>") and html.count("<p>") == 1
    assert re.search(r"(?<!\\)(:|\$|\[)", escape_markdown(text)) is None  # directives and LaTeX need these bare


def test_the_raw_strings_would_have_been_live() -> None:
    html = _render(HOSTILE)
    assert "<strong>" in html and '<a href="javascript:alert(1)"' not in html  # CommonMark refuses the scheme...
    assert "<a href=" in _render("[a](http://x.org)") and "<img" in _render("![i](x.png)")  # ...not the others


def test_text_survives_as_typed() -> None:
    text = "PT-0042 visit 2 (final).csv: glucose 5.5 mmol/L, 100% ok_#1"
    html = _render(escape_markdown(text))
    assert html == f"<p>{text.replace('&', '&amp;')}</p>\n"
    assert escape_markdown(3.5) == "3\\.5"


def _page_text(at: Any) -> str:
    parts = [*at.markdown, *at.caption, *at.info, *at.warning, *at.error, *at.success]
    return "\n".join(str(p.value) for p in parts)


def _assert_inert(at: Any, *, named: bool | None = True) -> None:
    assert not at.exception, [e.value for e in at.exception]
    shown = _page_text(at)
    assert "[a](javascript" not in shown and "<img src=x>" not in shown and "**x**" not in shown
    if named is not None:  # where the message names the input, it is shown escaped
        assert escape_markdown(HOSTILE) in shown
    assert "<img" not in _render(shown) and "javascript:" not in _render(shown).replace("javascript:alert", "")


@pytest.mark.parametrize(
    ("page", "key", "data", "named"),
    [
        ("pages/gene_panel.py", "genes.upload", b"not a panel at all\n", True),
        ("pages/ct_nodule.py", "ct.upload", b"patient notes, not an image", True),
        ("pages/glucose.py", "glucose.upload", b"\x00\x01 not a csv", None),  # may say "the uploaded file"
    ],
)
def test_hostile_file_name_is_shown_inert(page: str, key: str, data: bytes, named: bool | None) -> None:
    at = open_page(page)
    at.file_uploader(key=key).set_value((f"{HOSTILE}.csv", data, "text/plain"))
    at.run()
    assert at.error, _page_text(at)
    _assert_inert(at, named=named)


def test_hostile_column_names_are_shown_inert() -> None:
    at = open_page("pages/glucose.py")
    header = f"when,{HOSTILE}\n"
    rows = "".join(f"2026-01-05 0{h}:00:00,{100 + h}\n" for h in range(5))
    at.file_uploader(key="glucose.upload").set_value(("cgm.csv", (header + rows).encode(), "text/csv"))
    at.run()
    assert at.error, _page_text(at)
    _assert_inert(at)
