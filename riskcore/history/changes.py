"""What changed and why (PRODUCT.md §9): one account's change between two states split exactly into
per-rule customer parts (started / stopped / changed), the rule-set part and the cap; `explain`.

The walk is A (rule set RA) -> B' (B's customer state scored with RA) -> B (RB), in exact fractions
so the parts always sum to the change; values are rounded to DISPLAY_DECIMALS only for display, the
rounding residue put on the largest part. A rule whose definition changed between versions keeps
A's degree at B' (a rule change never looks like a customer change).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd

from ..db import Store
from ..rules import RuleSet, rule_label
from .snapshots import SnapshotStore, choose_snapshots
from .states import (State, account_context, counterfactual_degrees, effective_points, fired_rules, history_source,
                     rescored_state, rule_dimension, states_from_snapshots)
from .storefile import HistoryError

DISPLAY_DECIMALS = 4


@dataclass(frozen=True)
class Part:
    """One exact part of a dimension's change."""

    dimension: str
    rule: str | None
    reason: str  # started | stopped | changed | rule_set | cap
    points: Fraction
    degree_from: Fraction = Fraction(0)
    degree_to: Fraction = Fraction(0)
    value_from: str | None = None
    value_to: str | None = None


def decompose(a: State, b: State, account_id: str) -> tuple[dict[str, tuple[Fraction, Fraction]], list[Part]]:
    """Exact decomposition of one account's change from A to B: ({dim: (from, to)}, parts).

    For every dimension, sum(parts) == to - from exactly (Fractions). A missing side is all zero.
    """
    ra = a.rows.loc[account_id] if account_id in a.rows.index else None
    rb = b.rows.loc[account_id] if account_id in b.rows.index else None
    fa, fb = fired_rules(ra), fired_rules(rb)
    ctx_b = account_context(rb)
    cf = counterfactual_degrees(a, b, fa, fb)
    dims = list(dict.fromkeys(list(b.rules.dimensions) + list(a.rules.dimensions)))
    u_a = {d: Fraction(0) for d in dims}
    u_b = {d: Fraction(0) for d in dims}
    parts: list[Part] = []
    for rid, x in fa.items():
        u_a[x["dimension"]] = u_a.get(x["dimension"], Fraction(0)) + Fraction(x["points"]) * Fraction(x["degree"])
    for rid, x in fb.items():
        u_b[x["dimension"]] = u_b.get(x["dimension"], Fraction(0)) + Fraction(x["points"]) * Fraction(x["degree"])
    rule_ids = list(dict.fromkeys([r.id for r in a.rules.rules] + [r.id for r in b.rules.rules] + list(fa) + list(fb)))
    for rid in rule_ids:
        xa, xb = fa.get(rid), fb.get(rid)
        da = Fraction(xa["degree"]) if xa else Fraction(0)
        db = Fraction(xb["degree"]) if xb else Fraction(0)
        dcf = cf.get(rid, Fraction(0))
        c_a = Fraction(xa["points"]) * da if xa else Fraction(0)
        c_cf = effective_points(a.rules, rid, *ctx_b) * dcf
        c_b = Fraction(xb["points"]) * db if xb else Fraction(0)
        dim_a = xa["dimension"] if xa else rule_dimension(a.rules, rid)
        dim_b = xb["dimension"] if xb else rule_dimension(b.rules, rid)
        vals = dict(value_from=xa["value"] if xa else None, value_to=xb["value"] if xb else None)
        customer = c_cf - c_a
        if customer != 0:
            reason = "started" if da == 0 else ("stopped" if dcf == 0 else "changed")
            parts.append(Part(dim_a, rid, reason, customer, da, dcf, **vals))
        # rule-set part per dimension (a rule may move between dimensions)
        if dim_a == dim_b or dim_a is None or dim_b is None:
            d = dim_b or dim_a
            if c_b - c_cf != 0:
                parts.append(Part(d, rid, "rule_set", c_b - c_cf, dcf, db, **vals))
        else:
            if c_cf != 0:
                parts.append(Part(dim_a, rid, "rule_set", -c_cf, dcf, Fraction(0), **vals))
            if c_b != 0:
                parts.append(Part(dim_b, rid, "rule_set", c_b, Fraction(0), db, **vals))
    totals = {}
    for d in dims:
        s_a, s_b = min(Fraction(100), u_a[d]), min(Fraction(100), u_b[d])
        cap = (s_b - s_a) - (u_b[d] - u_a[d])
        if cap != 0:
            parts.append(Part(d, None, "cap", cap))
        totals[d] = (s_a, s_b)
    return totals, parts


