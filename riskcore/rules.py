"""Rule sets: the TOML file of PRODUCT.md §3.1 (a public contract) as frozen dataclasses.

`load_ruleset` parses and checks structure (every message names the rule and field);
`validate_ruleset` checks a rule set against the columns of a signals table.

>>> rs = load_ruleset('name = "x"\\n[[rules]]\\nid = "a"\\nlabel = "A"\\ndimension = "churn"\\n'
...                   'signal = "logins_30d"\\nop = "<"\\nthreshold = 3\\npoints = 20\\ngroup = "usage"\\n')
>>> rs.rules[0].points, unavailable_rules(rs, {"account_id"})
(20, ['a'])
"""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Iterable, Union

import tomli_w

from .expressions import (BOOLEAN, DATE, INT64_MAX, NULL, NUMBER, OTHER, TEXT, ColumnFacts, ExpressionError,
                          TypeMismatch, expression_columns, infer_kind, is_date_text, kind_phrase, parse_expression)

DEFAULT_RULESET_PATH = Path(__file__).resolve().parent.parent / "data" / "rules" / "default.toml"

DIMENSIONS = ("churn", "payment", "fraud", "reputation", "expansion")
GROUPS = ("usage", "support", "billing", "relationship", "engagement", "external")
COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
OPS = COMPARISONS + ("between", "in", "is_true", "is_null", "scale")
STAGES = ("onboarding", "adopted", "renewal")
QUADRANTS = ("save", "expand", "maintain", "triage")
ALERT_KINDS = ("score_rise", "tier_worse", "entered_quadrant", "segment_change")
TIER_MODES = ("points", "percentile")
ID_PATTERN = re.compile(r"[a-z0-9_]+")  # always with fullmatch: `$` would let "r1\n" through
# a signal that fails to parse as an expression may still be a plain column name with spaces
_NAME_LIKE = re.compile(r"[\w][\w .\-]*")
# names the score output already uses (scoring.ATTRIBUTES, risk_score, tier, quadrant, playbook,
# reasons) and snapshots add: a dimension of that name would replace or shadow a column
RESERVED_DIMENSIONS = ("risk", "tier", "quadrant", "playbook", "reasons", "account_id", "account_name", "segment",
                       "csm_owner", "stage", "value", "renewal_date", "marketing_consent", "behavior_segment",
                       "fired", "parent_id")


class RuleSetError(ValueError):
    """A rule set is malformed; the message names the file, the rule (or section) and the field."""


@dataclass(frozen=True)
class Percentile:
    """`threshold = { percentile = 80 }`: the signal's 80th percentile over the scored accounts."""

    percentile: float


Scalar = Union[int, float, str, bool]
Threshold = Union[Scalar, tuple, Percentile, None]


@dataclass(frozen=True)
class Rule:
    id: str
    label: str
    dimension: str
    signal: str
    op: str
    threshold: Threshold
    points: float
    group: str
    null_fires: bool = False
    enabled: bool = True


@dataclass(frozen=True)
class TierCuts:
    """Cut-offs of one dimension: score >= medium -> medium, >= high -> high (points or percentiles)."""

    medium: float
    high: float
    mode: str | None = None  # None: the rule set's global mode


@dataclass(frozen=True)
class Tiers:
    medium: float = 31
    high: float = 61
    mode: str = "points"
    per_dimension: tuple[tuple[str, TierCuts], ...] = ()

    def cuts(self, dimension: str) -> tuple[float, float, str]:
        """(medium, high, mode) for a dimension."""
        for dim, c in self.per_dimension:
            if dim == dimension:
                return c.medium, c.high, c.mode or self.mode
        return self.medium, self.high, self.mode


VALUE_UNITS = ("annual", "monthly", "other")
HIGH_TIER = "high_tier"  # `risk_cutoff = "high_tier"`: high risk is the primary dimension's high tier


@dataclass(frozen=True)
class Quadrant:
    """`[quadrant]`: the value axis (a column, its cut-off, what unit its amounts are) and the
    risk line (a score, or "high_tier": the primary dimension's high tier, so quadrants and tiers agree)."""

    value_column: str = "arr"
    value_cutoff: Union[float, str] = "median"
    risk_cutoff: Union[float, str] = HIGH_TIER
    value_unit: str | None = None  # None: "annual" for the mapped ARR column `arr`, else "other"

    @property
    def unit(self) -> str:
        """The value's unit as stated, or its default (annual only for the mapped ARR)."""
        if self.value_unit is not None:
            return self.value_unit
        return "annual" if self.value_column == "arr" else "other"

    @property
    def tied_to_tier(self) -> bool:
        return self.risk_cutoff == HIGH_TIER


@dataclass(frozen=True)
class Fusion:
    enabled: bool = False
    min_groups: int = 2


@dataclass(frozen=True)
class Override:
    """Points and/or threshold of `rule` for accounts of a segment or a lifecycle stage."""

    rule: str
    segment: str | None = None
    stage: str | None = None
    points: float | None = None
    threshold: Threshold = None


@dataclass(frozen=True)
class Alert:
    id: str
    kind: str
    label: str | None = None
    dimension: str | None = None
    points: float | None = None
    within_days: int | None = None
    quadrant: str | None = None


