"""The dashboard's Streamlit layer: session-state keys, cached calls into ``deid``, error display.

Only ``app.py``, ``pages/`` and this package import Streamlit; ``deid`` never does.
"""
