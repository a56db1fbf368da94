"""Which rules (and behavioural segments) can run on a table's columns, and why not.

A rule whose column is missing, empty or of a kind its op cannot use is unavailable: reported with
a message naming the rule, the field and the column, never scored as zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from ..expressions import (BOOLEAN, DATE, NULL, NUMBER, OTHER, TEXT, ColumnFacts, ExpressionError, TypeMismatch,
                           expression_columns, infer_kind, is_date_text, kind_phrase, parse_expression)
from .model import Override, Percentile, RuleSet

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