@dataclass(frozen=True)
class BehaviorSegment:
    id: str
    signal: str
    op: str
    threshold: Threshold = None
    label: str | None = None
    null_fires: bool = False


@dataclass(frozen=True)
class DataSection:
    """`[data]`: the column mapping of an account table."""

    id_column: str | None = None
    name_column: str | None = None
    value_column: str | None = None
    owner_column: str | None = None
    segment_column: str | None = None
    renewal_column: str | None = None
    outcome_column: str | None = None
    outcome_positive: Union[str, tuple[str, ...], None] = None
    parent_column: str | None = None


@dataclass(frozen=True)
class RuleSet:
    name: str
    primary_dimension: str = "churn"
    dimensions: tuple[str, ...] = ("churn",)
    tiers: Tiers = field(default_factory=Tiers)
    quadrant: Quadrant = field(default_factory=Quadrant)
    fusion: Fusion = field(default_factory=Fusion)
    rules: tuple[Rule, ...] = ()
    overrides: tuple[Override, ...] = ()
    alerts: tuple[Alert, ...] = ()
    behavior_segments: tuple[BehaviorSegment, ...] = ()
    data: DataSection | None = None
    description: str | None = None

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(f"no rule {rule_id!r} in rule set {self.name!r}")


# ---- labels: templates filled with the threshold ------------------------------------------

# A label may name its threshold: "No login for {threshold} days or more". Reasons, exports and pages
# fill it with the threshold that applied (an override's, a percentile's cut value), so a changed
# threshold never leaves a label stating a false condition. Other braces are kept as written.
# {threshold_percent} is the threshold x 100 ("below {threshold_percent}%" for -0.3: "below -30%").
_PLACEHOLDER = re.compile(r"\{(threshold|threshold_percent|low|high|percentile|share)\}")
_SQL_WORDS = {"==": "=", "!=": "!="}


@dataclass(frozen=True)
class CutValue:
    """Where a percentile threshold's cut value goes in a label or condition (known only against
    the data: scoring renders it in SQL); `direction` rounds it so the statement stays true."""

    direction: str | None
    scale: float = 1.0  # 100 for {threshold_percent}


Part = Union[str, CutValue]


def is_template(label: str) -> bool:
    """Does the label name its threshold (then it needs no condition beside it)?"""
    return bool(_PLACEHOLDER.search(label))


def number_text(x: Any, direction: str | None = None) -> str:
    """A threshold as text: whole numbers without '.0'; others to 4 significant digits (all of the
    integer part), rounded `down` or `up` so that "value >= shown" stays true, or to the `near`est
    (None: exact). scoring.number_text_sql is the same in SQL, operation for operation.

    >>> number_text(7.0), number_text(70.3512, "down"), number_text(70.3512, "up"), number_text(-0.3, "up")
    ('7', '70.35', '70.36', '-0.3')
    """
    if isinstance(x, int) and not isinstance(x, bool):
        return str(x)
    x = float(x)
    if not math.isfinite(x):
        return repr(x)
    if x == math.floor(x) and abs(x) < 2.0 ** 53:
        return str(int(x))
    if direction is None:
        return repr(x)
    s = max(0, 3 - math.floor(math.log10(abs(x))))
    if s > 15:
        return repr(x)
    m = 10.0 ** s
    y = x * m
    r = math.floor(y + 0.5) / m  # the nearest, else the next on the safe side of x (y itself may be rounded)
    if direction in ("down", "up"):
        step = -1 if direction == "down" else 1
        edge = math.floor(y) if direction == "down" else math.ceil(y)
        for candidate in (r, edge / m, (edge + step) / m):
            r = candidate
            if (candidate <= x) if direction == "down" else (candidate >= x):
                break
    return str(int(r)) if r == math.floor(r) and abs(r) < 2.0 ** 53 else repr(r)


def _direction(op: str) -> str | None:
    return "down" if op in (">", ">=") else "up" if op in ("<", "<=") else None


def _value_text(v: Any, direction: str | None = None, quote: bool = False) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'" if quote else v
    return number_text(v, direction)


def _thr_parts(op: str, thr: Threshold, quote: bool = False, scale: float = 1.0) -> list[Part]:
    """The threshold as parts of text: a number, 'low to high', 'A, B or C', or a cut value
    (`scale` 100: numbers as percentages)."""
    if isinstance(thr, Percentile):
        return [CutValue(_direction(op), scale)]
    if scale != 1.0:
        if op in ("between", "scale"):
            d = ("down", "up") if op == "between" else ("near", "near")
            return [f"{number_text(_scaled(thr[0], scale), d[0])} to {number_text(_scaled(thr[1], scale), d[1])}"]
        return [number_text(_scaled(thr, scale), _direction(op) or "near")]
    if op in ("between", "scale"):
        lo, hi = (_value_text(thr[0], "down" if op == "between" else None),
                  _value_text(thr[1], "up" if op == "between" else None))
        return [f"{lo} to {hi}"]
    if op == "in":
        items = [_value_text(v, quote=quote) for v in thr]
        return [", ".join(items) if quote else (", ".join(items[:-1]) + " or " + items[-1] if len(items) > 1
                                                 else items[0])]
    return [_value_text(thr, _direction(op), quote)]


