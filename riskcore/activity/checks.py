"""Errors that stop a load: missing or doubled columns, unparsable or missing values, duplicated account
ids, negative ARR; unknown codes (a warning). Reported by table, row and column, first few rows then a count."""

from __future__ import annotations

from dataclasses import replace

from ..db import Store, quote_ident
from ..report import Problem, Report
from .tables import CODES, EXPECTED, MAX_EXAMPLES, REQUIRED, TABLES, raw_name


def canonical_columns(store: Store, table: str, label: str, report: Report) -> dict[str, str] | None:
    """Map canonical column names (case and spaces ignored) to the raw table's columns."""
    raw_cols = store.columns(raw_name(table))
    found: dict[str, str] = {}
    for c in raw_cols:
        key = c.strip().lower().replace(" ", "_")
        if key in TABLES[table]:
            if key in found:
                report.add(Problem(label, f"column {key!r} appears twice ({found[key]!r} and {c!r})", column=c))
                return None
            found[key] = c
    missing = [c for c in REQUIRED[table] if c not in found]
    for c in missing:
        report.add(Problem(label, "missing required column", column=c,
                           expected="columns " + ", ".join(REQUIRED[table]), found=", ".join(raw_cols)))
    return None if missing else found


def cast_expr(table: str, column: str, src: str, src_type: str) -> str:
    """SQL casting a raw column to its canonical type (blank text counts as missing)."""
    target = TABLES[table][column]
    value = f"nullif(trim({src}), '')" if src_type == "VARCHAR" else src
    if (table, column) in CODES:
        return f"lower(CAST({value} AS VARCHAR))"
    if src_type == target:
        return value
    if target == "BIGINT":  # counts: '2.5' and 2.5 both round half away from zero (reported as fractional)
        return f"TRY_CAST(round(TRY_CAST({value} AS DOUBLE)) AS BIGINT)"
    return f"TRY_CAST({value} AS {target})"


def check_values(store: Store, table: str, label: str, column: str, src: str, src_type: str, expr: str,
                  report: Report) -> None:
    """Unparsable values and missing required values, first few rows by number plus a count."""
    raw, q = quote_ident(raw_name(table)), quote_ident(src)
    expected = EXPECTED[TABLES[table][column]]
    bad = f"{q} IS NOT NULL AND {expr} IS NULL"
    if src_type == "VARCHAR":
        bad = f"nullif(trim({q}), '') IS NOT NULL AND {expr} IS NULL"
    if src_type == TABLES[table][column] or TABLES[table][column] == "VARCHAR":
        bad = "FALSE"  # nothing to parse
    checks = [(bad, "unparsable value", expected)]
    if column in REQUIRED[table]:
        checks.append((f"{expr} IS NULL AND NOT ({bad})", "missing value in a required column", expected))
    counts = store.rows("SELECT " + ", ".join(f"count(*) FILTER (WHERE {c})" for c, _, _ in checks)
                        + f" FROM {raw}")[0]
    for (cond, message, exp), count in zip(checks, counts):
        if count:
            report_rows(store, raw, cond, count, Problem(label, message, column=src, expected=exp), report,
                         found=f"CAST({q} AS VARCHAR)")


def report_rows(store: Store, source: str, cond: str, count: int, problem: Problem, report: Report,
                 found: str, message: str | None = None) -> None:
    """Report the first MAX_EXAMPLES rows of `source` matching `cond` (1-based row, `found` as text),
    then one line with the count. `message`, if given, is an SQL text expression for each row's message."""
    msg = message or "NULL"
    rows = store.rows(f"SELECT rowid + 1, CAST({found} AS VARCHAR), {msg} FROM {source} WHERE {cond} "
                      f"ORDER BY rowid LIMIT {MAX_EXAMPLES}")
    for row, value, text in rows:
        report.add(replace(problem, row=row, found="" if value is None else value,
                           message=text or problem.message))
    if count > len(rows):
        report.add(Problem(problem.file, f"{count:,} rows in all with this problem ({problem.message})",
                           column=problem.column, severity=problem.severity))


def check_accounts(store: Store, label: str, exprs: dict[str, str], report: Report) -> None:
    raw = quote_ident(raw_name("accounts"))
    dups = store.rows(f"""
        SELECT id, list(rowid + 1 ORDER BY rowid) FROM (SELECT {exprs['account_id']} AS id, rowid FROM {raw})
        GROUP BY id HAVING count(*) > 1 ORDER BY min(rowid)""")
    for id_, rows in dups[:MAX_EXAMPLES]:
        report.add(Problem(label, f"duplicated account_id (first on row {rows[0]}; {len(rows):,} rows in all)",
                           row=rows[1], column="account_id", expected="a unique id", found=id_))
    if len(dups) > MAX_EXAMPLES:
        report.add(Problem(label, f"{len(dups)} duplicated account ids in all", column="account_id"))
    neg = store.rows(f"SELECT rowid + 1, {exprs['arr']} FROM {raw} WHERE {exprs['arr']} < 0 ORDER BY rowid")
    for row, value in neg[:MAX_EXAMPLES]:
        report.add(Problem(label, "negative ARR", row=row, column="arr", expected="a number >= 0", found=str(value)))
    if len(neg) > MAX_EXAMPLES:
        report.add(Problem(label, f"{len(neg):,} rows with negative ARR in all", column="arr"))


def check_codes(store: Store, table: str, label: str, column: str, expr: str, codes: tuple[str, ...],
                 report: Report) -> None:
    raw = quote_ident(raw_name(table))
    rows = store.rows(f"SELECT {expr}, count(*), min(rowid) + 1 FROM {raw} WHERE {expr} IS NOT NULL "
                      f"AND {expr} NOT IN ({', '.join('?' * len(codes))}) GROUP BY 1 ORDER BY 3", list(codes))
    for value, count, row in rows:
        report.add(Problem(label, f"unknown value in {count:,} row(s); signals ignore it", row=row, column=column,
                           expected=" / ".join(codes), found=value, severity="warning"))
