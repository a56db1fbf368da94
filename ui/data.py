"""Data (admin, revops): choose the dataset, upload and map an account table, see what was rejected and why.

Only roles that may load data open this page (ui.access); server paths are limited to the
data roots (RISKCORE_DATA_ROOT). A new dataset gets its own store, locked down once loaded; a
rejected file leaves the previous data active.
"""

from __future__ import annotations

from pathlib import PurePath

import pandas as pd
import streamlit as st

from ui import layout
from ui.access import ROOT_ENV, check_server_path, current_access, data_roots, require_page
from ui.applies import start_from_starter, starter_result
from ui.session import ctx, shared_store
from ui.datasets import dataset_name, register, switch_to
from riskcore import display
from riskcore.uploads import UPLOADS, peek_table, upload_path
from riskcore.display import md_escape
from riskcore.db import Mapping
from riskcore.report import LoadError, Report, user_message

ROLES = (("id_column", "Account id"), ("name_column", "Name"), ("value_column", "Value (ARR)"),
         ("owner_column", "Owner (CSM)"), ("segment_column", "Segment"), ("renewal_column", "Renewal date"),
         ("outcome_column", "Outcome (churned yes/no)"))
NONE = "(none)"
MAP_WIDTH = 190  # px per mapping box
REPORT_COLUMNS = ["severity", "message", "row", "column", "expected", "found", "file"]

c = ctx()
st.title("Data")
if not current_access().can("load_data"):  # app.py hides the page too; this covers a direct run
    st.error("Only the admin and RevOps roles may load data. Ask an admin if you need to.")
    st.stop()
require_page("data")


def report_table(report: Report, names: dict[str, str] | None = None, key: str = "validation_report") -> None:
    """The report's problems, the message first (in view at 1440 px without scrolling); `names` shows an
    upload's own file name, not its cache path. A whole-file problem has blank row and column cells."""
    rows = report.as_rows()
    if not rows:
        return
    frame = pd.DataFrame(rows, columns=["severity", "file", "row", "column", "expected", "found", "message"])
    for path, name in (names or {}).items():  # the upload's name, never the server's cache path
        for col in ("file", "message", "found"):
            frame[col] = frame[col].map(lambda v: v.replace(path, name) if isinstance(v, str) else v)
    uploads = str(UPLOADS)  # any other upload path left (e.g. a report kept across a switch): its name
    for col in ("file", "message", "found"):
        frame[col] = frame[col].map(lambda v: _upload_names(v, uploads) if isinstance(v, str) else v)
    frame["row"] = frame["row"].astype("Int64")  # a whole-file problem has no row: a blank cell, not "None"
    st.container(key=f"box-{key}").dataframe(frame, hide_index=True, key=key, height=min(38 + 35 * len(frame), 320), placeholder="",
                 column_order=REPORT_COLUMNS, column_config={
                     "severity": st.column_config.TextColumn("severity", width=70),
                     "message": st.column_config.TextColumn("message", width=560),
                     "row": st.column_config.NumberColumn("row", format="%d", width=50,
                                                          help="data row, 1 = the first row after the header"),
                     "column": st.column_config.TextColumn("column", width=140),
                     "expected": st.column_config.TextColumn("expected", width=200),
                     "found": st.column_config.TextColumn("found", width=140),
                     "file": st.column_config.TextColumn("file", width=140)})


def _upload_names(text: str, uploads: str) -> str:
    """`text` with every path of a cached upload replaced by the name the user knows it by."""
    import re
    return re.sub(re.escape(uploads) + r"/[^\s'\"]+", lambda m: display.file_label(m.group(0)), text)


def _names(data_key: str, label: str) -> dict[str, str]:
    return {data_key: label} if data_key != label else {}


def active_label() -> str:
    """The active dataset as the user knows it (an upload's own name, not its cache path)."""
    return dataset_name(c.data_key) if c.data_key else "the sample"


