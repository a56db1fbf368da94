"""Accounts (CSM): filtered, sortable list with reasons and playbook; CSV export; account view."""

from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from pages._common import QUADRANTS, TIERS, Ctx, ctx, money, scored_table, shared_catalog
from riskcore import aggregates as agg
from riskcore import appstate
from riskcore.export import format_reasons

MAX_ROWS = 2000          # rows drawn in the table
MAX_EXPORT = 200_000     # rows in a CSV download
HISTORY_MONTHS = 6

c = ctx()
table = scored_table(c)


def _playbook_names() -> dict[str, str]:
    return {p.id: p.name for p in shared_catalog().playbooks}


# ---- the account view ----------------------------------------------------------------------

@st.cache_resource(max_entries=64, show_spinner="Re-scoring the past months…")
def _history(data_key: str, generation: int, rs_key: str, account_id: str, as_of: date,
             _c: Ctx) -> pd.DataFrame:
    dates = appstate.month_ends(as_of, HISTORY_MONTHS)
    return appstate.score_history(_c.store, _c.rs, account_id, dates)


def _short_value(v):
    """A signal value as the reasons list shows it (numbers to 3 significant digits)."""
    try:
        return f"{float(v):.3g}"
    except (TypeError, ValueError):
        return v


def account_view(account_id: str) -> None:
    rows = agg.account_list(c.store, table, agg.Filters(search=account_id), limit=50)
    rows = rows[rows["account_id"] == account_id]
    if st.button("← All accounts", key="back_to_list"):
        del st.query_params["account"]
        st.rerun()
    if rows.empty:
        st.warning(f"No scored account with id {account_id!r} as of {c.as_of:%Y-%m-%d} "
                   "(unknown id, or not active on that date).")
        return
    a = rows.iloc[0]
    st.header(appstate.md_escape(a["account_name"] or a["account_id"]), anchor=False)
    renewal = f"{pd.Timestamp(a['renewal_date']):%Y-%m-%d}" if pd.notna(a.get("renewal_date")) else "n/a"
    st.caption(f"id {appstate.md_escape(a['account_id'])} · owner {appstate.md_escape(a.get('csm_owner'))} · "
               f"segment {appstate.md_escape(a.get('segment'))} · ARR {money(a.get('value'))} · "
               f"renewal {renewal} · quadrant {a['quadrant']} · as of {c.as_of:%Y-%m-%d}")
    dims = list(c.rs.dimensions)
    cols = st.columns(len(dims))
    for col, d in zip(cols, dims):
        col.metric(f"{d} score", f"{a[f'{d}_score']:.0f}", f"{a[f'{d}_tier']} tier", delta_color="off",
                   delta_arrow="off")
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.subheader("Why: fired rules", anchor=False)
        reasons = pd.DataFrame(list(a["reasons"]) if a["reasons"] is not None else [],
                               columns=["rule_id", "label", "dimension", "grp", "points", "value"])
        reasons["value"] = reasons["value"].map(_short_value)
        st.dataframe(reasons.sort_values(["dimension", "points"], ascending=[True, False]),
                     hide_index=True, key="account_reasons",
                     column_config={"rule_id": "rule", "grp": "evidence group", "value": "signal value",
                                    "points": st.column_config.NumberColumn("points", format="%.1f")})
        hist = _history(c.data_key, c.store.generation, appstate.ruleset_key(c.rs), account_id, c.as_of, c)
        fig = go.Figure()
        for d in dims:
            fig.add_trace(go.Scatter(x=hist["as_of"], y=hist[f"{d}_score"], mode="lines+markers", name=d))
        fig.update_layout(title=dict(text="Score history (re-scored at each month end)", x=0, font=dict(size=16)),
                          xaxis_title="as of", yaxis=dict(title="score (0-100)", range=[-3, 103]),
                          height=300, margin=dict(l=10, r=10, t=40, b=10))
        st.plotly_chart(fig, key="history_chart")
    with right:
        st.subheader("What to do: playbook", anchor=False)
        from riskcore.playbooks import match_account
        tiers = {d: a[f"{d}_tier"] for d in dims}
        consent = a.get("marketing_consent")
        pb = match_account(shared_catalog(), tiers, a["quadrant"],
                           bool(consent) if consent is not None and pd.notna(consent) else None)
        if pb is None:
            st.info("No playbook matches this account.")
            return
        st.markdown(f"**{appstate.md_escape(pb.name)}** · owner {appstate.md_escape(pb.owner)} · "
                    f"SLA {pb.sla_hours:g} h")
        for i, step in enumerate(pb.steps, start=1):
            due = f", within {step.due_hours:g} h" if step.due_hours is not None else ""
            st.markdown(f"{i}\\. {appstate.md_escape(step.text)}  \n"
                        f":gray[{step.kind.replace('_', ' ')} · {appstate.md_escape(step.owner or pb.owner)}{due}]")
        if pb.note:
            st.caption(pb.note)


