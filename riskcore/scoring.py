"""Compile a rule set to DuckDB SQL and score accounts, in two stages (ARCHITECTURE.md).

1. firings: per account and rule, the fired degree `f_<id>` (0..1) and the signal value `v_<id>`.
   Depends on thresholds only, so a weight change never rescans the signals.
2. scores: points x degree per dimension, tiers, fusion, quadrant, reasons, playbook.

Every value from a rule set is a bound parameter (`$n`), every identifier goes through
`quote_ident`, and expressions are whitelisted sqlglot trees rendered by sqlglot.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .db import Params, Store, quote_ident, safe_table_name
from .expressions import TEXT, ColumnFacts, parse_expression, render
from .rules import (CutValue, Override, Part, Percentile, Rule, RuleSet, Threshold, condition_parts, reason_parts,
                    rule_problems, segment_problems, signal_columns, signal_text, unavailable_rules, validate_ruleset)

# account attributes carried through both stages: (column, type); NULL when the data lacks them
ATTRIBUTES = (("account_id", "VARCHAR"), ("account_name", "VARCHAR"), ("segment", "VARCHAR"),
              ("csm_owner", "VARCHAR"), ("stage", "VARCHAR"), ("value", "DOUBLE"), ("renewal_date", "DATE"),
              ("marketing_consent", "BOOLEAN"))
QUADRANTS = ("Save", "Expand", "Maintain", "Triage")
_SQL_OPS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=", "!=": "<>"}
# label: the rule's label filled with the threshold that applied to the account (rules.reason_parts);
# condition: "signal op threshold" as it applied (rules.condition_parts)
_REASON_TYPE = ("STRUCT(rule_id VARCHAR, label VARCHAR, dimension VARCHAR, grp VARCHAR, points DOUBLE, value VARCHAR, "
                "condition VARCHAR)")
SCORE_DECIMALS = 4  # scores are rounded so float noise never moves an account across a cut-off


def _q(name: str) -> str:
    return quote_ident(name)


def _signal_sql(rule_signal: str, columns: set[str]) -> str:
    """SQL of a signal: the quoted column, or the whitelisted expression rendered by sqlglot."""
    if rule_signal in columns:
        return _q(rule_signal)
    return "(" + render(parse_expression(rule_signal, columns)) + ")"


def available_rules(rs: RuleSet, columns: Iterable[str]) -> list[Rule]:
    """Rules (enabled or not) that can run on these columns: they get firings columns. With
    ColumnFacts (`column_facts`) that includes the type check, so no engine error can surface."""
    missing = set(unavailable_rules(rs, columns))
    return [r for r in rs.rules if r.id not in missing]


def _is_account_table(store: Store) -> bool:
    return store.dataset is not None and store.dataset.kind == "account_table"


def column_facts(store: Store, table: str, rs: RuleSet | None = None) -> ColumnFacts:
    """The columns of `table` with their types: what every compile of `rs` against data checks.

    For an account table also which of the columns `rs` reads hold no value at all (a blank export
    column: its rules are unavailable; an all-NULL activity signal is a real NULL, `null_fires`
    decides), and for each text column a rule misuses an example value for the message ('1,234').
    """
    facts = ColumnFacts(store.column_types(table))
    if rs is None:
        return facts
    used: list[str] = []
    for item in rs.rules + rs.behavior_segments:
        for c in signal_columns(item.signal, facts):
            real = c if c in facts else next((x for x in facts if x.lower() == c.lower()), None)
            if real is not None and real not in used:
                used.append(real)
    src = _q(safe_table_name(table))
    empty: frozenset = frozenset()
    if used and _is_account_table(store):
        counts = store.rows(f"SELECT {', '.join(f'count({_q(c)})' for c in used)} FROM {src}")[0]
        empty = frozenset(c for c, n in zip(used, counts) if n == 0)
        facts = ColumnFacts(facts.types, empty=empty)
    texts = [p.column for p in rule_problems(rs, facts) + segment_problems(rs, facts)
             if p.column is not None and p.column in facts and facts.kind(p.column) == TEXT]
    texts = list(dict.fromkeys(texts))
    if texts:  # an example that is not a number says most (e.g. '1,234'); else any value
        row = store.rows("SELECT " + ", ".join(
            f"COALESCE(min({_q(c)}) FILTER (WHERE TRY_CAST({_q(c)} AS DOUBLE) IS NULL), min({_q(c)}))"
            for c in texts) + f" FROM {src}")[0]
        facts = ColumnFacts(facts.types, empty=empty,
                            examples={c: v for c, v in zip(texts, row) if v is not None})
    return facts


def scoring_notes(rs: RuleSet, columns: Iterable[str]) -> list[str]:
    """What the user should know before trusting the scores: unavailable rules and other gaps."""
    return validate_ruleset(rs, columns)


def _selector(o: Override, p: Params) -> str:
    if o.segment is not None:
        return f"segment = {p.add(o.segment)}"
    return f"stage = {p.add(o.stage)}"


# ---- stage 1: firings -----------------------------------------------------------

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
        variants = [(None, r.threshold)] + [(o, o.threshold) for o in _overrides_of(rs, r.id) if o.threshold is not None]
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
                whens.append(f"WHEN {_selector(o, p)} THEN {_degree_sql(r, thr, v, p, pct_cols.get(k))}")
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


def _overrides_of(rs: RuleSet, rule_id: str) -> list[Override]:
    """Overrides of one rule, in file order (a later one wins when several match)."""
    return [o for o in rs.overrides if o.rule == rule_id]


def firings(store: Store, rs: RuleSet, signals_table: str, out_table: str = "firings") -> str:
    """Stage 1 into table `out_table` (one row per account): f_<rule> degrees and v_<rule> values.
    Rules that cannot run on the table (missing, empty, wrong type) are left out: `scoring_notes`."""
    sql, params = compile_firings(rs, column_facts(store, signals_table, rs), source=signals_table)
    store.execute(f"CREATE OR REPLACE TABLE {_q(safe_table_name(out_table))} AS\n{sql}", params)
    return out_table


# ---- stage 2: scores ------------------------------------------------------------

def _scored_rules(rs: RuleSet, firing_columns: Iterable[str]) -> list[Rule]:
    cols = set(firing_columns)
    return [r for r in rs.rules if r.enabled and f"f_{r.id}" in cols]


def _contrib_cols(rules: list[Rule], rs: RuleSet, p: Params) -> list[str]:
    """c_<id> = points (with per-segment/stage overrides, later wins) x degree."""
    out = []
    for r in rules:
        over = [o for o in _overrides_of(rs, r.id) if o.points is not None]
        pts = p.add(float(r.points))
        if over:
            whens = " ".join(f"WHEN {_selector(o, p)} THEN {p.add(float(o.points))}" for o in reversed(over))
            pts = f"CASE {whens} ELSE {pts} END"
        out.append(f"{pts} * {_q('f_' + r.id)} AS {_q('c_' + r.id)}")
    return out


def _dimension_cols(rules: list[Rule], rs: RuleSet) -> list[str]:
    """<dim>_score = min(100, sum of contributions) and <dim>_groups = evidence groups that fired."""
    out = []
    for dim in rs.dimensions:
        mine = [r for r in rules if r.dimension == dim]
        total = " + ".join(_q("c_" + r.id) for r in mine) or "0.0"
        out.append(f"LEAST(100.0, {round_sql(total)}) AS {_q(dim + '_score')}")
        groups = []
        for g in dict.fromkeys(r.group for r in mine):
            fired = " OR ".join(f"{_q('c_' + r.id)} > 0" for r in mine if r.group == g)
            groups.append(f"(CASE WHEN {fired} THEN 1 ELSE 0 END)")
        out.append(f"{' + '.join(groups) or '0'} AS {_q(dim + '_groups')}")
    return out


def _high_sql(rs: RuleSet, dim: str, high: str, percentile: bool, p: Params) -> str:
    """The condition of the high tier (cut-off, positive score in percentile mode, fusion)."""
    s, g = _q(dim + "_score"), _q(dim + "_groups")
    pos = f" AND {s} > 0" if percentile else ""  # in percentile mode a zero score is never medium/high
    fusion = f" AND {g} >= {p.add(rs.fusion.min_groups)}" if rs.fusion.enabled else ""
    return f"{s} >= {high}{pos}{fusion}"


def _tier_sql(rs: RuleSet, dim: str, medium: str, high: str, percentile: bool, p: Params) -> str:
    s = _q(dim + "_score")
    pos = f" AND {s} > 0" if percentile else ""
    return (f"CASE WHEN {_high_sql(rs, dim, high, percentile, p)} THEN 'high' "
            f"WHEN {s} >= {medium}{pos} THEN 'medium' ELSE 'low' END")


def number_text_sql(x: str, direction: str | None) -> str:
    """SQL twin of rules.number_text for a DOUBLE expression `x` (a column: it is repeated):
    the same IEEE operations in the same order, so the same text."""
    big = "9007199254740992.0"
    whole = f"CAST(CAST({x} AS BIGINT) AS VARCHAR)"
    if direction is None:
        rounded = f"CAST({x} AS VARCHAR)"
    else:
        s = f"greatest(0, 3 - CAST(floor(log10(abs({x}))) AS INTEGER))"
        m = f"pow(10.0, {s})"
        near = f"(floor({x} * {m} + 0.5) / {m})"
        if direction == "near":
            r = near
        else:  # the nearest, else the next on the safe side of x
            edge = f"{'floor' if direction == 'down' else 'ceil'}({x} * {m})"
            safe = "<=" if direction == "down" else ">="
            step = "- 1" if direction == "down" else "+ 1"
            r = (f"(CASE WHEN {near} {safe} {x} THEN {near} WHEN ({edge} / {m}) {safe} {x} THEN ({edge} / {m}) "
                 f"ELSE (({edge} {step}) / {m}) END)")
        rounded = (f"CASE WHEN {s} > 15 THEN CAST({x} AS VARCHAR) WHEN {r} = floor({r}) AND abs({r}) < {big} "
                   f"THEN CAST(CAST({r} AS BIGINT) AS VARCHAR) ELSE CAST({r} AS VARCHAR) END")
    return (f"CASE WHEN {x} IS NULL THEN 'no value' WHEN isinf({x}) OR isnan({x}) THEN CAST({x} AS VARCHAR) "
            f"WHEN {x} = floor({x}) AND abs({x}) < {big} THEN {whole} ELSE {rounded} END")


def _parts_sql(parts: list[Part], cut_raw: str | None, p: Params) -> str:
    """Text parts as one SQL string: constants bound, a percentile's cut value as text from the
    one-row `cuts` columns `<cut_raw>_t1` / `_t100` (x 100 for {threshold_percent})."""
    merged: list[Part] = []
    for x in parts:  # adjacent constants as one parameter
        if merged and isinstance(x, str) and isinstance(merged[-1], str):
            merged[-1] += x
        else:
            merged.append(x)
    out: list[str] = []
    for x in merged:
        out.append(_q(f"{cut_raw}_t{int(x.scale)}") if isinstance(x, CutValue) else p.add(x))
    return out[0] if len(out) == 1 else "(" + " || ".join(out) + ")"


def _pct_variants(rs: RuleSet, rules: list[Rule]) -> list[tuple[Rule, int, Percentile, str]]:
    """(rule, variant, percentile, cut-value column) of every percentile threshold a reason states:
    variant 0 is the rule's own threshold, k the k-th of its overrides with a threshold."""
    out = []
    for r in rules:
        thrs = [r.threshold] + [o.threshold for o in _overrides_of(rs, r.id) if o.threshold is not None]
        out += [(r, k, t, f"rcut_{r.id}_{k}") for k, t in enumerate(thrs) if isinstance(t, Percentile)]
    return out


