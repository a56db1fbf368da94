"""Stage 1 of scoring: per account and rule the fired degree `f_<id>` (0..1) and the signal value
`v_<id>`. It depends on thresholds only, so a weight change never rescans the signals."""

from __future__ import annotations

from typing import Iterable

from ..db import Params, Store, quote_ident, safe_table_name
from ..expressions import ColumnFacts, parse_expression, render
from ..rules import Override, Percentile, Rule, RuleSet, Threshold
from .columns import ATTRIBUTES, available_rules, column_facts

_q = quote_ident  # short: the SQL below reads better

_SQL_OPS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=", "!=": "<>"}


def _signal_sql(rule_signal: str, columns: set[str]) -> str:
    """SQL of a signal: the quoted column, or the whitelisted expression rendered by sqlglot."""
    if rule_signal in columns:
        return _q(rule_signal)
    return "(" + render(parse_expression(rule_signal, columns)) + ")"


def selector_sql(o: Override, p: Params) -> str:
    if o.segment is not None:
        return f"segment = {p.add(o.segment)}"
    return f"stage = {p.add(o.stage)}"


def _degree_sql(rule: Rule, thr: Threshold, v: str, p: Params, pct_col: str | None) -> str:
    """Degree (0..1) of a non-NULL value `v` for one threshold variant."""
    op = rule.op
    if op == "scale":
        lo, hi = p.add(float(thr[0])), p.add(float(thr[1]))
        return f"GREATEST(0.0, LEAST(1.0, (CAST({v} AS DOUBLE) - {lo}) / ({hi} - {lo})))"
    return f"CASE WHEN {comparison_sql(op, thr, v, p, pct_col)} THEN 1.0 ELSE 0.0 END"


def comparison_sql(op: str, thr: Threshold, v: str, p: Params, pct_col: str | None) -> str:
    """The yes/no condition of an operator over the SQL value `v` (thresholds bound, a
    percentile threshold read from the column `pct_col`); shared by rules and segments."""
    if op == "is_true":
        return f"TRY_CAST({v} AS BOOLEAN)"
    if op == "between":
        return f"{v} BETWEEN {p.add(thr[0])} AND {p.add(thr[1])}"
    if op == "in":
        return f"{v} IN ({', '.join(p.add(x) for x in thr)})"
    rhs = _q(pct_col) if isinstance(thr, Percentile) else p.add(thr)
    return f"{v} {_SQL_OPS[op]} {rhs}"


def compile_firings(rs: RuleSet, columns: Iterable[str], source: str = "signals",
                    attributes: Iterable[str] | None = None) -> tuple[str, list]:
    """SELECT computing stage 1 over the table `source` with these columns; returns (sql, params).
    `attributes`: which of ATTRIBUTES to carry (default all; a narrow scan needs fewer)."""
    columns = columns if isinstance(columns, ColumnFacts) else list(columns)
    cols = set(columns)
    if "account_id" not in cols:
        raise ValueError(f"table {source!r} has no account_id column: cannot score it")
    keep = None if attributes is None else set(attributes)
    p = Params()
    base = []
    for name, typ in ATTRIBUTES:
        if keep is not None and name not in keep:
            continue
        src = rs.quadrant.value_column if name == "value" else name
        if src in cols:
            cast = "CAST" if typ == "VARCHAR" else "TRY_CAST"
            base.append(f"{cast}({_q(src)} AS {typ}) AS {_q(name)}")
        else:
            base.append(f"CAST(NULL AS {typ}) AS {_q(name)}")
    rules = available_rules(rs, columns)
    for r in rules:
        base.append(f"{_signal_sql(r.signal, cols)} AS {_q('v_' + r.id)}")

    pct: list[str] = []  # percentile thresholds over the scored accounts
    degrees = []
    for r in rules:
        v = _q("v_" + r.id)
        variants = [(None, r.threshold)] + [(o, o.threshold) for o in overrides_of(rs, r.id) if o.threshold is not None]
        pct_cols: dict[int, str] = {}
        for k, (_, thr) in enumerate(variants):
            if isinstance(thr, Percentile):
                pct_cols[k] = f"pct_{r.id}_{k}"
                pct.append(f"quantile_cont({v}, {p.add(thr.percentile / 100.0)}) AS {_q(pct_cols[k])}")
        if r.op == "is_null":
            expr = f"CASE WHEN {v} IS NULL THEN 1.0 ELSE 0.0 END"
        else:
            whens = [f"WHEN {v} IS NULL THEN {'1.0' if r.null_fires else '0.0'}"]
            # later overrides win: list them first
            for k in range(len(variants) - 1, 0, -1):
                o, thr = variants[k]
                whens.append(f"WHEN {selector_sql(o, p)} THEN {_degree_sql(r, thr, v, p, pct_cols.get(k))}")
            whens.append(f"ELSE {_degree_sql(r, r.threshold, v, p, pct_cols.get(0))}")
            expr = "CASE " + " ".join(whens) + " END"
        degrees.append(f"{expr} AS {_q('f_' + r.id)}")

    src = _q(safe_table_name(source))
    sql = "WITH base AS (\n  SELECT\n    " + ",\n    ".join(base) + f"\n  FROM {src}\n)"
    if pct:
        sql += ",\npct AS (\n  SELECT\n    " + ",\n    ".join(pct) + "\n  FROM base\n)"
    sql += "\nSELECT\n    base.*" + "".join(",\n    " + d for d in degrees)
    sql += "\nFROM base" + (" CROSS JOIN pct" if pct else "")
    return sql, p.values


def overrides_of(rs: RuleSet, rule_id: str) -> list[Override]:
    """Overrides of one rule, in file order (a later one wins when several match)."""
    return [o for o in rs.overrides if o.rule == rule_id]


def firings(store: Store, rs: RuleSet, signals_table: str, out_table: str = "firings") -> str:
    """Stage 1 into table `out_table` (one row per account): f_<rule> degrees and v_<rule> values.
    Rules that cannot run on the table (missing, empty, wrong type) are left out: `scoring_notes`."""
    sql, params = compile_firings(rs, column_facts(store, signals_table, rs), source=signals_table)
    store.execute(f"CREATE OR REPLACE TABLE {_q(safe_table_name(out_table))} AS\n{sql}", params)
    return out_table
