"""Counts and value of a scored table: per tier, per quadrant, per segment x tier, headline KPIs, score
histogram. Tiers come back as low, medium, high and quadrants as Save, Expand, Maintain, Triage,
present even when empty."""

from __future__ import annotations

import pandas as pd

from ..db import Store, quote_ident
from ..rules.model import TIERS
from .filters import Filters, compile_filters
from .queries import KPIS, QUADRANT_LIST, QUADRANT_SUMMARY, SCORE_HISTOGRAM, TIER_LIST, TIER_SUMMARY, TIERS_BY_SEGMENT
from .tables import dimension_column, table_columns

NO_SEGMENT = "(none)"


def _with_shares(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["accounts"] = df["accounts"].astype("int64")
    df["value"] = df["value"].astype("float64")
    n, v = df["accounts"].sum(), df["value"].sum()
    df["share"] = df["accounts"] / n if n else 0.0
    df["value_share"] = df["value"] / v if v else 0.0
    return df


def tier_summary(store: Store, scored: str, dimension: str | None = None,
                 filters: Filters | None = None) -> pd.DataFrame:
    """Accounts and value (ARR) per tier, with their shares: columns tier, accounts, value,
    share, value_share; rows low, medium, high."""
    cols = table_columns(store, scored, ("account_id", "value"))
    tier = dimension_column(cols, scored, dimension, "tier")
    where, params = compile_filters(filters or Filters(), cols)
    sql = TIER_SUMMARY.format(tiers=TIER_LIST, table=quote_ident(scored), tier=quote_ident(tier), where=where)
    return _with_shares(store.df(sql, params))


def quadrant_summary(store: Store, scored: str, filters: Filters | None = None) -> pd.DataFrame:
    """Accounts and value per quadrant: columns quadrant, accounts, value, share, value_share;
    rows Save, Expand, Maintain, Triage."""
    cols = table_columns(store, scored, ("account_id", "value", "quadrant"))
    where, params = compile_filters(filters or Filters(), cols)
    sql = QUADRANT_SUMMARY.format(quadrants=QUADRANT_LIST, table=quote_ident(scored), where=where)
    return _with_shares(store.df(sql, params))


def tiers_by_segment(store: Store, scored: str, dimension: str | None = None,
                     filters: Filters | None = None) -> pd.DataFrame:
    """Accounts and value per segment x tier (every tier for every segment; a missing segment
    shows as '(none)'): columns segment, tier, accounts, value, share (of the segment's accounts)."""
    cols = table_columns(store, scored, ("account_id", "value", "segment"))
    tier = dimension_column(cols, scored, dimension, "tier")
    where, params = compile_filters(filters or Filters(), cols)
    sql = TIERS_BY_SEGMENT.format(tiers=TIER_LIST, table=quote_ident(scored), tier=quote_ident(tier), where=where)
    df = store.df(sql, [NO_SEGMENT, *params])
    df["accounts"] = df["accounts"].astype("int64")
    df["value"] = df["value"].astype("float64")
    totals = df.groupby("segment")["accounts"].transform("sum")
    df["share"] = (df["accounts"] / totals.where(totals > 0)).fillna(0.0)
    return df


def kpis(store: Store, scored: str, dimension: str | None = None, filters: Filters | None = None) -> dict:
    """Headline numbers: {'accounts', 'arr', 'accounts_by_tier': {tier: n}, 'arr_at_risk': {tier: ARR}}."""
    cols = table_columns(store, scored, ("value",))
    tier = dimension_column(cols, scored, dimension, "tier")
    where, params = compile_filters(filters or Filters(), cols)
    row = store.df(KPIS.format(table=quote_ident(scored), tier=quote_ident(tier), where=where), params).iloc[0]
    return {
        "accounts": int(row["accounts"]),
        "arr": float(row["arr"]),
        "accounts_by_tier": {t: int(row[f"accounts_{t}"]) for t in TIERS},
        "arr_at_risk": {t: float(row[f"arr_{t}"]) for t in TIERS},
    }


def score_histogram(store: Store, scored: str, bins: int = 20, dimension: str | None = None,
                    filters: Filters | None = None) -> pd.DataFrame:
    """Accounts and value per equal-width score bin over 0..100 (bins left-closed, 100 in the
    last): columns bin, bin_start, bin_end, accounts, value; every bin present."""
    if not isinstance(bins, int) or isinstance(bins, bool) or not 1 <= bins <= 1000:
        raise ValueError(f"bins: expected a whole number 1..1000, found {bins!r}")
    cols = table_columns(store, scored, ("value",))
    score = dimension_column(cols, scored, dimension, "score")
    where, params = compile_filters(filters or Filters(), cols)
    sql = SCORE_HISTOGRAM.format(table=quote_ident(scored), score=quote_ident(score), where=where)
    df = store.df(sql, [bins, bins, *params, bins, bins, bins])
    return df.astype({"bin": "int64", "accounts": "int64", "value": "float64"})