def rejected(label: str, report: Report | None, names: dict[str, str], why: str = "") -> None:
    st.session_state["data_result"] = ("error", f"{label} was rejected{why}: the previous data "
                                       f"({active_label()}) stays active.", report, names)


def try_load(data_key: str, mapping: Mapping | None, label: str) -> None:
    """Load into a new shared store (one per data key), lock it down; on failure keep the previous data.
    A button's callback: it runs before the sidebar is drawn, so the switch can reset the sidebar's choices."""
    try:
        store = shared_store(data_key, mapping)  # locked down as it is opened (ui.session.shared_engine)
    except LoadError as e:
        rejected(label, e.report, _names(data_key, label))
        return
    except Exception as e:  # noqa: BLE001 - unreadable files etc.: a message, never a traceback or class name
        rejected(label, None, {}, f" ({user_message(e)})")
        return
    st.session_state.setdefault("data_labels", {})[data_key] = label
    # the dataset's own rule-set versions, under its file name (a second, different 'telco.csv' is 'telco.csv (2)')
    label = register(data_key, PurePath(label).name or label)
    switch_to(data_key, mapping)
    report = getattr(store, "last_report", None)
    st.session_state["data_result"] = ("success", f"{label} is now active.", report, _names(data_key, label))


def load_path() -> None:
    """The "Load" button of a server path (read when clicked: the box may have changed with the click)."""
    path = st.session_state.get("data_path", "")
    inside, why = check_server_path(path)
    if inside is None:
        st.session_state["data_result"] = ("error", why + " The previous data stays active.", None)
    else:
        try_load(str(inside), None, path.strip())


def load_upload(path: str, label: str, guess: Mapping | None) -> None:
    """The "Load this file" button of an upload, with the mapping chosen (None: detected by the loader)."""
    try_load(path, None if guess is None else chosen_mapping(PurePath(path).name, guess), label)


def chosen_mapping(name: str, guess: Mapping) -> Mapping:
    """The mapping form's choices for the upload `name` (its widgets' state)."""
    chosen = {field: st.session_state.get(f"map:{field}:{name}", getattr(guess, field)) for field, _ in ROLES}
    chosen = {k: None if v == NONE else v for k, v in chosen.items()}
    detected = ", ".join(guess.outcome_positive or ())
    said = tuple(p.strip() for p in st.session_state.get(f"map:outcome_positive:{name}", detected).split(",")
                 if p.strip())
    # left as detected: let the loader detect again, so it still refuses values it cannot
    # read as yes/no ('Maybe') instead of counting them silently as not churned
    return Mapping(**chosen, outcome_positive=None if said == tuple(guess.outcome_positive or ()) else (said or None))


head = st.container()  # full width: the active dataset and a load's result with its report (messages in view)
left, right = layout.panes("data", [1, 1])
with head:
    st.caption("Active dataset")
    ds = c.store.dataset
    st.text(f"{active_label() if c.data_key else 'generated sample'} · "
            f"{ds.kind.replace('_', ' ') if ds else 'nothing'} · "
            f"tables: {', '.join(ds.tables) if ds else '-'}")
    result = st.session_state.pop("data_result", None)
    if result:
        kind, text, report, *rest = result
        (st.error if kind == "error" else st.success)(md_escape(text))  # file names and messages: text
        if report is not None:
            st.caption(f"{report.rows_loaded:,} rows loaded, {report.rows_skipped:,} skipped, "
                       f"{len(report.errors):,} errors, {len(report.warnings):,} warnings")
            report_table(report, rest[0] if rest else None)
    elif getattr(c.store, "last_report", None) is not None and c.store.last_report.problems:
        st.caption("Warnings from the last load")
        report_table(c.store.last_report)

