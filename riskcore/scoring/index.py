"""The pattern index: base patterns plus each account's pattern id, so a threshold change regroups
only (pattern id, the changed rules' new degrees): in numpy for small data, else one narrow scan."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..db import Params, Store, quote_ident, safe_table_name
from ..expressions import ColumnFacts
from ..rules import Rule, RuleSet, Threshold, signal_columns, unavailable_rules
from .columns import ATTRIBUTES, column_facts
from .firings import compile_firings, overrides_of
from .patterns import Patterns, dims_for, pattern_rules, quadrant_value_cut

_q = quote_ident  # short: the SQL below reads better

@dataclass(frozen=True)
class PatternIndex:
    """Base patterns plus a per-account table `table` (pattern id `pid` and the columns the
    dimension's rules read): a threshold change regroups only (pid, the changed rules' degrees)."""

    table: str
    base: Patterns
    rs: RuleSet  # the rule set the base patterns were fired with
    columns: tuple[str, ...] = ()  # of `table` (saves a catalog query per change)
    facts: ColumnFacts | None = field(default=None, compare=False, repr=False)  # `table`'s, for type checks
    # small indexes only: (changed rule ids) -> per-account pid, value and signal values, read once
    memory: dict = field(default_factory=dict, compare=False, repr=False)


def pattern_index(store: Store, rs: RuleSet, signals_table: str, out_table: str = "pattern_index",
                  dimensions: Iterable[str] | None = None) -> PatternIndex:
    """Fire the rules of `dimensions` (default: the primary) once, keep their patterns and a
    per-account pattern id (one-off per signals table and threshold set)."""
    dims = dims_for(rs, dimensions)
    out = safe_table_name(out_table)
    cols = column_facts(store, signals_table, rs)
    rules = pattern_rules(rs, cols, dims)
    ids = {r.id for r in rules}
    part = replace(rs, rules=tuple(rules), overrides=tuple(o for o in rs.overrides if o.rule in ids))
    need = {a.lower() for a, _ in ATTRIBUTES} | {rs.quadrant.value_column.lower()}
    for r in rules:
        need |= {c.lower() for c in signal_columns(r.signal, cols)}
    keep = [c for c in cols if c.lower() in need]
    sig = _q(safe_table_name(signals_table))
    fsql, params = compile_firings(part, cols, source=signals_table)
    src = f"({fsql}) AS firings"
    cut = quadrant_value_cut(store, rs, src, params)
    p = Params()
    p.values = list(params)
    cut_sql = "NULL" if cut is None else p.add(float(cut))
    fkeys = [_q("f_" + r.id) for r in rules]
    keys = fkeys + ["segment", "stage", "value_high"]
    store.execute(f"CREATE OR REPLACE TEMP TABLE {_q(out + '_f')} AS SELECT *, "
                  f"COALESCE(value >= {cut_sql}, false) AS value_high FROM (SELECT * FROM ({fsql}))", p.values)
    store.execute(f"CREATE OR REPLACE TEMP TABLE {_q(out + '_p')} AS SELECT (row_number() OVER () - 1)::INTEGER "
                  f"AS pid, * FROM (SELECT {', '.join(keys)}, count(*) AS n, sum(value) AS value "
                  f"FROM {_q(out + '_f')} GROUP BY ALL)")
    on = " AND ".join(f"f.{k} IS NOT DISTINCT FROM p.{k}" for k in keys)
    store.execute(f"CREATE OR REPLACE TABLE {_q(out)} AS SELECT p.pid, "
                  + ", ".join(f"s.{_q(c)}" for c in keep)
                  + f" FROM {sig} AS s JOIN {_q(out + '_f')} AS f ON f.account_id = CAST(s.account_id AS VARCHAR)"
                  f" JOIN {_q(out + '_p')} AS p ON {on}")
    t = store.arrow(f"SELECT * FROM {_q(out + '_p')} ORDER BY pid")
    store.execute(f"DROP TABLE {_q(out + '_f')}")
    store.execute(f"DROP TABLE {_q(out + '_p')}")
    rule_ids = [r.id for r in rules]
    base = Patterns(
        rule_ids=tuple(rule_ids), dimensions=dims,
        degrees=(np.column_stack([t.column("f_" + r).to_numpy(zero_copy_only=False).astype(float) for r in rule_ids])
                 if rule_ids else np.zeros((t.num_rows, 0))),
        segment=np.asarray(t.column("segment").to_pylist(), dtype=object),
        stage=np.asarray(t.column("stage").to_pylist(), dtype=object),
        value_high=t.column("value_high").to_numpy(zero_copy_only=False).astype(bool),
        n=t.column("n").to_numpy(zero_copy_only=False).astype(np.int64),
        value=np.nan_to_num(t.column("value").to_numpy(zero_copy_only=False).astype(float), nan=0.0),
        value_cut=cut, value_cutoff=rs.quadrant.value_cutoff)
    types = store.column_types(out)
    facts = ColumnFacts(types, empty=cols.empty & set(types), examples=cols.examples)
    return PatternIndex(out, base, rs, tuple(types), facts)


def patterns_for(store: Store, index: PatternIndex, rs: RuleSet) -> Patterns:
    """Patterns of `rs` from an index: the base ones when only points / tiers / fusion / enabled
    changed, else regrouped by (pid, new degrees of the rules whose thresholds changed): one narrow
    scan. Same numbers as `patterns_from_signals`. Rules added, removed or re-signalled: rebuild."""
    base = index.base
    if rs.quadrant.value_cutoff != base.value_cutoff or rs.quadrant.value_column != index.rs.quadrant.value_column:
        raise ValueError("the value column or cut-off changed: build a new pattern index")
    have = {r.id for r in rs.rules}
    if any(r not in have for r in base.rule_ids) or \
            {r.id for r in rs.rules if r.dimension in base.dimensions} - set(base.rule_ids) - {
                r.id for r in index.rs.rules if r.dimension in base.dimensions}:
        raise ValueError("the rules changed: build a new pattern index")
    changed = [r for r in base.rule_ids if rs.firing_key((r,)) != index.rs.firing_key((r,))]
    if not changed:
        return replace(base, base_pid=np.arange(len(base)))
    if any(rs.rule(r).signal != index.rs.rule(r).signal or rs.rule(r).dimension != index.rs.rule(r).dimension
           for r in changed):
        raise ValueError("a rule's signal or dimension changed: build a new pattern index")
    if index.facts is not None and set(unavailable_rules(rs, index.facts)) & set(changed):
        raise ValueError("a changed threshold does not fit its signal's type: build a new pattern index")
    grouped = _regroup_in_memory(store, index, rs, changed)
    if grouped is None:
        grouped = _regroup_one_rule_sql(store, index, rs, changed)
    if grouped is None:
        grouped = _regroup_in_sql(store, index, rs, changed)
    pid, new_degrees, n, value = grouped
    deg = base.degrees[pid].copy()
    for r, d in zip(changed, new_degrees):
        deg[:, base.rule_ids.index(r)] = d
    return Patterns(rule_ids=base.rule_ids, dimensions=base.dimensions, degrees=deg, segment=base.segment[pid],
                    stage=base.stage[pid], value_high=base.value_high[pid], n=n, value=value,
                    value_cut=base.value_cut, value_cutoff=base.value_cutoff, base_pid=pid)


def index_firings_sql(store: Store, index: PatternIndex, rs: RuleSet, changed: Iterable[str],
                      attributes: Iterable[str] = ("segment", "stage", "value")) -> tuple[str, list]:
    """(sql, params) of stage 1 for only the `changed` rules of `rs` over the index table, with
    each account's pattern id `pid` and `attributes` (the regroup after a threshold change, movers)."""
    changed = list(changed)
    part = replace(rs, rules=tuple(rs.rule(r) for r in changed),
                   overrides=tuple(o for o in rs.overrides if o.rule in set(changed)))
    cols = index.facts if index.facts is not None else (index.columns or tuple(store.columns(index.table)))
    # segment and stage always: overrides select on them
    fsql, params = compile_firings(part, cols, source=index.table, attributes={"segment", "stage", *attributes})
    # compile_firings does not carry pid: add it to its base CTE's source columns
    head = "WITH base AS (\n  SELECT\n    "
    assert fsql.startswith(head), "compile_firings changed shape"
    return head + '"pid",\n    ' + fsql[len(head):], params


