"""Firing patterns: the distinct fired degrees x segment x stage x value class of a firings table,
with counts and summed value (PRODUCT.md §8). A points, tier, fusion or enable change re-weights them
in numpy with the same floating-point operations as the SQL, so tiers and quadrants are identical."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..db import Params, Store, quote_ident, safe_table_name
from ..rules import QUADRANTS, TIERS, Rule, RuleSet
from .columns import available_rules, column_facts
from .firings import compile_firings, overrides_of
from .rounding import round_score
from .scores import contrib_cols, dimension_cols, scored_rules

_q = quote_ident  # short: the SQL below reads better

def pattern_table(store: Store, rs: RuleSet, firings_table: str, out_table: str = "patterns") -> str:
    """Distinct firing patterns x segment x stage x value class, with count `n` and summed `value`.

    Its size depends on the patterns, not on the number of accounts, and it holds everything a
    weight, tier or fusion change needs (not a threshold or value cut-off change: rebuild then).
    """
    cols = store.columns(firings_table)
    fcols = [c for c in cols if c.startswith("f_")]
    p = Params()
    if rs.quadrant.value_cutoff == "median":
        cut = f"(SELECT median(value) FROM {_q(safe_table_name(firings_table))})"
    else:
        cut = p.add(float(rs.quadrant.value_cutoff))
    keys = [_q(c) for c in fcols] + ["segment", "stage"]
    sql = (f"CREATE OR REPLACE TABLE {_q(safe_table_name(out_table))} AS\n"
           f"SELECT {', '.join(keys)}, COALESCE(value >= {cut}, false) AS value_high,\n"
           f"  count(*) AS n, sum(value) AS value\n"
           f"FROM {_q(safe_table_name(firings_table))}\nGROUP BY ALL")
    store.execute(sql, p.values)
    return out_table


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """quantile_cont (linear interpolation) of the values repeated `weights` times."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order].astype(np.int64)
    total = int(w.sum())
    if total == 0:
        return float("nan")
    h = (total - 1) * q
    lo = int(np.floor(h))
    ends = np.cumsum(w)  # element with 0-based rank k is v[searchsorted(ends, k, 'right')]
    x_lo = v[np.searchsorted(ends, lo, side="right")]
    x_hi = v[np.searchsorted(ends, min(lo + 1, total - 1), side="right")]
    return float(x_lo + (h - lo) * (x_hi - x_lo))


def tier_counts_from_patterns(store: Store, rs: RuleSet, patterns_table: str) -> pd.DataFrame:
    """Accounts and summed value per tier of the primary dimension, computed from the pattern table.

    Same numbers as grouping the full `score` output by tier, at the cost of the patterns only.
    """
    p = Params()
    rules = scored_rules(rs, store.columns(patterns_table))
    prim = rs.primary_dimension
    src = _q(safe_table_name(patterns_table))
    sql = ("WITH f AS (SELECT *" + "".join(", " + c for c in contrib_cols(rules, rs, p)) + f" FROM {src}),\n"
           "d AS (SELECT *" + "".join(", " + c for c in dimension_cols(rules, rs)) + " FROM f)\n"
           f"SELECT {_q(prim + '_score')} AS score, {_q(prim + '_groups')} AS groups, n, value FROM d")
    d = store.df(sql, p.values)
    m, h, mode = rs.tiers.cuts(prim)
    s = d["score"].to_numpy(dtype=float)
    if mode == "percentile":
        n = d["n"].to_numpy()
        m_cut, h_cut = (weighted_quantile(s, n, m / 100.0), weighted_quantile(s, n, h / 100.0))
        pos = s > 0
    else:
        m_cut, h_cut, pos = float(m), float(h), np.ones(len(s), dtype=bool)
    fusion_ok = d["groups"].to_numpy() >= rs.fusion.min_groups if rs.fusion.enabled else np.ones(len(s), bool)
    low, medium, high = TIERS
    tier = np.where((s >= h_cut) & pos & fusion_ok, high, np.where((s >= m_cut) & pos, medium, low))
    d["tier"] = tier
    out = d.groupby("tier", as_index=False).agg(n=("n", "sum"), value=("value", "sum"))
    out = out.set_index("tier").reindex(list(TIERS), fill_value=0).reset_index()
    out["n"] = out["n"].astype("int64")
    return out


# ---- firing patterns in memory: a weight change in microseconds -----------------------------