def _scaled(x: Any, scale: float) -> float:
    """x * scale in decimal (-0.293 x 100 is -29.3, not -29.299999999999997)."""
    from decimal import Decimal
    return float(Decimal(repr(x)) * Decimal(repr(scale)))


def label_problem(label: str, op: str, thr: Threshold) -> str | None:
    """Why a label's placeholders do not fit its rule's op and threshold (None: they fit)."""
    used = set(_PLACEHOLDER.findall(label))
    if used & {"threshold", "threshold_percent"} and op in ("is_true", "is_null"):
        return f"{{threshold}} needs a threshold; op {op!r} has none"
    if "threshold_percent" in used and not _numeric_threshold(op, thr):
        return f"{{threshold_percent}} needs a number threshold, found {_thr_out(thr)!r}"
    if used & {"low", "high"} and op not in ("between", "scale"):
        return f"{{low}} and {{high}} need op 'between' or 'scale', found op {op!r}"
    if used & {"percentile", "share"} and not isinstance(thr, Percentile):
        return f"{{percentile}} and {{share}} need a threshold {{ percentile = N }}, found {_thr_out(thr)!r}"
    return None


def _numeric_threshold(op: str, thr: Threshold) -> bool:
    if isinstance(thr, Percentile):
        return True
    vals = thr if isinstance(thr, tuple) else (thr,)
    return op != "in" and all(_is_number(v) for v in vals)


def label_parts(rule: "Rule", threshold: Threshold) -> list[Part]:
    """The rule's label with its placeholders filled for `threshold` (as written when they do not fit
    it: a rule set built in code, not loaded, may pair them wrongly)."""
    if label_problem(rule.label, rule.op, threshold):
        return [rule.label]
    out: list[Part] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(rule.label):
        out.append(rule.label[pos:m.start()])
        name, thr = m.group(1), threshold
        if name == "threshold":
            out += _thr_parts(rule.op, thr)
        elif name == "threshold_percent":
            out += _thr_parts(rule.op, thr, scale=100.0)
        elif name in ("low", "high"):
            i = 0 if name == "low" else 1
            out.append(_value_text(thr[i], ("down" if i == 0 else "up") if rule.op == "between" else None))
        elif name == "percentile":
            out.append(number_text(thr.percentile))
        else:  # share: the share of accounts beyond the cut
            out.append(number_text(100 - thr.percentile if rule.op in (">", ">=") else thr.percentile))
        pos = m.end()
    out.append(rule.label[pos:])
    return [x for x in out if x != ""]


def signal_text(signal: str) -> str:
    """A signal as a reader sees it: a quoted column name without its quotes."""
    if len(signal) >= 2 and signal[0] == signal[-1] == '"' and '"' not in signal[1:-1].replace('""', ""):
        return signal[1:-1].replace('""', '"')
    return signal


def condition_parts(rule: "Rule", threshold: Threshold) -> list[Part]:
    """'signal op threshold' as it applies: what an account's value satisfied for the rule to fire."""
    sig, op = signal_text(rule.signal), rule.op
    if op == "is_true":
        return [sig]
    if op == "is_null":
        return [f"{sig} is empty"]
    if op == "between":
        return [f"{sig} between {_value_text(threshold[0], 'down')} and {_value_text(threshold[1], 'up')}"]
    if op == "scale":
        lo, hi = threshold
        return [f"{sig} {'>' if hi > lo else '<'} {_value_text(lo)} (full points at {_value_text(hi)})"]
    if op == "in":
        return [f"{sig} in (", *_thr_parts(op, threshold, quote=True), ")"]
    return [f"{sig} {_SQL_WORDS.get(op, op)} ", *_thr_parts(op, threshold, quote=True)]


def reason_parts(rule: "Rule", threshold: Threshold) -> list[Part]:
    """A fired rule's text: its label filled in; a label that does not name its threshold gets the
    condition beside it ("Contract is Month-to-month (Contract = 'Two year')"), so it never states
    a condition the account does not meet."""
    parts = label_parts(rule, threshold)
    filled = is_template(rule.label) and not label_problem(rule.label, rule.op, threshold)
    if filled or rule.op in ("is_true", "is_null"):
        return parts
    return parts + [" ("] + condition_parts(rule, threshold) + [")"]


def join_parts(parts: Iterable[Part], cut: float | None = None) -> str:
    """Parts as text; a cut value unknown here reads "the cut value" (give `cut` to show it)."""
    out = []
    for x in parts:
        if isinstance(x, CutValue):
            out.append("the cut value" if cut is None else number_text(cut * x.scale, x.direction))
        else:
            out.append(x)
    return "".join(out)


def rule_label(rule: "Rule", threshold: Any = "rule's own") -> str:
    """The label to show for a rule outside one account (Tuning, CLI): filled with its threshold,
    a percentile as "the 80th percentile"."""
    thr = rule.threshold if threshold == "rule's own" else threshold
    parts = label_parts(rule, thr)
    if isinstance(thr, Percentile):
        parts = [f"the {_ordinal(thr.percentile)} percentile" if isinstance(x, CutValue) else x for x in parts]
    return join_parts(parts)