def _regroup_in_sql(store: Store, index: PatternIndex, rs: RuleSet, changed: list[str]) -> tuple:
    """(pid, [degrees per changed rule], n, value) per new pattern: one narrow grouped scan."""
    fsql, params = index_firings_sql(store, index, rs, changed)
    fk = [_q("f_" + r) for r in changed]
    t = store.arrow(f"SELECT pid, {', '.join(fk)}, count(*) AS n, sum(value) AS value FROM ({fsql}) "
                    f"GROUP BY ALL ORDER BY ALL", params)
    col = lambda c: t.column(c).to_numpy(zero_copy_only=False)  # noqa: E731
    return (col("pid").astype(np.int64), [col("f_" + r).astype(float) for r in changed],
            col("n").astype(np.int64), np.nan_to_num(col("value").astype(float), nan=0.0))


def _regroup_one_rule_sql(store: Store, index: PatternIndex, rs: RuleSet, changed: list[str]) -> tuple | None:
    """`_regroup_in_sql` for one changed yes/no rule (the usual slider move): only the accounts it now
    fires for are grouped, by pid alone; the rest of each base pattern is its total minus those.
    None for several changed rules or a graded (scale) rule."""
    if len(changed) != 1 or rs.rule(changed[0]).op == "scale":
        return None
    fsql, params = index_firings_sql(store, index, rs, changed)
    t = store.arrow(f"SELECT pid, count(*) AS n, sum(value) AS value FROM ({fsql}) "
                    f"WHERE {_q('f_' + changed[0])} = 1.0 GROUP BY pid", params)
    base = index.base
    n1 = np.zeros(len(base), dtype=np.int64)
    v1 = np.zeros(len(base))
    pid = t.column("pid").to_numpy(zero_copy_only=False).astype(np.int64)
    n1[pid] = t.column("n").to_numpy(zero_copy_only=False)
    v1[pid] = np.nan_to_num(t.column("value").to_numpy(zero_copy_only=False).astype(float), nan=0.0)
    n0 = base.n - n1
    v0 = np.where(n0 > 0, base.value - v1, 0.0)
    # rows in (pid, degree) order, as the grouped SQL returns them
    keys = np.flatnonzero(np.column_stack([n0, n1]).ravel())
    n = np.column_stack([n0, n1]).ravel()[keys]
    value = np.column_stack([v0, v1]).ravel()[keys]
    return keys >> 1, [(keys & 1).astype(float)], n, value


