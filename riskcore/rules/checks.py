"""Checks of one value of a rule-set document: each failure a RuleSetError naming where it sits.

`Context` carries the file and the place (`rule 'x'`); the `get_*` and `check_*` helpers read one
field and fail with a message naming the field, so every section parser reads like its schema.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from ..expressions import INT64_MAX, ExpressionError, parse_expression
from .model import ID_PATTERN, OPS, Percentile, RuleSetError, Threshold, is_number

# a signal that fails to parse as an expression may still be a plain column name with spaces
_NAME_LIKE = re.compile(r"[\w][\w .\-]*")


class Context:
    """Where a value sits, for messages: `file: rule 'x', field 'points': ...`."""

    def __init__(self, source: str, where: str):
        self.source, self.where = source, where

    def fail(self, fld: str | None, message: str) -> RuleSetError:
        loc = f"{self.where}, field {fld!r}" if fld else self.where
        return RuleSetError(f"{self.source}: {loc}: {message}")


def _huge(ctx: Context, key: str, v: Any) -> None:
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > INT64_MAX:
        raise ctx.fail(key, f"the number {v} is out of range (whole numbers up to {INT64_MAX})")


def take_fields(ctx: Context, table: dict, allowed: Iterable[str]) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ctx.fail(unknown[0], f"unknown field (allowed: {', '.join(allowed)})")


def get_str(ctx: Context, table: dict, key: str, required: bool = True, default: str | None = None) -> str | None:
    if key not in table:
        if required:
            raise ctx.fail(key, "missing")
        return default
    v = table[key]
    if not isinstance(v, str) or not v.strip():
        raise ctx.fail(key, f"expected a non-empty string, found {v!r}")
    return v


def get_bool(ctx: Context, table: dict, key: str, default: bool) -> bool:
    v = table.get(key, default)
    if not isinstance(v, bool):
        raise ctx.fail(key, f"expected true or false, found {v!r}")
    return v


def get_num(ctx: Context, table: dict, key: str, lo: float | None = None, hi: float | None = None,
         required: bool = True, default: Any = None) -> Any:
    if key not in table:
        if required:
            raise ctx.fail(key, "missing")
        return default
    v = table[key]
    _huge(ctx, key, v)
    if not is_number(v):
        raise ctx.fail(key, f"expected a number, found {v!r}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ctx.fail(key, f"expected a number in {lo:g}..{hi:g}, found {v!r}")
    return v


def check_id(ctx: Context, v: Any, what: str = "id") -> str:
    if not isinstance(v, str) or not ID_PATTERN.fullmatch(v):
        raise ctx.fail(what, f"expected lowercase letters, digits and _ ([a-z0-9_]+), found {v!r}")
    return v


def check_threshold(ctx: Context, op: str, v: Any, fld: str = "threshold") -> Threshold:
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
        if set(v) != {"percentile"} or not is_number(v["percentile"]) or not 0 <= v["percentile"] <= 100:
            raise ctx.fail(fld, f"expected {{ percentile = 0..100 }}, found {v!r}")
        return Percentile(v["percentile"])
    if op in ("between", "scale"):
        if not isinstance(v, list) or len(v) != 2 or not all(is_number(x) for x in v):
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
        if not (all(is_number(x) for x in v) or all(isinstance(x, str) for x in v)):
            raise ctx.fail(fld, f"op 'in' needs a list of numbers or a list of strings, found {v!r}")
        return tuple(v)
    # comparisons
    if isinstance(v, list):
        raise ctx.fail(fld, f"op {op!r} needs a single value, found a list {v!r}")
    if op in ("<", "<=", ">", ">=") and not is_number(v):
        raise ctx.fail(fld, f"op {op!r} needs a number or {{ percentile = N }}, found {v!r}")
    if not (is_number(v) or isinstance(v, (str, bool))):
        raise ctx.fail(fld, f"expected a number, string or boolean, found {v!r}")
    return v


def check_signal(ctx: Context, v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ctx.fail("signal", f"expected a column name or an expression, found {v!r}")
    try:
        parse_expression(v, None)
    except ExpressionError as e:
        if not _NAME_LIKE.fullmatch(v):  # could still be a column name with spaces, checked later
            raise ctx.fail("signal", f"{e} (in {v!r})") from None
    return v


def get_op(ctx: Context, table: dict) -> str:
    op = get_str(ctx, table, "op")
    if op not in OPS:
        raise ctx.fail("op", f"expected one of {' '.join(OPS)}, found {op!r}")
    return op
