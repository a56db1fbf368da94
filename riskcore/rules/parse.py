"""Read and check a rule set (a TOML path or text) into a RuleSet: `load_ruleset`.

Every message names the file, the rule (or section) and the field, so a bad file is fixed from the
message alone (tests/data/bad_rules/README.md lists the cases).
"""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any, Union

from .checks import (Context, check_id, check_signal, check_threshold, get_bool, get_num, get_op, get_str,
                     take_fields)
from .labels import label_problem
from .model import (ALERT_KINDS, DIMENSIONS, GROUPS, HIGH_TIER, ID_PATTERN, QUADRANTS, RESERVED_DIMENSIONS, STAGES,
                    TIER_MODES, VALUE_UNITS, Alert, BehaviorSegment, DataSection, Fusion, Override, Quadrant, Rule,
                    RuleSet, RuleSetError, TierCuts, Tiers, is_number)

DEFAULT_RULESET_PATH = Path(__file__).resolve().parents[2] / "data" / "rules" / "default.toml"

_RULE_KEYS = ("id", "label", "dimension", "signal", "op", "threshold", "points", "group", "null_fires", "enabled")


def _rule(source: str, i: int, t: Any, dims: tuple[str, ...]) -> Rule:
    ctx = Context(source, f"rule #{i + 1}")
    if not isinstance(t, dict):
        raise ctx.fail(None, "expected a [[rules]] table")
    rid = check_id(ctx, t.get("id"))
    ctx = Context(source, f"rule {rid!r}")
    take_fields(ctx, t, _RULE_KEYS)
    dim = get_str(ctx, t, "dimension")
    if dim not in dims:
        raise ctx.fail("dimension", f"unknown dimension {dim!r} (expected one of {', '.join(dims)})")
    group = get_str(ctx, t, "group")
    if group not in GROUPS:
        raise ctx.fail("group", f"unknown evidence group {group!r} (expected one of {', '.join(GROUPS)})")
    op = get_op(ctx, t)
    label, thr = get_str(ctx, t, "label"), check_threshold(ctx, op, t.get("threshold"))
    problem = label_problem(label, op, thr)
    if problem:
        raise ctx.fail("label", problem)
    return Rule(id=rid, label=label, dimension=dim, signal=check_signal(ctx, t.get("signal")),
                op=op, threshold=thr, points=get_num(ctx, t, "points", 0, 100),
                group=group, null_fires=get_bool(ctx, t, "null_fires", False), enabled=get_bool(ctx, t, "enabled", True))


def _cuts(ctx: Context, t: dict) -> tuple[float, float, str | None]:
    mode = get_str(ctx, t, "mode", required=False)
    if mode is not None and mode not in TIER_MODES:
        raise ctx.fail("mode", f"expected \"points\" or \"percentile\", found {mode!r}")
    medium = get_num(ctx, t, "medium", 0, 100, required=False, default=None)
    high = get_num(ctx, t, "high", 0, 100, required=False, default=None)
    return medium, high, mode


def _tiers(source: str, t: Any, dims: tuple[str, ...]) -> Tiers:
    ctx = Context(source, "[tiers]")
    if not isinstance(t, dict):
        raise ctx.fail(None, "expected a table")
    sub = {k: v for k, v in t.items() if isinstance(v, dict)}
    take_fields(ctx, {k: v for k, v in t.items() if k not in sub}, ("medium", "high", "mode"))
    medium, high, mode = _cuts(ctx, t)
    medium = 31 if medium is None else medium
    high = 61 if high is None else high
    if medium > high:
        raise ctx.fail("medium", f"expected medium <= high, found medium {medium} > high {high}")
    per = []
    for dim, st in sub.items():
        dctx = Context(source, f"[tiers.{dim}]")
        if dim not in dims:
            raise dctx.fail(None, f"unknown dimension {dim!r} (expected one of {', '.join(dims)})")
        take_fields(dctx, st, ("medium", "high", "mode"))
        m, h, md = _cuts(dctx, st)
        m = medium if m is None else m
        h = high if h is None else h
        if m > h:
            raise dctx.fail("medium", f"expected medium <= high, found medium {m} > high {h}")
        per.append((dim, TierCuts(m, h, md)))
    return Tiers(medium=medium, high=high, mode=mode or "points", per_dimension=tuple(per))