# Below this many accounts a threshold change regroups in numpy: a DuckDB round-trip costs more than
# the work itself there (PRODUCT.md §8). The arrays kept are small (3 floats per account and rule set).
IN_MEMORY_MAX_ACCOUNTS = 100_000
_IN_MEMORY_MAX_SETS = 8
_NUMPY_OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal, "==": np.equal,
              "!=": np.not_equal}


def _plain_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and np.isfinite(x)


def _numpy_threshold(rule: Rule, thr: Threshold) -> bool:
    """Thresholds whose SQL comparison numpy repeats exactly: plain numbers (no percentile, list, text)."""
    if rule.op in _NUMPY_OPS:
        return _plain_number(thr)
    if rule.op == "between":
        return isinstance(thr, (tuple, list)) and len(thr) == 2 and all(_plain_number(x) for x in thr)
    return False


def _signal_arrays(store: Store, index: PatternIndex, rs: RuleSet, changed: list[str]) -> tuple | None:
    """Per account: pid, value (0 when NULL) and, per changed rule, (values, is NULL); read once per
    set of changed rules. None when a signal is not a plain number column numpy compares like DuckDB."""
    key = tuple((r, rs.rule(r).signal) for r in changed)
    if key in index.memory:
        return index.memory[key]
    fsql, params = index_firings_sql(store, index, rs, changed)
    t = store.arrow(f"SELECT pid, value, {', '.join(_q('v_' + r) for r in changed)} FROM ({fsql})", params)
    got: tuple | None = (t.column("pid").to_numpy(zero_copy_only=False).astype(np.int64),
                         np.nan_to_num(t.column("value").to_numpy(zero_copy_only=False).astype(float), nan=0.0), [])
    for r in changed:
        c = t.column("v_" + r)
        if not (pa.types.is_floating(c.type) or pa.types.is_integer(c.type)):
            got = None
            break
        null = c.is_null().to_numpy(zero_copy_only=False)
        v = pc.fill_null(c, 0).to_numpy(zero_copy_only=False).astype(float)
        # NaN sorts above every number in DuckDB but compares false in numpy; huge integers lose digits
        if np.isnan(v).any() or (pa.types.is_integer(c.type) and (np.abs(v) >= 2.0 ** 53).any()):
            got = None
            break
        got[2].append((v, null))
    if len(index.memory) >= _IN_MEMORY_MAX_SETS:
        index.memory.clear()
    index.memory[key] = got
    return got


