"""Rule labels and reasons as text: templates filled with the threshold that applied.

A changed threshold (an override's, a percentile's cut value) never leaves a label stating a false
condition; scoring renders the same parts in SQL (a percentile's cut value is known only there).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Union

from .model import Percentile, Rule, Threshold, is_number, threshold_doc

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
    return float(Decimal(repr(x)) * Decimal(repr(scale)))


def label_problem(label: str, op: str, thr: Threshold) -> str | None:
    """Why a label's placeholders do not fit its rule's op and threshold (None: they fit)."""
    used = set(_PLACEHOLDER.findall(label))
    if used & {"threshold", "threshold_percent"} and op in ("is_true", "is_null"):
        return f"{{threshold}} needs a threshold; op {op!r} has none"
    if "threshold_percent" in used and not _numeric_threshold(op, thr):
        return f"{{threshold_percent}} needs a number threshold, found {threshold_doc(thr)!r}"
    if used & {"low", "high"} and op not in ("between", "scale"):
        return f"{{low}} and {{high}} need op 'between' or 'scale', found op {op!r}"
    if used & {"percentile", "share"} and not isinstance(thr, Percentile):
        return f"{{percentile}} and {{share}} need a threshold {{ percentile = N }}, found {threshold_doc(thr)!r}"
    return None


def _numeric_threshold(op: str, thr: Threshold) -> bool:
    if isinstance(thr, Percentile):
        return True
    vals = thr if isinstance(thr, tuple) else (thr,)
    return op != "in" and all(is_number(v) for v in vals)


def label_parts(rule: Rule, threshold: Threshold) -> list[Part]:
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


def condition_parts(rule: Rule, threshold: Threshold) -> list[Part]:
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


def reason_parts(rule: Rule, threshold: Threshold) -> list[Part]:
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


def rule_label(rule: Rule, threshold: Any = "rule's own") -> str:
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
