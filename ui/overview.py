"""Overview (leadership): KPIs, the risk x value quadrant matrix, tiers by segment; below, in tabs,
the new alerts and the behavioural segments with their movement since the previous period."""

from __future__ import annotations

import hashlib
import html
from dataclasses import replace
from datetime import date, timedelta

import plotly.graph_objects as go
import streamlit as st

from ui import applies
from ui import layout
from ui import state
from ui.access import restrict_filters
from ui.session import (QUADRANTS, TIER_COLORS, TIERS, ctx, money, plot_text, scored_table, setting,
                        shared_catalog)
from riskcore import aggregates as agg
from riskcore import display
from riskcore.periods import previous_period
from riskcore.rules.model import QUADRANT_CORNERS
from riskcore import timeline as tl
from riskcore.display import md_escape
from riskcore.inbox import AlertMarks, MarksError, combine_alerts, entry_text, marks_folder, status_counts
from riskcore.valueaxis import value_name_for, value_phrase
from riskcore.versions import rules_home
from riskcore.workspace import dataset_id

MAX_POINTS = setting("RISKCORE_MAX_POINTS")  # above: a density grid
SNAPSHOTS = setting("RISKCORE_SNAPSHOTS")  # a snapshot store: history from it
LIVE_HISTORY_MAX = setting("RISKCORE_LIVE_HISTORY_MAX")  # accounts: above, history from snapshots only
SNOOZE_DAYS = 7
INBOX_PAGE = 10  # entries listed at a time
INBOX_VIEWS = ("new", "acknowledged", "snoozed", "all")


c = ctx()
applies.rules_apply_banner(c)  # most rules cannot run on this data: say so, offer starter rules
st.title("Overview")
base = restrict_filters(agg.Filters())
if base is None:
    st.info("There are no accounts for you to see here.")
    st.stop()
table = scored_table(c)
k = agg.kpis(c.store, table, filters=base)
prev_date = previous_period(c.as_of)
prev = None
if c.is_activity:
    try:
        prev = agg.kpis(c.store, scored_table(c, as_of=prev_date), filters=base)
    except Exception:  # noqa: BLE001 - no data a month back: KPIs without a change
        prev = None
HAS_VALUES = agg.has_values(c.store, table)
VN = value_name_for(c.store, c.rs, HAS_VALUES)  # "ARR" only for the mapped annual ARR, else the column and unit
VALUE_WORDS = value_phrase(c.rs.quadrant, has_values=HAS_VALUES, source=VN.column)
st.caption(f"As of {c.as_of:%Y-%m-%d} · rule set {c.rs_label} · risk dimension: {c.dimension}"
           + (f" · changes since {prev_date:%Y-%m-%d}" if prev else "") + f" · value: {md_escape(VALUE_WORDS)}")


def _delta(now: float, before: float | None, fmt) -> str | None:
    if before is None:
        return None
    d = now - before
    return ("+" if d >= 0 else "-") + fmt(abs(d))


cols = layout.tiles("kpis", 5)  # 5 in a row at 1440 px, wrapped (never "$14...") at 800 px
cols[0].metric("Accounts", f"{k['accounts']:,}",
               _delta(k["accounts"], prev and prev["accounts"], lambda x: f"{x:,.0f}"), delta_color="off")
cols[1].metric(f"Total {VN.short}", money(k["arr"]) if HAS_VALUES else "none", _delta(k["arr"], prev and prev["arr"], money), delta_color="off",
               help=md_escape(f"value: {VALUE_WORDS}"))
for col, tier in zip(cols[2:], reversed(TIERS)):
    n_tier = k["accounts_by_tier"][tier]
    if HAS_VALUES:
        now = k["arr_at_risk"][tier]
        col.metric(f"{VN.short} in {tier} tier", money(now), _delta(now, prev and prev["arr_at_risk"][tier], money),
                   delta_color="inverse" if tier != "low" else "normal",
                   help=f"{n_tier:,} accounts in the {tier} {c.dimension} tier")
    else:  # no value axis: the tiers' sizes, not a column of "none"
        col.metric(f"Accounts in {tier} tier", f"{n_tier:,}", help=f"accounts in the {tier} {c.dimension} tier "
                   "(no value column: map one on the Data page to see value at risk)")

# ---- the quadrant matrix --------------------------------------------------------------------

