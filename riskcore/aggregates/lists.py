"""Account lists: a filtered, sorted page of accounts (whitelisted sort columns, stable ties), counts for
paging, the riskiest accounts, a column's distinct values (filter choices)."""

from __future__ import annotations

import pandas as pd

from ..db import Store, quote_ident, safe_table_name
from ..rules.model import QUADRANTS, TIERS
from .filters import Filters, compile_filters
from .tables import check_limit, table_columns

_FIXED_SORTS = ("risk_score", "value", "renewal_date", "account_name", "account_id", "csm_owner",
                "segment", "tier", "quadrant", "stage", "playbook")


def sortable_columns(store: Store, scored: str) -> list[str]:
    """The columns `account_list` can sort by (those of the whitelist the table has)."""
    cols = table_columns(store, scored)
    dims = sorted(c for c in cols if c.endswith(("_score", "_tier")) and c not in ("risk_score",))
    return [c for c in _FIXED_SORTS if c in cols] + dims


def _order_expr(col: str) -> str:
    q = quote_ident(col)
    if col == "tier" or col.endswith("_tier"):
        return f"CASE {q} " + " ".join(f"WHEN '{t}' THEN {i}" for i, t in enumerate(TIERS, 1)) + " END"
    if col == "quadrant":
        return f"CASE {q} " + " ".join(f"WHEN '{n}' THEN {i}" for i, n in enumerate(QUADRANTS, 1)) + " END"
    return q


def account_list(store: Store, scored: str, filters: Filters | None = None, sort: str = "risk_score",
                 descending: bool = True, limit: int = 50, offset: int = 0,
                 alerts: str | None = None) -> pd.DataFrame:
    """A page of accounts (all scored columns), filtered and sorted by a whitelisted column;
    ties by value (highest first) then account id, so pages are stable."""
    check_limit(limit, "limit")
    check_limit(offset, "offset", 0)
    allowed = sortable_columns(store, scored)
    if sort not in allowed:
        raise ValueError(f"sort: expected one of {', '.join(allowed)}, found {sort!r}")
    cols = table_columns(store, scored, ("account_id", "value"))
    where, params = compile_filters(filters or Filters(), cols, alerts)
    direction = "DESC" if descending else "ASC"
    sql = (f"SELECT * FROM {quote_ident(scored)} WHERE {where}\n"
           f"ORDER BY {_order_expr(sort)} {direction} NULLS LAST, value DESC NULLS LAST, account_id\n"
           f"LIMIT ? OFFSET ?")
    return store.df(sql, [*params, limit, offset])


def count_accounts(store: Store, scored: str, filters: Filters | None = None, alerts: str | None = None) -> int:
    """How many accounts pass the filters (for paging and 'n of N')."""
    cols = table_columns(store, scored)
    where, params = compile_filters(filters or Filters(), cols, alerts)
    return int(store.one(f"SELECT count(*) FROM {quote_ident(scored)} WHERE {where}", params))


def top_accounts(store: Store, scored: str, n: int = 100, filters: Filters | None = None,
                 alerts: str | None = None) -> pd.DataFrame:
    """The `n` riskiest accounts passing the filters (risk score, then value, then id)."""
    return account_list(store, scored, filters, sort="risk_score", descending=True, limit=n, alerts=alerts)


def distinct_values(store: Store, table: str, column: str, limit: int = 500) -> list[str]:
    """Sorted distinct non-null values of a column (filter choices); [] when the column is absent."""
    if column not in store.columns(safe_table_name(table)):
        return []
    q = quote_ident(column)
    rows = store.rows(f"SELECT DISTINCT CAST({q} AS VARCHAR) AS v FROM {quote_ident(table)} WHERE {q} IS NOT NULL "
                      "ORDER BY v LIMIT ?", [int(limit)])
    return [r[0] for r in rows]