def _ordinal(p: float) -> str:
    n = number_text(p)
    if not n.isdigit():
        return n + "th"
    k = int(n)
    return n + ("th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th"))


# ---- checking one value ------------------------------------------------------

class _Ctx:
    """Where a value sits, for messages: `file: rule 'x', field 'points': ...`."""

    def __init__(self, source: str, where: str):
        self.source, self.where = source, where

    def fail(self, fld: str | None, message: str) -> RuleSetError:
        loc = f"{self.where}, field {fld!r}" if fld else self.where
        return RuleSetError(f"{self.source}: {loc}: {message}")


def _is_number(v: Any) -> bool:
    """A finite number DuckDB can bind (TOML integers may be longer than 64 bits)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    return abs(v) <= INT64_MAX if isinstance(v, int) else math.isfinite(v)


def _huge(ctx: _Ctx, key: str, v: Any) -> None:
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > INT64_MAX:
        raise ctx.fail(key, f"the number {v} is out of range (whole numbers up to {INT64_MAX})")


def _take(ctx: _Ctx, table: dict, allowed: Iterable[str]) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ctx.fail(unknown[0], f"unknown field (allowed: {', '.join(allowed)})")


def _str(ctx: _Ctx, table: dict, key: str, required: bool = True, default: str | None = None) -> str | None:
    if key not in table:
        if required:
            raise ctx.fail(key, "missing")
        return default
    v = table[key]
    if not isinstance(v, str) or not v.strip():
        raise ctx.fail(key, f"expected a non-empty string, found {v!r}")
    return v


def _bool(ctx: _Ctx, table: dict, key: str, default: bool) -> bool:
    v = table.get(key, default)
    if not isinstance(v, bool):
        raise ctx.fail(key, f"expected true or false, found {v!r}")
    return v


def _num(ctx: _Ctx, table: dict, key: str, lo: float | None = None, hi: float | None = None,
         required: bool = True, default: Any = None) -> Any:
    if key not in table:
        if required:
            raise ctx.fail(key, "missing")
        return default
    v = table[key]
    _huge(ctx, key, v)
    if not _is_number(v):
        raise ctx.fail(key, f"expected a number, found {v!r}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ctx.fail(key, f"expected a number in {lo:g}..{hi:g}, found {v!r}")
    return v


def _check_id(ctx: _Ctx, v: Any, what: str = "id") -> str:
    if not isinstance(v, str) or not ID_PATTERN.fullmatch(v):
        raise ctx.fail(what, f"expected lowercase letters, digits and _ ([a-z0-9_]+), found {v!r}")
    return v


def _threshold(ctx: _Ctx, op: str, v: Any, fld: str = "threshold") -> Threshold:
    """Check a threshold's shape against the operator; lists become tuples."""
    if op in ("is_true", "is_null"):
        if v is not None:
            raise ctx.fail(fld, f"op {op!r} takes no threshold, found {v!r}")
        return None
    if v is None:
        raise ctx.fail(fld, f"missing (op {op!r} needs one)")
    for x in (v if isinstance(v, list) else [v]):
        _huge(ctx, fld, x)
    if isinstance(v, dict):
        if op not in ("<", "<=", ">", ">="):
            raise ctx.fail(fld, f"a percentile threshold needs op < <= > >=, found op {op!r}")
        if set(v) != {"percentile"} or not _is_number(v["percentile"]) or not 0 <= v["percentile"] <= 100:
            raise ctx.fail(fld, f"expected {{ percentile = 0..100 }}, found {v!r}")
        return Percentile(v["percentile"])
    if op in ("between", "scale"):
        if not isinstance(v, list) or len(v) != 2 or not all(_is_number(x) for x in v):
            raise ctx.fail(fld, f"op {op!r} needs a list of two numbers, found {v!r}")
        if op == "between" and v[0] > v[1]:
            raise ctx.fail(fld, f"op 'between' needs [low, high] with low <= high, found {v!r}")
        if op == "scale" and v[0] == v[1]:
            raise ctx.fail(fld, f"op 'scale' needs [no_points_at, full_points_at] with two different values, "
                                f"found {v!r}")
        return tuple(v)
    if op == "in":
        if not isinstance(v, list) or not v:
            raise ctx.fail(fld, f"op 'in' needs a non-empty list, found {v!r}")
        if not (all(_is_number(x) for x in v) or all(isinstance(x, str) for x in v)):
            raise ctx.fail(fld, f"op 'in' needs a list of numbers or a list of strings, found {v!r}")
        return tuple(v)
    # comparisons
    if isinstance(v, list):
        raise ctx.fail(fld, f"op {op!r} needs a single value, found a list {v!r}")
    if op in ("<", "<=", ">", ">=") and not _is_number(v):
        raise ctx.fail(fld, f"op {op!r} needs a number or {{ percentile = N }}, found {v!r}")
    if not (_is_number(v) or isinstance(v, (str, bool))):
        raise ctx.fail(fld, f"expected a number, string or boolean, found {v!r}")
    return v


