"""Plays (leadership, RevOps): did the save plays work? Each play's churn, treated against held-out (or
matched) accounts, the effect with its 95% interval, ARR saved and how many more accounts a conclusive
answer needs; and a random hold-out of the Save quadrant, stored, for the next play."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from ui import layout
from ui import state
from ui.access import require_page
from ui.session import ctx, plot_text, scored_table, shared_catalog
from riskcore import aggregates as agg
from riskcore import display
from riskcore.display import md_escape
from riskcore.keys import ruleset_key
from riskcore.rules.model import SAVE
from riskcore.plays import (PlayError, PlayJournal, assign_holdout, holdout_message, holdout_plan, journal_folder,
                            play_starts, plays_version)
from riskcore.uplift import OBSERVATIONAL_CAVEAT, SAMPLE_SIZE_FORMULA, UpliftError, uplift_all, uplift_rows
from riskcore.versions import rules_home
from riskcore.workspace import dataset_id

HORIZONS = (30, 60, 90, 180)
METHOD_COLORS = {"hold-out": "#4477aa", "matched (observational)": "#ee7733"}
SHOWN = ["play", "effect (95% interval)", "ARR saved", "accounts needed", "treated churned", "control churned",
         "method", "not counted"]  # what a leader decides on first: in view at 800 px
RESULTS = "_plays_results"  # session cache: (data, generation, plays rows, horizon, rule set) -> results

c = ctx()
require_page("plays")
st.title("Plays")
if not c.is_activity:
    st.info("Plays are measured on activity tables (dates of each start and each churn); an account table has "
            "neither. Load a folder of activity tables or a DuckDB file on the Data page.")
    st.stop()

journal = PlayJournal(journal_folder(rules_home(), dataset_id(c.data_key)))
try:
    journal.replay(c.store)  # plays recorded in the app before a restart (the data was loaded again)
except PlayError as e:
    st.warning(md_escape(f"Plays recorded in the app could not be read back: {e}."))


def _results(horizon: int) -> list[dict]:
    """uplift_all for the data as it is now (kept per session until the plays table changes)."""
    key = (c.data_key, c.engine.generation, plays_version(c.store), horizon, ruleset_key(c.rs))
    kept = st.session_state.get(RESULTS)
    if kept is None or kept[0] != key:
        with st.spinner("Comparing treated and control accounts…"):
            kept = (key, uplift_all(c.store, horizon, rules=c.rs))
        st.session_state[RESULTS] = kept
    return kept[1]


def _effects_figure(rows) -> go.Figure:
    """Each play's effect in points with its 95% interval; 0 = no effect."""
    fig = go.Figure()
    for method, color in METHOD_COLORS.items():
        part = rows[(rows["method"] == method) & rows["effect"].notna()]
        if part.empty:
            continue
        fig.add_trace(go.Scatter(
            x=part["effect"], y=part["play"].map(plot_text), mode="markers", name=method,
            marker=dict(size=11, color=color),
            error_x=dict(type="data", symmetric=False, array=part["ci_high"] - part["effect"],
                         arrayminus=part["effect"] - part["ci_low"], thickness=2, width=6, color=color),
            customdata=part[["ci_low", "ci_high"]].to_numpy(),
            hovertemplate="%{y}: %{x:+.1f} points (95% interval %{customdata[0]:+.1f} to "
                          "%{customdata[1]:+.1f})<extra></extra>"))
    fig.add_vline(x=0, line=dict(color="#444", dash="dash"))
    fig.update_layout(title=dict(text="Churn reduction (control − treated, points) with 95% interval", x=0,
                                 font=dict(size=16)),
                      xaxis=dict(title="points of churn avoided (> 0: fewer churned with the play)", zeroline=False),
                      yaxis=dict(autorange="reversed"), height=140 + 45 * max(len(rows), 1),
                      margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1))
    return fig


head = layout.panes("plays_pick", [1, 3], small=True)
horizon = int(head[0].segmented_control("Horizon (days)", HORIZONS, default=90, key="plays_horizon",
                                        required=True) or 90)
first, last = c.engine.active_range()
head[1].caption(f"Churn within {horizon} days of each account's first start of a play, data to {last:%Y-%m-%d}. "
                "Treated: accounts that started the play; control: accounts held out of it at random (hold-out) "
                "or, when none were, accounts that never got it matched on tier and segment (observational). "
                "Effect = control churn − treated churn; ARR saved = effect × ARR of the treated.")

starts = play_starts(c.store)
if starts.empty:
    st.info("This data has no plays yet: add plays.csv (account_id, play, started_at, holdout) to the data "
            "folder, start a play from an account's page, or hold out part of the Save quadrant below.")
