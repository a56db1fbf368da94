"""Safe rule expressions: parse with sqlglot (DuckDB dialect) and keep only a small whitelist.

A rule's signal may be an expression over the signals table's columns. It reaches SQL only as a
sqlglot tree that passed `check_tree`, rendered by sqlglot with every identifier quoted.
Against a table's column types (`ColumnFacts`) `infer_kind` checks that every operator gets the
kind of value it needs, so a text column compared with a number is a message, not an engine error.
Arithmetic is rendered in DOUBLE with `x / 0` and `x % 0` NULL and non-finite results NULL.

>>> parse_expression('days_to_renewal <= 60 AND days_since_last_touch > 30',
...                  {'days_to_renewal', 'days_since_last_touch'}).sql('duckdb', identify=True)
'"days_to_renewal" <= 60 AND "days_since_last_touch" > 30'
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Iterable, Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

MAX_LENGTH = 2000
# Parentheses, NOT and unary minus nest the parser's recursion (about 25 Python frames a level):
# deeper expressions are refused before sqlglot sees them (no RecursionError), with room to spare.
MAX_NESTING = 20
INT64_MAX = 2 ** 63 - 1

# Node types an expression may contain. Is is further restricted to `IS NULL` / `IS TRUE|FALSE`.
ALLOWED_NODES: tuple[type[exp.Expression], ...] = (
    exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null,
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg, exp.Paren,
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE,
    exp.And, exp.Or, exp.Not, exp.Is, exp.Coalesce,
)

_NAMES = {
    exp.Subquery: "a subquery", exp.Select: "a SELECT", exp.Star: "a star (*)", exp.Cast: "a cast",
    exp.TryCast: "a cast", exp.Placeholder: "a parameter placeholder", exp.IntDiv: "integer division (//)",
    exp.In: "IN (use op = \"in\")", exp.Between: "BETWEEN (use op = \"between\")", exp.Case: "CASE",
    exp.Like: "LIKE", exp.ILike: "ILIKE",
    exp.Alias: "an alias (two names side by side: quote a column name with spaces in double quotes)",
}


class ExpressionError(ValueError):
    """An expression is not allowed; the message names the construct."""


class TypeMismatch(ExpressionError):
    """An operator gets a kind of value it cannot use; `column` is the column the message names."""

    def __init__(self, message: str, column: str | None = None):
        super().__init__(message)
        self.column = column


def _describe(node: exp.Expression) -> str:
    for kind, name in _NAMES.items():
        if isinstance(node, kind):
            return name
    if isinstance(node, exp.Func):
        fname = node.sql_name() if not isinstance(node, exp.Anonymous) else node.name
        return f"the function call {fname}()"
    return f"the construct {type(node).__name__}"


def _check_text(text: str) -> None:
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("empty expression")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    for ch in text:
        # control and invisible format characters (zero-width, bidi overrides) hide what is run
        if unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") and ch not in " \t\n\r":
            raise ExpressionError(f"the character U+{ord(ch):04X} is not allowed in an expression")
    if "\x00" in text:
        raise ExpressionError("NUL character in expression")


def _tokens_ok(text: str) -> None:
    try:
        tokens = sqlglot.Dialect.get_or_raise("duckdb").tokenize(text)
    except SqlglotError as e:
        raise ExpressionError(f"cannot read the expression: {e}") from None
    for tok in tokens:
        if tok.comments:
            raise ExpressionError("comments (-- or /* */) are not allowed in an expression")
        if tok.token_type == TokenType.SEMICOLON:
            raise ExpressionError("multiple statements (;) are not allowed in an expression")
    depth = _nesting(tokens)
    if depth > MAX_NESTING:
        raise ExpressionError(f"the expression nests {depth} levels deep (parentheses, NOT and minus signs "
                              f"count); at most {MAX_NESTING} are allowed")


_OPERAND_END = {TokenType.VAR, TokenType.NUMBER, TokenType.STRING, TokenType.IDENTIFIER, TokenType.R_PAREN,
                TokenType.NULL, TokenType.TRUE, TokenType.FALSE}


def _nesting(tokens: list) -> int:
    """How deep the parser would recurse: open parentheses plus the runs of prefix operators (NOT,
    unary minus or plus) in front of each, counted from the tokens (an upper bound, no parsing)."""
    runs: list[int] = []  # the prefix run in front of each open parenthesis
    run = worst = 0
    prev = None
    for tok in tokens:
        tt = tok.token_type
        if tt == TokenType.L_PAREN:
            runs.append(run)
            run = 0
        elif tt == TokenType.R_PAREN:
            if runs:
                runs.pop()
            run = 0
        elif tt == TokenType.NOT or (tt in (TokenType.DASH, TokenType.PLUS) and
                                     (prev is None or prev.token_type not in _OPERAND_END)):
            run += 1
        elif tt in _OPERAND_END:
            run = 0
        worst = max(worst, len(runs) + sum(runs) + run)
        prev = tok
    return worst


def _check_number(text: str) -> None:
    """A number literal must be one DuckDB reads as a finite number (no HUGEINT, no inf)."""
    try:
        value: float = int(text) if re.fullmatch(r"[0-9_]+", text) else float(text)
    except ValueError:
        raise ExpressionError(f"the number literal {text!r} is not allowed") from None
    if (isinstance(value, int) and value > INT64_MAX) or not math.isfinite(value):
        raise ExpressionError(f"the number {text} is out of range (whole numbers up to {INT64_MAX}, "
                              f"decimals up to about 1.8e308)")


class _Columns:
    """Known column names: exact match first, else a unique case-insensitive one (DuckDB's rule)."""

    def __init__(self, columns: Iterable[str]):
        self.exact = set(columns)
        counts: dict[str, list[str]] = {}
        for c in self.exact:
            counts.setdefault(c.lower(), []).append(c)
        self.folded = {k: v[0] for k, v in counts.items() if len(v) == 1}

    def resolve(self, name: str) -> str:
        if name in self.exact:
            return name
        real = self.folded.get(name.lower())
        if real is None:
            raise ExpressionError(f"unknown column {name!r}")
        return real


def check_tree(tree: exp.Expression, columns: Iterable[str] | None = None) -> exp.Expression:
    """Raise ExpressionError unless every node is whitelisted and every column is known."""
    known = _Columns(columns) if columns is not None else None
    for node in tree.walk():
        if not isinstance(node, ALLOWED_NODES):
            raise ExpressionError(f"{_describe(node)} is not allowed in an expression")
        if isinstance(node, exp.Column):
            if node.args.get("table") or node.args.get("db") or node.args.get("catalog"):
                raise ExpressionError(f"table-qualified column {node.sql('duckdb')!r} is not allowed")
            if not isinstance(node.this, exp.Identifier):
                raise ExpressionError(f"{_describe(node.this)} is not allowed as a column")
            real = known.resolve(node.this.name) if known is not None else node.this.name
            node.set("this", exp.Identifier(this=real, quoted=True))
        elif isinstance(node, exp.Literal):
            if not node.is_string and not node.is_number:
                raise ExpressionError(f"the literal {node.sql('duckdb')!r} is not allowed")
            if node.is_number:
                _check_number(node.this)
        elif isinstance(node, exp.Is):
            if not isinstance(node.expression, (exp.Null, exp.Boolean)):
                raise ExpressionError("IS is only allowed as IS NULL / IS NOT NULL / IS TRUE / IS FALSE")
        elif isinstance(node, exp.Div) and (node.args.get("safe") or node.args.get("typed")):
            raise ExpressionError("only plain division (/) is allowed")
        if isinstance(node, ARITHMETIC):
            for operand in _operands(node):
                for leaf in _through(operand):
                    if isinstance(leaf, _YES_NO):
                        raise ExpressionError(f"{_subject(leaf)} is true/false: it cannot be used in arithmetic "
                                              f"({_symbol(node)!r})")
                    if isinstance(leaf, exp.Literal) and leaf.is_string:
                        raise ExpressionError(f"{_subject(leaf)} cannot be used in arithmetic ({_symbol(node)!r})")
    return tree


def parse_expression(text: str, columns: Iterable[str] | None) -> exp.Expression:
    """Parse a rule expression and whitelist it; `columns=None` checks structure only (any name).

    Allowed: known columns (quoted identifiers too), numeric/string/boolean literals, + - * / %,
    unary minus, comparisons, AND/OR/NOT, IS [NOT] NULL, COALESCE, parentheses.
    Checked trees are cached per (text, columns): every slider move re-validates the rule set.
    """
    if not isinstance(text, str):
        _check_text(text)  # raises the message for a non-text signal
    key = None if columns is None else frozenset(columns)
    return _parse_checked(text, key).copy()  # a copy: callers own their tree


@functools.lru_cache(maxsize=2048)
def _parse_checked(text: str, columns: frozenset[str] | None) -> exp.Expression:
    _check_text(text)
    _tokens_ok(text)
    try:
        statements = sqlglot.parse(text, read="duckdb")
    except SqlglotError as e:
        raise ExpressionError(f"cannot parse the expression: {str(e).splitlines()[0]} (write strings in "
                              f"'single quotes' and column names with spaces in \"double quotes\")") from None
    except RecursionError:  # a backstop: _nesting refuses deep expressions before this
        raise ExpressionError("the expression nests too deeply") from None
    statements = [s for s in statements if s is not None]
    if len(statements) != 1:
        raise ExpressionError("an expression must be exactly one statement")
    return check_tree(statements[0], columns)


# ---- kinds of values: the type check against a table's columns ---------------------------------

NUMBER, TEXT, BOOLEAN, DATE, NULL, OTHER = "number", "text", "boolean", "date", "null", "other"
_NUMBER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT", "UHUGEINT", "FLOAT", "REAL", "DOUBLE"}
_PHRASES = {NUMBER: "a number", TEXT: "text", BOOLEAN: "true/false", DATE: "a date", NULL: "always NULL"}
ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg)
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
_YES_NO = _COMPARISONS + (exp.And, exp.Or, exp.Not, exp.Is, exp.Boolean)
_SYMBOLS = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%", exp.Neg: "-", exp.EQ: "=",
            exp.NEQ: "<>", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<=", exp.And: "AND", exp.Or: "OR",
            exp.Not: "NOT", exp.Is: "IS"}


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