@dataclass(frozen=True)
class Patterns:
    """The distinct firing patterns of one firings table, in memory (PRODUCT.md §8).

    One row per (fired degrees of `rule_ids`, segment, stage, value class) with its account count
    `n` and summed `value`. Everything a points, tier-cut-off, fusion, enable or risk-cut-off change
    needs for tier / quadrant / histogram / movement numbers, exactly as the full score computes them.
    A threshold or value cut-off change needs new patterns (`patterns_from_signals`).
    """

    rule_ids: tuple[str, ...]
    dimensions: tuple[str, ...]
    degrees: np.ndarray      # (patterns, rules) float64, as stored in the firings table
    segment: np.ndarray      # (patterns,) object, None when missing
    stage: np.ndarray        # (patterns,) object
    value_high: np.ndarray   # (patterns,) bool: value >= value_cut (False when value is NULL)
    n: np.ndarray            # (patterns,) int64 accounts
    value: np.ndarray        # (patterns,) float64 summed value (NULLs ignored)
    value_cut: float | None  # the value cut-off the classes were built with
    value_cutoff: Any        # rs.quadrant.value_cutoff they were built for ("median" or a number)
    base_pid: np.ndarray | None = None  # (patterns,) row of the index's base patterns each one came from

    @property
    def accounts(self) -> int:
        return int(self.n.sum())

    def __len__(self) -> int:
        return len(self.n)


def pattern_rules(rs: RuleSet, columns: Iterable[str], dimensions: Iterable[str]) -> list[Rule]:
    dims = set(dimensions)
    return [r for r in available_rules(rs, columns) if r.dimension in dims]


def dims_for(rs: RuleSet, dimensions: Iterable[str] | None) -> tuple[str, ...]:
    dims = tuple(dimensions) if dimensions is not None else (rs.primary_dimension,)
    bad = [d for d in dims if d not in rs.dimensions]
    if bad:
        raise ValueError(f"dimension {bad[0]!r} is not one of the rule set's ({', '.join(rs.dimensions)})")
    return dims


_PATTERN_GROUP = """
SELECT {keys}, COALESCE(value >= {cut}, false) AS value_high, count(*) AS n, sum(value) AS value
FROM {src}
GROUP BY ALL
"""


def _patterns_from_query(store: Store, rs: RuleSet, rule_ids: list[str], dims: tuple[str, ...], source_sql: str,
                         params: list, value_cut: float | None, max_patterns: int | None) -> "Patterns | None":
    p = Params()
    p.values = list(params)
    cut = "NULL" if value_cut is None else p.add(float(value_cut))
    keys = [_q("f_" + r) for r in rule_ids] + ["segment", "stage"]
    sql = _PATTERN_GROUP.format(keys=", ".join(keys), cut=cut, src=source_sql)
    if max_patterns is not None:
        # stop early when the patterns do not collapse (e.g. a scale rule over a continuous signal)
        sql = f"SELECT * FROM ({sql}) LIMIT {int(max_patterns) + 1}"
    t = store.arrow(sql, p.values)
    if max_patterns is not None and t.num_rows > max_patterns:
        return None
    deg = (np.column_stack([t.column("f_" + r).to_numpy(zero_copy_only=False).astype(float) for r in rule_ids])
           if rule_ids else np.zeros((t.num_rows, 0)))
    return Patterns(
        rule_ids=tuple(rule_ids), dimensions=dims, degrees=deg,
        segment=np.asarray(t.column("segment").to_pylist(), dtype=object),
        stage=np.asarray(t.column("stage").to_pylist(), dtype=object),
        value_high=t.column("value_high").to_numpy(zero_copy_only=False).astype(bool),
        n=t.column("n").to_numpy(zero_copy_only=False).astype(np.int64),
        value=np.nan_to_num(t.column("value").to_numpy(zero_copy_only=False).astype(float), nan=0.0),
        value_cut=value_cut, value_cutoff=rs.quadrant.value_cutoff)


def quadrant_value_cut(store: Store, rs: RuleSet, source_sql: str, params: list) -> float | None:
    """The quadrant's value cut-off as compile_scores computes it (median over all accounts)."""
    if rs.quadrant.value_cutoff != "median":
        return float(rs.quadrant.value_cutoff)
    m = store.one(f"SELECT median(value) FROM {source_sql}", params)
    return None if m is None else float(m)


def firing_patterns(store: Store, rs: RuleSet, firings_table: str, dimensions: Iterable[str] | None = None,
                    max_patterns: int | None = 200_000) -> "Patterns | None":
    """Patterns of an existing firings table over the rules of `dimensions` (default: the primary).

    None when there are more than `max_patterns` (then use the per-account SQL: same numbers).
    """
    dims = dims_for(rs, dimensions)
    src = _q(safe_table_name(firings_table))
    cols = store.columns(firings_table)
    rule_ids = [r.id for r in rs.rules if r.dimension in dims and f"f_{r.id}" in cols]
    cut = quadrant_value_cut(store, rs, src, [])
    return _patterns_from_query(store, rs, rule_ids, dims, src, [], cut, max_patterns)


