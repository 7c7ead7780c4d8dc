import streamlit as st

from ui.page import page_setup

page_setup()
st.title("training")
st.info("This page is being built.")
