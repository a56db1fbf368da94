"""The reasons column of stage 2 in SQL: each fired rule's label and condition as text, filled with
the threshold that applied (a percentile's cut value rendered in SQL like rules.number_text)."""

from __future__ import annotations

from ..db import Params, quote_ident
from ..rules import CutValue, Part, Percentile, Rule, RuleSet, condition_parts, reason_parts, signal_text
from .firings import overrides_of, selector_sql
from .rounding import round_sql

_q = quote_ident  # short: the SQL below reads better

# label: the rule's label filled with the threshold that applied to the account (rules.reason_parts);
# condition: "signal op threshold" as it applied (rules.condition_parts)
REASON_TYPE = ("STRUCT(rule_id VARCHAR, label VARCHAR, dimension VARCHAR, grp VARCHAR, points DOUBLE, value VARCHAR, "
                "condition VARCHAR)")


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


def pct_variants(rs: RuleSet, rules: list[Rule]) -> list[tuple[Rule, int, Percentile, str]]:
    """(rule, variant, percentile, cut-value column) of every percentile threshold a reason states:
    variant 0 is the rule's own threshold, k the k-th of its overrides with a threshold."""
    out = []
    for r in rules:
        thrs = [r.threshold] + [o.threshold for o in overrides_of(rs, r.id) if o.threshold is not None]
        out += [(r, k, t, f"rcut_{r.id}_{k}") for k, t in enumerate(thrs) if isinstance(t, Percentile)]
    return out


def reasons_sql(rules: list[Rule], rs: RuleSet, p: Params) -> str:
    if not rules:
        return f"CAST([] AS {REASON_TYPE}[])"
    cut_cols = {(r.id, k): col for r, k, _, col in pct_variants(rs, rules)}
    items = []
    for i, r in enumerate(rules):
        c = _q("c_" + r.id)
        v = _q("v_" + r.id)
        pts = round_sql(c)
        variants = [(None, r.threshold)] + [(o, o.threshold) for o in overrides_of(rs, r.id) if o.threshold is not None]
        selectors = [None] + [selector_sql(o, p) for o, _ in variants[1:]]
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
            f"lambda x: x.r) AS {REASON_TYPE}[])")


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