qp = agg.quadrant_points(c.store, table, max_points=MAX_POINTS, value_scale="log", filters=base)
counts = qp.counts.set_index("quadrant")
# the median cut-off is another account's value (odd count): not drawn for a user who sees only a book
value_cut = None if base.owner and c.rs.quadrant.value_cutoff == "median" else \
    agg.value_cutoff(c.store, table, c.rs)
RISK = agg.risk_line(c.store, table, c.rs)  # the high tier's cut-off by default: Save + Triage = high tier
left, right = layout.panes("overview", [3, 2])


def _quadrant_figure() -> go.Figure:
    fig = go.Figure()
    if qp.mode == "points":
        pts = qp.points
        for tier in TIERS:
            part = pts[pts["tier"] == tier]
            fig.add_trace(go.Scattergl(
                x=part["value"], y=part["risk_score"], mode="markers", name=f"{tier} tier",
                marker=dict(color=TIER_COLORS[tier], size=6, opacity=0.75, line=dict(width=0)),
                customdata=part[["account_id", "account_name", "csm_owner", "quadrant"]]
                .map(lambda v: plot_text(display.text(v))).to_numpy(),
                hovertemplate=("%{customdata[1]} (%{customdata[0]})<br>owner %{customdata[2]}<br>"
                               "score %{y:.0f} · " + plot_text(VN.short) + " $%{x:,.0f}<br>%{customdata[3]}"
                               "<extra></extra>")))
    else:  # too many points to draw: a 2-D histogram of counts; the quadrant labels stay exact
        g = qp.grid.assign(x=(qp.grid["x0"].clip(lower=1) * qp.grid["x1"].clip(lower=1)).pow(0.5),
                           y=(qp.grid["y0"] + qp.grid["y1"]) / 2)
        z = g.pivot_table(index="y", columns="x", values="accounts", aggfunc="sum")
        arr = g.pivot_table(index="y", columns="x", values="value", aggfunc="sum").reindex_like(z)
        fig.add_trace(go.Heatmap(
            x=z.columns, y=z.index, z=z.to_numpy(), customdata=arr.to_numpy(), colorscale="Blues",
            colorbar=dict(title="accounts"), hoverongaps=False, name="accounts",
            hovertemplate="%{z:,} accounts · " + plot_text(VN.short) + " $%{customdata:,.0f}<extra></extra>"))
        fig.add_annotation(x=0.5, y=1.0, xref="paper", yref="paper", yanchor="bottom", showarrow=False,
                           text=f"density of {qp.total:,} accounts", font=dict(size=11, color="#555"))
    if RISK.y is not None:
        fig.add_hline(y=RISK.y, line=dict(color="#444", dash="dash"), annotation_text=plot_text(RISK.label),
                      annotation_position="bottom left", annotation_font=dict(size=10, color="#555"))
    if value_cut is not None:
        fig.add_vline(x=value_cut, line=dict(color="#444", dash="dash"))
    for q, (high_value, high_risk) in QUADRANT_CORNERS.items():
        fig.add_annotation(x=0.99 if high_value else 0.01, y=0.99 if high_risk else 0.01, xref="paper", yref="paper",
                           xanchor="right" if high_value else "left", yanchor="top" if high_risk else "bottom",
                           showarrow=False,
                           text=f"<b>{q}</b>: {int(counts.loc[q, 'accounts']):,} · {money(counts.loc[q, 'value'])}",
                           bgcolor="rgba(255,255,255,0.85)", font=dict(size=12))
    fig.update_layout(
        title=dict(text=f"Risk x value ({qp.total:,} accounts)", x=0, font=dict(size=16)),
        xaxis=dict(title=plot_text(VN.axis), type="log", tickprefix="$", separatethousands=True),
        yaxis=dict(title=f"{c.dimension} risk score (0-100)", range=[-3, 103]),
        height=430, margin=dict(l=10, r=10, t=40, b=10), dragmode="select",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1))
    return fig


with left:
    event = st.plotly_chart(_quadrant_figure(), key="quadrant_chart", on_select="rerun",
                            selection_mode=("points", "box", "lasso"))
    for note in qp.notes:
        st.caption(note)
    if RISK.tied_to_tier and c.rs.fusion.enabled:
        st.caption(f"Save and Triage are the {c.dimension} high tier; an account at or above the line whose fired "
                   f"rules span fewer than {c.rs.fusion.min_groups} evidence groups stays medium (fusion), in Expand "
                   "or Maintain.")
    elif not RISK.tied_to_tier:
        st.caption(f"The risk line is the rule set's own cut-off ({RISK.label}): Save + Triage can differ from the "
                   "high tier (set [quadrant] risk_cutoff = \"high_tier\" to tie them).")