def _quadrant(source: str, t: Any) -> Quadrant:
    ctx = Context(source, "[quadrant]")
    if not isinstance(t, dict):
        raise ctx.fail(None, "expected a table")
    take_fields(ctx, t, ("value_column", "value_cutoff", "risk_cutoff", "value_unit"))
    cutoff = t.get("value_cutoff", "median")
    if not (cutoff == "median" or is_number(cutoff)):
        raise ctx.fail("value_cutoff", f"expected a number or \"median\", found {cutoff!r}")
    risk = t.get("risk_cutoff", HIGH_TIER)
    if risk != HIGH_TIER:
        if isinstance(risk, str):
            raise ctx.fail("risk_cutoff", f"expected a number 0..100 or \"{HIGH_TIER}\", found {risk!r}")
        risk = get_num(ctx, t, "risk_cutoff", 0, 100)
    unit = get_str(ctx, t, "value_unit", required=False)
    if unit is not None and unit not in VALUE_UNITS:
        raise ctx.fail("value_unit", f"expected one of {', '.join(VALUE_UNITS)}, found {unit!r}")
    return Quadrant(value_column=get_str(ctx, t, "value_column", required=False, default="arr"),
                    value_cutoff=cutoff, risk_cutoff=risk, value_unit=unit)


def _fusion(source: str, t: Any) -> Fusion:
    ctx = Context(source, "[fusion]")
    if not isinstance(t, dict):
        raise ctx.fail(None, "expected a table")
    take_fields(ctx, t, ("enabled", "min_groups"))
    mg = t.get("min_groups", 2)
    if not isinstance(mg, int) or isinstance(mg, bool) or not 1 <= mg <= len(GROUPS):
        raise ctx.fail("min_groups", f"expected a whole number 1..{len(GROUPS)}, found {mg!r}")
    return Fusion(enabled=get_bool(ctx, t, "enabled", False), min_groups=mg)


def _override(source: str, i: int, t: Any, rules: dict[str, Rule]) -> Override:
    ctx = Context(source, f"override #{i + 1}")
    if not isinstance(t, dict):
        raise ctx.fail(None, "expected an [[overrides]] table")
    take_fields(ctx, t, ("rule", "segment", "stage", "points", "threshold"))
    rid = get_str(ctx, t, "rule")
    if rid not in rules:
        raise ctx.fail("rule", f"override of an unknown rule {rid!r}")
    ctx = Context(source, f"override #{i + 1} of rule {rid!r}")
    seg = get_str(ctx, t, "segment", required=False)
    stage = get_str(ctx, t, "stage", required=False)
    if (seg is None) == (stage is None):
        raise ctx.fail("segment", "expected exactly one of segment = ... or stage = ...")
    if stage is not None and stage not in STAGES:
        raise ctx.fail("stage", f"expected one of {', '.join(STAGES)}, found {stage!r}")
    if "points" not in t and "threshold" not in t:
        raise ctx.fail("points", "an override needs points and/or threshold")
    thr = check_threshold(ctx, rules[rid].op, t["threshold"]) if "threshold" in t else None
    problem = None if thr is None else label_problem(rules[rid].label, rules[rid].op, thr)
    if problem:
        raise ctx.fail("threshold", f"the rule's label {rules[rid].label!r} does not fit it: {problem}")
    return Override(rule=rid, segment=seg, stage=stage,
                    points=get_num(ctx, t, "points", 0, 100, required=False), threshold=thr)