def _round(x: Fraction) -> Decimal:
    q = Decimal(1).scaleb(-DISPLAY_DECIMALS)
    return (Decimal(x.numerator) / Decimal(x.denominator)).quantize(q)


def display_parts(total: tuple[Fraction, Fraction], parts: list[Part]) -> tuple[Decimal, Decimal, list[Decimal]]:
    """Round from, to and parts for display so that the rounded parts still sum to rounded to - from."""
    f, t = _round(total[0]), _round(total[1])
    shown = [_round(p.points) for p in parts]
    residue = (t - f) - sum(shown, Decimal(0))
    if residue and shown:
        i = max(range(len(parts)), key=lambda k: abs(parts[k].points))
        shown[i] += residue
    return f, t, shown


def _num(x: Decimal) -> float | int:
    return int(x) if x == x.to_integral_value() else float(x)


_REASON_ORDER = {"started": 0, "changed": 1, "stopped": 2, "rule_set": 3, "cap": 4}


def explain(account_id: str, from_date: date, to_date: date, rules: RuleSet, store: Store | None = None,
            snapshots: str | Path | None = None) -> dict:
    """Why an account's scores changed between two dates: per dimension `from`, `to`, `changes`.

    From snapshots (the latest on or before each date; the one under `rules` preferred) or, without
    snapshots, by re-scoring the activity tables in `store` with `rules` as of each date.
    `changes` is a list of {rule, reason, points, ...} whose points sum exactly to `to - from`.
    """
    account_id = str(account_id)
    if from_date > to_date:
        raise HistoryError(f"--from {from_date} is after --to {to_date}")
    source = history_source(store, snapshots)
    if source == "snapshots":
        a, b = states_from_snapshots(snapshots, [from_date, to_date], rules, account_id)
    else:
        a, b = rescored_state(store, rules, from_date), rescored_state(store, rules, to_date)
    if account_id not in a.rows.index and account_id not in b.rows.index:
        where = f"the snapshots of {a.date} and {b.date} in {snapshots}" if source == "snapshots" else \
            f"the accounts active at {from_date} or {to_date}"
        raise HistoryError(f"account {account_id!r} not found in {where}")
    seen = _first_seen(snapshots, account_id, a, b, rules) if source == "snapshots" else {}
    return explain_states(a, b, account_id, source=source, seen=seen)


def explain_states(a: State, b: State, account_id: str, source: str = "rescored",
                   seen: dict | None = None) -> dict:
    """The explanation of one account between two scored states already in hand (the dict of
    `explain`); `seen`: rule id -> date a started rule was first seen (else the later date)."""
    seen = seen or {}
    totals, parts = decompose(a, b, account_id)
    row = b.rows.loc[account_id] if account_id in b.rows.index else a.rows.loc[account_id]
    dims: dict[str, dict] = {}
    for d, total in totals.items():
        mine = sorted([p for p in parts if p.dimension == d],
                      key=lambda p: (_REASON_ORDER[p.reason], -abs(p.points), p.rule or ""))
        f, t, shown = display_parts(total, mine)
        changes = []
        for p, pts in zip(mine, shown):
            c: dict[str, Any] = {"rule": p.rule, "reason": p.reason, "points": _num(pts)}
            if p.rule is not None:
                c["label"] = _label(b.rules, a.rules, p.rule)
                c["value_from"], c["value_to"] = p.value_from, p.value_to
                if p.reason in ("changed", "rule_set"):
                    c["degree_from"], c["degree_to"] = float(p.degree_from), float(p.degree_to)
                if p.reason == "started":
                    c["seen"] = seen.get(p.rule, b.date).isoformat()
                if p.reason == "rule_set":
                    c["from_ruleset"], c["to_ruleset"] = a.ruleset_hash[:12], b.ruleset_hash[:12]
            changes.append(c)
        dims[d] = {"from": _num(f), "to": _num(t), "from_tier": _tier_of(a, account_id, d),
                   "to_tier": _tier_of(b, account_id, d), "changes": changes}
    return {
        "account_id": account_id,
        "account_name": None if pd.isna(row.get("account_name")) else row.get("account_name"),
        "from_date": a.date.isoformat(), "to_date": b.date.isoformat(), "source": source,
        "from_ruleset": {"name": a.rules.name, "hash": a.ruleset_hash},
        "to_ruleset": {"name": b.rules.name, "hash": b.ruleset_hash},
        "rule_set_changed": a.ruleset_hash != b.ruleset_hash,
        "dimensions": dims,
    }


