"""Safe rule expressions: parse with sqlglot (DuckDB dialect) and keep only a small whitelist.

A rule's signal may be an expression over the signals table's columns. It reaches SQL only as a
sqlglot tree that passed `check_tree` (`parse`), rendered by sqlglot with every identifier quoted
(`render`). Against a table's column types (`ColumnFacts`) `infer_kind` (`kinds`) checks that every
operator gets the kind of value it needs, so a text column compared with a number is a message, not
an engine error. Arithmetic is rendered in DOUBLE with `x / 0` and `x % 0` NULL and non-finite
results NULL. Everything is importable from `riskcore.expressions`.

>>> parse_expression('days_to_renewal <= 60 AND days_since_last_touch > 30',
...                  {'days_to_renewal', 'days_since_last_touch'}).sql('duckdb', identify=True)
'"days_to_renewal" <= 60 AND "days_since_last_touch" > 30'
"""

from .kinds import (BOOLEAN, DATE, NULL, NUMBER, OTHER, TEXT, ColumnFacts, infer_kind, is_date_text, kind_of,
                    kind_phrase)
from .nodes import ALLOWED_NODES, ARITHMETIC, ExpressionError, TypeMismatch
from .parse import (INT64_MAX, MAX_LENGTH, MAX_NESTING, _parse_checked, check_tree, expression_columns,
                    parse_expression)
from .render import render

__all__ = [
    "ALLOWED_NODES", "ARITHMETIC", "BOOLEAN", "DATE", "INT64_MAX", "MAX_LENGTH", "MAX_NESTING", "NULL", "NUMBER",
    "OTHER", "TEXT", "ColumnFacts", "ExpressionError", "TypeMismatch", "_parse_checked", "check_tree",
    "expression_columns", "infer_kind", "is_date_text", "kind_of", "kind_phrase", "parse_expression", "render",
]