def _reasons_sql(rules: list[Rule], rs: RuleSet, p: Params) -> str:
    if not rules:
        return f"CAST([] AS {_REASON_TYPE}[])"
    cut_cols = {(r.id, k): col for r, k, _, col in _pct_variants(rs, rules)}
    items = []
    for i, r in enumerate(rules):
        c = _q("c_" + r.id)
        v = _q("v_" + r.id)
        pts = round_sql(c)
        variants = [(None, r.threshold)] + [(o, o.threshold) for o in _overrides_of(rs, r.id) if o.threshold is not None]
        selectors = [None] + [_selector(o, p) for o, _ in variants[1:]]
        labels, conds = [], []
        for k, (sel, (_, thr)) in enumerate(zip(selectors, variants)):
            cut = cut_cols.get((r.id, k))
            labels.append((sel, _parts_sql(reason_parts(r, thr), cut, p)))
            conds.append((sel, _parts_sql(condition_parts(r, thr), cut, p)))
        label, condition = _variant_sql(labels), _variant_sql(conds)
        if r.null_fires and r.op != "is_null":
            condition = f"CASE WHEN {v} IS NULL THEN {p.add(_null_condition(r))} ELSE {condition} END"
        reason = (f"struct_pack(rule_id := {p.add(r.id)}, label := {label}, "
                  f"dimension := {p.add(r.dimension)}, grp := {p.add(r.group)}, points := {pts}, "
                  f"value := CAST({v} AS VARCHAR), condition := {condition})")
        # sort key: points desc, then file order
        items.append(f"CASE WHEN {c} > 0 THEN struct_pack(k := struct_pack(p := {pts}, o := {-i}), "
                     f"r := {reason}) END")
    listed = "[\n      " + ",\n      ".join(items) + "\n    ]"
    return (f"CAST(list_transform(list_sort(list_filter({listed}, lambda x: x IS NOT NULL), 'DESC'), "
            f"lambda x: x.r) AS {_REASON_TYPE}[])")


