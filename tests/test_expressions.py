"""Rule expressions: only whitelisted constructs over known columns ever reach SQL."""

import duckdb
import numpy as np
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


# ---- arithmetic: DOUBLE, x / 0 and x % 0 NULL, non-finite NULL ------------------------------------

def _eval(text: str, rows: list[tuple], cols=("a", "b")) -> list:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t ({', '.join(f'{c} BIGINT' for c in cols)})")
    con.executemany(f"INSERT INTO t VALUES ({', '.join('?' for _ in cols)})", rows)
    return [r[0] for r in con.execute(f"SELECT {render(parse_expression(text, set(cols)))} FROM t").fetchall()]


@pytest.mark.parametrize("text, expected", [
    ("a / b", [None, None, 2.5]),             # 5 / 0 and 0 / 0: NULL (DuckDB: inf and NaN)
    ("a % b", [None, None, 1.0]),             # DuckDB: 'Division by zero' on integers, NaN on doubles
    ("a * 9223372036854775807 + b", [4.611686018427388e19, 0.0, 4.611686018427388e19]),  # no INT64 overflow
    ("(a - a) / (b - b) > 0", [None, None, None]),  # NaN used to compare above every number: the rule fired
    ("COALESCE(a / b, -1)", [-1.0, -1.0, 2.5]),
])
def test_arithmetic_never_gives_inf_nan_or_an_engine_error(text, expected):
    assert _eval(text, [(5, 0), (0, 0), (5, 2)]) == expected


def test_overflowing_double_is_null_not_inf():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (x DOUBLE)")
    con.execute("INSERT INTO t VALUES (1e300), (2.0)")
    sql = render(parse_expression("x * x * x > 0", {"x"}))
    assert con.execute(f"SELECT {sql} FROM t").fetchall() == [(None,), (True,)]


@pytest.mark.parametrize("text, fragment", [
    ("a > 99999999999999999999", "the number 99999999999999999999 is out of range"),
    ("a > 1e400", "the number 1e400 is out of range"),
    ("(a > 1) + 1 > 0", "is true/false: it cannot be used in arithmetic ('+')"),
    ("COALESCE(a > 1, FALSE) * 2 > 0", "is true/false: it cannot be used in arithmetic ('*')"),
    ("'x' + a > 0", "the text 'x' cannot be used in arithmetic ('+')"),
    ("NOT " * 450 + "a > 1", "nests 450 levels deep"),
    ("(" * 900 + "a" + ")" * 900 + " > 1", "nests 900 levels deep"),
    ("- " * 30 + "a > 1", "nests 30 levels deep"),
    ("(NOT " * 12 + "a > 1" + ")" * 12, "at most 20 are allowed"),
])
def test_out_of_range_literals_and_deep_nesting_are_refused(text, fragment):
    with pytest.raises(ExpressionError) as e:
        parse_expression(text, {"a"})
    assert fragment in str(e.value)