def _check_signal(ctx: _Ctx, v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ctx.fail("signal", f"expected a column name or an expression, found {v!r}")
    try:
        parse_expression(v, None)
    except ExpressionError as e:
        if not _NAME_LIKE.fullmatch(v):  # could still be a column name with spaces, checked later
            raise ctx.fail("signal", f"{e} (in {v!r})") from None
    return v


def _op(ctx: _Ctx, table: dict) -> str:
    op = _str(ctx, table, "op")
    if op not in OPS:
        raise ctx.fail("op", f"expected one of {' '.join(OPS)}, found {op!r}")
    return op


# ---- sections -----------------------------------------------------------------

_RULE_KEYS = ("id", "label", "dimension", "signal", "op", "threshold", "points", "group", "null_fires", "enabled")


def _rule(source: str, i: int, t: Any, dims: tuple[str, ...]) -> Rule:
    ctx = _Ctx(source, f"rule #{i + 1}")
    if not isinstance(t, dict):
        raise ctx.fail(None, "expected a [[rules]] table")
    rid = _check_id(ctx, t.get("id"))
    ctx = _Ctx(source, f"rule {rid!r}")
    _take(ctx, t, _RULE_KEYS)
    dim = _str(ctx, t, "dimension")
    if dim not in dims:
        raise ctx.fail("dimension", f"unknown dimension {dim!r} (expected one of {', '.join(dims)})")
    group = _str(ctx, t, "group")
    if group not in GROUPS:
        raise ctx.fail("group", f"unknown evidence group {group!r} (expected one of {', '.join(GROUPS)})")
    op = _op(ctx, t)
    label, thr = _str(ctx, t, "label"), _threshold(ctx, op, t.get("threshold"))
    problem = label_problem(label, op, thr)
    if problem:
        raise ctx.fail("label", problem)
    return Rule(id=rid, label=label, dimension=dim, signal=_check_signal(ctx, t.get("signal")),
                op=op, threshold=thr, points=_num(ctx, t, "points", 0, 100),
                group=group, null_fires=_bool(ctx, t, "null_fires", False), enabled=_bool(ctx, t, "enabled", True))


def _cuts(ctx: _Ctx, t: dict) -> tuple[float, float, str | None]:
    mode = _str(ctx, t, "mode", required=False)
    if mode is not None and mode not in TIER_MODES:
        raise ctx.fail("mode", f"expected \"points\" or \"percentile\", found {mode!r}")
    medium = _num(ctx, t, "medium", 0, 100, required=False, default=None)
    high = _num(ctx, t, "high", 0, 100, required=False, default=None)
    return medium, high, mode


def _tiers(source: str, t: Any, dims: tuple[str, ...]) -> Tiers:
    ctx = _Ctx(source, "[tiers]")
    if not isinstance(t, dict):
        raise ctx.fail(None, "expected a table")
    sub = {k: v for k, v in t.items() if isinstance(v, dict)}
    _take(ctx, {k: v for k, v in t.items() if k not in sub}, ("medium", "high", "mode"))
    medium, high, mode = _cuts(ctx, t)
    medium = 31 if medium is None else medium
    high = 61 if high is None else high
    if medium > high:
        raise ctx.fail("medium", f"expected medium <= high, found medium {medium} > high {high}")
    per = []
    for dim, st in sub.items():
        dctx = _Ctx(source, f"[tiers.{dim}]")
        if dim not in dims:
            raise dctx.fail(None, f"unknown dimension {dim!r} (expected one of {', '.join(dims)})")
        _take(dctx, st, ("medium", "high", "mode"))
        m, h, md = _cuts(dctx, st)
        m = medium if m is None else m
        h = high if h is None else h
        if m > h:
            raise dctx.fail("medium", f"expected medium <= high, found medium {m} > high {h}")
        per.append((dim, TierCuts(m, h, md)))
    return Tiers(medium=medium, high=high, mode=mode or "points", per_dimension=tuple(per))


def _quadrant(source: str, t: Any) -> Quadrant:
    ctx = _Ctx(source, "[quadrant]")
    if not isinstance(t, dict):
        raise ctx.fail(None, "expected a table")
    _take(ctx, t, ("value_column", "value_cutoff", "risk_cutoff", "value_unit"))
    cutoff = t.get("value_cutoff", "median")
    if not (cutoff == "median" or _is_number(cutoff)):
        raise ctx.fail("value_cutoff", f"expected a number or \"median\", found {cutoff!r}")
    risk = t.get("risk_cutoff", HIGH_TIER)
    if risk != HIGH_TIER:
        if isinstance(risk, str):
            raise ctx.fail("risk_cutoff", f"expected a number 0..100 or \"{HIGH_TIER}\", found {risk!r}")
        risk = _num(ctx, t, "risk_cutoff", 0, 100)
    unit = _str(ctx, t, "value_unit", required=False)
    if unit is not None and unit not in VALUE_UNITS:
        raise ctx.fail("value_unit", f"expected one of {', '.join(VALUE_UNITS)}, found {unit!r}")
    return Quadrant(value_column=_str(ctx, t, "value_column", required=False, default="arr"),
                    value_cutoff=cutoff, risk_cutoff=risk, value_unit=unit)


def _fusion(source: str, t: Any) -> Fusion:
    ctx = _Ctx(source, "[fusion]")
    if not isinstance(t, dict):
        raise ctx.fail(None, "expected a table")
    _take(ctx, t, ("enabled", "min_groups"))
    mg = t.get("min_groups", 2)
    if not isinstance(mg, int) or isinstance(mg, bool) or not 1 <= mg <= len(GROUPS):
        raise ctx.fail("min_groups", f"expected a whole number 1..{len(GROUPS)}, found {mg!r}")
    return Fusion(enabled=_bool(ctx, t, "enabled", False), min_groups=mg)


def _override(source: str, i: int, t: Any, rules: dict[str, Rule]) -> Override:
    ctx = _Ctx(source, f"override #{i + 1}")
    if not isinstance(t, dict):
        raise ctx.fail(None, "expected an [[overrides]] table")
    _take(ctx, t, ("rule", "segment", "stage", "points", "threshold"))
    rid = _str(ctx, t, "rule")
    if rid not in rules:
        raise ctx.fail("rule", f"override of an unknown rule {rid!r}")
    ctx = _Ctx(source, f"override #{i + 1} of rule {rid!r}")
    seg = _str(ctx, t, "segment", required=False)
    stage = _str(ctx, t, "stage", required=False)
    if (seg is None) == (stage is None):
        raise ctx.fail("segment", "expected exactly one of segment = ... or stage = ...")
    if stage is not None and stage not in STAGES:
        raise ctx.fail("stage", f"expected one of {', '.join(STAGES)}, found {stage!r}")
    if "points" not in t and "threshold" not in t:
        raise ctx.fail("points", "an override needs points and/or threshold")
    thr = _threshold(ctx, rules[rid].op, t["threshold"]) if "threshold" in t else None
    problem = None if thr is None else label_problem(rules[rid].label, rules[rid].op, thr)
    if problem:
        raise ctx.fail("threshold", f"the rule's label {rules[rid].label!r} does not fit it: {problem}")
    return Override(rule=rid, segment=seg, stage=stage,
                    points=_num(ctx, t, "points", 0, 100, required=False), threshold=thr)


def _alert(source: str, i: int, t: Any, dims: tuple[str, ...]) -> Alert:
    ctx = _Ctx(source, f"alert #{i + 1}")
    if not isinstance(t, dict):
        raise ctx.fail(None, "expected an [[alerts]] table")
    aid = _check_id(ctx, t.get("id"))
    ctx = _Ctx(source, f"alert {aid!r}")
    _take(ctx, t, ("id", "kind", "label", "dimension", "points", "within_days", "quadrant"))
    kind = _str(ctx, t, "kind")
    if kind not in ALERT_KINDS:
        raise ctx.fail("kind", f"expected one of {', '.join(ALERT_KINDS)}, found {kind!r}")
    dim = _str(ctx, t, "dimension", required=False)
    if dim is not None and dim not in dims:
        raise ctx.fail("dimension", f"unknown dimension {dim!r} (expected one of {', '.join(dims)})")
    pts = _num(ctx, t, "points", 0, 100, required=kind == "score_rise")
    wd = t.get("within_days")
    if wd is not None and (not isinstance(wd, int) or isinstance(wd, bool) or wd < 1):
        raise ctx.fail("within_days", f"expected a whole number of days >= 1, found {wd!r}")
    quad = _str(ctx, t, "quadrant", required=kind == "entered_quadrant")
    if quad is not None and quad.lower() not in QUADRANTS:
        raise ctx.fail("quadrant", f"expected one of {', '.join(QUADRANTS)}, found {quad!r}")
    return Alert(id=aid, kind=kind, label=_str(ctx, t, "label", required=False), dimension=dim,
                 points=pts, within_days=wd, quadrant=quad)


def _segment(source: str, i: int, t: Any) -> BehaviorSegment:
    ctx = _Ctx(source, f"behavior segment #{i + 1}")
    if not isinstance(t, dict):
        raise ctx.fail(None, "expected a [[behavior_segments]] table")
    sid = _check_id(ctx, t.get("id"))
    ctx = _Ctx(source, f"behavior segment {sid!r}")
    _take(ctx, t, ("id", "label", "signal", "op", "threshold", "null_fires"))
    op = _op(ctx, t)
    if op == "scale":
        raise ctx.fail("op", "a behavioural segment is yes/no: op 'scale' is not allowed")
    return BehaviorSegment(id=sid, signal=_check_signal(ctx, t.get("signal")), op=op,
                           threshold=_threshold(ctx, op, t.get("threshold")),
                           label=_str(ctx, t, "label", required=False), null_fires=_bool(ctx, t, "null_fires", False))


def _data(source: str, t: Any) -> DataSection:
    ctx = _Ctx(source, "[data]")
    if not isinstance(t, dict):
        raise ctx.fail(None, "expected a table")
    names = [f.name for f in fields(DataSection)]
    _take(ctx, t, names)
    out: dict[str, Any] = {}
    for k in names:
        if k == "outcome_positive" and isinstance(t.get(k), list):
            vals = t[k]
            if not vals or not all(isinstance(x, str) for x in vals):
                raise ctx.fail(k, f"expected a string or a list of strings, found {vals!r}")
            out[k] = tuple(vals)
        else:
            out[k] = _str(ctx, t, k, required=False)
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
    ctx = _Ctx(source, "top level")
    _take(ctx, doc, ("name", "description", "primary_dimension", "dimensions", "tiers", "quadrant", "fusion",
                     "rules", "overrides", "alerts", "behavior_segments", "data"))
    name = _str(ctx, doc, "name")
    primary = _str(ctx, doc, "primary_dimension", required=False, default="churn")
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
                rctx = _Ctx(source, f"rule {t.get('id', f'#{i + 1}')!r}")
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
            raise _Ctx(source, f"rule {r.id!r}").fail("id", "duplicate rule id")
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
            raise _Ctx(source, f"{what} {dup!r}").fail("id", f"duplicate {what} id")
    return RuleSet(
        name=name, description=_str(ctx, doc, "description", required=False), primary_dimension=primary,
        dimensions=dims, tiers=_tiers(source, doc.get("tiers", {}), dims),
        quadrant=_quadrant(source, doc.get("quadrant", {})), fusion=_fusion(source, doc.get("fusion", {})),
        rules=tuple(rules), overrides=tuple(overrides), alerts=tuple(alerts), behavior_segments=tuple(segments),
        data=_data(source, doc["data"]) if "data" in doc else None)


# ---- writing ------------------------------------------------------------------

def _thr_out(v: Threshold) -> Any:
    if isinstance(v, Percentile):
        return {"percentile": v.percentile}
    if isinstance(v, tuple):
        return list(v)
    return v


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
            "threshold": _thr_out(r.threshold), "points": r.points, "group": r.group,
            "null_fires": r.null_fires, "enabled": r.enabled}) for r in rs.rules]
    for key, items in (("overrides", rs.overrides), ("alerts", rs.alerts), ("behavior_segments", rs.behavior_segments)):
        if items:
            doc[key] = [_compact({f.name: _thr_out(getattr(x, f.name)) for f in fields(x)}) for x in items]
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


