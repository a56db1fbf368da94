"""Stage 2 of scoring: points x degree per dimension, tiers, fusion, quadrant, reasons and playbook
over a firings table (`compile_scores`), and `score` / `score_df`, which run both stages."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from ..db import Params, Store, quote_ident, safe_table_name
from ..rules import QUADRANTS, TIERS, Rule, RuleSet
from .columns import ATTRIBUTES
from .firings import firings, overrides_of, selector_sql
from .reasons import number_text_sql, pct_variants, reasons_sql
from .rounding import round_sql

_q = quote_ident  # short: the SQL below reads better

def scored_rules(rs: RuleSet, firing_columns: Iterable[str]) -> list[Rule]:
    cols = set(firing_columns)
    return [r for r in rs.rules if r.enabled and f"f_{r.id}" in cols]


def contrib_cols(rules: list[Rule], rs: RuleSet, p: Params) -> list[str]:
    """c_<id> = points (with per-segment/stage overrides, later wins) x degree."""
    out = []
    for r in rules:
        over = [o for o in overrides_of(rs, r.id) if o.points is not None]
        pts = p.add(float(r.points))
        if over:
            whens = " ".join(f"WHEN {selector_sql(o, p)} THEN {p.add(float(o.points))}" for o in reversed(over))
            pts = f"CASE {whens} ELSE {pts} END"
        out.append(f"{pts} * {_q('f_' + r.id)} AS {_q('c_' + r.id)}")
    return out


def dimension_cols(rules: list[Rule], rs: RuleSet) -> list[str]:
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
    low_, medium_, high_ = TIERS
    return (f"CASE WHEN {_high_sql(rs, dim, high, percentile, p)} THEN '{high_}' "
            f"WHEN {s} >= {medium}{pos} THEN '{medium_}' ELSE '{low_}' END")


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
    rules = scored_rules(rs, firing_columns)
    src = _q(safe_table_name(source))
    parts = ["WITH f AS (\n  SELECT *" + "".join(",\n    " + c for c in contrib_cols(rules, rs, p))
             + f"\n  FROM {src}\n)",
             "d AS (\n  SELECT *" + "".join(",\n    " + c for c in dimension_cols(rules, rs)) + "\n  FROM f\n)"]
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
    pct = pct_variants(rs, rules)
    cuts += [f"quantile_cont({_q('v_' + r.id)}, {p.add(t.percentile / 100.0)}) AS {_q(col)}" for r, _, t, col in pct]
    body = ",\n    ".join(cuts) + "\n  FROM d" if cuts else "1 AS one"
    if pct:  # and as the reasons state them: rounded towards the weaker statement, as is and x 100
        texts = [f"{number_text_sql(v, 'down' if r.op in ('>', '>=') else 'up')} AS {_q(f'{col}_t{scale}')}"
                 for r, _, _, col in pct for scale, v in ((1, _q(col)), (100, f"({_q(col)} * 100.0)"))]
        body = "*,\n    " + ",\n    ".join(texts) + "\n  FROM (SELECT " + body + ")"
    parts.append("cuts AS (\n  SELECT " + body + "\n)")
    high_value = f"COALESCE(value >= {value_cut}, false)"
    high_risk = _high_risk_sql(rs, p, high_tier)
    save, expand, maintain, triage = QUADRANTS
    quadrant = (f"CASE WHEN {high_value} THEN (CASE WHEN {high_risk} THEN '{save}' ELSE '{expand}' END) "
                f"ELSE (CASE WHEN {high_risk} THEN '{triage}' ELSE '{maintain}' END) END")
    parts.append("t AS (\n  SELECT d.*,\n    " + ",\n    ".join(tiers) + f",\n    {quadrant} AS quadrant,\n    "
                 f"{reasons_sql(rules, rs, p)} AS reasons\n  FROM d CROSS JOIN cuts\n)")
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
