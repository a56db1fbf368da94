"""Calibration: does the score predict real churn? Activity tables: an out-of-time backtest at a
chosen date and horizon. An account table (no dates): every account, cross-validated, no horizon.
Below the charts: each alert's precision and volume, and the scorecard frontier (fitted on request)
with any of its points loadable as the draft."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui import applies
from ui import layout
from ui.access import require_page
from ui.session import TIER_COLORS, backtest, ctx, set_draft, setting
from riskcore import display
from riskcore.alertstats import alert_table
from riskcore.display import md_escape
from riskcore.aggregates import NO_SEGMENT
from riskcore.report import user_message
from riskcore.scorecard.figures import frontier_headline, frontier_table, measured_how
from riskcore.versions import DRAFT

HORIZONS = (30, 60, 90, 180)

c = ctx()
require_page("calibration")
applies.rules_apply_banner(c)  # most rules cannot run on this data: say so, offer starter rules
st.title("Calibration")

pick = layout.panes("calibration_pick", [1, 1, 2], small=True)
horizon, as_of = 90, None
if c.is_activity:  # an account table has no dates: no horizon, no as-of date
    horizon = int(pick[0].segmented_control("Horizon (days)", HORIZONS, default=90, key="cal_horizon",
                                            required=True) or 90)
    first, last = c.engine.active_range()
    latest = last - timedelta(days=horizon)
    earliest = first + timedelta(days=2 * horizon + 1)
    if latest <= earliest:
        st.warning(f"Not enough history for a {horizon}-day backtest (data {first} to {last}).")
        st.stop()
    chosen = st.session_state.get("cal_as_of")
    if chosen is None or not earliest <= chosen <= latest:
        st.session_state["cal_as_of"] = latest
    as_of = pick[1].date_input("Backtest as of", min_value=earliest, max_value=latest, key="cal_as_of",
                               help="Scores use data up to this day; churn is counted in the horizon after it. "
                                    "The probability mapping and baselines are fitted one horizon earlier.")

try:
    r = backtest(c, c.rs, horizon=horizon, as_of=as_of)
except ValueError as e:
    st.warning(md_escape(f"No backtest for this data: {user_message(e)}"))
    st.stop()

cross = r["mode"] == "cross_validated"
if cross:
    from riskcore.backtest import cv_label
    how = cv_label(r["folds"]) if r.get("folds") else "not cross-validated"
    pick[0].markdown(f"**{how.capitalize()}**")
pick[2].caption(md_escape(r["note"]))
for w in r.get("warnings") or []:
    st.warning(md_escape(w))


def _num(x, fmt="{:.3f}") -> str:
    return "n/a" if x is None else fmt.format(x)


m = layout.tiles("calibration_metrics", 6)
m[0].metric("Accounts scored", f"{r['n']:,}")
m[1].metric("Churn rate", _num(r["churn_rate"], "{:.1%}"),
            help="share of accounts whose outcome is churned" if cross else f"churned within {horizon} days")
m[2].metric("AUC", _num(r["auc"]), help="probability that a churner scores above a non-churner (0.5 = chance)")
m[3].metric("Brier score", _num(r.get("brier")), help="mean squared error of the fitted probability (lower is better)")
m[4].metric("Log loss", _num(r.get("log_loss")))
m[5].metric("Lift, top decile", _num((r.get("lift_top_decile") or {}).get("lift")
                                     if isinstance(r.get("lift_top_decile"), dict) else r.get("lift_top_decile"),
                                     "{:.2f}x"))

LAYOUT = dict(height=265, margin=dict(l=10, r=10, t=40, b=10),
              legend=dict(yanchor="bottom", y=0.02, xanchor="right", x=0.98, bgcolor="rgba(255,255,255,0.8)"))
row1 = layout.panes("calibration_charts", [1, 1, 1])
with row1[0]:
    fig = go.Figure()
    cal = pd.DataFrame(r.get("calibration") or [])
    if not cal.empty:
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line=dict(color="#999", dash="dot")))
        fig.add_trace(go.Scatter(
            x=cal["predicted"], y=cal["observed"], mode="markers+lines", name="observed",
            marker=dict(size=(cal["n"] / cal["n"].max() * 14 + 5), color="#2b6cb0"),
            error_y=dict(type="data", symmetric=False, array=cal["ci_high"] - cal["observed"],
                         arrayminus=cal["observed"] - cal["ci_low"]),
            customdata=cal[["n"]].to_numpy(),
            hovertemplate="predicted %{x:.1%}<br>observed %{y:.1%}<br>%{customdata[0]:,} accounts<extra></extra>"))
    top = float(max(cal["ci_high"].max(), cal["predicted"].max())) if not cal.empty else 1.0
    fig.update_layout(title=dict(text="Reliability: predicted vs observed churn", x=0, font=dict(size=15)),
                      xaxis=dict(title="predicted probability", tickformat=".0%", range=[0, min(1, top * 1.1)]),
                      yaxis=dict(title="observed churn rate (95% CI)", tickformat=".0%", range=[0, min(1, top * 1.1)]),
                      **LAYOUT)
    st.plotly_chart(fig, key="reliability_chart")
with row1[1]:
    tiers = pd.DataFrame(r["tiers"])
    fig = go.Figure(go.Bar(
        x=[f"{t}<br>{n:,} accounts" for t, n in zip(tiers["tier"], tiers["n"])], y=tiers["rate"],
        marker_color=[TIER_COLORS[t] for t in tiers["tier"]],
        error_y=dict(type="data", symmetric=False, array=tiers["ci_high"] - tiers["rate"],
                     arrayminus=tiers["rate"] - tiers["ci_low"]),
        hovertemplate="%{x}: %{y:.1%} churned<extra></extra>"))
    fig.update_layout(title=dict(text="Churn rate per tier", x=0, font=dict(size=15)),
                      xaxis_title="tier", yaxis=dict(title="churn rate (95% CI)", tickformat=".0%"), **LAYOUT)
    st.plotly_chart(fig, key="tier_rate_chart")
with row1[2]:
    bins = pd.DataFrame(r["score_bins"])
    fig = go.Figure(go.Bar(
        x=[f"{lo:.0f}-{hi:.0f}" for lo, hi in zip(bins["lo"], bins["hi"])], y=bins["rate"], marker_color="#2b6cb0",
        customdata=bins[["n"]].to_numpy(),
        hovertemplate="score %{x}: %{y:.1%} churned of %{customdata[0]:,}<extra></extra>"))
    fig.update_layout(title=dict(text="Churn rate per score bin", x=0, font=dict(size=15)),
                      xaxis_title="score", yaxis=dict(title="churn rate", tickformat=".0%"), **LAYOUT)
    st.plotly_chart(fig, key="bin_rate_chart")


def alert_section() -> None:
    """Of the accounts each alert raised in the weeks up to the backtest's date, how many churned
    within the horizon, against the base rate (riskcore.alertstats through the engine)."""
    st.subheader("Alert precision")
    if not c.is_activity:
        st.caption("Alerts compare an account's weekly scores: an account table has one date, so none is measured.")
        return
    if not c.rs.alerts:
        st.caption("This rule set declares no alert (`[[alerts]]` in its TOML).")
        return
    alerts_as_of = date.fromisoformat(r["as_of"])
    big = r["n"] > setting("RISKCORE_LIVE_HISTORY_MAX")  # re-scoring the weeks takes minutes: on request
    if big and not c.engine.alert_report_ready(c.rs, alerts_as_of, horizon):
        st.caption(f"{r['n']:,} accounts: measuring the alerts re-scores every account at each week before the "
                   "backtest date, minutes at this size.")
        if not st.button("Measure the alerts", key="measure_alerts"):
            return
    try:
        with st.spinner("Measuring the alerts over the weeks before the backtest date…"):
            rep = c.engine.alert_report(c.rs, alerts_as_of, horizon)
    except ValueError as e:
        st.info(md_escape(f"Alerts not measured: {user_message(e)}"))
        return
    st.dataframe(pd.DataFrame(alert_table(rep.rows, c.rs)), hide_index=True, key="alert_table",
                 column_config={"fires when": st.column_config.TextColumn("fires when", width="large")})
    csm = (f"{display.counted(rep.n_csm, 'CSM owner')}" if rep.n_csm else
           "no CSM owner in the data, so no per-CSM figure")
    st.caption(md_escape(
        f"Each alert at the {len(rep.measured)} weekly dates {rep.measured[0]} to {rep.measured[-1]}: of the "
        f"accounts it raised, the share that churned within {rep.horizon_days} days, against every active "
        f"account's churn at those dates (the base rate); lift = churn rate / base rate; per CSM / week over "
        f"{csm}. An account alerted at two dates counts twice."))


with st.container(key="alert_precision"):  # the key names the section for the browser tests
    alert_section()

row2 = layout.panes("calibration_curves", [1, 1, 1])
with row2[0]:
    fig = go.Figure()
    if r.get("roc"):
        fig.add_trace(go.Scatter(x=r["roc"]["fpr"], y=r["roc"]["tpr"], mode="lines", name=f"rules (AUC {_num(r['auc'])})",
                                 line=dict(color="#2b6cb0")))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line=dict(color="#999", dash="dot")))
    fig.update_layout(title=dict(text="ROC curve", x=0, font=dict(size=15)),
                      xaxis=dict(title="false-positive rate", tickformat=".0%"),
                      yaxis=dict(title="true-positive rate", tickformat=".0%"), **LAYOUT)
    st.plotly_chart(fig, key="roc_chart")
with row2[1]:
    fig = go.Figure()
    if r.get("gain"):
        fig.add_trace(go.Scatter(x=r["gain"]["share_accounts"], y=r["gain"]["share_churned"], mode="lines",
                                 name="rules", line=dict(color="#2b6cb0")))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="random", line=dict(color="#999", dash="dot")))
    fig.update_layout(title=dict(text="Cumulative gain", x=0, font=dict(size=15)),
                      xaxis=dict(title="accounts contacted (highest score first)", tickformat=".0%"),
                      yaxis=dict(title="churners reached", tickformat=".0%"), **LAYOUT)
    st.plotly_chart(fig, key="gain_chart")
with row2[2]:
    rows = [{"model": "rules (this rule set)", "AUC": r["auc"], "Brier": r.get("brier"), "log loss": r.get("log_loss"),
             "note": ""}]
    for name, b in (r.get("baselines") or {}).items():
        rows.append({"model": name.replace("_", " "), "AUC": b.get("auc"), "Brier": b.get("brier"),
                     "log loss": b.get("log_loss"), "note": f"unavailable: {b['unavailable']}" if b.get("unavailable")
                     else ""})
    st.caption("Rules next to baselines on the same signals, " + (how if cross else "fitted out of time"))
    fmt = st.column_config.NumberColumn(format="%.3f")
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="baselines_table", placeholder=display.DASH,
                 column_config={"model": st.column_config.TextColumn("model", width=150),
                                "AUC": fmt, "Brier": fmt, "log loss": fmt,
                                "note": st.column_config.TextColumn("note", width="large")})
    dropped = next((b.get("features_dropped") for b in (r.get("baselines") or {}).values()), None)
    if dropped:
        st.caption("Left out of the baselines: " + "; ".join(
            f"{md_escape(d['column'])} ({md_escape(d['reason'])})" for d in dropped))
    by_segment = r.get("by_segment") or {}
    if set(by_segment) <= {NO_SEGMENT}:  # no segment column (or no account has one): nothing to break down
        st.caption("By segment: the data has no segment column (map one on the Data page).")
    else:
        seg = pd.DataFrame([{"segment": s, "accounts": v["n"], "churn rate": v["churn_rate"], "AUC": v["auc"],
                             "Brier": v.get("brier"), "lift": v.get("lift_top_decile")}
                            for s, v in by_segment.items()])
        st.caption("By segment")
        st.dataframe(seg, hide_index=True, key="segment_metrics", placeholder=display.DASH,
                     column_config={"AUC": fmt, "Brier": fmt,
                                    "accounts": st.column_config.NumberColumn(format="localized"),
                                    "churn rate": st.column_config.NumberColumn(format="percent"),
                                    "lift": st.column_config.NumberColumn(format="%.2fx")})
    h = r.get("high_tier") or {}
    st.caption(f"High tier as a prediction: precision {_num(h.get('precision'), '{:.0%}')}, "
               f"recall {_num(h.get('recall'), '{:.0%}')}, false-positive rate "
               f"{_num(h.get('false_positive_rate'), '{:.0%}')}")


# ---- the scorecard frontier: fitted on request (seconds), kept by the engine ------------------------

def _load_scorecard(max_rules: int, fit_as_of, fit_horizon: int) -> None:
    """The chosen frontier point's rule set becomes the draft and the pages show it (Tuning compares
    it with the published set)."""
    front = c.engine.scorecard_frontier(c.rs, fit_as_of, fit_horizon)  # cached: the table was drawn from it
    p = front.point(max_rules)
    set_draft(p.ruleset)
    st.session_state["ruleset_choice"] = DRAFT
    st.session_state["frontier_msg"] = (
        f"The draft is now the scorecard of {p.card.n_rules} rules (at most {max_rules}) and the pages show it. "
        "Tuning shows how it moves accounts against the published set; save it there as a version.")


def frontier_section() -> None:
    """Scorecards of 5 to 40 rules next to the baselines (riskcore.scorecard), 'Load as draft' per point."""
    st.subheader("Scorecard frontier")
    msg = st.session_state.pop("frontier_msg", None)
    if msg:
        st.success(md_escape(msg))
    st.caption("Scorecards proposed from the data's own signals (binned, whole points, at most 5, 10, 20 or 40 "
               "rules), measured next to your rules and the baselines on the same accounts: how accurate "
               "readable rules can be here.")
    slot = st.empty()
    clicked = False
    if not c.engine.scorecard_fitted(c.rs, as_of, horizon):
        clicked = slot.button("Fit scorecards", key="fit_scorecards", type="primary",
                              help="Fits the scorecards and the baselines on this data (seconds); kept for this "
                                   "date and horizon.")
        if not clicked:
            return
    try:
        with st.spinner("Fitting scorecards of 5, 10, 20 and 40 rules and the baselines…"):
            front = c.engine.scorecard_frontier(c.rs, as_of, horizon)
    except Exception as e:  # noqa: BLE001 - too little history, one outcome class: a message, not a traceback
        st.warning(md_escape(f"No scorecard frontier for this data: {user_message(e)}"))
        return
    slot.empty()
    headline = frontier_headline(front)
    if headline:
        st.markdown("**" + md_escape(headline) + "**")
    pooled = (" The baselines here learn from the same pooled dates as the scorecards, so they can score above "
              "the backtest's baselines, which learn from one earlier date." if front.mode == "point_in_time" else "")
    st.caption(md_escape(measured_how(front) + "." + pooled))
    st.dataframe(pd.DataFrame(frontier_table(front)), hide_index=True, key="frontier_table",
                 column_config={"model": st.column_config.TextColumn("model", width="medium")})
    row = layout.controls("frontier_load")
    for p in front.points:
        row.button(f"Load as draft: at most {p.max_rules} rules", key=f"load_scorecard_{p.max_rules}",
                   disabled=p.card.n_rules == 0, on_click=_load_scorecard, args=(p.max_rules, as_of, horizon),
                   help=f"The draft becomes this rule set with its {c.rs.primary_dimension} rules replaced by the "
                        f"scorecard's {p.card.n_rules} rules (tier cut-offs and probability mapping fitted with it).")


with st.container(key="scorecard_frontier"):
    frontier_section()
