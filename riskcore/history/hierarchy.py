"""Hierarchy roll-up (PRODUCT.md §9): parents' children, summed value, value-weighted risk, worst tier."""

from __future__ import annotations

import pandas as pd

from ..db import Store, quote_ident, safe_table_name
from ..rules import TIERS
from .storefile import HistoryError

LOW, MEDIUM, HIGH = TIERS


def rollup(store: Store, scored_table: str, parent_column: str = "parent_id",
           accounts_table: str | None = None) -> pd.DataFrame:
    """Parents' roll-up: children, summed value (ARR), value-weighted risk score, worst child tier.

    The parent column is read from `scored_table`, else from `accounts_table` (e.g. the signals
    table) joined on account_id. The weighted score falls back to the plain mean when no child
    has a value. Columns: parent_id, parent_name (when the parent is itself an account),
    children, value, risk_score, tier.
    """
    scored = quote_ident(safe_table_name(scored_table))
    if parent_column in store.columns(scored_table):
        src, parent = f"{scored} s", f"s.{quote_ident(parent_column)}"
    elif accounts_table is not None and parent_column in store.columns(accounts_table):
        src = (f"{scored} s JOIN {quote_ident(safe_table_name(accounts_table))} g "
               f"ON CAST(g.account_id AS VARCHAR) = s.account_id")
        parent = f"g.{quote_ident(parent_column)}"
    else:
        where = scored_table + (f" or {accounts_table}" if accounts_table else "")
        raise HistoryError(f"parent column {parent_column!r} not found in {where}")
    sql = f"""
        WITH c AS (
          SELECT CAST({parent} AS VARCHAR) AS parent_id, s.value, s.risk_score, s.tier
          FROM {src}
          WHERE {parent} IS NOT NULL AND CAST({parent} AS VARCHAR) <> ''
        )
        SELECT c.parent_id, any_value(p.account_name) AS parent_name, count(*) AS children,
               sum(c.value) AS value,
               CASE WHEN sum(c.value) FILTER (WHERE c.value > 0) > 0
                    THEN sum(c.value * c.risk_score) FILTER (WHERE c.value > 0)
                         / sum(c.value) FILTER (WHERE c.value > 0)
                    ELSE avg(c.risk_score) END AS risk_score,
               list_extract(?, 1 + max(CASE c.tier WHEN ? THEN 2 WHEN ? THEN 1 ELSE 0 END)) AS tier
        FROM c LEFT JOIN {scored} p ON p.account_id = c.parent_id
        GROUP BY c.parent_id
        ORDER BY c.parent_id"""
    return store.df(sql, [list(TIERS), HIGH, MEDIUM])  # the worst child tier
