"""Home: each domain of the registry in two lines, and each model's status with its held-out headline metric."""

from __future__ import annotations

import streamlit as st

from medai_core.display import Status, StatusLevel, format_metric
from medai_core.domains import DOMAINS
from medai_core.ui.cache import get_model_statuses
from medai_core.ui.components import Headline, headline_cards

st.title("MedAI Dashboard")
st.markdown(
    "Upload a case, get a model's answer **with the evidence behind it**: uncertainty, saliency or attributions, "
    "simple baselines and the model's card. Every analysis is logged (no patient identifiers) and can be downloaded "
    "as a report."
)

st.header("Tools")
cols = st.columns(len(DOMAINS))
for col, domain in zip(cols, DOMAINS, strict=True):
    with col.container(border=True):
        st.subheader(f"{domain.icon} {domain.title}")
        st.write(domain.summary[0])
        st.write(domain.summary[1])
        st.page_link(domain.page, label=f"Open {domain.title}", icon=":material/arrow_forward:")

st.header("Models")
statuses = get_model_statuses()
if not statuses:
    st.info("No models are installed in the models folder (MEDAI_MODELS_DIR).")
headline_cards(
    [
        Headline(
            status.card.name,
            format_metric(status.card.headline.value),
            f"{status.card.headline.name}, held out: {status.card.headline.split}. Baseline "
            f"({status.card.headline.baseline_name}): {format_metric(status.card.headline.baseline_value)}. "
            f"Version {status.card.version}.",
            Status(StatusLevel.OK, "", "Ready")
            if status.available
            else Status(StatusLevel.PROBLEM, "", "Cannot be used"),
        )
        if status.card
        else Headline(status.model_id.replace("_", " "), "no valid card", status.problem or "", None)
        for status in statuses
    ]
)
st.page_link(
    "pages/models.py", label="Read the model cards (intended use, data, metrics, limits)", icon=":material/description:"
)