def test_nesting_at_the_limit_parses_and_renders_well_inside_the_recursion_limit():
    import sys
    from riskcore.expressions import MAX_NESTING
    text = "(" * (MAX_NESTING // 2) + "NOT " * (MAX_NESTING // 2 - 1) + "a > 1" + ")" * (MAX_NESTING // 2)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(600)  # a page or a test runner already uses part of the stack
    try:
        assert "NOT" in render(parse_expression(text, {"a"}))
    finally:
        sys.setrecursionlimit(old)
    assert "a" in render(parse_expression(" + ".join(["a"] * 400) + " > 1", {"a"}))  # long, flat: fine


# ---- kinds: the type check against a table's columns ----------------------------------------------

from riskcore.expressions import ColumnFacts, TypeMismatch, infer_kind, kind_of  # noqa: E402

FACTS = ColumnFacts({"calls": "BIGINT", "charge": "DECIMAL(10,2)", "plan": "VARCHAR", "promo": "BOOLEAN",
                     "renewal": "DATE", "tags": "VARCHAR[]"}, examples={"plan": "Basic"})


@pytest.mark.parametrize("sql_type, kind", [("BIGINT", "number"), ("DECIMAL(18,3)", "number"), ("DOUBLE", "number"),
                                            ("VARCHAR", "text"), ("BOOLEAN", "boolean"), ("DATE", "date"),
                                            ("TIMESTAMP WITH TIME ZONE", "date"), ("INTEGER[]", "other")])
def test_kind_of_duckdb_types(sql_type, kind):
    assert kind_of(sql_type) == kind


@pytest.mark.parametrize("text, kind", [
    ("calls + charge * 2", "number"), ("-calls", "number"), ("COALESCE(calls, 0)", "number"),
    ("plan = 'Pro' AND promo", "boolean"), ("NOT promo OR calls > 3", "boolean"), ("calls IS NULL", "boolean"),
    ("renewal < '2026-03-31'", "boolean"), ("COALESCE(plan, 'none')", "text"), ("NULL", "null"),
    ("COALESCE(NULL, calls)", "number"), ("promo IS TRUE", "boolean"), ("tags IS NULL", "boolean"),
])
def test_kinds_that_fit(text, kind):
    assert infer_kind(parse_expression(text, FACTS), FACTS) == kind


@pytest.mark.parametrize("text, message, column", [
    ("plan + 1 > 2", "column 'plan' is text (e.g. 'Basic'); '+' needs numbers", "plan"),
    ("plan > 3", "column 'plan' is text (e.g. 'Basic'); '>' compares it with the number 3", "plan"),
    ("3 < plan", "column 'plan' is text (e.g. 'Basic'); '<' compares it with the number 3", "plan"),
    ("calls = 'many'", "column 'calls' is a number; '=' compares it with the text 'many'", "calls"),
    ("calls = plan", "column 'calls' is a number; '=' compares it with column 'plan' (text)", "calls"),
    ("COALESCE(calls, 'x') = 'x'", "COALESCE mixes column 'calls' (a number) with the text 'x'", "calls"),
    ("COALESCE(plan, 0) > 1", "COALESCE mixes column 'plan' (text) with the number 0", "plan"),
    ("calls AND promo", "column 'calls' is a number; AND needs true/false", "calls"),
    ("NOT plan", "column 'plan' is text (e.g. 'Basic'); NOT needs true/false", "plan"),
    ("calls IS TRUE", "column 'calls' is a number; IS TRUE / IS FALSE needs true/false", "calls"),
    ("promo * 2 > 1", "column 'promo' is true/false; '*' needs numbers", "promo"),
    ("renewal > 5", "column 'renewal' is a date; '>' compares it with the number 5", "renewal"),
    ("renewal = 'soon'", "column 'renewal' is a date; '=' compares it with the text 'soon'", "renewal"),
    ("tags = 'a'", "column 'tags' is of type VARCHAR[]; '=' compares it with the text 'a'", "tags"),
    ("-plan < 0", "column 'plan' is text (e.g. 'Basic'); '-' needs numbers", "plan"),
])
def test_kind_mismatches_name_the_column_its_type_and_the_operator(text, message, column):
    with pytest.raises(TypeMismatch) as e:
        infer_kind(parse_expression(text, FACTS), FACTS)
    assert str(e.value) == message and e.value.column == column


def test_kind_mismatches_are_what_duckdb_refuses():
    """The checker refuses what DuckDB refuses (Binder/Conversion errors) on the same columns; it also
    refuses true/false in arithmetic, which the DOUBLE casts would let through as 1.0 / 0.0."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (calls BIGINT, plan VARCHAR, promo BOOLEAN, renewal DATE)")
    con.execute("INSERT INTO t VALUES (3, 'Basic', true, DATE '2026-01-31')")
    facts = ColumnFacts({"calls": "BIGINT", "plan": "VARCHAR", "promo": "BOOLEAN", "renewal": "DATE"})
    for text in ("plan > 3", "calls = 'many'", "COALESCE(calls, 'x') = 'x'", "renewal > 5", "renewal = 'soon'",
                 "plan + 1 > 2"):
        tree = parse_expression(text, facts)
        with pytest.raises(TypeMismatch):
            infer_kind(tree, facts)
        with pytest.raises(duckdb.Error):
            con.execute(f"SELECT {render(tree)} FROM t").fetchall()


def test_a_comparison_of_comparisons_gets_its_parentheses_back():
    """sqlglot reads `a > 1 = TRUE` as (a > 1) = TRUE but wrote it back bare, which DuckDB refuses
    ('Chained comparisons are not supported'); found by a random-expression run."""
    assert _eval("a > 1 = TRUE", [(5, 0), (0, 0)]) == [True, False]
    assert render(parse_expression("a > 1 = TRUE", {"a"})) == '("a" > 1) = TRUE'


_LEAVES = st.sampled_from(["a", "b", "plan", "flag", "d", "0", "1", "-3", "2.5", "9223372036854775807", "'x'",
                           "'2026-01-01'", "NULL", "TRUE", "1e308"])
_EXPRS = st.recursive(_LEAVES, lambda inner: st.one_of(
    st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "%"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
    st.tuples(inner, st.sampled_from(["<", ">", "=", "<>", "<=", ">="]), inner).map(" ".join),
    st.tuples(inner, st.sampled_from(["AND", "OR"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
    inner.map(lambda x: f"NOT ({x})"), inner.map(lambda x: f"-({x})"), inner.map(lambda x: f"({x}) IS NULL"),
    st.tuples(inner, inner).map(lambda t: f"COALESCE({t[0]}, {t[1]})")), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(_EXPRS)
def test_an_expression_that_passes_the_type_check_runs_and_is_never_inf_or_nan(text):
    """Whatever the checker lets through runs in DuckDB on extreme values (0, BIGINT max, 1e308,
    NULL) without an engine error, and no value it gives is inf or NaN."""
    facts = ColumnFacts({"a": "BIGINT", "b": "DOUBLE", "plan": "VARCHAR", "flag": "BOOLEAN", "d": "DATE"})
    try:
        tree = parse_expression(text, facts)
        infer_kind(tree, facts)
    except ExpressionError:
        return
    con = duckdb.connect()
    con.execute("CREATE TABLE t (a BIGINT, b DOUBLE, plan VARCHAR, flag BOOLEAN, d DATE)")
    con.execute("INSERT INTO t VALUES (0, 0, 'x', true, DATE '2026-01-01'), (5, -1e308, 'Basic', NULL, NULL), "
                "(9223372036854775807, 1e308, NULL, false, DATE '2020-02-02')")
    for (v,) in con.execute(f"SELECT {render(tree)} FROM t").fetchall():
        assert not (isinstance(v, float) and not np.isfinite(v)), (text, v)


def test_a_long_example_value_is_cut():
    facts = ColumnFacts({"note": "VARCHAR"}, examples={"note": "x" * 500})
    assert facts.phrase("note") == f"column 'note' is text (e.g. '{'x' * 37}...')"
