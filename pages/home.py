"""Home: each domain of the registry in two lines, and each model's status with its held-out headline metric."""

from __future__ import annotations

import streamlit as st

from medai_core.domains import DOMAINS
from medai_core.models import model_statuses

st.title("MedAI Dashboard")
st.markdown(
    "Upload a case, get a model's answer **with the evidence behind it**: uncertainty, saliency or attributions, "
    "simple baselines and the model's card. Every analysis is logged (no patient identifiers) and can be downloaded "
    "as a report."
)

cols = st.columns(len(DOMAINS))
for col, domain in zip(cols, DOMAINS, strict=True):
    with col.container(border=True):
        st.subheader(f"{domain.icon} {domain.title}")
        st.write(domain.summary[0])
        st.write(domain.summary[1])
        st.page_link(domain.page, label=f"Open {domain.title}", icon=":material/arrow_forward:")

st.subheader("Models")
statuses = model_statuses()
if not statuses:
    st.info("No models are installed in the models folder (MEDAI_MODELS_DIR).")
rows = []
for status in statuses:
    card = status.card
    rows.append(
        {
            "model": status.model_id,
            "version": card.version if card else "",
            "task": card.task if card else "",
            "status": "ready" if status.available else f"missing: {status.problem}",
            "held-out headline": f"{card.headline.name} {card.headline.value:.3f}" if card else "",
            "baseline": f"{card.headline.baseline_name} {card.headline.baseline_value:.3f}" if card else "",
            "evaluated on": card.headline.split if card else "",
        }
    )
if rows:
    st.dataframe(rows, hide_index=True, width="stretch")
st.page_link(
    "pages/models.py", label="Read the model cards (intended use, data, metrics, limits)", icon=":material/description:"
)
