"""Parse a rule expression with sqlglot (DuckDB dialect) and keep only the whitelist: text limits,
nesting depth, number range and known columns checked before anything reaches SQL."""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from typing import Iterable

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from .nodes import ALLOWED_NODES, ARITHMETIC, YES_NO, ExpressionError, describe, operands, subject, symbol, through

MAX_LENGTH = 2000
# Parentheses, NOT and unary minus nest the parser's recursion (about 25 Python frames a level):
# deeper expressions are refused before sqlglot sees them (no RecursionError), with room to spare.
MAX_NESTING = 20
INT64_MAX = 2 ** 63 - 1


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
            raise ExpressionError(f"{describe(node)} is not allowed in an expression")
        if isinstance(node, exp.Column):
            if node.args.get("table") or node.args.get("db") or node.args.get("catalog"):
                raise ExpressionError(f"table-qualified column {node.sql('duckdb')!r} is not allowed")
            if not isinstance(node.this, exp.Identifier):
                raise ExpressionError(f"{describe(node.this)} is not allowed as a column")
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
            for operand in operands(node):
                for leaf in through(operand):
                    if isinstance(leaf, YES_NO):
                        raise ExpressionError(f"{subject(leaf)} is true/false: it cannot be used in arithmetic "
                                              f"({symbol(node)!r})")
                    if isinstance(leaf, exp.Literal) and leaf.is_string:
                        raise ExpressionError(f"{subject(leaf)} cannot be used in arithmetic ({symbol(node)!r})")
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


def expression_columns(tree: exp.Expression) -> list[str]:
    """Column names an expression refers to, in first-use order."""
    seen: list[str] = []
    for col in tree.walk(bfs=False):
        if isinstance(col, exp.Column) and col.name not in seen:
            seen.append(col.name)
    return seen
