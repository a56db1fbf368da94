"""What an expression tree may hold (ALLOWED_NODES, the node groups) and how messages name its parts:
`describe` a refused construct, `subject` a value ("column 'x'", "the text 'a'")."""

from __future__ import annotations

from sqlglot import exp

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


ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg)
COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
YES_NO = COMPARISONS + (exp.And, exp.Or, exp.Not, exp.Is, exp.Boolean)
SYMBOLS = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%", exp.Neg: "-", exp.EQ: "=",
           exp.NEQ: "<>", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<=", exp.And: "AND", exp.Or: "OR",
           exp.Not: "NOT", exp.Is: "IS"}


def describe(node: exp.Expression) -> str:
    for kind, name in _NAMES.items():
        if isinstance(node, kind):
            return name
    if isinstance(node, exp.Func):
        fname = node.sql_name() if not isinstance(node, exp.Anonymous) else node.name
        return f"the function call {fname}()"
    return f"the construct {type(node).__name__}"


def unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def operands(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, (exp.Neg, exp.Not)):
        return [node.this]
    if isinstance(node, exp.Coalesce):
        return [node.this, *node.expressions]
    return [node.this, node.expression]


def through(node: exp.Expression) -> list[exp.Expression]:
    """The values an arithmetic operand may take: itself, or through parentheses and COALESCE."""
    out, todo = [], [node]
    while todo:
        n = unparen(todo.pop())
        if isinstance(n, exp.Coalesce):
            todo.extend(operands(n))
        else:
            out.append(n)
    return out


def symbol(node: exp.Expression) -> str:
    return SYMBOLS.get(type(node), type(node).__name__)


def subject(node: exp.Expression) -> str:
    """How a message names a value: column 'x', the text 'a', the number 5, the expression '...'."""
    node = unparen(node)
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