with right:
    by_seg = agg.tiers_by_segment(c.store, table, filters=base)
    seg = go.Figure()
    for tier in TIERS:
        part = by_seg[by_seg["tier"] == tier]
        seg.add_trace(go.Bar(y=part["segment"].map(plot_text), x=part["accounts"], orientation="h", name=tier,
                             marker_color=TIER_COLORS[tier], customdata=part[["value"]].to_numpy(),
                             hovertemplate="%{y}: %{x:,} accounts · " + plot_text(VN.short)
                                           + " $%{customdata[0]:,.0f}<extra>"
                                           + tier + "</extra>"))
    seg.update_layout(barmode="stack", height=250, margin=dict(l=10, r=10, t=40, b=10),
                      title=dict(text=f"{c.dimension.capitalize()} tier by segment", x=0, font=dict(size=16)),
                      xaxis=dict(title="accounts", separatethousands=True), yaxis_title=None,
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1))
    st.plotly_chart(seg, key="segment_chart")
    picked = st.segmented_control("List a quadrant", QUADRANTS, key="quadrant_pick",
                                  help="Or select points on the chart (box or lasso).")

# ---- the selected accounts -------------------------------------------------------------------

selected_ids: list[str] = []
if event and event.selection and event.selection.points:
    selected_ids = [html.unescape(str(p["customdata"][0])) for p in event.selection.points
                    if isinstance(p.get("customdata"), (list, tuple)) and p["customdata"]]
if selected_ids:
    rows = agg.account_list(c.store, table, base, limit=max(qp.total, 1))
    rows = rows[rows["account_id"].isin(selected_ids)]
    heading = f"{len(rows):,} selected accounts"
elif picked:
    f = replace(base, quadrant=(picked,))
    rows = agg.account_list(c.store, table, f, limit=500)
    n = agg.count_accounts(c.store, table, f)
    heading = f"{picked}: {n:,} accounts" + (" (500 riskiest shown)" if n > 500 else "")
else:
    rows = None
    heading = None
if rows is not None:
    names = {p.id: p.name for p in shared_catalog().playbooks}
    rows = rows.assign(playbook=rows["playbook"].map(lambda p: names.get(p, p)))
    st.subheader(heading, anchor=False)
    st.dataframe(
        rows[["account_id", "account_name", "csm_owner", "segment", "risk_score", "tier", "quadrant", "value",
              "playbook"]],
        hide_index=True, key="quadrant_accounts", placeholder=display.DASH,
        column_config={
            "account_id": "id", "account_name": "account", "csm_owner": "owner",
            "risk_score": st.column_config.ProgressColumn("score", min_value=0, max_value=100, format="%.0f"),
            "value": st.column_config.NumberColumn(VN.short, format="dollar", step=1),
        })


# ---- since the previous period: new alerts, behavioural segments ---------------------------------

def _allowed_ids() -> set[str] | None:
    """The account ids this user may see when restricted to a book (None: no restriction)."""
    if not base.owner:
        return None
    n = agg.count_accounts(c.store, table, base)
    return set(agg.account_list(c.store, table, base, limit=max(n, 1))["account_id"].astype(str))


snap_key = tl.snapshots_version(SNAPSHOTS)
allowed = _allowed_ids()
# Re-scoring the whole book at several dates is fine for thousands of accounts, not for a million:
# beyond LIVE_HISTORY_MAX the history panels read the weekly snapshots only.
too_big = not snap_key and agg.count_accounts(c.store, table) > LIVE_HISTORY_MAX
if too_big:
    found, now_segs, before_segs = [], None, None
else:
    with st.spinner("Looking for alerts…"):
        found = c.engine.alerts(c.rs, prev_date, c.as_of, SNAPSHOTS)
    with st.spinner("Comparing behavioural segments…"):
        now_segs, before_segs = c.engine.segments(c.rs, c.as_of, prev_date, SNAPSHOTS)
if allowed is not None:
    found = [a for a in found if a["account_id"] in allowed]
if allowed is not None:
    now_segs = now_segs[now_segs["account_id"].isin(allowed)] if now_segs is not None else None
    before_segs = before_segs[before_segs["account_id"].isin(allowed)] if before_segs is not None else None
