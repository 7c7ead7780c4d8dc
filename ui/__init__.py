"""Streamlit/Plotly helpers shared by the pages: theme, URL state, page chrome, chart builders."""