def _numpy_degrees(rule: Rule, rs: RuleSet, v: np.ndarray, null: np.ndarray, segment: np.ndarray,
                   stage: np.ndarray) -> np.ndarray:
    """The 0/1 degree `compile_firings` gives each account for a comparison or between rule."""
    def fires(thr: Threshold) -> np.ndarray:
        if rule.op == "between":
            return (v >= thr[0]) & (v <= thr[1])
        return _NUMPY_OPS[rule.op](v, thr)
    d = fires(rule.threshold)
    for o in overrides_of(rs, rule.id):  # file order: a later override wins
        if o.threshold is not None:
            sel = segment == o.segment if o.segment is not None else stage == o.stage
            d = np.where(sel, fires(o.threshold), d)
    return np.where(null, rule.null_fires, d).astype(float)


def _regroup_in_memory(store: Store, index: PatternIndex, rs: RuleSet, changed: list[str]) -> tuple | None:
    """`_regroup_in_sql` in numpy for small indexes and plain numeric comparisons, else None."""
    if index.base.accounts > IN_MEMORY_MAX_ACCOUNTS or len(changed) > 16:
        return None
    rules = [rs.rule(r) for r in changed]
    for r in rules:
        variants = [r.threshold] + [o.threshold for o in overrides_of(rs, r.id) if o.threshold is not None]
        if not all(_numpy_threshold(r, t) for t in variants):
            return None
    arrays = _signal_arrays(store, index, rs, changed)
    if arrays is None:
        return None
    pid, value, signals = arrays
    base = index.base
    segment, stage = base.segment[pid], base.stage[pid]
    k = len(changed)
    key = pid.copy()
    for r, (v, null) in zip(rules, signals):  # key = (pid, degree of rule 1, rule 2, ...) as one integer
        key = key * 2 + _numpy_degrees(r, rs, v, null, segment, stage).astype(np.int64)
    if len(base) << k <= 4 * max(len(key), 1 << 16):
        n = np.bincount(key, minlength=len(base) << k)
        keys = np.flatnonzero(n)
        n, total = n[keys], np.bincount(key, weights=value, minlength=len(base) << k)[keys]
    else:
        keys, inv = np.unique(key, return_inverse=True)
        n, total = np.bincount(inv), np.bincount(inv, weights=value)
    degrees = [((keys >> (k - 1 - i)) & 1).astype(float) for i in range(k)]
    return keys >> k, degrees, n.astype(np.int64), total.astype(float)
