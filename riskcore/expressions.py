"""Safe rule expressions: parse with sqlglot (DuckDB dialect) and keep only a small whitelist.

A rule's signal may be an expression over the signals table's columns. It reaches SQL only as a
sqlglot tree that passed `check_tree`, rendered by sqlglot with every identifier quoted.

>>> parse_expression('days_to_renewal <= 60 AND days_since_last_touch > 30',
...                  {'days_to_renewal', 'days_since_last_touch'}).sql('duckdb', identify=True)
'"days_to_renewal" <= 60 AND "days_since_last_touch" > 30'
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Iterable

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

MAX_LENGTH = 2000

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
        elif isinstance(node, exp.Is):
            if not isinstance(node.expression, (exp.Null, exp.Boolean)):
                raise ExpressionError("IS is only allowed as IS NULL / IS NOT NULL / IS TRUE / IS FALSE")
        elif isinstance(node, exp.Div) and (node.args.get("safe") or node.args.get("typed")):
            raise ExpressionError("only plain division (/) is allowed")
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
    statements = [s for s in statements if s is not None]
    if len(statements) != 1:
        raise ExpressionError("an expression must be exactly one statement")
    return check_tree(statements[0], columns)


def render(tree: exp.Expression) -> str:
    """DuckDB SQL for a checked tree, identifiers always quoted."""
    return tree.sql(dialect="duckdb", identify=True, comments=False)


def expression_columns(tree: exp.Expression) -> list[str]:
    """Column names an expression refers to, in first-use order."""
    seen: list[str] = []
    for col in tree.walk(bfs=False):
        if isinstance(col, exp.Column) and col.name not in seen:
            seen.append(col.name)
    return seen