else:
    try:
        results = _results(horizon)
    except UpliftError as e:
        st.warning(md_escape(f"Plays cannot be measured on this data: {e}."))
        results = []
    if results:
        rows = uplift_rows(results)
        st.dataframe(rows[SHOWN], hide_index=True, key="plays_table", placeholder=display.DASH,
                     column_config={
                         "play": st.column_config.TextColumn("play", width=140),
                         "method": st.column_config.TextColumn("method", width=110),
                         "effect (95% interval)": st.column_config.TextColumn(
                             "effect (95% interval)", width=180, help="control − treated churn, in points; "
                             "Newcombe's hybrid score interval"),
                         "ARR saved": st.column_config.TextColumn("ARR saved", width=150),
                         "accounts needed": st.column_config.TextColumn(
                             "accounts needed", help=SAMPLE_SIZE_FORMULA)})
        matched = [r["play"] for r in results if r["method"] == "matched"]
        if matched:
            st.warning(md_escape(f"Matched, not randomised ({', '.join(matched)}): {OBSERVATIONAL_CAVEAT}."))
        if rows["effect"].notna().any():
            st.plotly_chart(_effects_figure(rows), key="plays_chart")
        else:
            st.caption(f"No play has treated and control accounts past the {horizon}-day horizon yet.")
    with st.expander("Plays in the data", expanded=False):
        try:
            recorded = len(journal.rows())
        except PlayError:
            recorded = 0  # said at the top of the page
        if recorded:
            st.download_button(f"Download the {display.counted(recorded, 'row')} recorded in the app (plays.csv)",
                               journal.csv, file_name="plays.csv",
                               mime="text/csv", key="download_plays", on_click="ignore", icon=":material/download:",
                               help="add them to the data folder's plays table: the command line "
                                    "(python -m riskcore uplift) reads only the data")
        st.dataframe(starts, hide_index=True, key="play_starts", placeholder=display.DASH,
                     column_config={"rows": st.column_config.NumberColumn("rows", format="localized"),
                                    "accounts": st.column_config.NumberColumn("accounts", format="localized"),
                                    "held_out": st.column_config.NumberColumn("held out", format="localized"),
                                    "first_start": st.column_config.DateColumn("first start", format="YYYY-MM-DD"),
                                    "last_start": st.column_config.DateColumn("last start", format="YYYY-MM-DD")})

# ---- a random hold-out for the next play -----------------------------------------------------------------

st.subheader("Hold out part of the Save quadrant", anchor=False)
table = scored_table(c)
save = agg.Filters(quadrant=(SAVE,))
n_save = agg.count_accounts(c.store, table, save)
names = {p.id: p.name for p in shared_catalog().playbooks}
ids = list(names)
row = layout.controls("holdout_controls")
play = row.selectbox("Play", ids, index=ids.index("save") if "save" in ids else 0, key="holdout_play",
                     format_func=lambda p: names.get(p, p), width=260)
share = row.number_input("Held out (%)", min_value=1, max_value=50, value=10, step=1, key="holdout_share",
                         width=120)
seed = row.number_input("Random seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="holdout_seed",
                        width=120, help="the same seed and accounts give the same draw")
started = row.date_input("Start date", value=c.as_of, min_value=first, max_value=last, key="holdout_date",
                         format="YYYY-MM-DD", width=140)
chosen = agg.account_list(c.store, table, save, limit=max(n_save, 1))["account_id"].astype(str).tolist() \
    if n_save else []
plan = holdout_plan(c.store, chosen, play, share / 100)
st.caption(f"The Save quadrant as of {c.as_of:%Y-%m-%d} ({md_escape(c.rs_label)}): "
           f"{display.counted(plan['accounts'], 'account')}, {plan['already_in_play']:,} already in this play (they "
           f"keep their group). Of the {display.counted(plan['eligible'], 'other')}, {plan['held_out']:,} "
           f"({share}%, rounded) are held out at random and recorded with holdout true; {plan['treated']:,} start the "
           "play. Uplift then compares them as a randomised experiment.")
if st.button(f"Hold out {plan['held_out']:,} and start the play for {plan['treated']:,}", key="assign_holdout",
             disabled=plan["eligible"] == 0):
    try:
        st.session_state["_holdout_done"] = assign_holdout(c.store, chosen, play, started, share / 100, int(seed),
                                                           owner=state.owner() or None, journal=journal)
    except PlayError as e:
        st.error(md_escape(f"Nothing was recorded: {e}."))
    else:
        st.rerun()
done = st.session_state.get("_holdout_done")
if done:
    st.success(md_escape(holdout_message(done, names.get(done["play"]))))