def _unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _operands(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, (exp.Neg, exp.Not)):
        return [node.this]
    if isinstance(node, exp.Coalesce):
        return [node.this, *node.expressions]
    return [node.this, node.expression]


def _through(node: exp.Expression) -> list[exp.Expression]:
    """The values an arithmetic operand may take: itself, or through parentheses and COALESCE."""
    out, todo = [], [node]
    while todo:
        n = _unparen(todo.pop())
        if isinstance(n, exp.Coalesce):
            todo.extend(_operands(n))
        else:
            out.append(n)
    return out


def _symbol(node: exp.Expression) -> str:
    return _SYMBOLS.get(type(node), type(node).__name__)


def _subject(node: exp.Expression) -> str:
    """How a message names a value: column 'x', the text 'a', the number 5, the expression '...'."""
    node = _unparen(node)
    if isinstance(node, exp.Column):
        return f"column {node.name!r}"
    if isinstance(node, exp.Literal):
        return f"the text {node.this!r}" if node.is_string else f"the number {node.this}"
    if isinstance(node, exp.Boolean):
        return "TRUE" if node.this else "FALSE"
    if isinstance(node, exp.Null):
        return "NULL"
    sql = node.sql("duckdb")
    return f"the expression {sql if len(sql) <= 60 else sql[:57] + '...'!r}"


