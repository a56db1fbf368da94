"""Rule expressions: only whitelisted constructs over known columns ever reach SQL."""

import duckdb
import pytest
import sqlglot
from hypothesis import given, settings, strategies as st
from sqlglot import exp

from riskcore.expressions import ALLOWED_NODES, ExpressionError, expression_columns, parse_expression, render

COLS = {"usage_change_30d", "days_to_renewal", "days_since_last_touch", "Customer service calls", "Churn", "plan"}


@pytest.mark.parametrize("text, sql", [
    ("days_to_renewal <= 60 AND days_since_last_touch > 30",
     '"days_to_renewal" <= 60 AND "days_since_last_touch" > 30'),
    ('"Customer service calls" >= 4', '"Customer service calls" >= 4'),
    ("COALESCE(days_since_last_touch, 9999) > 30", 'COALESCE("days_since_last_touch", 9999) > 30'),
    # arithmetic in DOUBLE, a non-finite result NULL (a constant non-zero divisor needs no NULLIF)
    ("-usage_change_30d * 100 % 7 / 2 + 1 - 3",
     'CASE WHEN ISFINITE({e}) THEN {e} END'.format(
         e='-CAST("usage_change_30d" AS DOUBLE) * CAST(100 AS DOUBLE) % CAST(7 AS DOUBLE) / CAST(2 AS DOUBLE) '
           '+ CAST(1 AS DOUBLE) - CAST(3 AS DOUBLE)')),
    ("days_to_renewal / days_since_last_touch > -1",
     'CASE WHEN ISFINITE({e}) THEN {e} END > -1'.format(
         e='CAST("days_to_renewal" AS DOUBLE) / NULLIF(CAST("days_since_last_touch" AS DOUBLE), 0)')),
    ("NOT (plan = 'basic' OR plan <> 'O''Brien')", "NOT (\"plan\" = 'basic' OR \"plan\" <> 'O''Brien')"),
    ("plan IS NOT NULL", 'NOT "plan" IS NULL'),
    ("churn = 'Yes'", "\"Churn\" = 'Yes'"),  # case-insensitive match, rewritten to the real name
    ("TRUE AND usage_change_30d IS NULL", 'TRUE AND "usage_change_30d" IS NULL'),
])
def test_allowed_expressions_render_with_quoted_identifiers(text, sql):
    assert render(parse_expression(text, COLS)) == sql


@pytest.mark.parametrize("text, fragment", [
    ("usage_change_30d < 0; DROP TABLE x", "multiple statements"),
    ("1; DROP TABLE x", "multiple statements"),
    ("(SELECT 1)", "subquery"),
    ("usage_change_30d IN (SELECT 1)", "IN"),
    ("read_csv('/etc/passwd')", "READ_CSV()"),
    ("upper(plan) = 'X'", "function call"),
    ("usage_change_30d -- comment", "comments"),
    ("usage_change_30d /* x */ > 1", "comments"),
    ("*", "star"),
    ("CAST(plan AS INT)", "cast"),
    ("plan::INT", "cast"),
    ("t.plan = 1", "table-qualified"),
    ("nope > 1", "unknown column 'nope'"),
    ('"plan" = "basic"', "unknown column 'basic'"),  # double quotes are identifiers, not strings
    ("plan = 'a", "cannot"),
    ("plan\u200b = 1", "U+200B"),
    ("plan \u202e= 1", "U+202E"),
    ("plan ＝ 1", ""),  # full-width sign: not SQL
    ("? > 1", "placeholder"),
    ("$1 > 1", "placeholder"),
    ("plan LIKE 'a%'", "LIKE"),
    ("CASE WHEN plan THEN 1 END", "CASE"),
    ("usage_change_30d BETWEEN 1 AND 2", "BETWEEN"),
    ("plan IS 3", "IS is only allowed"),
    ("days_to_renewal // 2", "integer division"),
    ("Customer service calls > 3", "double quotes"),
    ("usage_change_30d plan", "alias"),
    ("", "empty"),
])
def test_refused_constructs_are_named(text, fragment):
    with pytest.raises(ExpressionError) as e:
        parse_expression(text, COLS)
    assert fragment.lower() in str(e.value).lower()


def test_structure_only_mode_accepts_any_column_name():
    tree = parse_expression("a + b > c", None)
    assert expression_columns(tree) == ["a", "b", "c"]
    with pytest.raises(ExpressionError):
        parse_expression("read_csv('x')", None)


def test_rendered_expression_runs_in_duckdb_without_side_effects():
    con = duckdb.connect()
    con.execute('CREATE TABLE t ("Customer service calls" INT, plan VARCHAR)')
    con.execute("INSERT INTO t VALUES (5, 'x'), (1, NULL)")
    sql = render(parse_expression('"Customer service calls" > 3 AND plan IS NOT NULL', {"Customer service calls", "plan"}))
    assert con.execute(f"SELECT {sql} FROM t").fetchall() == [(True,), (False,)]


def _independent_check(sql: str) -> None:
    """Re-parse what was rendered and check it without the module's own checker."""
    trees = [t for t in sqlglot.parse(sql, read="duckdb") if t is not None]
    assert len(trees) == 1
    for node in trees[0].walk():
        # what the compiler adds around arithmetic: CAST(x AS DOUBLE), NULLIF(d, 0), CASE WHEN isfinite(...)
        assert isinstance(node, ALLOWED_NODES + (exp.Cast, exp.DataType, exp.Nullif, exp.Case, exp.If,
                                                 exp.Anonymous)), type(node)
        if isinstance(node, exp.Column):
            assert node.name in COLS and not node.table
        if isinstance(node, exp.Cast):
            assert node.to.sql("duckdb") == "DOUBLE"
        if isinstance(node, exp.Anonymous):
            assert node.name.lower() == "isfinite"


_tokens = st.sampled_from([
    "usage_change_30d", "plan", '"Customer service calls"', "Churn", "nope", "1", "2.5", "'x'", "'a''b'",
    "+", "-", "*", "/", "%", "(", ")", "<", "<=", ">", ">=", "=", "<>", "!=", "AND", "OR", "NOT", "IS",
    "NULL", "TRUE", "COALESCE", ",", ";", "--", "/*", "*/", "SELECT", "FROM", "DROP", "TABLE", "read_csv",
    "::", "INT", "t.", "?", "$1", "CAST", "AS", "\u200b", "'", '"', "\\", "||", "[", "]", "{", "}",
])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(_tokens, min_size=1, max_size=12).map(" ".join), st.text(max_size=40)))
def test_any_text_is_refused_or_safe(text):
    try:
        tree = parse_expression(text, COLS)
    except ExpressionError:
        return
    _independent_check(render(tree))


def test_checked_trees_are_cached_per_columns_and_owned_by_the_caller():
    """Every slider move re-validates the rule set: a parse is cached per (text, columns), and the
    caller gets its own copy (a check rewrites identifiers to the data's spelling)."""
    from riskcore.expressions import _parse_checked, render
    _parse_checked.cache_clear()
    a = parse_expression('"Total Charges" > 10', ["Total Charges"])
    b = parse_expression('"Total Charges" > 10', ["Total Charges"])
    assert a is not b and render(a) == render(b) == '"Total Charges" > 10'
    assert _parse_checked.cache_info().hits == 1
    a.set("this", None)  # a caller that mutates its tree does not touch the next caller's
    assert render(parse_expression('"Total Charges" > 10', ["Total Charges"])) == '"Total Charges" > 10'
    with pytest.raises(ExpressionError, match="unknown column"):  # other columns: checked again, not served
        parse_expression('"Total Charges" > 10', ["tenure"])