def _alert(source: str, i: int, t: Any, dims: tuple[str, ...]) -> Alert:
    ctx = Context(source, f"alert #{i + 1}")
    if not isinstance(t, dict):
        raise ctx.fail(None, "expected an [[alerts]] table")
    aid = check_id(ctx, t.get("id"))
    ctx = Context(source, f"alert {aid!r}")
    take_fields(ctx, t, ("id", "kind", "label", "dimension", "points", "within_days", "quadrant"))
    kind = get_str(ctx, t, "kind")
    if kind not in ALERT_KINDS:
        raise ctx.fail("kind", f"expected one of {', '.join(ALERT_KINDS)}, found {kind!r}")
    dim = get_str(ctx, t, "dimension", required=False)
    if dim is not None and dim not in dims:
        raise ctx.fail("dimension", f"unknown dimension {dim!r} (expected one of {', '.join(dims)})")
    pts = get_num(ctx, t, "points", 0, 100, required=kind == "score_rise")
    wd = t.get("within_days")
    if wd is not None and (not isinstance(wd, int) or isinstance(wd, bool) or wd < 1):
        raise ctx.fail("within_days", f"expected a whole number of days >= 1, found {wd!r}")
    quad = get_str(ctx, t, "quadrant", required=kind == "entered_quadrant")
    names = [q.lower() for q in QUADRANTS]  # any case: "Save", "save"
    if quad is not None and quad.lower() not in names:
        raise ctx.fail("quadrant", f"expected one of {', '.join(names)}, found {quad!r}")
    return Alert(id=aid, kind=kind, label=get_str(ctx, t, "label", required=False), dimension=dim,
                 points=pts, within_days=wd, quadrant=quad)


def _segment(source: str, i: int, t: Any) -> BehaviorSegment:
    ctx = Context(source, f"behavior segment #{i + 1}")
    if not isinstance(t, dict):
        raise ctx.fail(None, "expected a [[behavior_segments]] table")
    sid = check_id(ctx, t.get("id"))
    ctx = Context(source, f"behavior segment {sid!r}")
    take_fields(ctx, t, ("id", "label", "signal", "op", "threshold", "null_fires"))
    op = get_op(ctx, t)
    if op == "scale":
        raise ctx.fail("op", "a behavioural segment is yes/no: op 'scale' is not allowed")
    return BehaviorSegment(id=sid, signal=check_signal(ctx, t.get("signal")), op=op,
                           threshold=check_threshold(ctx, op, t.get("threshold")),
                           label=get_str(ctx, t, "label", required=False), null_fires=get_bool(ctx, t, "null_fires", False))


def _data(source: str, t: Any) -> DataSection:
    ctx = Context(source, "[data]")
    if not isinstance(t, dict):
        raise ctx.fail(None, "expected a table")
    names = [f.name for f in fields(DataSection)]
    take_fields(ctx, t, names)
    out: dict[str, Any] = {}
    for k in names:
        if k == "outcome_positive" and isinstance(t.get(k), list):
            vals = t[k]
            if not vals or not all(isinstance(x, str) for x in vals):
                raise ctx.fail(k, f"expected a string or a list of strings, found {vals!r}")
            out[k] = tuple(vals)
        else:
            out[k] = get_str(ctx, t, k, required=False)
    return DataSection(**out)


# ---- loading ------------------------------------------------------------------

def _read(path_or_text: Union[str, Path]) -> tuple[str, str]:
    if isinstance(path_or_text, Path) or (
            isinstance(path_or_text, str) and "\n" not in path_or_text and "=" not in path_or_text):
        path = Path(path_or_text)
        try:
            return str(path), path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise RuleSetError(f"{path}: rule-set file not found") from None
        except UnicodeDecodeError as e:
            raise RuleSetError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    if not isinstance(path_or_text, str):
        raise RuleSetError(f"expected a path or TOML text, found {type(path_or_text).__name__}")
    return "<rule set>", path_or_text


def load_ruleset(path_or_text: Union[str, Path]) -> RuleSet:
    """Read and check a rule set (a path, or TOML text); raises RuleSetError naming rule and field."""
    source, text = _read(path_or_text)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RuleSetError(f"{source}: not valid TOML: {e}") from None
    return ruleset_from_dict(doc, source)