source = "snapshots" if snap_key else "weekly re-scoring of the activity tables"
# The inbox: one entry per account for the period (riskcore.inbox), marked per signed-in user; the tab
# counts only the entries that are new (not acknowledged, not snoozed).
marks = AlertMarks(marks_folder(rules_home(), dataset_id(c.data_key)), state.owner())
TODAY = date.today()  # snoozes run in real days, whatever the as-of date
try:
    entries, marks_problem = marks.with_status(combine_alerts(found), TODAY), None
except MarksError as e:
    entries, marks_problem = [dict(x, status="new") for x in combine_alerts(found)], str(e)
counts = status_counts(entries)
tab_alerts, tab_segments = st.tabs([f"New alerts ({counts['new']:,})", "Behavioural segments"], key="history_tabs")


def _mark(action: str, account_id: str, through: str | None = None) -> None:
    """A button's callback (runs before the rerun, so the tab's count is current when it is drawn)."""
    if action == "acknowledge":
        marks.acknowledge(account_id, through=date.fromisoformat(through))
    elif action == "snooze":
        marks.snooze(account_id, until=TODAY + timedelta(days=SNOOZE_DAYS))
    else:
        marks.clear(account_id)


def _inbox(names: dict[str, str]) -> None:
    """The entries of the chosen status, newest first, each with Open, Acknowledge and Snooze (or Undo)."""
    if marks_problem:
        st.warning(md_escape(f"Your acknowledged and snoozed alerts cannot be read ({marks_problem}); every alert "
                             "shows as new and marking is off until the file is fixed or removed."))
    view = st.segmented_control("Show", INBOX_VIEWS, default="new", key="inbox_view", required=True,
                                format_func=lambda v: f"{v} ({counts[v]:,})" if v in counts else v) or "new"
    chosen = [e for e in entries if view == "all" or e["status"] == view]
    limit = st.session_state.get("inbox_limit", INBOX_PAGE)
    labels = {a.id: a.label or a.id.replace("_", " ") for a in c.rs.alerts}
    if not chosen:
        st.caption(f"No {view} alerts." if view != "all" else "No alerts.")
    for e in chosen[:limit]:
        k = hashlib.sha256(f"{e['account_id']}|{e['period_start']}".encode("utf-8")).hexdigest()[:12]
        acc = str(e["account_id"])
        row = st.container(horizontal=True, vertical_alignment="center", gap="small", key=f"inbox-{k}")
        row.markdown(f"**{e['date']}** · {md_escape(names.get(acc, acc))} · "
                     f"{md_escape(entry_text(e, labels))}" + ("" if e["status"] == "new" else f" · *{e['status']}*"),
                     width="stretch")
        acts = row.container(horizontal=True, gap="small", width="content")  # the buttons wrap together
        if acts.button("Open", key=f"open-{k}", width="content"):
            st.switch_page("ui/accounts.py", query_params={"account": acc})
        if e["status"] == "new":
            acts.button("Acknowledge", key=f"ack-{k}", width="content", disabled=bool(marks_problem),
                       on_click=_mark, args=("acknowledge", acc, e["date"]),
                       help="read: this alert and older ones of the account leave the count; a later one is new")
            acts.button(f"Snooze {SNOOZE_DAYS} days", key=f"snooze-{k}", width="content",
                       disabled=bool(marks_problem), on_click=_mark, args=("snooze", acc),
                       help=f"hidden until {TODAY + timedelta(days=SNOOZE_DAYS):%Y-%m-%d}")
        else:
            acts.button("Undo", key=f"undo-{k}", width="content", disabled=bool(marks_problem), on_click=_mark,
                       args=("clear", acc), help="new again")
    if len(chosen) > limit:
        if st.button(f"Show {min(INBOX_PAGE, len(chosen) - limit):,} more of {len(chosen) - limit:,}",
                     key="inbox_more"):
            st.session_state["inbox_limit"] = limit + INBOX_PAGE
            st.rerun()