def _variant_sql(variants: list[tuple[str | None, str]]) -> str:
    """The text of the threshold variant (selector SQL, text SQL) that applies to the account:
    the rule's own first, then its overrides (a later one wins)."""
    if len(variants) == 1:
        return variants[0][1]
    whens = " ".join(f"WHEN {sel} THEN {sql}" for sel, sql in reversed(variants[1:]))
    return f"CASE {whens} ELSE {variants[0][1]} END"


def _null_condition(r: Rule) -> str:
    """The condition of a rule that fired on an empty value (`null_fires`)."""
    return f"{signal_text(r.signal)} is empty (the rule fires on no value)"


def _high_risk_sql(rs: RuleSet, p: Params, high_tier: str) -> str:
    """High risk for the quadrant: the primary dimension's high tier (`risk_cutoff = "high_tier"`,
    `high_tier` is its condition), or its score at or above a numeric risk cut-off (with fusion)."""
    if rs.quadrant.tied_to_tier:
        return high_tier
    prim = rs.primary_dimension
    sql = f"{_q(prim + '_score')} >= {p.add(float(rs.quadrant.risk_cutoff))}"
    if rs.fusion.enabled:
        sql += f" AND {_q(prim + '_groups')} >= {p.add(rs.fusion.min_groups)}"
    return sql


