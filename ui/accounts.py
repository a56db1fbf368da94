"""Accounts (CSM): filtered, sortable list with reasons, playbook and behavioural segment; CSV export;
account view with the score history and what changed between its points."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui import applies
from ui.access import book_only, current_access, restrict_filters
from ui import layout
from ui.session import (QUADRANTS, TIER_COLORS, TIERS, ctx, money, plot_text, scored_table, setting,
                        shared_catalog)
from ui.state import kept
from riskcore import urlstate as us
from riskcore import aggregates as agg
from riskcore import display
from riskcore.aggregates import distinct_values
from riskcore.periods import month_ends
from riskcore import timeline as tl
from riskcore.display import md_escape
from riskcore.export import format_reasons
from riskcore.plays import PlayError, PlayJournal, account_plays, journal_folder, start_play
from riskcore.versions import rules_home
from riskcore.workspace import dataset_id
from riskcore.valueaxis import value_name_for

MAX_ROWS = 2000          # rows drawn in the table
# The list's columns, what a CSM decides on first (visible at 1440 px without scrolling), then the rest
LIST_COLUMNS = ["account", "score", "tier", "top reasons", "playbook", "ARR", "renewal",
                "owner", "segment", "quadrant", "behaviour", "account_id"]
MAX_EXPORT = 200_000     # rows in a CSV download
HISTORY_MONTHS = 6
ALERT_LOOKBACK_DAYS = 92  # the "alerted since" date goes back at most this far (re-scoring is weekly)
SNAPSHOTS = setting("RISKCORE_SNAPSHOTS")  # a snapshot store: history from it


c = ctx()
applies.rules_apply_banner(c)  # most rules cannot run on this data: say so, offer starter rules
table = scored_table(c)
snap_key = tl.snapshots_version(SNAPSHOTS)


def _playbook_names() -> dict[str, str]:
    return {p.id: p.name for p in shared_catalog().playbooks}


# ---- the account view ----------------------------------------------------------------------

def _timeline(account_id: str) -> tl.Timeline:
    with st.spinner("Re-scoring the past months…"):
        return c.engine.timeline(c.rs, account_id, month_ends(c.as_of, HISTORY_MONTHS), SNAPSHOTS)


def _history_figure(timeline: tl.Timeline, dims: list[str]) -> go.Figure:
    """Scores over time, one line per dimension; the chosen dimension's points coloured by tier,
    its tier bands shaded, and a dashed line where the rule set changed."""
    h = timeline.history
    fig = go.Figure()
    m, hi, mode = c.rs.tiers.cuts(c.dimension)
    if mode != "percentile":  # fixed cut-offs: shade the tiers of the chosen dimension
        for lo, up, tier in ((0, m, "low"), (m, hi, "medium"), (hi, 100, "high")):
            fig.add_hrect(y0=lo, y1=up, fillcolor=TIER_COLORS[tier], opacity=0.08, line_width=0, layer="below")
    others = iter(["#4477aa", "#66ccee", "#aa3377", "#999999", "#bbbbbb"])  # not the tier colours
    for d in dims:
        main = d == c.dimension
        colors = [TIER_COLORS.get(str(t), "#888") for t in h[f"{d}_tier"]] if main else None
        fig.add_trace(go.Scatter(
            x=h["date"], y=h[f"{d}_score"], mode="lines+markers", name=f"{d} score",
            line=dict(color="#333" if main else next(others, "#999"), width=2.5 if main else 1.2,
                      dash=None if main else "dot"),
            marker=dict(size=10 if main else 5, color=colors, line=dict(width=1, color="#333") if main else None),
            customdata=h[[f"{d}_tier", "ruleset_name"]].map(plot_text).to_numpy(),
            hovertemplate=f"{d}: %{{y:.0f}} (%{{customdata[0]}} tier)<br>as of %{{x|%Y-%m-%d}} · "
                          "rule set %{customdata[1]}<extra></extra>"))
    for _, row in h[h["rule_set_changed"]].iterrows():
        x = pd.Timestamp(row["date"]).to_pydatetime()
        fig.add_vline(x=x, line=dict(color="#7b3294", dash="dash", width=1.5))
        fig.add_annotation(x=x, y=1, yref="paper", yanchor="bottom", showarrow=False,
                           text=f"rule set → {plot_text(row['ruleset_name'])}", font=dict(size=11, color="#7b3294"))
    how = "snapshots" if timeline.source == "snapshots" else "re-scored at each month end"
    fig.update_layout(title=dict(text=f"Score history ({how})", x=0, font=dict(size=16)),
                      xaxis=dict(title="as of", tickvals=list(h["date"]), tickformat="%d %b %Y"),
                      yaxis=dict(title="score (0-100)", range=[-3, 103]),
                      height=360, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", yanchor="top", y=-0.28, xanchor="left", x=0))
    return fig


def _what_changed(timeline: tl.Timeline) -> None:
    """One line per step of the history (newest first), with a sentence per change of the score."""
    st.subheader(f"What changed: {c.dimension} score", anchor=False)
    shown = 0
    for step in reversed(timeline.steps):
        head = tl.step_heading(step, c.dimension)
        if head is None:
            continue
        shown += 1
        lines = "".join(f"\n- {md_escape(x)}" for x in step.sentences.get(c.dimension, []))
        st.markdown(f"**{md_escape(head)}**{lines}")
    if not shown:
        st.caption(f"The {c.dimension} score did not change over these points.")


def account_view(account_id: str) -> None:
    base = restrict_filters(agg.Filters(search=account_id))
    rows = agg.account_list(c.store, table, base, limit=50) if base is not None else pd.DataFrame(
        columns=["account_id"])
    rows = rows[rows["account_id"] == account_id]
    if st.button("← All accounts", key="back_to_list"):
        del st.query_params["account"]
        st.rerun()
    if rows.empty:
        st.warning(f"No scored account with id '{md_escape(account_id)}' as of {c.as_of:%Y-%m-%d} "
                   "(unknown id, or not active on that date).")
        return
    a = rows.iloc[0]
    st.header(md_escape(display.text(a["account_name"], blank="") or a["account_id"]), anchor=False)
    st.caption(md_escape(f"id {a['account_id']} · owner {display.text(a.get('csm_owner'))} · "
                         f"segment {display.text(a.get('segment'))} · {value_name_for(c.store, c.rs).short} "
                         f"{money(a.get('value'))} · renewal {display.day(a.get('renewal_date'))} · "
                         f"quadrant {a['quadrant']} · as of {c.as_of:%Y-%m-%d}"))
    dims = list(c.rs.dimensions)
    for col, d in zip(layout.tiles("account_scores", len(dims), small=True), dims):
        col.metric(f"{d} score", f"{a[f'{d}_score']:.0f}", f"{a[f'{d}_tier']} tier", delta_color="off",
                   delta_arrow="off")
    left, right = layout.panes("account", [3, 2])
    with left:
        st.subheader("Why: fired rules", anchor=False)
        reasons = pd.DataFrame(list(a["reasons"]) if a["reasons"] is not None else [],
                               columns=["rule_id", "label", "dimension", "grp", "points", "value", "condition"])
        reasons["value"] = reasons["value"].map(display.signal_value)  # a blank value is a dash, never nan
        st.dataframe(reasons.sort_values(["dimension", "points"], ascending=[True, False]),
                     hide_index=True, key="account_reasons", placeholder=display.DASH,
                     column_order=["label", "points", "value", "condition", "dimension", "grp", "rule_id"],
                     column_config={
                         "label": st.column_config.TextColumn("rule", width=250),
                         "points": st.column_config.NumberColumn("points", format="%.1f", width=60),
                         "value": st.column_config.TextColumn("signal value", width=110,
                                                              help="the account's value of the rule's signal"),
                         "condition": st.column_config.TextColumn(
                             "condition", width=200, help="signal op threshold, as it applied to this account"),
                         "dimension": st.column_config.TextColumn("dimension", width=90),
                         "grp": st.column_config.TextColumn("evidence group", width=110),
                         "rule_id": st.column_config.TextColumn("rule id", width=130)})
        timeline = _timeline(account_id)
        if timeline.history.empty:
            st.caption("No score history: an account table has no dates (build one with "
                       "`python -m riskcore snapshot` and set RISKCORE_SNAPSHOTS).")
        else:
            st.plotly_chart(_history_figure(timeline, dims), key="history_chart")
    with right:
        st.subheader("What to do: playbook", anchor=False)
        from riskcore.playbooks import match_account
        tiers = {d: a[f"{d}_tier"] for d in dims}
        consent = a.get("marketing_consent")
        pb = match_account(shared_catalog(), tiers, a["quadrant"],
                           bool(consent) if consent is not None and pd.notna(consent) else None)
        if pb is None:
            st.info("No playbook matches this account.")
        else:
            st.markdown(f"**{md_escape(pb.name)}** · owner {md_escape(pb.owner)} · "
                        f"SLA {display.duration(pb.sla_hours)}")
            for i, step in enumerate(pb.steps, start=1):
                due = f", within {display.duration(step.due_hours)}" if step.due_hours is not None else ""
                st.markdown(f"{i}\\. {md_escape(step.text)}  \n"
                            f":gray[{step.kind.replace('_', ' ')} · {md_escape(step.owner or pb.owner)}{due}]")
            if pb.note:
                st.caption(md_escape(pb.note))
        _plays(a, pb)
        if not timeline.history.empty:
            _what_changed(timeline)


def _plays(a, pb) -> None:
    """The account's plays (started or held out) and "Start play": a playbook of the catalog, an owner and
    a date, written to the store's plays table (and the dataset's journal, so a restart keeps it)."""
    st.subheader("Plays", anchor=False)
    if not c.is_activity:
        st.caption("Plays are recorded in activity tables: an account table has no dates to measure them against.")
        return
    journal = PlayJournal(journal_folder(rules_home(), dataset_id(c.data_key)))
    try:
        journal.replay(c.store)  # plays recorded before a restart (the data was loaded again from its files)
    except PlayError as e:
        st.warning(md_escape(f"Plays recorded in the app could not be read back: {e}."))
    said = st.session_state.pop("_play_started", None)
    if said:
        st.success(md_escape(said))
    done = account_plays(c.store, a["account_id"])
    if done.empty:
        st.caption("No play recorded for this account.")
    else:
        st.dataframe(done[["play", "started_at", "group", "owner"]], hide_index=True, key="account_plays",
                     placeholder=display.DASH,
                     column_config={"started_at": st.column_config.DateColumn("started", format="YYYY-MM-DD")})
    names = _playbook_names()
    ids = list(names)
    first, last = c.engine.active_range()
    with st.form("start_play", border=True, enter_to_submit=False):
        play = st.selectbox("Playbook", ids, index=ids.index(pb.id) if pb is not None and pb.id in ids else 0,
                            format_func=lambda p: names.get(p, p))
        owner = st.text_input("Owner", value=display.text(a.get("csm_owner"), blank=""), max_chars=100,
                              help="who runs the play (the account's owner by default)")
        day = st.date_input("Start date", value=min(max(c.as_of, first), last), min_value=first, max_value=last,
                            format="YYYY-MM-DD", help=f"within the data's dates ({first} to {last})")
        if st.form_submit_button("Start play", type="primary"):
            try:
                row = start_play(c.store, a["account_id"], play, day, owner=owner or None, journal=journal)
            except PlayError as e:
                st.error(md_escape(f"Nothing was recorded: {e}."))
            else:
                st.session_state["_play_started"] = (
                    f"Started {names.get(play, play)} on {day:%Y-%m-%d}" + (f" (owner {owner})" if owner else "")
                    + ("" if row["added"] else ": it was recorded already") + ". The Plays page counts it.")
                st.rerun()


# ---- the list ---------------------------------------------------------------------------------

def account_list() -> None:
    st.title("Accounts")
    access = current_access()
    row = layout.controls("account_filters")  # fixed widths that wrap: a chosen tier reads "high", never "h"
    owners = distinct_values(c.store, table, "csm_owner")
    restricted = book_only(access)
    if restricted:  # a CSM chooses only among their own owners
        owners = [o for o in owners if o in access.book]
    segments = distinct_values(c.store, table, "segment")
    # each filter is kept in the session and the URL (ui.state): the account view, Back and a reload keep it
    owner = row.multiselect("Owner", owners, key=kept("f_owner", us.Many("owner", (), tuple(owners))), width=190,
                            placeholder="any" if owners else "no owner column")
    segment = row.multiselect("Segment", segments, key=kept("f_segment", us.Many("segment", (), tuple(segments))),
                              width=170, placeholder="any" if segments else "no segment column")
    tier = row.multiselect("Tier", TIERS, key=kept("f_tier", us.Many("tier", (), TIERS)), width=240, placeholder="any")
    dim_options = list(c.rs.dimensions)
    tier_dim = row.selectbox("Tier of", dim_options, width=130, help="which dimension's tier to filter on",
                             key=kept("f_dimension", us.One("tier_of", c.dimension, tuple(dim_options))))
    renewal = row.number_input("Renews within (days)", min_value=0, value=None, step=30, width=160,
                               key=kept("f_renewal", us.Whole("renews", None, 0, 100_000)),
                               placeholder="any", help="renewal date within this many days of the as-of date")
    quadrant = row.multiselect("Quadrant", QUADRANTS, key=kept("f_quadrant", us.Many("quadrant", (), QUADRANTS)),
                               width=230, placeholder="any")
    search = row.text_input("Search name or id", key=kept("f_search", us.Text("q", "")), width=180)
    labels = tl.segment_labels(c.rs)
    behaviour = row.multiselect("Behaviour", tl.segment_order(c.rs), width=230, placeholder="any",
                                key=kept("f_behavior", us.Many("behaviour", (), tuple(tl.segment_order(c.rs)))),
                                format_func=lambda s: labels.get(s, s),
                                help="behavioural segment as of the as-of date (first match wins, else steady)")
    can_alert = bool(c.rs.alerts) and (c.is_activity or bool(snap_key))
    earliest = c.as_of - timedelta(days=ALERT_LOOKBACK_DAYS)
    since = row.date_input("Alerted since", value=None, min_value=earliest, max_value=c.as_of,
                           key=kept("f_alerted", us.Day("alerted", None, earliest, c.as_of)),
                           disabled=not can_alert, format="YYYY-MM-DD", width=150,
                           help="accounts with an alert (score jump, tier worse, entered a quadrant, segment "
                                f"change) on or after this day, up to {ALERT_LOOKBACK_DAYS} days back")
    parent = None if restricted else _parent_column()  # a parent's children may be in other books
    group = row.toggle("Group by parent", key=kept("f_group_parent", us.Flag("parents", False)),
                       disabled=parent is None,
                       help="roll children up to their parent account: summed ARR, ARR-weighted score, "
                            "worst tier" if parent else "not available when you see only your own book"
                            if restricted else "the data has no parent_id column")
    filters = agg.Filters(owner=tuple(owner), segment=tuple(segment), tier=tuple(tier), quadrant=tuple(quadrant),
                          dimension=None if tier_dim == c.rs.primary_dimension else tier_dim,
                          renewal_within_days=int(renewal) if renewal is not None else None,
                          search=search or None, as_of=c.as_of, alerted_since=since if can_alert else None)
    filters = restrict_filters(filters, access)
    if filters is None:
        st.info("There are no accounts for you to see here.")
        return
    listed = c.engine.listed(c.rs, c.as_of, tuple(behaviour))
    alerts = None
    if filters.alerted_since is not None:
        with st.spinner("Looking for alerts…"):
            alerts = c.engine.alerts_table(c.rs, filters.alerted_since, c.as_of, SNAPSHOTS)
    if group and parent:
        _parents(listed, parent)
        return
    n = agg.count_accounts(c.store, listed, filters, alerts=alerts)
    rows = agg.account_list(c.store, listed, filters, limit=MAX_ROWS, alerts=alerts)
    names = _playbook_names()
    view = pd.DataFrame({
        "account_id": rows["account_id"],
        "account": display.names(rows["account_name"], rows["account_id"]),
        "owner": rows["csm_owner"],
        "segment": rows["segment"],
        "score": rows["risk_score"],
        "tier": rows["tier"],
        "quadrant": rows["quadrant"],
        "behaviour": rows["behavior_segment"],
        "top reasons": rows["reasons"].map(lambda r: format_reasons(r, limit=3, dimension=c.dimension, only=True)),
        "playbook": rows["playbook"].map(lambda p: names.get(p, p)),
        "ARR": rows["value"],
        "renewal": rows["renewal_date"],
    })
    info = layout.controls("account_list_head")
    said = agg.describe(filters)
    if behaviour:
        said = ("" if said == "all accounts" else said + "; ") + "behaviour is " + " or ".join(behaviour)
    info.caption(f"{display.counted(n, 'account')} · {md_escape(said)}"
                 + (f" · first {MAX_ROWS:,} shown" if n > MAX_ROWS else "") + " · select a row to open the account",
                 width="stretch")
    with info:
        _download(listed, filters, n, alerts)
    event = st.dataframe(
        view, hide_index=True, key="accounts_table", on_select="rerun", selection_mode="single-row", height=560,
        placeholder=display.DASH, column_order=LIST_COLUMNS,
        column_config={
            "account": st.column_config.TextColumn("account", width=170),
            "score": st.column_config.ProgressColumn(f"{c.dimension} score", min_value=0, max_value=100,
                                                     format="%.0f", width=95),
            "tier": st.column_config.TextColumn("tier", width=60),
            "top reasons": st.column_config.TextColumn("top reasons", width=270),
            "playbook": st.column_config.TextColumn("playbook", width=165),
            "ARR": st.column_config.NumberColumn(value_name_for(c.store, c.rs).short, format="dollar", step=1,
                                                 width=90),
            "renewal": st.column_config.DateColumn("renewal", format="YYYY-MM-DD", width=95),
            "owner": st.column_config.TextColumn("owner", width=120),
            "segment": st.column_config.TextColumn("segment", width=100),
            "quadrant": st.column_config.TextColumn("quadrant", width=80),
            "behaviour": st.column_config.TextColumn("behaviour", width=110),
            "account_id": st.column_config.TextColumn("id", width=110),
        })
    rows = list(event.selection.rows) if event and event.selection else []
    if rows and rows != st.session_state.get("_list_selection"):  # a click: not the grid's selection coming
        st.session_state["_list_selection"] = rows                # back with it after the account view
        st.query_params["account"] = str(view.iloc[rows[0]]["account_id"])
        st.rerun()
    st.session_state["_list_selection"] = rows


def _parent_column() -> str | None:
    """The parent column of the data ([data] parent_column, else parent_id) when the signals have it."""
    col = (c.rs.data.parent_column if c.rs.data is not None and c.rs.data.parent_column else "parent_id")
    return col if col in c.engine.signal_columns(c.as_of) else None


def _parents(listed: str, parent: str) -> None:
    """Parents rolled up from their children (riskcore.history.rollup) instead of the account list."""
    frame = c.engine.parents(listed, parent, c.as_of)
    st.caption(f"{len(frame):,} parent accounts (all children, the list filters do not apply) · "
               f"{md_escape(value_name_for(c.store, c.rs).short)} summed, score weighted by it, worst child tier")
    st.dataframe(frame, hide_index=True, key="parents_table", height=560, placeholder=display.DASH,
                 column_config={"parent_id": "parent id", "parent_name": "parent",
                                "risk_score": st.column_config.ProgressColumn(f"{c.dimension} score", min_value=0,
                                                                              max_value=100, format="%.0f"),
                                "value": st.column_config.NumberColumn(value_name_for(c.store, c.rs).short,
                                                                       format="dollar", step=1)})


def _download(listed: str, filters: agg.Filters, n: int, alerts: str | None) -> None:
    """CSV of the filtered list (formula-injection safe), built only when the button is clicked."""
    from riskcore.export import export_frame, to_csv_bytes
    store, rs, limit = c.store, c.rs, max(min(n, MAX_EXPORT), 1)

    def build() -> bytes:
        rows = agg.account_list(store, listed, filters, limit=limit, alerts=alerts)
        return to_csv_bytes(export_frame(rows.drop(columns=["behavior_segment"]), rs))

    st.download_button(f"Download CSV ({min(n, MAX_EXPORT):,} rows)", build, file_name=f"accounts-{c.as_of}.csv",
                       mime="text/csv", key="download_csv", on_click="ignore", icon=":material/download:")


account_id = st.query_params.get("account")
if account_id:
    account_view(str(account_id))
else:
    account_list()
