"""Values that load but would mislead, reported as warnings naming table, row and column: fractional or
negative counts, NPS outside 0-10, rows past the data's ordinary end, churn before the contract start,
fully duplicated rows."""

from __future__ import annotations

from dataclasses import replace

from ..db import Store, quote_ident
from ..report import Problem, Report
from ..signals import PLANNED_DATES, data_end
from .checks import report_rows
from .tables import DUPLICATES_CHECKED, NPS_RANGE, TABLES, dups_name, raw_name, stage_name


def check_sanity(store: Store, table: str, label: str, cols: dict[str, str], types: dict[str, str],
                  exprs: dict[str, str], report: Report) -> tuple[dict[str, str], int]:
    """Warn about values that load but would mislead (table, row, column each); returns the staging
    expressions (negative counts and NPS outside 0-10 read as empty) and the number of fully
    duplicated rows left out (their rowids in `_dups_<table>`; counted once)."""
    exprs = dict(exprs)
    for c in exprs:
        if TABLES[table][c] == "BIGINT":
            exprs[c] = _check_count(store, table, label, cols[c], types[cols[c]], exprs[c], report)
    if table == "touchpoints" and "nps" in exprs:
        exprs["nps"] = _check_nps(store, label, cols["nps"], exprs["nps"], report)
    if table == "outcomes":
        _check_churn_before_start(store, label, cols, exprs, report)
    return exprs, (_check_duplicates(store, table, label, report) if table in DUPLICATES_CHECKED else 0)


def _warn(store: Store, source: str, cond: str, problem: Problem, report: Report, found: str,
          message: str | None = None) -> int:
    """Report the rows of `source` matching `cond` as warnings (first few, then a count); returns the count."""
    count = store.one(f"SELECT count(*) FROM {source} WHERE {cond}")
    if count:
        report_rows(store, source, cond, count, replace(problem, severity="warning"), report, found, message)
    return count


def _check_count(store: Store, table: str, label: str, src: str, src_type: str, expr: str, report: Report) -> str:
    """Counts: negative ones are read as empty, fractional ones were rounded (both reported)."""
    raw, q = quote_ident(raw_name(table)), quote_ident(src)
    if src_type == "VARCHAR" or src_type in ("DOUBLE", "FLOAT") or src_type.startswith("DECIMAL"):
        v = f"TRY_CAST({f'nullif(trim({q}), {chr(39) * 2})' if src_type == 'VARCHAR' else q} AS DOUBLE)"
        _warn(store, raw, f"{v} <> round({v})", Problem(label, "count is not a whole number: rounded", column=src,
                                                        expected="a whole number"), report, q,
              message=f"'count is not a whole number: read as ' || CAST({expr} AS VARCHAR) || ' (rounded)'")
    if _warn(store, raw, f"{expr} < 0", Problem(label, "negative count read as empty", column=src,
                                                expected="a whole number >= 0"), report, q):
        return f"CASE WHEN {expr} >= 0 THEN {expr} END"
    return expr


def _check_nps(store: Store, label: str, src: str, expr: str, report: Report) -> str:
    """NPS answers outside 0-10 are read as empty (reported): they are not on the scale signals assume."""
    lo, hi = NPS_RANGE
    if _warn(store, quote_ident(raw_name("touchpoints")), f"NOT ({expr} BETWEEN {lo} AND {hi})",
             Problem(label, f"NPS outside {lo}-{hi} read as empty", column=src, expected=f"a score {lo}-{hi}"),
             report, quote_ident(src)):
        return f"CASE WHEN {expr} BETWEEN {lo} AND {hi} THEN {expr} END"
    return expr


def check_past_end(store: Store, dated: dict[tuple[str, str], tuple[str, str, str]], report: Report) -> None:
    """Rows dated past the data's ordinary end (signals.data_end, over every table's dates together):
    reported and kept, never the default as-of date. `dated`: (table, column) -> (label, source column, expr)."""
    raw = {key: (quote_ident(raw_name(key[0])), expr) for key, (_, _, expr) in dated.items()}
    ends = data_end(store, raw)
    for key, (label, src, expr) in dated.items():
        limit = ends.limit(key)
        if limit is None:
            continue
        _warn(store, raw[key][0], f"{expr} >= DATE '{limit:%Y-%m-%d}'", Problem(
            label, f"dated past the data's ordinary end (its dates end {ends.end}): kept, but not used for the "
            "default as-of date", column=src, expected=f"a due date within a year of {ends.end}"
            if key in PLANNED_DATES else f"a date up to {ends.end}"), report, quote_ident(src))


def _check_churn_before_start(store: Store, label: str, cols: dict[str, str], exprs: dict[str, str],
                              report: Report) -> None:
    """A churn dated before the contract start would hide the account at every date: reported, and
    signals ignore it when deciding which accounts are active."""
    src = (f"(SELECT r.*, a.contract_start FROM (SELECT rowid AS rowid, {exprs['account_id']} AS account_id, "
           f"{exprs['outcome']} AS outcome, {exprs['date']} AS day, {quote_ident(cols['date'])} AS d "
           f"FROM {quote_ident(raw_name('outcomes'))}) r JOIN {stage_name('accounts')} a USING (account_id))")
    _warn(store, src, "outcome = 'churned' AND day < contract_start", Problem(
        label, "churn dated before the account's contract start: ignored when deciding which accounts are active",
        column=cols["date"], expected="a date on or after the contract start"), report, "d",
        message="'account ' || account_id || ': churn dated ' || day || ' is before its contract start ' || "
                "contract_start || ': ignored when deciding which accounts are active (the account counts from "
                "its contract start)'")


def _check_duplicates(store: Store, table: str, label: str, report: Report) -> int:
    """Fully duplicated rows (every column equal to an earlier row's): listed in `_dups_<table>` to be
    left out, reported; returns how many."""
    raw = quote_ident(raw_name(table))
    keys = [quote_ident(c) for c in store.columns(raw_name(table))]
    row_hash = f"hash({', '.join(keys)})"  # grouping 8-byte hashes first keeps memory small; exact pass on collisions
    store.execute(f"""CREATE OR REPLACE TABLE {dups_name(table)} AS
        WITH c AS (SELECT {row_hash} AS h FROM {raw} GROUP BY h HAVING count(*) > 1)
        SELECT unnest(rows[2:]) AS r, rows[1] AS first FROM (
            SELECT list(rowid ORDER BY rowid) AS rows FROM {raw} WHERE {row_hash} IN (SELECT h FROM c)
            GROUP BY {', '.join(keys)} HAVING count(*) > 1)""")
    src = (f"(SELECT t.rowid AS rowid, d.first + 1 AS first, concat_ws(',', {', '.join('t.' + k for k in keys)}) "
           f"AS line FROM {raw} t JOIN {dups_name(table)} d ON d.r = t.rowid)")
    return _warn(store, src, "true", Problem(label, "the row repeats an earlier row exactly: counted once",
                                             expected="each row once"), report, "line",
                 message="'the row repeats row ' || first || ' exactly: counted once'")