def _named(node: exp.Expression, kind: str) -> str:
    """`column 'Seats' (a number)`; a literal says what it is by itself: `the text 'none'`."""
    if isinstance(_unparen(node), (exp.Literal, exp.Boolean, exp.Null)):
        return _subject(node)
    return f"{_subject(node)} ({kind_phrase(kind)})"


def _is(node: exp.Expression, kind: str, facts: ColumnFacts) -> str:
    """`column 'calls' is text (e.g. '1,234')`, `the text 'x' is text`..."""
    node = _unparen(node)
    if isinstance(node, exp.Column) and node.name in facts:
        return facts.phrase(node.name)
    return f"{_subject(node)} is {kind_phrase(kind)}"


def _column_of(node: exp.Expression) -> str | None:
    node = _unparen(node)
    return node.name if isinstance(node, exp.Column) else None


def _comparable(a: exp.Expression, ka: str, b: exp.Expression, kb: str) -> bool:
    if ka == kb and ka != OTHER or NULL in (ka, kb):
        return True
    for x, kx, ky in ((a, ka, kb), (b, kb, ka)):  # a date against an ISO date literal
        lit = _unparen(x)
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
        for o in _operands(node):
            if k(o) not in (NUMBER, NULL):
                raise TypeMismatch(f"{_is(o, k(o), facts)}; {_symbol(node)!r} needs numbers", _column_of(o))
        return NUMBER
    if isinstance(node, _COMPARISONS):
        a, b = node.this, node.expression
        if not _comparable(a, k(a), b, k(b)):
            first, other = (b, a) if _column_of(a) is None and _column_of(b) is not None else (a, b)
            raise TypeMismatch(f"{_is(first, k(first), facts)}; {_symbol(node)!r} compares it with "
                               f"{_named(other, k(other))}", _column_of(first))
        return BOOLEAN
    if isinstance(node, (exp.And, exp.Or, exp.Not)):
        for o in _operands(node):
            if k(o) not in (BOOLEAN, NULL):
                raise TypeMismatch(f"{_is(o, k(o), facts)}; {_symbol(node)} needs true/false", _column_of(o))
        return BOOLEAN
    if isinstance(node, exp.Is):
        if isinstance(node.expression, exp.Boolean) and k(node.this) not in (BOOLEAN, NULL):
            raise TypeMismatch(f"{_is(node.this, k(node.this), facts)}; IS TRUE / IS FALSE needs true/false",
                               _column_of(node.this))
        return BOOLEAN
    if isinstance(node, exp.Coalesce):
        args = _operands(node)
        seen = [(a, k(a)) for a in args if k(a) != NULL]
        for a, ka in seen[1:]:
            if not _comparable(seen[0][0], seen[0][1], a, ka):
                b, kb = seen[0]
                text_side = _column_of(b) if kb == TEXT else _column_of(a) if ka == TEXT else None
                col = text_side or _column_of(b) or _column_of(a)  # the example is a text column's
                raise TypeMismatch(f"COALESCE mixes {_named(b, kb)} with {_named(a, ka)}", col)
        return seen[0][1] if seen else NULL
    return OTHER