def patterns_from_signals(store: Store, rs: RuleSet, signals_table: str, dimensions: Iterable[str] | None = None,
                          max_patterns: int | None = 200_000) -> "Patterns | None":
    """Patterns straight from the signals (after a threshold change): stage 1 restricted to the rules of
    `dimensions`, grouped in the same query, so no per-account table is written."""
    dims = dims_for(rs, dimensions)
    cols = column_facts(store, signals_table, rs)
    rules = pattern_rules(rs, cols, dims)
    ids = {r.id for r in rules}
    part = replace(rs, rules=tuple(rules), overrides=tuple(o for o in rs.overrides if o.rule in ids))
    sql, params = compile_firings(part, cols, source=signals_table)
    src = f"({sql}) AS firings"
    return _patterns_from_query(store, rs, [r.id for r in rules], dims, src, params,
                                quadrant_value_cut(store, rs, src, params), max_patterns)


def pattern_scores(pat: Patterns, rs: RuleSet, dimension: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per pattern: the dimension's score and its number of fired evidence groups, computed in the
    same order of floating-point operations as the SQL of `compile_scores` (so tiers are identical)."""
    dim = dimension or rs.primary_dimension
    if dim not in pat.dimensions:
        raise ValueError(f"these patterns were built for {', '.join(pat.dimensions)}, not {dim!r}")
    col = {r: i for i, r in enumerate(pat.rule_ids)}
    total = None
    fired_by_group: dict[str, np.ndarray] = {}
    for r in rs.rules:
        if not (r.enabled and r.dimension == dim and r.id in col):
            continue
        pts = np.full(len(pat), float(r.points))
        for o in overrides_of(rs, r.id):  # file order: a later override wins
            if o.points is not None:
                sel = pat.segment == o.segment if o.segment is not None else pat.stage == o.stage
                pts = np.where(sel, float(o.points), pts)
        c = pts * pat.degrees[:, col[r.id]]
        total = c if total is None else total + c
        g = fired_by_group.get(r.group)
        fired_by_group[r.group] = (c > 0) if g is None else (g | (c > 0))
    if total is None:
        total = np.zeros(len(pat))
    score = np.minimum(100.0, round_score(total))
    groups = sum((g.astype(np.int64) for g in fired_by_group.values()), np.zeros(len(pat), dtype=np.int64))
    return score, groups


def pattern_tier_codes(pat: Patterns, rs: RuleSet, dimension: str | None = None) -> np.ndarray:
    """Tier of each pattern as 0 (low), 1 (medium), 2 (high) for the dimension (default: primary)."""
    dim = dimension or rs.primary_dimension
    s, groups = pattern_scores(pat, rs, dim)
    m, h, mode = rs.tiers.cuts(dim)
    if mode == "percentile":
        m_cut, h_cut = weighted_quantile(s, pat.n, m / 100.0), weighted_quantile(s, pat.n, h / 100.0)
        pos = s > 0
    else:
        m_cut, h_cut, pos = float(m), float(h), True
    fusion_ok = groups >= rs.fusion.min_groups if rs.fusion.enabled else True
    return np.where((s >= h_cut) & pos & fusion_ok, 2, np.where((s >= m_cut) & pos, 1, 0))


def pattern_tiers(pat: Patterns, rs: RuleSet, dimension: str | None = None) -> np.ndarray:
    """Tier (low / medium / high) of each pattern for the dimension (default: the primary one)."""
    return np.array(TIERS, dtype=object)[pattern_tier_codes(pat, rs, dimension)]


def pattern_quadrant_codes(pat: Patterns, rs: RuleSet) -> np.ndarray:
    """Quadrant of each pattern as an index into QUADRANTS (Save, Expand, Maintain, Triage)."""
    if rs.quadrant.value_cutoff != pat.value_cutoff:
        raise ValueError("the value cut-off changed since these patterns were built: rebuild them")
    if rs.quadrant.tied_to_tier:
        high_risk = pattern_tier_codes(pat, rs) == 2
    else:
        s, groups = pattern_scores(pat, rs)
        high_risk = s >= float(rs.quadrant.risk_cutoff)
        if rs.fusion.enabled:
            high_risk &= groups >= rs.fusion.min_groups
    return np.where(pat.value_high, np.where(high_risk, 0, 1), np.where(high_risk, 3, 2))


def pattern_quadrants(pat: Patterns, rs: RuleSet) -> np.ndarray:
    """Quadrant of each pattern (risk = the primary dimension), as `compile_scores` assigns it."""
    return np.array(QUADRANTS, dtype=object)[pattern_quadrant_codes(pat, rs)]