def ruleset_from_dict(doc: dict, source: str = "<rule set>") -> RuleSet:
    """Build and check a RuleSet from the parsed TOML document."""
    ctx = Context(source, "top level")
    take_fields(ctx, doc, ("name", "description", "primary_dimension", "dimensions", "tiers", "quadrant", "fusion",
                     "rules", "overrides", "alerts", "behavior_segments", "data"))
    name = get_str(ctx, doc, "name")
    primary = get_str(ctx, doc, "primary_dimension", required=False, default="churn")
    raw_rules = doc.get("rules", [])
    if not isinstance(raw_rules, list):
        raise ctx.fail("rules", "expected [[rules]] tables")
    if "dimensions" in doc:
        dims = doc["dimensions"]
        if not isinstance(dims, list) or not dims or not all(isinstance(d, str) and ID_PATTERN.fullmatch(d)
                                                               for d in dims) or len(set(dims)) != len(dims):
            raise ctx.fail("dimensions", f"expected a list of distinct names ([a-z0-9_]+), found {dims!r}")
        dims = tuple(dims)
    else:  # derived: the primary first, then the known dimensions the rules use
        used = {t.get("dimension") for t in raw_rules if isinstance(t, dict)}
        dims = tuple([primary] + [d for d in DIMENSIONS if d in used and d != primary])
        allowed = tuple(dict.fromkeys((primary,) + DIMENSIONS))
        for i, t in enumerate(raw_rules):
            if isinstance(t, dict) and t.get("dimension") not in allowed and isinstance(t.get("dimension"), str):
                rctx = Context(source, f"rule {t.get('id', f'#{i + 1}')!r}")
                raise rctx.fail("dimension", f"unknown dimension {t['dimension']!r} "
                                             f"(expected one of {', '.join(allowed)}, or declare `dimensions`)")
    if primary not in dims:
        raise ctx.fail("primary_dimension", f"{primary!r} is not one of the dimensions {', '.join(dims)}")
    fld = "dimensions" if "dimensions" in doc else "primary_dimension"
    for d in dims:
        if not ID_PATTERN.fullmatch(d):
            raise ctx.fail(fld, f"expected a name of lowercase letters, digits and _ ([a-z0-9_]+), found {d!r}")
        if d in RESERVED_DIMENSIONS:
            raise ctx.fail(fld, f"{d!r} cannot be a dimension name: the score output already has a column "
                                f"{'risk_score' if d == 'risk' else d!r} (reserved: {', '.join(RESERVED_DIMENSIONS)})")
    rules = [_rule(source, i, t, dims) for i, t in enumerate(raw_rules)]
    seen: set[str] = set()
    for r in rules:
        if r.id in seen:
            raise Context(source, f"rule {r.id!r}").fail("id", "duplicate rule id")
        seen.add(r.id)
    by_id = {r.id: r for r in rules}

    def _list(key: str) -> list:
        v = doc.get(key, [])
        if not isinstance(v, list):
            raise ctx.fail(key, f"expected [[{key}]] tables")
        return v

    overrides = [_override(source, i, t, by_id) for i, t in enumerate(_list("overrides"))]
    alerts = [_alert(source, i, t, dims) for i, t in enumerate(_list("alerts"))]
    segments = [_segment(source, i, t) for i, t in enumerate(_list("behavior_segments"))]
    for what, items in (("alert", alerts), ("behavior segment", segments)):
        ids = [x.id for x in items]
        dup = next((x for x in ids if ids.count(x) > 1), None)
        if dup:
            raise Context(source, f"{what} {dup!r}").fail("id", f"duplicate {what} id")
    return RuleSet(
        name=name, description=get_str(ctx, doc, "description", required=False), primary_dimension=primary,
        dimensions=dims, tiers=_tiers(source, doc.get("tiers", {}), dims),
        quadrant=_quadrant(source, doc.get("quadrant", {})), fusion=_fusion(source, doc.get("fusion", {})),
        rules=tuple(rules), overrides=tuple(overrides), alerts=tuple(alerts), behavior_segments=tuple(segments),
        data=_data(source, doc["data"]) if "data" in doc else None)
