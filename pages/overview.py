"""Overview (leadership): KPIs, the risk x value quadrant matrix, tiers by segment."""

from __future__ import annotations

import os

import plotly.graph_objects as go
import streamlit as st

from pages._common import QUADRANTS, TIER_COLORS, TIERS, ctx, money, scored_table, shared_catalog
from riskcore import aggregates as agg
from riskcore import appstate

MAX_POINTS = int(os.environ.get("RISKCORE_MAX_POINTS") or 20000)  # above: a density grid

c = ctx()
st.title("Overview")
table = scored_table(c)
k = agg.kpis(c.store, table)
prev_date = appstate.previous_period(c.as_of)
prev = None
if c.is_activity:
    try:
        prev = agg.kpis(c.store, scored_table(c, as_of=prev_date))
    except Exception:  # noqa: BLE001 - no data a month back: KPIs without a change
        prev = None
st.caption(f"As of {c.as_of:%Y-%m-%d} · rule set {c.rs_label} · risk dimension: {c.dimension}"
           + (f" · changes since {prev_date:%Y-%m-%d}" if prev else ""))


def _delta(now: float, before: float | None, fmt) -> str | None:
    if before is None:
        return None
    d = now - before
    return ("+" if d >= 0 else "-") + fmt(abs(d))


cols = st.columns(5)
cols[0].metric("Accounts", f"{k['accounts']:,}",
               _delta(k["accounts"], prev and prev["accounts"], lambda x: f"{x:,.0f}"), delta_color="off")
cols[1].metric("Total ARR", money(k["arr"]), _delta(k["arr"], prev and prev["arr"], money), delta_color="off")
for col, tier in zip(cols[2:], reversed(TIERS)):
    now = k["arr_at_risk"][tier]
    col.metric(f"ARR in {tier} tier", money(now),
               _delta(now, prev and prev["arr_at_risk"][tier], money),
               delta_color="inverse" if tier != "low" else "normal",
               help=f"{k['accounts_by_tier'][tier]:,} accounts in the {tier} {c.dimension} tier")

# ---- the quadrant matrix --------------------------------------------------------------------

qp = agg.quadrant_points(c.store, table, max_points=MAX_POINTS, value_scale="log")
counts = qp.counts.set_index("quadrant")
value_cut = appstate.value_cutoff(c.store, table, c.rs)
risk_cut = float(c.rs.quadrant.risk_cutoff)
left, right = st.columns([3, 2], gap="medium")


