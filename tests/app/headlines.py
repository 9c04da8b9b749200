"""Read the headline cards (``medai_core.ui.components.headline_cards``) back from an AppTest run."""

from __future__ import annotations

import html
import re

from streamlit.testing.v1 import AppTest

_CARD = re.compile(
    r'<div class="medai-card-label">(.*?)</div><div class="medai-card-value"[^>]*>(.*?)(?: <span class="medai-status"'
    r"[^>]*>(.*?)</span>)?</div>"
)


def headlines(at: AppTest) -> dict[str, str]:
    """Label -> value of every headline card on the page (a status badge's word after " | ")."""
    cards: dict[str, str] = {}
    for block in at.markdown:
        for label, value, badge in _CARD.findall(str(block.value)):
            text = html.unescape(value) + (f" | {html.unescape(badge)}" if badge else "")
            cards.setdefault(html.unescape(label), text)
    return cards
