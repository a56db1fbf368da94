"""Starter rules for a wide account table: one rule per column that separates churners.

A new user who loads their own export (no activity tables) gets a working, explainable rule set
in one click instead of a page of "unavailable" rules; they then tune it or fit its weights.
Its labels name their thresholds (they follow a Tuning change), its tier cut-offs come from the
data (`tiercuts`), and its value axis is the mapped ARR or a money column no rule uses, with its
unit stated (`[quadrant] value_unit`).
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

from .db import Store, quote_ident
from .leakage import leak_columns, outcome_leaks
from .rules import HIGH_TIER, Fusion, Percentile, Quadrant, Rule, RuleSet, Tiers, signal_columns
from .tiercuts import TierChoice, tiers_from_data, with_data_tiers

CANONICAL = {"account_id", "account_name", "arr", "csm_owner", "segment", "renewal_date", "churned", "parent_id"}
VALUE_HINT = re.compile(r"revenue|arr\b|mrr|charge|amount|spend|price|value", re.I)
MONTHLY_HINT = re.compile(r"month|mrr|per_?mo\b", re.I)
ANNUAL_HINT = re.compile(r"annual|year|arr\b", re.I)
NUMERIC = ("DOUBLE", "BIGINT", "INTEGER", "FLOAT", "DECIMAL", "SMALLINT", "HUGEINT")


def _rule_id(column: str, suffix: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", column.lower()).strip("_") or "col"
    return f"{base}_{suffix}"[:60]


def _signal(column: str) -> str:
    return column if re.fullmatch(r"[a-z_][a-z0-9_]*", column) else '"' + column.replace('"', '""') + '"'


def starter_warnings(store: Store, table: str = "account_table") -> list[str]:
    """Why columns were left out of the starter rules: each one is the outcome in disguise."""
    return [leak.warning("not used for starter rules") for leak in outcome_leaks(store, table)]


def starter_ruleset(store: Store, table: str = "account_table", min_lift: float = 1.25,
                    max_rules: int = 12) -> RuleSet:
    """Rules over `table`'s own columns: for each numeric column the top or bottom quintile
    (whichever churns more), for each low-cardinality text column its most churning value;
    kept when its churn rate is at least `min_lift` x the overall rate; points from the lift.
    Columns that copy or nearly copy the outcome are skipped (see starter_warnings), and so is the
    column mapped as the value (ARR): risk and value stay two axes. Tier cut-offs: `tiercuts`."""
    return starter_with_tiers(store, table, min_lift, max_rules)[0]


def starter_with_tiers(store: Store, table: str = "account_table", min_lift: float = 1.25,
                       max_rules: int = 12) -> tuple[RuleSet, TierChoice]:
    """`starter_ruleset` and how its tier cut-offs were chosen (for the CLI's summary line)."""
    types = store.column_types(table)
    if "churned" not in types:
        raise ValueError(f"{table}: starter rules need an outcome column (map one, e.g. Churn)")
    mapping = store.dataset.mapping if store.dataset and store.dataset.mapping else None
    outcome_col = mapping.outcome_column if mapping else None
    value_src = mapping.value_column if mapping else None
    base = store.one(f"SELECT avg(CAST(churned AS DOUBLE)) FROM {quote_ident(table)} WHERE churned IS NOT NULL")
    if not base:
        raise ValueError(f"{table}: no churned accounts in the outcome column, nothing to learn from")
    leaks = leak_columns(store, table)  # the outcome in disguise is never a rule (starter_warnings names them)
    candidates: list[tuple[float, Rule]] = []
    for col, typ in types.items():
        if col in CANONICAL or col in (outcome_col, value_src) or col.endswith("_orig") or col.lower() in leaks:
            continue
        q = quote_ident(col)
        if typ in NUMERIC:
            p20, p80 = store.rows(f"SELECT quantile_cont({q}, 0.2), quantile_cont({q}, 0.8) FROM {quote_ident(table)}")[0]
            if p20 is None or p20 == p80:
                continue
            hi, lo = store.rows(
                f"SELECT avg(CAST(churned AS DOUBLE)) FILTER (WHERE {q} >= ?), "
                f"avg(CAST(churned AS DOUBLE)) FILTER (WHERE {q} <= ?) FROM {quote_ident(table)}", [p80, p20])[0]
            for rate, op, pct, word in ((hi, ">=", 80, "top"), (lo, "<=", 20, "bottom")):
                if rate is not None and rate / base >= min_lift:
                    candidates.append((rate / base, Rule(
                        id=_rule_id(col, "high" if op == ">=" else "low"),
                        label=f"{col} in the {word} {{share}}% ({op} {{threshold}})",
                        dimension="churn", signal=_signal(col), op=op, threshold=Percentile(pct),
                        points=0, group="external")))
        elif typ == "VARCHAR":
            rows = store.rows(
                f"SELECT {q}, avg(CAST(churned AS DOUBLE)), count(*) FROM {quote_ident(table)} "
                f"WHERE {q} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1")
            if not 2 <= len(rows) <= 10:
                continue
            value, rate, n = rows[0]
            if n >= 10 and rate / base >= min_lift:
                candidates.append((rate / base, Rule(
                    id=_rule_id(col, "is_" + re.sub(r"[^a-z0-9]+", "_", str(value).lower())[:20]),
                    label=f"{col} is {{threshold}}", dimension="churn", signal=_signal(col), op="==",
                    threshold=str(value), points=0, group="external")))
    if not candidates:  # a rule set without rules would score every account 0: say why instead
        where = store.dataset.source if store.dataset is not None else table
        raise ValueError(f"{where}: no column qualifies for a starter rule (a numeric column whose top or "
                         f"bottom 20% churns at least {min_lift:g}x the overall rate, or a text column with 2-10 "
                         "values one of which does, in 10+ accounts): write rules by hand or load more columns")
    candidates.sort(key=lambda c: (-c[0], c[1].id))
    rules, seen = [], set()
    for lift, rule in candidates[:max_rules]:
        if rule.id in seen:
            continue
        seen.add(rule.id)
        points = int(max(5, min(50, round(25 * math.log2(lift)))))
        rules.append(Rule(**{**rule.__dict__, "points": points}))
    value_col, unit = _value_column(store, table, types, rules, leaks | {outcome_col.lower()} if outcome_col else leaks)
    rs = RuleSet(name="starter", primary_dimension="churn", dimensions=("churn",), tiers=Tiers(),
                 quadrant=Quadrant(value_column=value_col, value_cutoff="median", risk_cutoff=HIGH_TIER,
                                   value_unit=unit),
                 fusion=Fusion(enabled=False, min_groups=2), rules=tuple(rules))
    choice = tiers_from_data(store, rs, table)
    rs = with_data_tiers(rs, choice)
    description = ("Starter rules from this table's own columns (lift over the overall churn rate). "
                   f"Tier cut-offs from the data: {choice.summary()}.")
    return replace(rs, description=description), choice


def _value_column(store: Store, table: str, types: dict[str, str], rules: list[Rule],
                  skip: set[str]) -> tuple[str, str | None]:
    """(value column, unit) of the quadrant: the mapped ARR when it has values (unit: annual, the
    default), else the first money-named numeric column no rule uses, its unit read from its name
    (monthly, annual, else other); ("arr", None) when there is none (the value axis stays empty).
    `skip`: lower-case names never to use (the outcome and its copies)."""
    if store.one(f"SELECT count(arr) FROM {quote_ident(table)}") if "arr" in types else 0:
        return "arr", None
    used = {c.lower() for r in rules for c in signal_columns(r.signal, types)}
    for col, typ in types.items():
        if (typ in NUMERIC and VALUE_HINT.search(col) and col not in CANONICAL and col.lower() not in used
                and col.lower() not in skip and not col.endswith("_orig")
                and store.one(f"SELECT count({quote_ident(col)}) FROM {quote_ident(table)}")):
            unit = "monthly" if MONTHLY_HINT.search(col) else "annual" if ANNUAL_HINT.search(col) else "other"
            return col, unit
    return "arr", None
