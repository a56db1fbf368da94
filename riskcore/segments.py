"""Behavioural segments (PRODUCT.md §9): `[[behavior_segments]]` evaluated in order, first match wins.

An account that matches none is `steady`. A threshold may be `{ percentile = N }`: the signal's
N-th percentile (quantile_cont) over the accounts of the signals table, i.e. those scored at
that date. A segment whose signal columns are missing (or, checked against the column types, of a
kind its op cannot use) is unavailable and skipped (never matches).

>>> from riskcore.rules import load_ruleset
>>> rs = load_ruleset('name = "x"\\n[[behavior_segments]]\\nid = "quiet"\\nsignal = "logins_30d"\\n'
...                   'op = "<"\\nthreshold = 1\\n')
>>> sql, params = behavior_segments_sql(rs, {"account_id", "logins_30d"})
>>> params
[1, 'quiet', 'steady']
"""

from __future__ import annotations

from typing import Iterable

import pandas as pd

from .db import Params, Store, quote_ident, safe_table_name
from .expressions import ColumnFacts, parse_expression, render
from .rules import BehaviorSegment, Percentile, RuleSet, segment_problems
from .scoring import column_facts, comparison_sql

STEADY = "steady"


def _available(rs: RuleSet, columns: Iterable[str]) -> list[BehaviorSegment]:
    bad = set(unavailable_segments(rs, columns))
    return [s for s in rs.behavior_segments if s.id not in bad]


def unavailable_segments(rs: RuleSet, columns: Iterable[str]) -> list[str]:
    """Ids of behavioural segments that cannot run on these columns (they never match)."""
    return [p.id for p in segment_problems(rs, columns)]


def _condition(seg: BehaviorSegment, v: str, p: Params, pct_col: str | None) -> str:
    """SQL condition (TRUE/FALSE/NULL) of one segment over the signal value `v`."""
    op, thr = seg.op, seg.threshold
    if op == "is_null":
        return f"{v} IS NULL"
    cond = comparison_sql(op, thr, v, p, pct_col)
    if op == "is_true":
        cond = f"COALESCE({cond}, false)"
    null = "true" if seg.null_fires else "false"
    return f"(CASE WHEN {v} IS NULL THEN {null} ELSE COALESCE({cond}, false) END)"


def behavior_segments_sql(rs: RuleSet, columns: Iterable[str], source: str = "signals") -> tuple[str, list]:
    """SELECT account_id, behavior_segment over table `source`; returns (sql, bound params)."""
    columns = columns if isinstance(columns, ColumnFacts) else list(columns)
    cols = set(columns)
    if "account_id" not in cols:
        raise ValueError(f"table {source!r} has no account_id column: cannot assign behavioural segments")
    p = Params()
    segs = _available(rs, columns)
    values, pct, whens = [], [], []
    for i, s in enumerate(segs):
        expr = quote_ident(s.signal) if s.signal in cols else "(" + render(parse_expression(s.signal, cols)) + ")"
        values.append(f"{expr} AS {quote_ident(f'sv_{i}')}")
        pct_col = None
        if isinstance(s.threshold, Percentile):
            pct_col = f"sp_{i}"
            pct.append(f"quantile_cont({quote_ident(f'sv_{i}')}, {p.add(s.threshold.percentile / 100.0)}) "
                       f"AS {quote_ident(pct_col)}")
        whens.append((_condition(s, quote_ident(f"sv_{i}"), p, pct_col), s.id))
    src = quote_ident(safe_table_name(source))
    sql = "WITH v AS (\n  SELECT CAST(account_id AS VARCHAR) AS account_id" + "".join(
        ",\n    " + x for x in values) + f"\n  FROM {src}\n)"
    if pct:
        sql += ",\npct AS (\n  SELECT " + ",\n    ".join(pct) + "\n  FROM v\n)"
    case = ("CASE " + " ".join(f"WHEN {cond} THEN {p.add(sid)}" for cond, sid in whens)
            + f" ELSE {p.add(STEADY)} END") if whens else f"{p.add(STEADY)}"
    sql += f"\nSELECT v.account_id, {case} AS behavior_segment\nFROM v" + (" CROSS JOIN pct" if pct else "")
    return sql, p.values


def assign_segments(store: Store, rs: RuleSet, signals_table: str, out_table: str = "behavior_segments") -> str:
    """Table `out_table` (account_id, behavior_segment) for every account of `signals_table`; returns its name."""
    sql, params = behavior_segments_sql(rs, column_facts(store, signals_table, rs), source=signals_table)
    store.execute(f"CREATE OR REPLACE TABLE {quote_ident(safe_table_name(out_table))} AS\n{sql}", params)
    return out_table


def segments_df(store: Store, rs: RuleSet, signals_table: str) -> pd.DataFrame:
    """account_id, behavior_segment as a frame ordered by account_id (small data, tests, pages)."""
    sql, params = behavior_segments_sql(rs, column_facts(store, signals_table, rs), source=signals_table)
    return store.df(f"SELECT * FROM ({sql}) ORDER BY account_id", params)