def compile_scores(rs: RuleSet, firing_columns: Iterable[str], source: str = "firings",
                   playbooks_table: str | None = None) -> tuple[str, list]:
    """SELECT computing stage 2 over a firings table; returns (sql, params)."""
    p = Params()
    rules = _scored_rules(rs, firing_columns)
    src = _q(safe_table_name(source))
    parts = ["WITH f AS (\n  SELECT *" + "".join(",\n    " + c for c in _contrib_cols(rules, rs, p))
             + f"\n  FROM {src}\n)",
             "d AS (\n  SELECT *" + "".join(",\n    " + c for c in _dimension_cols(rules, rs)) + "\n  FROM f\n)"]
    cuts, tiers = [], []
    high_tier = ""
    for dim in rs.dimensions:
        m, h, mode = rs.tiers.cuts(dim)
        if mode == "percentile":
            for name, val in (("medium", m), ("high", h)):
                cuts.append(f"quantile_cont({_q(dim + '_score')}, {p.add(val / 100.0)}) AS {_q(f'{dim}_cut_{name}')}")
            med, hi = _q(f"{dim}_cut_medium"), _q(f"{dim}_cut_high")
        else:
            med, hi = p.add(float(m)), p.add(float(h))
        tiers.append(f"{_tier_sql(rs, dim, med, hi, mode == 'percentile', p)} AS {_q(dim + '_tier')}")
        if dim == rs.primary_dimension and rs.quadrant.tied_to_tier:
            high_tier = _high_sql(rs, dim, hi, mode == "percentile", p)
    if rs.quadrant.value_cutoff == "median":
        cuts.append(f"median(value) AS {_q('value_cut')}")
        value_cut = _q("value_cut")
    else:
        value_cut = p.add(float(rs.quadrant.value_cutoff))
    # one row: aggregates over the scored accounts (a constant row when nothing needs them), with the
    # cut value of each percentile threshold a reason states (as stage 1 computed it)
    pct = _pct_variants(rs, rules)
    cuts += [f"quantile_cont({_q('v_' + r.id)}, {p.add(t.percentile / 100.0)}) AS {_q(col)}" for r, _, t, col in pct]
    body = ",\n    ".join(cuts) + "\n  FROM d" if cuts else "1 AS one"
    if pct:  # and as the reasons state them: rounded towards the weaker statement, as is and x 100
        texts = [f"{number_text_sql(v, 'down' if r.op in ('>', '>=') else 'up')} AS {_q(f'{col}_t{scale}')}"
                 for r, _, _, col in pct for scale, v in ((1, _q(col)), (100, f"({_q(col)} * 100.0)"))]
        body = "*,\n    " + ",\n    ".join(texts) + "\n  FROM (SELECT " + body + ")"
    parts.append("cuts AS (\n  SELECT " + body + "\n)")
    high_value = f"COALESCE(value >= {value_cut}, false)"
    high_risk = _high_risk_sql(rs, p, high_tier)
    quadrant = (f"CASE WHEN {high_value} THEN (CASE WHEN {high_risk} THEN 'Save' ELSE 'Expand' END) "
                f"ELSE (CASE WHEN {high_risk} THEN 'Triage' ELSE 'Maintain' END) END")
    parts.append("t AS (\n  SELECT d.*,\n    " + ",\n    ".join(tiers) + f",\n    {quadrant} AS quadrant,\n    "
                 f"{_reasons_sql(rules, rs, p)} AS reasons\n  FROM d CROSS JOIN cuts\n)")
    prim = rs.primary_dimension
    dims = "".join(f",\n  {_q(d + '_score')}, {_q(d + '_tier')}" for d in rs.dimensions)
    if playbooks_table:
        # riskcore.playbooks.match_account: a row matches when its quadrant is any or equal, and
        # its (dimension, tier) matches one of the account's (dimension, tier) pairs; smallest priority wins
        tier_of = " ".join(f"WHEN {p.add(d)} THEN t.{_q(d + '_tier')}" for d in rs.dimensions)
        all_tiers = ", ".join(f"t.{_q(d + '_tier')}" for d in rs.dimensions)
        playbook = (f"(SELECT pb.playbook_id FROM {_q(safe_table_name(playbooks_table))} pb\n"
                    f"     WHERE (pb.quadrant IS NULL OR lower(pb.quadrant) = lower(t.quadrant))\n"
                    f"       AND (pb.dimension IS NULL OR pb.dimension IN "
                    f"({', '.join(p.add(d) for d in rs.dimensions)}))\n"
                    f"       AND (pb.tier IS NULL\n"
                    f"            OR (pb.dimension IS NOT NULL AND pb.tier = CASE pb.dimension {tier_of} END)\n"
                    f"            OR (pb.dimension IS NULL AND pb.tier IN ({all_tiers})))\n"
                    f"     ORDER BY pb.priority, pb.ord LIMIT 1)")
    else:
        playbook = "CAST(NULL AS VARCHAR)"
    attrs = ", ".join(_q(a) for a, _ in ATTRIBUTES)
    select = (f"SELECT\n  {attrs}{dims},\n  {_q(prim + '_score')} AS risk_score, {_q(prim + '_tier')} AS tier,\n"
              f"  quadrant, reasons,\n  {playbook} AS playbook\nFROM t")
    return ",\n".join(parts) + "\n" + select, p.values


