"""torch-playground: learn PyTorch by moving sliders. Start with `streamlit run app.py`."""

import streamlit as st

from ui.nav import PAGES
from ui.page import page_setup

st.set_page_config(page_icon=":material/neurology:", layout="wide")


def home() -> None:
    page_setup()
    st.title("torch-playground")
    st.write(
        "Learn PyTorch by moving sliders instead of reading notes. Every curve, shape and "
        "statistic here comes from running the real `torch` module, and each page shows the "
        "code to reproduce it."
    )
    for spec in PAGES:
        with st.container(border=True):
            st.page_link(spec.file, label=spec.title, icon=spec.icon)
            st.caption(spec.blurb)


pages = [st.Page(home, title="Home", icon=":material/home:", default=True)]
pages += [st.Page(p.file, title=p.title, icon=p.icon, url_path=p.url_path) for p in PAGES]
st.navigation(pages).run()
