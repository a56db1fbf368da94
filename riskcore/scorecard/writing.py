"""A fitted scorecard written as rules in the §3.1 format: one rule per bin with points, its label
a template that states its condition ("Customer service calls {threshold} or more" reads
"Customer service calls 4 or more"), its evidence group read from where the signal comes from.

>>> from riskcore.scorecard.binning import Bin
>>> r = bin_rule("Age", "number", Bin(lo=46, hi=60), 18, "relationship", "age_46_60")
>>> r.op, r.threshold, rule_label(r)
('between', (46, 60), 'Age between 46 and 60')
"""

from __future__ import annotations

import re

from ..rules import Rule, rule_label  # noqa: F401 - rule_label: the doctest shows what a reader sees
from .binning import FLAG, Bin
from .model import Card

# activity signals: where each source table's evidence belongs (fusion counts groups)
TABLE_GROUPS = {"usage": "usage", "tickets": "support", "invoices": "billing", "touchpoints": "engagement",
                "relationship_events": "relationship", "outcomes": "relationship", "accounts": "relationship"}
# an account table's columns: the group its name suggests, first match wins, else "external"
NAME_GROUPS = (("support", re.compile(r"support|ticket|service|complain|escalat|case", re.I)),
               ("billing", re.compile(r"charge|bill|invoice|payment|paid|price|fee|balance|credit|debt", re.I)),
               ("usage", re.compile(r"usage|login|minute|session|active|use|call|data|traffic|messages", re.I)),
               ("engagement", re.compile(r"nps|survey|email|contact|engag|visit|touch|qbr|meeting", re.I)),
               ("relationship", re.compile(r"tenure|contract|length|since|renew|plan|champion|age|year|month",
                                           re.I)))


ACRONYMS = {"nps": "NPS", "qbr": "QBR", "arr": "ARR", "mrr": "MRR", "id": "ID"}


def group_of(column: str) -> str:
    """The evidence group of a signal: its activity table's, else the one its name suggests."""
    from ..signals import SIGNALS
    if column in SIGNALS:
        return TABLE_GROUPS.get(SIGNALS[column].table, "external")
    for group, pattern in NAME_GROUPS:
        if pattern.search(column):
            return group
    return "external"


def signal_of(column: str) -> str:
    """The rule's signal for a column: its name, double-quoted unless a plain lower-case identifier."""
    return column if re.fullmatch(r"[a-z_][a-z0-9_]*", column) else '"' + column.replace('"', '""') + '"'


def readable(column: str) -> str:
    """A column as a label starts: `days_to_renewal` -> "Days to renewal"; others as written."""
    if not re.fullmatch(r"[a-z0-9_]+", column):
        return column
    words = [ACRONYMS.get(w, w) for w in column.split("_") if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _slug(x: object) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(x).lower()).strip("_") or "x"


def bin_rule(column: str, kind: str, b: Bin, points: int, group: str, rule_id: str) -> Rule:
    """The rule that fires exactly on bin `b` of `column` (as `Bin.mask` computes it)."""
    name, sig = readable(column), signal_of(column)
    common = dict(id=rule_id, dimension="churn", signal=sig, points=points, group=group)
    if b.null:
        return Rule(label=f"{name} is empty", op="is_null", threshold=None, **common)
    if b.values:
        if kind == FLAG and len(b.values) == 1:
            if b.values[0] == "true":
                return Rule(label=f"{name} is true", op="is_true", threshold=None, **common)
            return Rule(label=f"{name} is {{threshold}}", op="==", threshold=False, **common)
        return Rule(label=f"{name} is {{threshold}}", op="in", threshold=tuple(b.values), **common)
    if b.below is not None:
        return Rule(label=f"{name} below {{threshold}}", op="<", threshold=b.below, **common)
    if b.hi is None:
        return Rule(label=f"{name} {{threshold}} or more", op=">=", threshold=b.lo, **common)
    if b.hi == b.lo:
        return Rule(label=f"{name} is {{threshold}}", op="==", threshold=b.lo, **common)
    return Rule(label=f"{name} between {{low}} and {{high}}", op="between", threshold=(b.lo, b.hi), **common)


def _bin_id(column: str, b: Bin) -> str:
    base = _slug(column)[:40]
    if b.null:
        return f"{base}_empty"
    if b.values:
        return f"{base}_{_slug(b.values[0])[:16]}" + ("_etc" if len(b.values) > 1 else "")
    if b.below is not None:
        return f"{base}_below_{_slug(b.below)}"
    if b.hi is None:
        return f"{base}_{_slug(b.lo)}_up"
    return f"{base}_{_slug(b.lo)}_{_slug(b.hi)}"


def card_rules(card: Card, dimension: str = "churn", taken: set[str] | frozenset = frozenset()) -> list[Rule]:
    """One rule per bin with points, signals in the card's order (strongest first), bins in order;
    ids unique among themselves and `taken` (the rule set's other rules)."""
    from dataclasses import replace
    used, out = set(taken), []
    order = sorted(card.signals, key=lambda s: -s.max_points)
    for s in order:
        col, group = s.bins.column, group_of(s.bins.column)
        for b, p in zip(s.bins.bins, s.points):
            if p <= 0:
                continue
            rid, k = _bin_id(col, b), 2
            while rid in used:
                rid, k = f"{_bin_id(col, b)}_{k}", k + 1
            used.add(rid)
            out.append(replace(bin_rule(col, s.bins.kind, b, p, group, rid), dimension=dimension))
        if s.ramp_points > 0:
            rid, k = f"{_slug(col)[:40]}_graded", 2
            while rid in used:
                rid, k = f"{_slug(col)[:40]}_graded_{k}", k + 1
            used.add(rid)
            out.append(ramp_rule(col, s.bins.ramp, s.ramp_points, group, rid, dimension))
    return out


def ramp_rule(column: str, ramp: tuple[float, float], points: int, group: str, rule_id: str,
              dimension: str = "churn") -> Rule:
    """The graded rule along a monotone signal: 0 points at ramp[0], full points at ramp[1]."""
    way = "rising" if ramp[1] > ramp[0] else "falling"
    return Rule(id=rule_id, label=f"{readable(column)} {way} from {{low}} to {{high}} (graded)", dimension=dimension,
                signal=signal_of(column), op="scale", threshold=tuple(ramp), points=points, group=group)