PLAYBOOK_COLUMNS = ("dimension", "tier", "quadrant", "playbook_id", "priority")


def _register_playbooks(store: Store, playbooks: pd.DataFrame, name: str) -> str:
    missing = [c for c in PLAYBOOK_COLUMNS if c not in playbooks.columns]
    if missing:
        raise ValueError(f"playbooks frame: missing column(s) {', '.join(missing)} "
                         f"(expected {', '.join(PLAYBOOK_COLUMNS)})")
    frame = pd.DataFrame({c: playbooks[c].astype(object).where(playbooks[c].notna(), None)
                          for c in ("dimension", "tier", "quadrant", "playbook_id")})
    frame["priority"] = pd.to_numeric(playbooks["priority"]).astype(float).to_numpy()
    frame["ord"] = np.arange(len(frame), dtype=float)
    store.register_df(name, frame)
    return name


def score_firings(store: Store, rs: RuleSet, firings_table: str, playbooks: pd.DataFrame | None = None,
                  out_table: str = "scores") -> str:
    """Stage 2 only: re-weight an existing firings table (points, tiers, fusion, quadrant changes)."""
    pb = _register_playbooks(store, playbooks, f"{out_table}_playbooks") if playbooks is not None else None
    sql, params = compile_scores(rs, store.columns(firings_table), source=firings_table, playbooks_table=pb)
    store.execute(f"CREATE OR REPLACE TABLE {_q(safe_table_name(out_table))} AS\n{sql}", params)
    return out_table