# ---- the list ---------------------------------------------------------------------------------

def account_list() -> None:
    st.title("Accounts")
    r1 = st.columns([2, 2, 1.6, 1.3, 1.8, 1.2, 2])
    owner = r1[0].multiselect("Owner", appstate.distinct_values(c.store, table, "csm_owner"), key="f_owner")
    segment = r1[1].multiselect("Segment", appstate.distinct_values(c.store, table, "segment"), key="f_segment")
    tier = r1[2].multiselect("Tier", TIERS, key="f_tier")
    dim_options = list(c.rs.dimensions)
    if st.session_state.get("f_dimension") not in dim_options:
        st.session_state["f_dimension"] = c.dimension
    tier_dim = r1[3].selectbox("Tier of", dim_options, key="f_dimension", help="which dimension's tier to filter on")
    quadrant = r1[4].multiselect("Quadrant", QUADRANTS, key="f_quadrant")
    renewal = r1[5].number_input("Renews in (d)", min_value=0, value=None, step=30, key="f_renewal",
                                 placeholder="any", help="renewal date within this many days of the as-of date")
    search = r1[6].text_input("Search name or id", key="f_search")
    filters = agg.Filters(owner=tuple(owner), segment=tuple(segment), tier=tuple(tier), quadrant=tuple(quadrant),
                          dimension=None if tier_dim == c.rs.primary_dimension else tier_dim,
                          renewal_within_days=int(renewal) if renewal is not None else None,
                          search=search or None, as_of=c.as_of)
    n = agg.count_accounts(c.store, table, filters)
    rows = agg.account_list(c.store, table, filters, limit=MAX_ROWS)
    names = _playbook_names()
    view = pd.DataFrame({
        "account_id": rows["account_id"],
        "account": rows["account_name"],
        "owner": rows["csm_owner"],
        "segment": rows["segment"],
        "score": rows["risk_score"],
        "tier": rows["tier"],
        "quadrant": rows["quadrant"],
        "top reasons": rows["reasons"].map(lambda r: format_reasons(r, limit=3)),
        "playbook": rows["playbook"].map(lambda p: names.get(p, p)),
        "ARR": rows["value"],
        "renewal": rows["renewal_date"],
    })
    info, dl = st.columns([5, 2], vertical_alignment="bottom")
    info.caption(f"{n:,} accounts · {agg.describe(filters)}" + (f" · first {MAX_ROWS:,} shown" if n > MAX_ROWS else "")
                 + " · select a row to open the account")
    with dl:
        _download(filters, n)
    event = st.dataframe(
        view, hide_index=True, key="accounts_table", on_select="rerun", selection_mode="single-row", height=560,
        column_config={
            "account_id": st.column_config.TextColumn("id"),
            "score": st.column_config.ProgressColumn(f"{c.dimension} score", min_value=0, max_value=100,
                                                     format="%.0f", width="small"),
            "tier": st.column_config.TextColumn("tier", width="small"),
            "top reasons": st.column_config.TextColumn("top reasons", width="large"),
            "ARR": st.column_config.NumberColumn("ARR", format="dollar"),
            "renewal": st.column_config.DateColumn("renewal", format="YYYY-MM-DD"),
        })
    if event and event.selection and event.selection.rows:
        st.query_params["account"] = str(view.iloc[event.selection.rows[0]]["account_id"])
        st.rerun()


def _download(filters: agg.Filters, n: int) -> None:
    """CSV of the filtered list (formula-injection safe), built only when the button is clicked."""
    from riskcore.export import export_frame, to_csv_bytes
    store, rs, limit = c.store, c.rs, max(min(n, MAX_EXPORT), 1)

    def build() -> bytes:
        return to_csv_bytes(export_frame(agg.account_list(store, table, filters, limit=limit), rs))

    st.download_button(f"Download CSV ({min(n, MAX_EXPORT):,} rows)", build, file_name=f"accounts-{c.as_of}.csv",
                       mime="text/csv", key="download_csv", on_click="ignore", icon=":material/download:")


account_id = st.query_params.get("account")
if account_id:
    account_view(str(account_id))
else:
    account_list()
