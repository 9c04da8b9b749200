"""MedAI Dashboard: the frame and router (``streamlit run app.py``). Research use only."""

from __future__ import annotations

import streamlit as st

from medai_core.config import APP_NAME, APP_VERSION
from medai_core.display import Status, StatusLevel
from medai_core.domains import DOMAINS
from medai_core.models import DeviceInfo
from medai_core.ui.cache import get_device_info, get_model_statuses, start_analysis_pool
from medai_core.ui.components import research_banner, status_badge
from medai_core.units import GLUCOSE_UNITS

st.set_page_config(page_title=APP_NAME, page_icon="🩺", layout="wide")


def _device() -> DeviceInfo | None:
    return get_device_info()


pages = {
    "Home": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
    **{d.section: [st.Page(d.page, title=d.title, icon=d.icon, url_path=d.url_path)] for d in DOMAINS},
    "About": [st.Page("pages/models.py", title="Models", icon=":material/description:", url_path="model-cards")],
}
# Custom url paths (not the file names): on the first script run after the server starts, Streamlit still treats a
# folder named pages/ as a v1 multipage app and would run a page matched by file name without this frame (no banner);
# with these paths a deep link on that first run gets Streamlit's "Page not found" notice instead, and every later
# run, and every run that starts at the root URL, goes through this frame.
navigation = st.navigation(pages)

with st.sidebar:
    st.caption(f"{APP_NAME} {APP_VERSION} · research use only")
    st.radio("Glucose unit", list(GLUCOSE_UNITS), key="glucose_unit", horizontal=True)
    device = _device()
    if device is None:
        st.markdown("**Models run on:** not known yet (the analysis workers are starting)")
        st.caption("TensorFlow is loading in the background; the device is named here from your next action on.")
    else:
        st.markdown(f"**Models run on:** {device.label}")
        st.caption(f"TensorFlow {device.tensorflow_version} · Keras {device.keras_version}")
    for status in get_model_statuses():
        name = status.card.name if status.card else status.model_id.replace("_", " ")
        version = f"v{status.card.version}" if status.card else "card invalid"
        state = Status(StatusLevel.OK, f"{name} {version}", "Ready") if status.available else None
        status_badge(state or Status(StatusLevel.PROBLEM, f"{name} {version}", "Cannot be used"))

research_banner()
start_analysis_pool()
navigation.run()
