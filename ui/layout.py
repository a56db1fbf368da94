"""Rows that wrap on a narrow screen: panes (charts, tables) and tiles (KPIs) side by side at
1440 px, stacked at 800 px with the sidebar open, instead of st.columns, which squeeze until
the whole window is under 640 px ("$14...", "thr/esh/old"). static/layout.css sizes them by key.
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

CSS = Path(__file__).resolve().parent.parent / "static" / "layout.css"
FAVICON = CSS.parent / "favicon.png"  # served by this server: the app needs no network


def style() -> None:
    """The row sizes (a style-only st.html goes to the event container and takes no space; its
    sanitiser drops a style block with CSS comments, so they are stripped)."""
    st.html("<style>" + re.sub(r"/\*.*?\*/", "", CSS.read_text(), flags=re.S) + "</style>")


def panes(name: str, weights: list[int] | tuple[int, ...], small: bool = False) -> list:
    """Containers side by side with widths in proportion to `weights` (1..5), each at least 20rem
    (14rem when `small`); a pane that does not fit moves onto the next line at full width."""
    if not all(isinstance(w, int) and 1 <= w <= 5 for w in weights):
        raise ValueError(f"panes {name!r}: weights must be whole numbers 1..5, found {list(weights)}")
    row = st.container(horizontal=True, gap="medium", key=f"row-{name}")
    prefix = "panesm" if small else "pane"
    return [row.container(key=f"{prefix}{w}-{name}-{i}") for i, w in enumerate(weights)]


def tiles(name: str, n: int, small: bool = False) -> list:
    """`n` equal containers for KPIs (10rem at least, 6.5rem when `small`) that wrap."""
    row = st.container(horizontal=True, gap="small", key=f"row-{name}")
    return [row.container(key=f"{'tilesm' if small else 'tile'}-{name}-{i}") for i in range(n)]


def controls(name: str):
    """A row of input widgets (filters, mapping boxes) that wraps; give each widget a width."""
    return st.container(horizontal=True, gap="small", vertical_alignment="bottom", key=f"row-{name}")