with left:
    if ds is not None and ds.kind == "account_table":
        starter_result()
        st.button("Start a draft from this table's columns", key="starter_rules", on_click=start_from_starter,
                  args=(c,),
                  help="One rule per column that separates churners (needs the outcome column); tune it on "
                       "the Tuning page, then save it as a version.")

    source = st.segmented_control("Load", ["Sample", "Path on the server", "Upload a file"], default="Upload a file",
                                  key="data_source", required=True)
    if source == "Sample":
        st.write("The generated sample of activity tables (accounts, usage, tickets, invoices, touchpoints, "
                 "relationship events, outcomes).")
        st.button("Use the sample", key="use_sample", disabled=not c.data_key, on_click=switch_to, args=("", None))
    elif source == "Path on the server":
        path = st.text_input("An account table (CSV/Parquet/Excel), a folder of activity tables or a DuckDB file",
                             key="data_path",
                             help=md_escape("Only inside: " + ", ".join(str(r) for r in data_roots())
                                            + f" (set {ROOT_ENV} to change)."))
        st.button("Load", key="load_path", disabled=not path.strip(), on_click=load_path)
    else:
        up = st.file_uploader("Account table: CSV, Parquet or Excel", type=["csv", "tsv", "txt", "parquet", "xlsx"],
                              key="upload")
        if up is not None:
            try:
                path = upload_path(up.name, up.getvalue())
            except ValueError as e:  # unsupported file type
                st.error(md_escape(f"{e}. The previous data stays active."))
                st.stop()
            try:
                columns, sample = peek_table(path)
            except Exception:  # noqa: BLE001 - the preview failed: the loader says exactly why
                columns, sample = None, None
            if columns is None:
                from riskcore.loading import validate_path
                check = validate_path(path)
                if not check.ok:
                    with head:
                        st.error(md_escape(f"{up.name} was rejected: the previous data ({active_label()}) stays "
                                           "active."))
                        report_table(check, {str(path): up.name}, key="upload_check")
                    st.stop()
                # readable by the loader but not by the preview (e.g. Latin-1 text): auto-detect the mapping
                st.caption(f"{md_escape(up.name)}: no preview; the columns are mapped automatically.")
                st.button("Load this file", key="load_upload", type="primary", on_click=load_upload,
                          args=(str(path), up.name, None))
                st.stop()
            from riskcore.mapping import detect_mapping
            guess = detect_mapping(columns, sample)
            st.caption(f"{md_escape(up.name)}: {len(columns):,} columns. Check the mapping (pre-filled by "
                       "auto-detection):")
            boxes = layout.controls("mapping")  # 4 in a row at 1440 px, 2 at 800 px: labels never squeezed
            options = [NONE] + list(columns)
            picks: dict[str, str] = {}
            for field, label in ROLES:
                g = getattr(guess, field)
                picks[field] = boxes.selectbox(label, options, index=options.index(g) if g in options else 0,
                                               key=f"map:{field}:{path.name}", width=MAP_WIDTH)
            boxes.text_input("Outcome values meaning churned", value=", ".join(guess.outcome_positive or ()),
                             key=f"map:outcome_positive:{path.name}", width=MAP_WIDTH,
                             disabled=picks["outcome_column"] == NONE)
            st.button("Load this file", key="load_upload", type="primary", on_click=load_upload,
                      args=(str(path), up.name, guess))

with right:
    from riskcore.signals import SIGNALS
    available: set[str] = set()
    if c.is_activity:
        from riskcore.signals import available_signals
        available = set(available_signals(c.store))
    sig = pd.DataFrame([{"signal": s.name, "ok": s.name in available, "definition": s.definition}
                        for s in SIGNALS.values()])
    st.caption("Signals (computed point in time from the activity tables; an account table uses its own columns)")
    st.dataframe(sig, hide_index=True, key="signals_table", height=560, placeholder=display.DASH,
                 column_config={"ok": st.column_config.CheckboxColumn("avail.", width=45,
                                                                      help="available in the loaded data"),
                                "definition": st.column_config.TextColumn(width="large")})
