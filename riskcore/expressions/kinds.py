"""Kinds of values (number, text, boolean, date, null, other): a table's typed columns (ColumnFacts)
and `infer_kind`, which checks that every operator of an expression gets the kind it needs, so a
text column compared with a number is a message, not an engine error."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Mapping

from sqlglot import exp

from .nodes import ARITHMETIC, COMPARISONS, TypeMismatch, operands, subject, symbol, unparen

NUMBER, TEXT, BOOLEAN, DATE, NULL, OTHER = "number", "text", "boolean", "date", "null", "other"
_NUMBER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT", "UHUGEINT", "FLOAT", "REAL", "DOUBLE"}
_PHRASES = {NUMBER: "a number", TEXT: "text", BOOLEAN: "true/false", DATE: "a date", NULL: "always NULL"}


def kind_of(sql_type: str) -> str:
    """The kind of value (number, text, boolean, date, null, other) a DuckDB column type holds."""
    t = str(sql_type).upper().strip('"')
    if t.endswith("]") or t.startswith(("STRUCT", "MAP", "UNION")):  # lists, arrays, nested values
        return OTHER
    if t in _NUMBER_TYPES or t.startswith(("DECIMAL", "NUMERIC")):
        return NUMBER
    if t.startswith("VARCHAR") or t in ("TEXT", "STRING"):
        return TEXT
    if t == "BOOLEAN":
        return BOOLEAN
    if t == "DATE" or t.startswith("TIMESTAMP"):
        return DATE
    if t == "NULL":
        return NULL
    return OTHER


@dataclass(frozen=True)
class ColumnFacts:
    """A table's columns with their DuckDB types, what rules are checked against. Iterates as the
    column names (so it stands wherever names do). `empty`: columns counted and found without a
    single value; `examples`: a value of a text column, quoted in messages ('1,234')."""

    types: Mapping[str, str]
    empty: frozenset = frozenset()
    examples: Mapping[str, str] = field(default_factory=dict)

    def __iter__(self):
        return iter(self.types)

    def __contains__(self, name: object) -> bool:
        return name in self.types

    def __len__(self) -> int:
        return len(self.types)

    def kind(self, column: str) -> str:
        return kind_of(self.types[column])

    def phrase(self, column: str) -> str:
        """`column 'calls' is text (e.g. '1,234')`."""
        kind = self.kind(column)
        what = _PHRASES.get(kind) or f"of type {self.types[column]}"
        example = self.examples.get(column)
        if example is not None and len(example) > 40:  # a hint, not the cell: long text is cut
            example = example[:37] + "..."
        return f"column {column!r} is {what}" + (f" (e.g. {example!r})" if example is not None else "")


def kind_phrase(kind: str) -> str:
    """`a number`, `text`, `true/false`, `a date`."""
    return _PHRASES.get(kind, "of another type")


def is_date_text(text: str) -> bool:
    """DuckDB compares a date with text by reading the text as a date: only ISO dates work."""
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            parse(text)
            return True
        except ValueError:
            pass
    return False


def _named(node: exp.Expression, kind: str) -> str:
    """`column 'Seats' (a number)`; a literal says what it is by itself: `the text 'none'`."""
    if isinstance(unparen(node), (exp.Literal, exp.Boolean, exp.Null)):
        return subject(node)
    return f"{subject(node)} ({kind_phrase(kind)})"


def _is(node: exp.Expression, kind: str, facts: ColumnFacts) -> str:
    """`column 'calls' is text (e.g. '1,234')`, `the text 'x' is text`..."""
    node = unparen(node)
    if isinstance(node, exp.Column) and node.name in facts:
        return facts.phrase(node.name)
    return f"{subject(node)} is {kind_phrase(kind)}"


def _column_of(node: exp.Expression) -> str | None:
    node = unparen(node)
    return node.name if isinstance(node, exp.Column) else None


def _comparable(a: exp.Expression, ka: str, b: exp.Expression, kb: str) -> bool:
    if ka == kb and ka != OTHER or NULL in (ka, kb):
        return True
    for x, kx, ky in ((a, ka, kb), (b, kb, ka)):  # a date against an ISO date literal
        lit = unparen(x)
        if kx == TEXT and ky == DATE and isinstance(lit, exp.Literal) and lit.is_string and is_date_text(lit.this):
            return True
    return False


def infer_kind(tree: exp.Expression, facts: ColumnFacts) -> str:
    """The kind of value a checked expression gives over these columns; raises TypeMismatch naming the
    column and the operator when an operator gets a kind it cannot use (what DuckDB would refuse)."""
    kinds: dict[int, str] = {}
    for node in reversed(list(tree.walk(bfs=True))):  # children before their parents, no recursion
        if isinstance(node, exp.Identifier):
            continue
        kinds[id(node)] = _node_kind(node, kinds, facts)
    return kinds[id(tree)]


def _node_kind(node: exp.Expression, kinds: dict[int, str], facts: ColumnFacts) -> str:
    k = lambda n: kinds[id(n)]  # noqa: E731
    if isinstance(node, exp.Column):
        return facts.kind(node.name) if node.name in facts else OTHER
    if isinstance(node, exp.Literal):
        return TEXT if node.is_string else NUMBER
    if isinstance(node, exp.Boolean):
        return BOOLEAN
    if isinstance(node, exp.Null):
        return NULL
    if isinstance(node, exp.Paren):
        return k(node.this)
    if isinstance(node, ARITHMETIC):
        for o in operands(node):
            if k(o) not in (NUMBER, NULL):
                raise TypeMismatch(f"{_is(o, k(o), facts)}; {symbol(node)!r} needs numbers", _column_of(o))
        return NUMBER
    if isinstance(node, COMPARISONS):
        a, b = node.this, node.expression
        if not _comparable(a, k(a), b, k(b)):
            first, other = (b, a) if _column_of(a) is None and _column_of(b) is not None else (a, b)
            raise TypeMismatch(f"{_is(first, k(first), facts)}; {symbol(node)!r} compares it with "
                               f"{_named(other, k(other))}", _column_of(first))
        return BOOLEAN
    if isinstance(node, (exp.And, exp.Or, exp.Not)):
        for o in operands(node):
            if k(o) not in (BOOLEAN, NULL):
                raise TypeMismatch(f"{_is(o, k(o), facts)}; {symbol(node)} needs true/false", _column_of(o))
        return BOOLEAN
    if isinstance(node, exp.Is):
        if isinstance(node.expression, exp.Boolean) and k(node.this) not in (BOOLEAN, NULL):
            raise TypeMismatch(f"{_is(node.this, k(node.this), facts)}; IS TRUE / IS FALSE needs true/false",
                               _column_of(node.this))
        return BOOLEAN
    if isinstance(node, exp.Coalesce):
        args = operands(node)
        seen = [(a, k(a)) for a in args if k(a) != NULL]
        for a, ka in seen[1:]:
            if not _comparable(seen[0][0], seen[0][1], a, ka):
                b, kb = seen[0]
                text_side = _column_of(b) if kb == TEXT else _column_of(a) if ka == TEXT else None
                col = text_side or _column_of(b) or _column_of(a)  # the example is a text column's
                raise TypeMismatch(f"COALESCE mixes {_named(b, kb)} with {_named(a, ka)}", col)
        return seen[0][1] if seen else NULL
    return OTHER