# ---- edits (sliders) ------------------------------------------------------------

def _recheck(rs: RuleSet) -> RuleSet:
    return ruleset_from_dict(ruleset_to_dict(rs), "<edited rule set>")


def with_points(rs: RuleSet, points: dict[str, float]) -> RuleSet:
    """A copy with new points for some rules (checked: known ids, 0..100)."""
    for rid in points:
        rs.rule(rid)
    rules = tuple(replace(r, points=points[r.id]) if r.id in points else r for r in rs.rules)
    return _recheck(replace(rs, rules=rules))


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


# ---- against the data's columns ---------------------------------------------------

def signal_columns(signal: str, columns: Iterable[str] | None = None) -> list[str]:
    """Columns a signal needs: itself when it is a column (of `columns`), else its expression's columns."""
    if columns is not None and signal in set(columns):
        return [signal]
    try:
        tree = parse_expression(signal, None)
    except ExpressionError:
        return [signal]  # a name with spaces that is not (yet) a column
    return expression_columns(tree)


def _missing(signal: str, columns: set[str]) -> list[str]:
    folded = {c.lower() for c in columns}
    return [c for c in signal_columns(signal, columns) if c not in columns and c.lower() not in folded]


@dataclass(frozen=True)
class Unavailable:
    """Why a rule (or behavioural segment) cannot run on this data: `message` names the rule, the
    field and the column; `column` is the column whose type or emptiness is the reason, if one is."""

    id: str
    message: str
    column: str | None = None