with tab_alerts:
    if too_big:
        st.info(f"More than {LIVE_HISTORY_MAX:,} accounts: alerts and segment movement come from the weekly "
                "snapshots (`python -m riskcore snapshot`, then set RISKCORE_SNAPSHOTS to the store).")
    elif not c.rs.alerts:
        st.info("The rule set declares no [[alerts]].")
    elif not snap_key and not c.is_activity:
        st.info("An account table has no dates: alerts need a snapshot store (RISKCORE_SNAPSHOTS, "
                "built with `python -m riskcore snapshot`).")
    else:
        n_rs = sum(a.get("cause") == "rule_set" for a in found)
        st.caption(f"{len(found):,} alerts for {display.counted(len(entries), 'account')} from {prev_date:%Y-%m-%d} "
                   f"to {c.as_of:%Y-%m-%d} ({source}), one entry per account, newest first · {counts['new']:,} new, "
                   f"{counts['acknowledged']:,} acknowledged, {counts['snoozed']:,} snoozed"
                   + (f" · {n_rs:,} caused only by a rule-set change, labelled as such" if n_rs else ""))
        account_names = c.engine.account_names(table, [a["account_id"] for a in found])
        frame = tl.alerts_frame(found, c.rs, account_names)
        kinds = frame.groupby("alert").size().sort_values(ascending=False)
        st.markdown(" · ".join(f"**{n:,}** {md_escape(a)}" for a, n in kinds.items()))
        _inbox(account_names)
        st.markdown("**Every alert in the period** · select a row to open the account")
        if rows is not None:  # one account list at a time: the quadrant's list above takes precedence
            st.caption("Clear the quadrant or point selection above to list the alerts.")
        ev = None if rows is not None else st.dataframe(
            frame, hide_index=True, key="alerts_table", on_select="rerun", selection_mode="single-row", height=320,
            placeholder=display.DASH,
            column_config={"date": st.column_config.DateColumn("date", format="YYYY-MM-DD"),
                           "account_id": "id", "change": "from → to",
                           "cause": st.column_config.TextColumn("cause", help="'rule-set change': the move comes "
                                                                "from editing the rules, not from the customer")})
        if ev and ev.selection and ev.selection.rows:
            st.switch_page("ui/accounts.py",
                           query_params={"account": str(frame.iloc[ev.selection.rows[0]]["account_id"])})

with tab_segments:
    if now_segs is None or now_segs.empty:
        st.info("No behavioural segments at this date.")
    else:
        sizes = tl.segment_sizes(now_segs, c.rs)
        left2, right2 = layout.panes("segments", [3, 2])
        with left2:
            bar = go.Figure(go.Bar(
                y=sizes["label"].map(plot_text), x=sizes["accounts"], orientation="h", marker_color="#4477aa",
                customdata=sizes[["value", "share"]].to_numpy(),
                text=[f"{n:,} · {money(v)}" for n, v in zip(sizes["accounts"], sizes["value"])],
                textposition="auto",
                hovertemplate="%{y}: %{x:,} accounts (%{customdata[1]:.0%}) · " + plot_text(VN.short)
                              + " $%{customdata[0]:,.0f}"
                              "<extra></extra>"))
            bar.update_layout(title=dict(text=f"Behavioural segments as of {c.as_of:%Y-%m-%d}", x=0,
                                         font=dict(size=16)),
                              xaxis=dict(title="accounts", separatethousands=True),
                              yaxis=dict(autorange="reversed"), height=260,
                              margin=dict(l=10, r=10, t=40, b=10))
            st.plotly_chart(bar, key="behavior_segment_chart")
            st.table(sizes[["segment", "label", "accounts", "value", "share"]].assign(  # st.table renders Markdown
                segment=sizes["segment"].map(md_escape), label=sizes["label"].map(md_escape),
                accounts=sizes["accounts"].map(display.count), value=sizes["value"].map(money),
                share=sizes["share"].map(lambda x: f"{x:.1%}"))
                .rename(columns={"value": VN.short}).set_index("segment"))
        with right2:
            st.markdown(f"**Movement between segments since {prev_date:%Y-%m-%d}**")
            if before_segs is None or before_segs.empty:
                st.info("No earlier period to compare with (an account table without snapshots has one date).")
            else:
                m = tl.segment_movement(before_segs, now_segs, c.rs)
                st.caption(f"{tl.moved(m):,} accounts changed segment · rows: segment on {prev_date:%Y-%m-%d}, "
                           f"columns: segment on {c.as_of:%Y-%m-%d}"
                           + (" (snapshots)" if snap_key else " (signals as of each date)"))
                st.table(m.map(display.count).rename(index=md_escape, columns=md_escape)
                         .rename_axis(index="was ↓ / now →", columns=None))