def _quadrant_figure() -> go.Figure:
    fig = go.Figure()
    if qp.mode == "points":
        pts = qp.points
        for tier in TIERS:
            part = pts[pts["tier"] == tier]
            fig.add_trace(go.Scattergl(
                x=part["value"], y=part["risk_score"], mode="markers", name=f"{tier} tier",
                marker=dict(color=TIER_COLORS[tier], size=6, opacity=0.75, line=dict(width=0)),
                customdata=part[["account_id", "account_name", "csm_owner", "quadrant"]].astype(str).to_numpy(),
                hovertemplate=("%{customdata[1]} (%{customdata[0]})<br>owner %{customdata[2]}<br>"
                               "score %{y:.0f} · ARR $%{x:,.0f}<br>%{customdata[3]}<extra></extra>")))
    else:  # too many points to draw: a 2-D histogram of counts; the quadrant labels stay exact
        g = qp.grid.assign(x=(qp.grid["x0"].clip(lower=1) * qp.grid["x1"].clip(lower=1)).pow(0.5),
                           y=(qp.grid["y0"] + qp.grid["y1"]) / 2)
        z = g.pivot_table(index="y", columns="x", values="accounts", aggfunc="sum")
        arr = g.pivot_table(index="y", columns="x", values="value", aggfunc="sum").reindex_like(z)
        fig.add_trace(go.Heatmap(
            x=z.columns, y=z.index, z=z.to_numpy(), customdata=arr.to_numpy(), colorscale="Blues",
            colorbar=dict(title="accounts"), hoverongaps=False, name="accounts",
            hovertemplate="%{z:,} accounts · ARR $%{customdata:,.0f}<extra></extra>"))
        fig.add_annotation(x=0.5, y=1.0, xref="paper", yref="paper", yanchor="bottom", showarrow=False,
                           text=f"density of {qp.total:,} accounts", font=dict(size=11, color="#555"))
    fig.add_hline(y=risk_cut, line=dict(color="#444", dash="dash"))
    if value_cut is not None:
        fig.add_vline(x=value_cut, line=dict(color="#444", dash="dash"))
    corners = {"Save": (0.99, 0.99, "right", "top"), "Expand": (0.99, 0.01, "right", "bottom"),
               "Triage": (0.01, 0.99, "left", "top"), "Maintain": (0.01, 0.01, "left", "bottom")}
    for q, (x, y, xa, ya) in corners.items():
        fig.add_annotation(x=x, y=y, xref="paper", yref="paper", xanchor=xa, yanchor=ya, showarrow=False,
                           text=f"<b>{q}</b>: {int(counts.loc[q, 'accounts']):,} · {money(counts.loc[q, 'value'])}",
                           bgcolor="rgba(255,255,255,0.85)", font=dict(size=12))
    fig.update_layout(
        title=dict(text=f"Risk x value ({qp.total:,} accounts)", x=0, font=dict(size=16)),
        xaxis=dict(title="ARR ($, log scale)", type="log", tickprefix="$"),
        yaxis=dict(title=f"{c.dimension} risk score (0-100)", range=[-3, 103]),
        height=430, margin=dict(l=10, r=10, t=40, b=10), dragmode="select",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1))
    return fig


with left:
    event = st.plotly_chart(_quadrant_figure(), key="quadrant_chart", on_select="rerun",
                            selection_mode=("points", "box", "lasso"))
    for note in qp.notes:
        st.caption(note)

with right:
    by_seg = agg.tiers_by_segment(c.store, table)
    seg = go.Figure()
    for tier in TIERS:
        part = by_seg[by_seg["tier"] == tier]
        seg.add_trace(go.Bar(y=part["segment"], x=part["accounts"], orientation="h", name=tier,
                             marker_color=TIER_COLORS[tier], customdata=part[["value"]].to_numpy(),
                             hovertemplate="%{y}: %{x:,} accounts · ARR $%{customdata[0]:,.0f}<extra>"
                                           + tier + "</extra>"))
    seg.update_layout(barmode="stack", height=250, margin=dict(l=10, r=10, t=40, b=10),
                      title=dict(text=f"{c.dimension.capitalize()} tier by segment", x=0, font=dict(size=16)),
                      xaxis_title="accounts", yaxis_title=None,
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1))
    st.plotly_chart(seg, key="segment_chart")
    picked = st.segmented_control("List a quadrant", QUADRANTS, key="quadrant_pick",
                                  help="Or select points on the chart (box or lasso).")

# ---- the selected accounts -------------------------------------------------------------------

selected_ids: list[str] = []
if event and event.selection and event.selection.points:
    selected_ids = [str(p["customdata"][0]) for p in event.selection.points
                    if isinstance(p.get("customdata"), (list, tuple)) and p["customdata"]]
if selected_ids:
    rows = agg.account_list(c.store, table, limit=max(qp.total, 1))
    rows = rows[rows["account_id"].isin(selected_ids)]
    heading = f"{len(rows):,} selected accounts"
elif picked:
    f = agg.Filters(quadrant=(picked,))
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
        hide_index=True, key="quadrant_accounts",
        column_config={
            "account_id": "id", "account_name": "account", "csm_owner": "owner",
            "risk_score": st.column_config.ProgressColumn("score", min_value=0, max_value=100, format="%.0f"),
            "value": st.column_config.NumberColumn("ARR", format="dollar"),
        })
