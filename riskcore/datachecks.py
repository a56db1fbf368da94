"""Rule-set references the loaded data cannot honour, as warnings (rule and field named): an override of
a segment the data does not have, a `[quadrant] value_column` that is missing or not numeric. Scoring
still runs; these say why an override never applies or why every account counts as low value."""

from __future__ import annotations

from .db import Store, quote_ident
from .report import Problem
from .rules import RuleSet

NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
           "UHUGEINT", "FLOAT", "DOUBLE", "REAL")
MAX_LISTED = 5  # segment names quoted in a message


def ruleset_problems(store: Store, rs: RuleSet, table: str, source: str = "rule set") -> list[Problem]:
    """Warnings for `rs` against the scored table `table` (a signals table or the account table);
    `source` names the rule set in the messages (its file)."""
    types = store.column_types(table)
    return _value_column(store, rs, table, types, source) + _override_segments(store, rs, table, types, source)


def _value_column(store: Store, rs: RuleSet, table: str, types: dict[str, str], source: str) -> list[Problem]:
    col = rs.quadrant.value_column
    where = "[quadrant], field 'value_column'"
    empty_axis = "the value axis is empty: every account counts as low value"
    if col not in types:
        return [Problem(source, f"{where}: column {col!r} is not in the data; {empty_axis}", column=col,
                        expected="a numeric column of the data (e.g. arr)", found=col, severity="warning")]
    typ = types[col]
    if typ in NUMERIC or typ.startswith("DECIMAL"):
        return []
    q = quote_ident(col)
    if typ == "VARCHAR":  # scoring reads text with TRY_CAST: only values that are not numbers are lost
        bad, total, example = store.rows(
            f"SELECT count(*) FILTER (WHERE TRY_CAST({q} AS DOUBLE) IS NULL), count(*), "
            f"any_value({q}) FILTER (WHERE TRY_CAST({q} AS DOUBLE) IS NULL) FROM {quote_ident(table)} "
            f"WHERE nullif(trim({q}), '') IS NOT NULL")[0]
        if not bad:
            return []
        what = (f"is text (e.g. {example!r}), not a number; {empty_axis}" if bad == total else
                f"has {bad:,} value(s) that are not numbers (e.g. {example!r}); those accounts count as low value")
    else:
        what = f"is {typ}, not a number; {empty_axis}"
    return [Problem(source, f"{where}: column {col!r} {what}", column=col, expected="numbers (an amount such as ARR)",
                    found=typ, severity="warning")]


def _override_segments(store: Store, rs: RuleSet, table: str, types: dict[str, str], source: str) -> list[Problem]:
    wanted = [(i, o) for i, o in enumerate(rs.overrides, start=1) if o.segment is not None]
    if not wanted or "segment" not in types:  # no segment column: rules.validate_ruleset says so
        return []
    segments = sorted(str(r[0]) for r in store.rows(
        f"SELECT DISTINCT CAST(segment AS VARCHAR) FROM {quote_ident(table)} WHERE segment IS NOT NULL"))
    known = set(segments)
    listed = ", ".join(map(repr, segments[:MAX_LISTED])) + (", ..." if len(segments) > MAX_LISTED else "")
    out = []
    for i, o in wanted:
        if o.segment in known:
            continue
        near = [s for s in segments if s.strip().casefold() == o.segment.strip().casefold()]
        hint = f" (did you mean {near[0]!r}? segments compare exactly)" if near else ""
        out.append(Problem(source, f"override #{i} (rule {o.rule!r}), field 'segment': segment {o.segment!r} is not "
                                   f"in the data{hint}; the override never applies",
                           column="segment", expected=f"one of the data's segments: {listed or 'none'}",
                           found=o.segment, severity="warning"))
    return out