def score(store: Store, rs: RuleSet, signals_table: str, playbooks: pd.DataFrame | None = None,
          out_table: str = "scores", firings_table: str | None = None) -> str:
    """Score every account of `signals_table` into `out_table` (both stages); returns its name.

    `firings_table`: reuse an existing stage-1 table (built with the same thresholds) instead of
    rescanning the signals. Unavailable rules are skipped: see `scoring_notes`.
    """
    if firings_table is None:
        firings_table = firings(store, rs, signals_table, out_table=f"{safe_table_name(out_table)}_firings")
    return score_firings(store, rs, firings_table, playbooks=playbooks, out_table=out_table)


def score_df(store: Store, rs: RuleSet, signals_table: str, playbooks: pd.DataFrame | None = None,
             out_table: str = "scores") -> pd.DataFrame:
    """Score and fetch as a DataFrame ordered by account_id (for small data and tests)."""
    table = score(store, rs, signals_table, playbooks=playbooks, out_table=out_table)
    return store.df(f"SELECT * FROM {_q(table)} ORDER BY account_id")


# ---- firing patterns (interactive re-weighting at scale) ----------------------------

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


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
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
    rules = _scored_rules(rs, store.columns(patterns_table))
    prim = rs.primary_dimension
    src = _q(safe_table_name(patterns_table))
    sql = ("WITH f AS (SELECT *" + "".join(", " + c for c in _contrib_cols(rules, rs, p)) + f" FROM {src}),\n"
           "d AS (SELECT *" + "".join(", " + c for c in _dimension_cols(rules, rs)) + " FROM f)\n"
           f"SELECT {_q(prim + '_score')} AS score, {_q(prim + '_groups')} AS groups, n, value FROM d")
    d = store.df(sql, p.values)
    m, h, mode = rs.tiers.cuts(prim)
    s = d["score"].to_numpy(dtype=float)
    if mode == "percentile":
        n = d["n"].to_numpy()
        m_cut, h_cut = (_weighted_quantile(s, n, m / 100.0), _weighted_quantile(s, n, h / 100.0))
        pos = s > 0
    else:
        m_cut, h_cut, pos = float(m), float(h), np.ones(len(s), dtype=bool)
    fusion_ok = d["groups"].to_numpy() >= rs.fusion.min_groups if rs.fusion.enabled else np.ones(len(s), bool)
    tier = np.where((s >= h_cut) & pos & fusion_ok, "high", np.where((s >= m_cut) & pos, "medium", "low"))
    d["tier"] = tier
    out = d.groupby("tier", as_index=False).agg(n=("n", "sum"), value=("value", "sum"))
    out = out.set_index("tier").reindex(["low", "medium", "high"], fill_value=0).reset_index()
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


def _pattern_rules(rs: RuleSet, columns: Iterable[str], dimensions: Iterable[str]) -> list[Rule]:
    dims = set(dimensions)
    return [r for r in available_rules(rs, columns) if r.dimension in dims]


def _dims_for(rs: RuleSet, dimensions: Iterable[str] | None) -> tuple[str, ...]:
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


def _value_cut(store: Store, rs: RuleSet, source_sql: str, params: list) -> float | None:
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
    dims = _dims_for(rs, dimensions)
    src = _q(safe_table_name(firings_table))
    cols = store.columns(firings_table)
    rule_ids = [r.id for r in rs.rules if r.dimension in dims and f"f_{r.id}" in cols]
    return _patterns_from_query(store, rs, rule_ids, dims, src, [], _value_cut(store, rs, src, []), max_patterns)


