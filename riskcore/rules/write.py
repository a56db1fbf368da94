"""A rule set as canonical TOML (`ruleset_to_toml`, its hash) and checked edits (`with_points`...).

The writer's layout is PRODUCT.md §3.1's; `load_ruleset(ruleset_to_toml(rs)) == rs`. Every edit
goes back through the parser, so an edited rule set is as checked as a loaded one.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import fields, replace
from typing import Any

import tomli_w

from .checks import Context, get_num
from .model import DataSection, Fusion, RuleSet, TierCuts, threshold_doc
from .parse import ruleset_from_dict

def _compact(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def ruleset_to_dict(rs: RuleSet) -> dict:
    """The canonical TOML document of a rule set (None fields left out)."""
    tiers: dict[str, Any] = {"medium": rs.tiers.medium, "high": rs.tiers.high, "mode": rs.tiers.mode}
    for dim, c in rs.tiers.per_dimension:
        tiers[dim] = _compact({"medium": c.medium, "high": c.high, "mode": c.mode})
    doc: dict[str, Any] = _compact({
        "name": rs.name, "description": rs.description, "primary_dimension": rs.primary_dimension,
        "dimensions": list(rs.dimensions), "tiers": tiers,
        "quadrant": _compact({"value_column": rs.quadrant.value_column, "value_cutoff": rs.quadrant.value_cutoff,
                              "risk_cutoff": rs.quadrant.risk_cutoff, "value_unit": rs.quadrant.value_unit}),
        "fusion": {"enabled": rs.fusion.enabled, "min_groups": rs.fusion.min_groups},
    })
    if rs.data is not None:
        data = _compact({f.name: getattr(rs.data, f.name) for f in fields(DataSection)})
        if isinstance(data.get("outcome_positive"), tuple):
            data["outcome_positive"] = list(data["outcome_positive"])
        doc["data"] = data
    if rs.rules:  # like the other lists: absent when empty (TOML has no empty array of tables)
        doc["rules"] = [_compact({
            "id": r.id, "label": r.label, "dimension": r.dimension, "signal": r.signal, "op": r.op,
            "threshold": threshold_doc(r.threshold), "points": r.points, "group": r.group,
            "null_fires": r.null_fires, "enabled": r.enabled}) for r in rs.rules]
    for key, items in (("overrides", rs.overrides), ("alerts", rs.alerts), ("behavior_segments", rs.behavior_segments)):
        if items:
            doc[key] = [_compact({f.name: threshold_doc(getattr(x, f.name)) for f in fields(x)}) for x in items]
    return doc


def _value(v: Any) -> str:
    """One TOML value, inline (strings escaped by tomli_w)."""
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return tomli_w.dumps({"v": v})[len("v = "):].rstrip("\n")


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _value(k)


def _table(lines: list[str], header: str | None, table: dict) -> None:
    if header is not None:
        lines.append("")
        lines.append(header)
    for k, v in table.items():
        if not isinstance(v, dict) or k in ("threshold", "value_cutoff"):
            lines.append(f"{_key(k)} = {_value(v)}")


def ruleset_to_toml(rs: RuleSet) -> str:
    """Canonical TOML text in the §3.1 layout; `load_ruleset(ruleset_to_toml(rs)) == rs`."""
    doc = ruleset_to_dict(rs)
    lines: list[str] = []
    _table(lines, None, {k: v for k, v in doc.items() if not isinstance(v, (dict, list)) or k == "dimensions"})
    for section in ("tiers", "quadrant", "fusion", "data"):
        if section in doc:
            _table(lines, f"[{section}]", doc[section])
            for k, v in doc[section].items():
                if isinstance(v, dict):
                    _table(lines, f"[{section}.{_key(k)}]", v)
    for section in ("rules", "overrides", "alerts", "behavior_segments"):
        for item in doc.get(section, []):
            _table(lines, f"[[{section}]]", item)
    text = "\n".join(lines) + "\n"
    assert tomllib.loads(text) == tomllib.loads(tomli_w.dumps(doc)), "canonical TOML writer lost data"
    return text


def content_hash(rs: RuleSet) -> str:
    """A stable SHA-256 (hex) of the canonical TOML: same rules, same hash, whatever the formatting."""
    return hashlib.sha256(ruleset_to_toml(rs).encode("utf-8")).hexdigest()


# ---- edits (sliders): each a checked copy -----------------------------------------

def _recheck(rs: RuleSet) -> RuleSet:
    return ruleset_from_dict(ruleset_to_dict(rs), "<edited rule set>")


def with_points(rs: RuleSet, points: dict[str, float]) -> RuleSet:
    """A copy with new points for some rules (checked: known ids, 0..100). Points are checked alone, as
    the parser checks them; nothing else can change, so the set is not re-parsed (a slider step's path)."""
    for rid, v in points.items():
        rs.rule(rid)
        get_num(Context("<edited rule set>", f"rule {rid!r}"), {"points": v}, "points", 0, 100)
    return replace(rs, rules=tuple(replace(r, points=points[r.id]) if r.id in points else r for r in rs.rules))


def with_thresholds(rs: RuleSet, thresholds: dict[str, Any]) -> RuleSet:
    """A copy with new thresholds (TOML shapes: number, [lo, hi], {percentile = N}...), checked per op."""
    for rid in thresholds:
        rs.rule(rid)
    rules = tuple(replace(r, threshold=thresholds[r.id]) if r.id in thresholds else r for r in rs.rules)
    return _recheck(replace(rs, rules=rules))


def with_enabled(rs: RuleSet, enabled: dict[str, bool]) -> RuleSet:
    """A copy with some rules switched on or off."""
    for rid in enabled:
        rs.rule(rid)
    return _recheck(replace(rs, rules=tuple(replace(r, enabled=enabled[r.id]) if r.id in enabled else r
                                            for r in rs.rules)))


def with_tiers(rs: RuleSet, medium: float | None = None, high: float | None = None, mode: str | None = None,
               dimension: str | None = None) -> RuleSet:
    """A copy with new tier cut-offs, for all dimensions or (with `dimension`) one of them."""
    t = rs.tiers
    if dimension is None:
        t = replace(t, medium=t.medium if medium is None else medium, high=t.high if high is None else high,
                    mode=mode or t.mode)
    else:
        m, h, md = t.cuts(dimension)
        own = dict(t.per_dimension).get(dimension)
        cuts = TierCuts(m if medium is None else medium, h if high is None else high,
                        mode if mode is not None else (own.mode if own else None))
        per = dict(t.per_dimension)
        per[dimension] = cuts
        t = replace(t, per_dimension=tuple(per.items()))
    return _recheck(replace(rs, tiers=t))


def with_fusion(rs: RuleSet, enabled: bool | None = None, min_groups: int | None = None) -> RuleSet:
    """A copy with the fusion switch and/or minimum groups changed."""
    f = rs.fusion
    return _recheck(replace(rs, fusion=Fusion(f.enabled if enabled is None else enabled,
                                              f.min_groups if min_groups is None else min_groups)))
