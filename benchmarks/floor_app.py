"""The floor of the browser benchmark: a minimal Streamlit app with the Tuning page's widget count
(22 sliders, 19 text inputs, a segmented control) and one DuckDB query over FLOOR_ROWS rows per run.

`streamlit run benchmarks/floor_app.py` with FLOOR_ROWS set; two pages ("a", "b") for the page-switch
floor. Whatever the real app costs beyond this is the app's own work, not Streamlit's or the browser's.
"""

from __future__ import annotations

import os

import duckdb
import streamlit as st

SLIDERS, INPUTS = 22, 19


@st.cache_resource
def table() -> duckdb.DuckDBPyConnection:
    """FLOOR_ROWS accounts with a score column, built once per server (as the app loads its data once)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT range AS id, (hash(range) % 100)::INT AS score FROM range(?)",
                [int(os.environ.get("FLOOR_ROWS", "100000"))])
    return con


def body(name: str) -> None:
    st.title(f"Floor {name}")
    horizon = st.segmented_control("Horizon", [30, 60, 90], default=90, key=f"{name}_horizon")
    values = [st.slider(f"rule {i}", 0, 100, 20, key=f"{name}_w{i}") for i in range(SLIDERS)]
    for i in range(INPUTS):
        st.text_input(f"threshold {i}", "7", key=f"{name}_t{i}")
    cur = table().cursor()
    n, high = cur.execute("SELECT count(*), count(*) FILTER (WHERE score >= ?) FROM t",
                          [values[0] + (horizon or 0) % 7]).fetchone()
    st.metric("High tier", f"{high:,}", help=f"of {n:,}")


def page_a() -> None:
    body("a")


def page_b() -> None:
    body("b")


pages = [st.Page(page_a, title="A", url_path="a", default=True), st.Page(page_b, title="B", url_path="b")]
st.navigation(pages).run()
