"""Render a checked expression tree as DuckDB SQL: arithmetic in DOUBLE, `x / 0` and `x % 0`
NULL, non-finite results NULL, identifiers always quoted."""

from __future__ import annotations

from sqlglot import exp

from .nodes import ARITHMETIC, COMPARISONS, ExpressionError, unparen

def render(tree: exp.Expression) -> str:
    """DuckDB SQL for a checked tree, identifiers always quoted. Arithmetic runs in DOUBLE (no
    integer overflow), `x / 0` and `x % 0` are NULL, and a non-finite result (overflow, inf - inf)
    is NULL: an expression never hands inf or NaN to a comparison."""
    out = _safe_arithmetic(tree.copy())
    for node in list(out.walk()):  # (a > b) >= c: DuckDB refuses a comparison chained without parentheses
        if isinstance(node, COMPARISONS):
            for side in ("this", "expression"):
                if isinstance(node.args.get(side), COMPARISONS):
                    node.set(side, exp.Paren(this=node.args[side]))
    try:
        return out.sql(dialect="duckdb", identify=True, comments=False)
    except RecursionError:  # a backstop: parsing refuses deeper trees
        raise ExpressionError("the expression nests too deeply") from None


def _computes(node: exp.Expression) -> bool:
    """Arithmetic that computes at run time (a negative number literal such as -5 does not)."""
    if isinstance(node, exp.Neg):
        lit = unparen(node.this)
        return not (isinstance(lit, exp.Literal) and lit.is_number)
    return isinstance(node, ARITHMETIC)


def _double(node: exp.Expression) -> exp.Expression:
    """An arithmetic operand as DOUBLE (operands that compute already are)."""
    if _computes(unparen(node)):
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
        lit = unparen(node.expression)
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