# ---- rendering ------------------------------------------------------------------------------

def render(tree: exp.Expression) -> str:
    """DuckDB SQL for a checked tree, identifiers always quoted. Arithmetic runs in DOUBLE (no
    integer overflow), `x / 0` and `x % 0` are NULL, and a non-finite result (overflow, inf - inf)
    is NULL: an expression never hands inf or NaN to a comparison."""
    out = _safe_arithmetic(tree.copy())
    for node in list(out.walk()):  # (a > b) >= c: DuckDB refuses a comparison chained without parentheses
        if isinstance(node, _COMPARISONS):
            for side in ("this", "expression"):
                if isinstance(node.args.get(side), _COMPARISONS):
                    node.set(side, exp.Paren(this=node.args[side]))
    try:
        return out.sql(dialect="duckdb", identify=True, comments=False)
    except RecursionError:  # a backstop: parsing refuses deeper trees
        raise ExpressionError("the expression nests too deeply") from None


def _computes(node: exp.Expression) -> bool:
    """Arithmetic that computes at run time (a negative number literal such as -5 does not)."""
    if isinstance(node, exp.Neg):
        lit = _unparen(node.this)
        return not (isinstance(lit, exp.Literal) and lit.is_number)
    return isinstance(node, ARITHMETIC)


def _double(node: exp.Expression) -> exp.Expression:
    """An arithmetic operand as DOUBLE (operands that compute already are)."""
    if _computes(_unparen(node)):
        return node
    return exp.Cast(this=node, to=exp.DataType.build("DOUBLE"))


def _safe_arithmetic(tree: exp.Expression) -> exp.Expression:
    """Rewrite a (copied) tree: DOUBLE operands, NULLIF(divisor, 0), finite-or-NULL results."""
    nodes = [n for n in tree.walk(bfs=True) if _computes(n)]
    outermost = []
    for node in nodes:  # an outermost one: no arithmetic above it (through parentheses and COALESCE)
        up = node.parent
        while isinstance(up, (exp.Paren, exp.Coalesce)):
            up = up.parent
        if up is None or not _computes(up):
            outermost.append(node)
    for node in reversed(nodes):  # innermost first: replacing a child never detaches a pending node
        if isinstance(node, exp.Neg):
            node.set("this", _double(node.this))
            continue
        node.set("this", _double(node.this))
        lit = _unparen(node.expression)
        constant = isinstance(lit, exp.Literal) and lit.is_number and float(lit.this.replace("_", "")) != 0
        divisor = _double(node.expression)
        if isinstance(node, (exp.Div, exp.Mod)) and not constant:  # x / 0 and x % 0 are NULL
            divisor = exp.Nullif(this=divisor, expression=exp.Literal.number(0))
        node.set("expression", divisor)
    for node in outermost:
        guard = exp.Case(ifs=[exp.If(this=exp.Anonymous(this="isfinite", expressions=[node.copy()]),
                                     true=node.copy())])
        if node is tree:
            return guard
        node.replace(guard)
    return tree


def expression_columns(tree: exp.Expression) -> list[str]:
    """Column names an expression refers to, in first-use order."""
    seen: list[str] = []
    for col in tree.walk(bfs=False):
        if isinstance(col, exp.Column) and col.name not in seen:
            seen.append(col.name)
    return seen