def _label(*rulesets_and_id) -> str:
    *sets, rid = rulesets_and_id
    for rs in sets:
        try:
            return rule_label(rs.rule(rid))
        except KeyError:
            pass
    return rid


def _tier_of(s: State, account_id: str, dim: str) -> str | None:
    if account_id not in s.rows.index or f"{dim}_tier" not in s.rows.columns:
        return None
    v = s.rows.loc[account_id, f"{dim}_tier"]
    return None if pd.isna(v) else str(v)


def _first_seen(path, account_id: str, a: State, b: State, rules: RuleSet) -> dict[str, date]:
    """First snapshot date in (A, B] at which each rule fired for the account (for 'seen 12 Oct')."""
    snaps = SnapshotStore(path)
    chosen = choose_snapshots(snaps.index(), rules)
    chosen = chosen[(chosen["snapshot_date"] > a.date) & (chosen["snapshot_date"] <= b.date)]
    frame = snaps.rows(list(zip(chosen["snapshot_date"], chosen["ruleset_hash"])), account_id=account_id)
    seen: dict[str, date] = {}
    for _, row in frame.sort_values("snapshot_date").iterrows() if not frame.empty else []:
        for rid in fired_rules(row):
            seen.setdefault(rid, row["snapshot_date"])
    return seen


def change_sentences(result: dict, dimension: str | None = None) -> list[str]:
    """One sentence per change, e.g. '+25 Champion left, seen 12 Oct 2025' (for the account view)."""
    out = []
    dims = [dimension] if dimension else list(result["dimensions"])
    for d in dims:
        for c in result["dimensions"][d]["changes"]:
            pts = f"{c['points']:+g}"
            if c["reason"] == "started":
                when = date.fromisoformat(c["seen"]).strftime("%d %b %Y").lstrip("0")
                out.append(f"{pts} {c['label']}, seen {when}")
            elif c["reason"] == "stopped":
                out.append(f"{pts} {c['label']}: no longer the case")
            elif c["reason"] == "changed":
                out.append(f"{pts} {c['label']}: degree {c['degree_from']:g} -> {c['degree_to']:g}")
            elif c["reason"] == "rule_set":
                out.append(f"{pts} {c['label']}: rule set changed ({result['from_ruleset']['name']} "
                           f"{c['from_ruleset'][:7]} -> {result['to_ruleset']['name']} {c['to_ruleset'][:7]}), "
                           f"not the customer")
            else:
                out.append(f"{pts} capped at 100")
    return out


def format_explain(result: dict) -> str:
    """Plain-text report of `explain` for the terminal."""
    lines = [f"account {result['account_id']}" + (f" ({result['account_name']})" if result["account_name"] else "")
             + f": {result['from_date']} -> {result['to_date']} ({result['source']})"]
    if result["rule_set_changed"]:
        lines.append(f"rule set changed: {result['from_ruleset']['name']} {result['from_ruleset']['hash'][:12]} -> "
                     f"{result['to_ruleset']['name']} {result['to_ruleset']['hash'][:12]}")
    for d, v in result["dimensions"].items():
        delta = Decimal(str(v["to"])) - Decimal(str(v["from"]))
        lines.append(f"{d}: {v['from']:g} -> {v['to']:g} ({float(delta):+g})"
                     + (f", tier {v['from_tier']} -> {v['to_tier']}" if v["from_tier"] != v["to_tier"] else ""))
        for s in change_sentences(result, d):
            lines.append(f"  {s}")
    return "\n".join(lines)