def patterns_from_signals(store: Store, rs: RuleSet, signals_table: str, dimensions: Iterable[str] | None = None,
                          max_patterns: int | None = 200_000) -> "Patterns | None":
    """Patterns straight from the signals (after a threshold change): stage 1 restricted to the rules of
    `dimensions`, grouped in the same query, so no per-account table is written."""
    dims = _dims_for(rs, dimensions)
    cols = column_facts(store, signals_table, rs)
    rules = _pattern_rules(rs, cols, dims)
    ids = {r.id for r in rules}
    part = replace(rs, rules=tuple(rules), overrides=tuple(o for o in rs.overrides if o.rule in ids))
    sql, params = compile_firings(part, cols, source=signals_table)
    src = f"({sql}) AS firings"
    return _patterns_from_query(store, rs, [r.id for r in rules], dims, src, params,
                                _value_cut(store, rs, src, params), max_patterns)


def round_sql(expr: str) -> str:
    """SQL rounding a non-negative DOUBLE score to SCORE_DECIMALS: floor(x * 10^d + 0.5) / 10^d.

    Written with IEEE multiply, add, floor and divide only (no engine ROUND, whose half-way
    behaviour differs between DuckDB versions and Spark), so `round_score` matches it by construction.
    """
    m = f"CAST({10 ** SCORE_DECIMALS} AS DOUBLE)"
    return f"(floor(({expr}) * {m} + 0.5) / {m})"


def round_score(x: np.ndarray) -> np.ndarray:
    """numpy twin of `round_sql`: the same operations in the same order, so the same doubles."""
    m = float(10 ** SCORE_DECIMALS)
    return np.floor(np.asarray(x, dtype=float) * m + 0.5) / m


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
        for o in _overrides_of(rs, r.id):  # file order: a later override wins
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
        m_cut, h_cut = _weighted_quantile(s, pat.n, m / 100.0), _weighted_quantile(s, pat.n, h / 100.0)
        pos = s > 0
    else:
        m_cut, h_cut, pos = float(m), float(h), True
    fusion_ok = groups >= rs.fusion.min_groups if rs.fusion.enabled else True
    return np.where((s >= h_cut) & pos & fusion_ok, 2, np.where((s >= m_cut) & pos, 1, 0))


def pattern_tiers(pat: Patterns, rs: RuleSet, dimension: str | None = None) -> np.ndarray:
    """Tier (low / medium / high) of each pattern for the dimension (default: the primary one)."""
    return np.array(["low", "medium", "high"], dtype=object)[pattern_tier_codes(pat, rs, dimension)]


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


# ---- a threshold change without rescoring every rule --------------------------------------

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


def _firing_key(rs: RuleSet, rule_id: str) -> tuple:
    """What one rule's firing depends on (not its points, enabled flag, tiers or fusion)."""
    r = replace(rs.rule(rule_id), points=0, enabled=True)
    overrides = tuple((o.segment, o.stage, o.threshold) for o in _overrides_of(rs, rule_id) if o.threshold is not None)
    return r, overrides


def pattern_index(store: Store, rs: RuleSet, signals_table: str, out_table: str = "pattern_index",
                  dimensions: Iterable[str] | None = None) -> PatternIndex:
    """Fire the rules of `dimensions` (default: the primary) once, keep their patterns and a
    per-account pattern id (one-off per signals table and threshold set)."""
    dims = _dims_for(rs, dimensions)
    out = safe_table_name(out_table)
    cols = column_facts(store, signals_table, rs)
    rules = _pattern_rules(rs, cols, dims)
    ids = {r.id for r in rules}
    part = replace(rs, rules=tuple(rules), overrides=tuple(o for o in rs.overrides if o.rule in ids))
    need = {a.lower() for a, _ in ATTRIBUTES} | {rs.quadrant.value_column.lower()}
    for r in rules:
        need |= {c.lower() for c in signal_columns(r.signal, cols)}
    keep = [c for c in cols if c.lower() in need]
    sig = _q(safe_table_name(signals_table))
    fsql, params = compile_firings(part, cols, source=signals_table)
    src = f"({fsql}) AS firings"
    cut = _value_cut(store, rs, src, params)
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
    changed = [r for r in base.rule_ids if _firing_key(rs, r) != _firing_key(index.rs, r)]
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
    for o in _overrides_of(rs, rule.id):  # file order: a later override wins
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
        variants = [r.threshold] + [o.threshold for o in _overrides_of(rs, r.id) if o.threshold is not None]
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
