"""Draft edits from the Tuning page's widgets: the rule set for the sliders' and boxes' values
(`apply_widgets`), a dimension's tier cut-offs, and threshold text boxes read and shown."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .display import whole
from .rules import RuleSet, TierCuts, with_points, with_thresholds


def apply_widgets(rs: RuleSet, points: dict[str, float] | None = None, thresholds: dict[str, Any] | None = None,
                  tiers: tuple[float, float] | None = None, fusion: bool | None = None,
                  value_cutoff: float | str | None = None, risk_cutoff: float | None = None,
                  dimension: str | None = None):
    """The draft rule set for the Tuning page's widget values (None leaves a part unchanged).

    `tiers` = (medium, high) cut-offs of `dimension` (default: the primary one)."""

    if points:
        current = {r.id: r.points for r in rs.rules}
        changed = {k: int(round(v)) for k, v in points.items() if k in current and int(round(v)) != current[k]}
        if changed:
            rs = with_points(rs, changed)
    if thresholds:
        current = {r.id: r.threshold for r in rs.rules}
        changed = {k: v for k, v in thresholds.items() if k in current and v != current[k]}
        if changed:
            rs = with_thresholds(rs, changed)
    if tiers is not None:
        rs = with_tier_cuts(rs, dimension or rs.primary_dimension, *tiers)
    if fusion is not None and rs.fusion.enabled != fusion:
        rs = replace(rs, fusion=replace(rs.fusion, enabled=fusion))
    if value_cutoff is not None and rs.quadrant.value_cutoff != value_cutoff:
        rs = replace(rs, quadrant=replace(rs.quadrant, value_cutoff=value_cutoff))
    if risk_cutoff is not None and rs.quadrant.risk_cutoff != risk_cutoff:
        rs = replace(rs, quadrant=replace(rs.quadrant, risk_cutoff=risk_cutoff))
    return rs


def with_tier_cuts(rs: RuleSet, dimension: str, medium: float, high: float):
    """A copy whose cut-offs for `dimension` are (medium, high): its own [tiers.<dim>] when it has
    one, else the global [tiers]."""
    if rs.tiers.cuts(dimension)[:2] == (medium, high):
        return rs
    per = dict(rs.tiers.per_dimension)
    if dimension in per:
        per[dimension] = TierCuts(medium=medium, high=high, mode=per[dimension].mode)
        tiers = replace(rs.tiers, per_dimension=tuple(per.items()))
    else:
        tiers = replace(rs.tiers, medium=medium, high=high)
    return replace(rs, tiers=tiers)


def parse_threshold(text: str, op: str) -> float | tuple | str | None:
    """A threshold typed in a text box: a number, or a comma-separated list for between/in/scale.

    >>> parse_threshold("-0.3", "<"), parse_threshold("0, -0.5", "scale"), parse_threshold("a, b", "in")
    (-0.3, (0.0, -0.5), ('a', 'b'))
    """
    text = (text or "").strip()
    if op in ("is_true", "is_null"):
        return None
    if op in ("between", "in", "scale"):
        parts = [p.strip() for p in text.strip("[]").split(",") if p.strip()]
        values = [_number_or_text(p) for p in parts]
        if op in ("between", "scale") and (len(values) != 2 or not all(isinstance(v, (int, float)) for v in values)):
            raise ValueError(f"expected two numbers separated by a comma for {op!r}, found {text!r}")
        return tuple(values)
    value = _number_or_text(text)
    if text == "":
        raise ValueError("expected a number, found an empty box")
    return value


def _number_or_text(s: str) -> float | int | str:
    """'14' -> 14 (an int, so the saved TOML and the diff say 14, not 14.0), '0.5' -> 0.5, 'Yes' -> 'Yes'."""
    try:
        return whole(float(s))
    except ValueError:
        return s.strip("'\"")


def format_threshold(value: Any) -> str:
    """The text a threshold box shows (inverse of `parse_threshold`)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt_num(v) for v in value)
    return _fmt_num(value)


def _fmt_num(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v)) if abs(v) >= 1 else repr(v)
    return str(v)
