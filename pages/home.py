"""Home: the three tools in two lines each, and each model's status with its held-out headline metric."""

from __future__ import annotations

import streamlit as st

from medai_core.display import Status, StatusLevel, format_metric
from medai_core.models import model_statuses
from medai_core.ui.components import Headline, headline_cards

st.title("MedAI Dashboard")
st.markdown(
    "Upload a case, get a model's answer **with the evidence behind it**: uncertainty, saliency or attributions, "
    "simple baselines and the model's card. Every analysis is logged (no patient identifiers) and can be downloaded "
    "as a report."
)

TOOLS = (
    (
        ":material/radiology: CT nodule",
        "pages/ct_nodule.py",
        "A CT slice, DICOM file or zipped series: locate and segment the nodule, measure it in mm.",
        "Malignancy probability with an interval, Grad-CAM through the slices, size-based Lung-RADS beside it.",
    ),
    (
        ":material/monitoring: Glucose (CGM)",
        "pages/glucose.py",
        "A Dexcom Clarity, LibreView or generic CGM export: the Ambulatory Glucose Profile and time in ranges.",
        "30/60-minute forecast with prediction intervals, hypoglycaemia risk and the readings that drove it.",
    ),
    (
        ":material/genetics: Gene panel",
        "pages/gene_panel.py",
        "A tumour panel (MAF, VCF or CSV) and tumour type: TMB and actionable alterations with CIViC/FDA evidence.",
        "Survival on immunotherapy by drug class, with attributions and a TMB-based baseline beside it.",
    ),
)

st.header("Tools")
cols = st.columns(3)
for col, (title, page, line1, line2) in zip(cols, TOOLS, strict=True):
    with col.container(border=True):
        st.subheader(title)
        st.write(line1)
        st.write(line2)
        st.page_link(page, label=f"Open {title.split(' ', 1)[1]}", icon=":material/arrow_forward:")

st.header("Models")
statuses = model_statuses()
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