NUMBER_OPS = ("<", "<=", ">", ">=", "between", "scale")
_HINTS = {NUMBER: ' (for a 0/1 column write op = "==" with threshold = 1)',
          TEXT: ' (write op = "==" with the text that means yes, e.g. threshold = "Yes")'}


def _value_kind(v: Any) -> str:
    return BOOLEAN if isinstance(v, bool) else TEXT if isinstance(v, str) else NUMBER


def _value_phrase(v: Any) -> str:
    if isinstance(v, bool):
        return f"true/false ({str(v).lower()})"
    return f"text {v!r}" if isinstance(v, str) else f"the number {v!r}"


def _fits(kind: str, v: Any) -> bool:
    """Can a value of this kind be compared (==, !=, in) with the threshold value v?"""
    if kind == NULL:
        return True
    if kind == DATE:
        return isinstance(v, str) and is_date_text(v)
    return kind == _value_kind(v) and kind != OTHER


def _signal_kind(signal: str, facts: ColumnFacts) -> tuple[str, str | None, str]:
    """(kind, column, subject): the kind of value a signal gives, the column it is (when it is one)
    and how a message says what it is. Raises ExpressionError / TypeMismatch."""
    if signal in facts:
        return facts.kind(signal), signal, facts.phrase(signal)
    tree = parse_expression(signal, facts)
    kind = infer_kind(tree, facts)
    inner = tree
    while inner.key == "paren":
        inner = inner.this
    if inner.key == "column":
        return kind, inner.name, facts.phrase(inner.name)
    return kind, None, f"the signal {signal!r} is {kind_phrase(kind)}"


