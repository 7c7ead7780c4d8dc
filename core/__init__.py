"""torch-playground's engine: plain Python + PyTorch, never streamlit.

Everything the pages show is computed here, so it runs from the CLI and from tests.
"""
