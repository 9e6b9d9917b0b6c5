"""The notebook-facing layer: notebook helpers (``notebook``), plots, widgets, one text report per
record (``report``). Heavy libraries (matplotlib, ipywidgets, pandas) are imported inside functions."""