def _type_problem(where: str, item: Any, thresholds: list[tuple[str, Any]],
                  facts: ColumnFacts) -> tuple[str, str | None] | None:
    """(message, column) when the op or a threshold does not fit the signal's kind of value;
    `thresholds`: (where it is written, value) for the item's own threshold and its overrides'."""
    kind, column, subject = _signal_kind(item.signal, facts)
    op = item.op
    if op == "is_null" or kind == NULL:
        return None
    if kind == OTHER:
        return f"{where}, field 'signal': {subject}; op {op!r} cannot use it", column
    if op in NUMBER_OPS:
        if kind != NUMBER:
            pct = " with a percentile threshold" if any(isinstance(t, Percentile) for _, t in thresholds) else ""
            return f"{where}, field 'signal': {subject}; op {op!r}{pct} needs a number", column
        return None
    if op == "is_true":
        if kind != BOOLEAN:
            return f"{where}, field 'signal': {subject}; op 'is_true' needs true/false{_HINTS.get(kind, '')}", column
        return None
    for at, thr in thresholds:  # == != in: every threshold value must be comparable with the signal
        for v in (thr if isinstance(thr, tuple) else (thr,)):
            if not _fits(kind, v):
                need = " (a date needs text written YYYY-MM-DD)" if kind == DATE else ""
                return f"{at}, field 'threshold': {subject}; op {op!r} compares it with {_value_phrase(v)}{need}", column
    return None


def _problem(what: str, item: Any, columns: Iterable[str],
             overrides: Iterable[tuple[int, Override]] = ()) -> Unavailable | None:
    """Why `item` (a rule or behavioural segment) cannot run on these columns, or None.

    Plain column names: missing columns and expressions that do not check. ColumnFacts (names with
    types, see scoring.column_facts) also: columns without any value and kinds that do not fit."""
    facts = columns if isinstance(columns, ColumnFacts) else None
    cols = set(columns)
    tail = " (rule unavailable)" if what == "rule" else " (segment unavailable)"
    where = f"{what} {item.id!r}"
    miss = _missing(item.signal, cols)
    if miss:
        return Unavailable(item.id, f"{where}, field 'signal': column(s) {', '.join(map(repr, miss))} not in the "
                                    "data" + (" (rule unavailable)" if what == "rule" else ""))
    try:
        tree = None if item.signal in cols else parse_expression(item.signal, cols)
        if facts is None:
            return None
        used = [item.signal] if tree is None else expression_columns(tree)
        empty = [c for c in used if c in facts.empty]
        if empty:
            return Unavailable(item.id, f"{where}, field 'signal': column {empty[0]!r} has no values{tail}", empty[0])
        thresholds = [(where, item.threshold)] + [(f"override #{i + 1} of rule {item.id!r}", o.threshold)
                                                  for i, o in overrides if o.threshold is not None]
        found = _type_problem(where, item, thresholds, facts)
    except TypeMismatch as e:
        return Unavailable(item.id, f"{where}, field 'signal': {e}{tail}", e.column)
    except ExpressionError as e:
        return Unavailable(item.id, f"{where}, field 'signal': {e}{tail}")
    if found is None:
        return None
    message, column = found
    return Unavailable(item.id, message + tail, column)


def rule_problems(rs: RuleSet, columns: Iterable[str]) -> list[Unavailable]:
    """Why each rule that cannot run on these columns is unavailable (see `_problem`), file order."""
    columns = columns if isinstance(columns, ColumnFacts) else list(columns)
    found = (_problem("rule", r, columns, [(i, o) for i, o in enumerate(rs.overrides) if o.rule == r.id])
             for r in rs.rules)
    return [p for p in found if p is not None]


def segment_problems(rs: RuleSet, columns: Iterable[str]) -> list[Unavailable]:
    """The same for behavioural segments (an unavailable segment never matches)."""
    columns = columns if isinstance(columns, ColumnFacts) else list(columns)
    found = (_problem("behavior segment", s, columns) for s in rs.behavior_segments)
    return [p for p in found if p is not None]


def unavailable_rules(rs: RuleSet, columns: Iterable[str]) -> list[str]:
    """Ids of rules that cannot run on these columns (missing, empty or of the wrong kind): shown,
    never scored as zero. Give ColumnFacts to check types, plain names to check only presence."""
    return [p.id for p in rule_problems(rs, columns)]


NO_RULES = "top level, field 'rules': the rule set has no rules ([[rules]] tables): every account would score 0"


def validate_ruleset(rs: RuleSet, columns: Iterable[str]) -> list[str]:
    """Problems of a rule set against the data's columns, one message per problem (empty: all fine).

    An unavailable rule (missing column, no values, a kind its op cannot use) is reported, not an
    error that stops scoring: the other rules score.
    """
    columns = columns if isinstance(columns, ColumnFacts) else list(columns)
    cols = set(columns)
    out: list[str] = [] if rs.rules else [NO_RULES]
    out += [p.message for p in rule_problems(rs, columns) + segment_problems(rs, columns)]
    if rs.quadrant.value_column not in cols:
        out.append(f"[quadrant], field 'value_column': column {rs.quadrant.value_column!r} not in the data "
                   "(value axis empty: every account counts as low value)")
    for o in rs.overrides:
        col = "segment" if o.segment is not None else "stage"
        if col not in cols:
            out.append(f"override of rule {o.rule!r}, field {col!r}: the data has no {col!r} column "
                       "(override never applies)")
    return out
