"""Tier movement between two scored tables (all nine cells) and the accounts that moved (movers)."""

from __future__ import annotations

import pandas as pd

from ..db import Store, quote_ident
from ..rules.model import TIERS
from .filters import Filters, compile_filters
from .queries import MOVERS, TIER_LIST, TIER_MOVEMENT
from .tables import check_limit, dimension_column, table_columns


def tier_movement(store: Store, scored_a: str, scored_b: str, dimension: str | None = None,
                  filters: Filters | None = None) -> pd.DataFrame:
    """Accounts in both tables, by tier in `a` (from_tier) x tier in `b` (to_tier): all nine
    cells, columns from_tier, to_tier, accounts, value (ARR as in `b`). `filters` apply to `b`
    (e.g. a CSM's book)."""
    cols_a = table_columns(store, scored_a, ("account_id",))
    cols_b = table_columns(store, scored_b, ("account_id", "value"))
    where, params = compile_filters(filters or Filters(), cols_b)
    sql = TIER_MOVEMENT.format(
        tiers=TIER_LIST, a=quote_ident(scored_a), b=quote_ident(scored_b), where=where,
        tier_a=quote_ident(dimension_column(cols_a, scored_a, dimension, "tier")),
        tier_b=quote_ident(dimension_column(cols_b, scored_b, dimension, "tier")))
    df = store.df(sql, params)
    df["accounts"] = df["accounts"].astype("int64")
    df["value"] = df["value"].astype("float64")
    return df


def movement_matrix(movement: pd.DataFrame, values: str = "accounts") -> pd.DataFrame:
    """`tier_movement` as a 3x3 table: rows from_tier, columns to_tier (low, medium, high)."""
    m = movement.pivot(index="from_tier", columns="to_tier", values=values)
    return m.reindex(index=list(TIERS), columns=list(TIERS))


def movers(store: Store, scored_a: str, scored_b: str, from_tier: str | None = None,
           to_tier: str | None = None, limit: int = 100, dimension: str | None = None,
           filters: Filters | None = None) -> pd.DataFrame:
    """Accounts of one movement cell (or, with no tier given, every account whose tier changed),
    largest score change first: account_id, account_name, segment, csm_owner, value,
    from_tier, to_tier, from_score, to_score, change. `filters` apply to `b` (e.g. a CSM's book)."""
    for name, t in (("from_tier", from_tier), ("to_tier", to_tier)):
        if t is not None and t not in TIERS:
            raise ValueError(f"{name}: expected {' | '.join(TIERS)}, found {t!r}")
    check_limit(limit, "limit")
    cols_a = table_columns(store, scored_a, ("account_id",))
    cols_b = table_columns(store, scored_b, ("account_id", "account_name", "segment", "csm_owner", "value"))
    tier_a, tier_b = (quote_ident(dimension_column(cols_a, scored_a, dimension, "tier")),
                      quote_ident(dimension_column(cols_b, scored_b, dimension, "tier")))
    book, params = compile_filters(filters or Filters(), cols_b)
    conds = []
    if from_tier is None and to_tier is None:
        conds.append(f"a.{tier_a} IS DISTINCT FROM b.{tier_b}")
    if from_tier is not None:
        conds.append(f"a.{tier_a} = ?")
        params.append(from_tier)
    if to_tier is not None:
        conds.append(f"b.{tier_b} = ?")
        params.append(to_tier)
    sql = MOVERS.format(a=quote_ident(scored_a), b=quote_ident(scored_b), tier_a=tier_a, tier_b=tier_b,
                        score_a=quote_ident(dimension_column(cols_a, scored_a, dimension, "score")),
                        score_b=quote_ident(dimension_column(cols_b, scored_b, dimension, "score")),
                        filters=book, where=" AND ".join(conds))
    return store.df(sql, [*params, limit])
