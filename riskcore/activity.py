"""Load activity tables (a folder of CSV/Parquet files, or a DuckDB file) into the store, validated.

Each table is read raw, checked (required columns, types, ids, ARR), cast to the canonical types
of PRODUCT.md §2.2 into `_stage_<table>`, and swapped in only when nothing is wrong. Values that
load but would mislead are warnings naming table, row and column (`_check_sanity`): rows dated past
the data's ordinary end, negative or fractional counts, NPS outside 0-10, fully duplicated rows,
churn dated before the contract start.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Mapping

import duckdb
import pandas as pd

from .db import Dataset, Store, quote_ident, safe_table_name
from .duckfile import duckdb_file_problem
from .report import LoadError, Problem, Report, plain_reason
from .security import allowed_roots, open_user_database, readable_database, readable_file
from .signals import EVENT_DATES, PLANNED_DATES, data_end

# Canonical columns and DuckDB types; the first entries of each table's REQUIRED are the bold ones.
TABLES: dict[str, dict[str, str]] = {
    "accounts": {"account_id": "VARCHAR", "account_name": "VARCHAR", "segment": "VARCHAR",
                 "industry": "VARCHAR", "region": "VARCHAR", "plan": "VARCHAR", "csm_owner": "VARCHAR",
                 "arr": "DOUBLE", "seats": "BIGINT", "contract_start": "DATE", "renewal_date": "DATE",
                 "marketing_consent": "BOOLEAN", "parent_id": "VARCHAR"},
    "usage": {"account_id": "VARCHAR", "date": "DATE", "active_users": "BIGINT", "logins": "BIGINT",
              "core_feature_events": "BIGINT"},
    "tickets": {"account_id": "VARCHAR", "ticket_id": "VARCHAR", "opened_at": "DATE", "priority": "VARCHAR",
                "sentiment": "DOUBLE", "escalated": "BOOLEAN"},
    "invoices": {"account_id": "VARCHAR", "invoice_id": "VARCHAR", "due_date": "DATE", "paid_at": "DATE",
                 "amount": "DOUBLE", "status": "VARCHAR"},
    "touchpoints": {"account_id": "VARCHAR", "date": "DATE", "kind": "VARCHAR", "nps": "DOUBLE"},
    "relationship_events": {"account_id": "VARCHAR", "date": "DATE", "event": "VARCHAR"},
    "outcomes": {"account_id": "VARCHAR", "date": "DATE", "outcome": "VARCHAR", "arr_change": "DOUBLE"},
    # save plays started (uplift.py); holdout = eligible but randomly kept out of the play (the control)
    "plays": {"account_id": "VARCHAR", "play": "VARCHAR", "started_at": "DATE", "holdout": "BOOLEAN"},
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "accounts": ("account_id", "arr", "contract_start"),
    "usage": ("account_id", "date", "logins"),
    "tickets": ("account_id", "opened_at"),
    "invoices": ("account_id", "due_date", "status"),
    "touchpoints": ("account_id", "date", "kind"),
    "relationship_events": ("account_id", "date", "event"),
    "outcomes": ("account_id", "date", "outcome"),
    "plays": ("account_id", "play", "started_at"),
}
# Coded columns: values are trimmed and lower-cased; others are kept with a warning.
CODES: dict[tuple[str, str], tuple[str, ...]] = {
    ("invoices", "status"): ("paid", "late", "failed", "open", "chargeback"),
    ("touchpoints", "kind"): ("qbr", "exec_meeting", "csm_call", "nps_survey"),
    ("relationship_events", "event"): ("champion_left", "sponsor_changed", "champion_added"),
    ("outcomes", "outcome"): ("churned", "downgraded", "renewed"),
}
EXPECTED = {"VARCHAR": "text", "DATE": "a date (YYYY-MM-DD)", "DOUBLE": "a number", "BIGINT": "a whole number",
            "BOOLEAN": "true/false"}
NPS_RANGE = (0, 10)  # touchpoints.nps: answers outside it are read as empty
# Dated columns checked for rows past the data's ordinary end (signals.data_end)
DATED_COLUMNS = EVENT_DATES + PLANNED_DATES
# Tables where a row repeated exactly is an export error (counted once, reported). Not accounts (a
# repeated id is an error already) nor touchpoints (two calls on one day are two identical rows, and
# no signal counts touchpoints).
DUPLICATES_CHECKED = ("usage", "tickets", "invoices", "relationship_events", "outcomes", "plays")
MAX_EXAMPLES = 3  # bad rows reported one by one per column; the rest as a count
SUFFIXES = (".csv", ".parquet")


def _raw(table: str) -> str:
    return safe_table_name(f"_raw_{table}")


def _stage(table: str) -> str:
    return safe_table_name(f"_stage_{table}")


def _dups(table: str) -> str:
    return safe_table_name(f"_dups_{table}")


def is_duckdb_file(path: Path) -> bool:
    """A DuckDB database file (its header carries the magic bytes 'DUCK' at offset 8)."""
    try:
        with open(path, "rb") as f:
            return f.read(12)[8:12] == b"DUCK"
    except OSError:
        return False


def table_for(name: str) -> str | None:
    """The activity table a file of this name in a data folder is read as ('Usage.CSV' -> 'usage'), or None."""
    p = Path(name)
    return p.stem.lower() if p.suffix.lower() in SUFFIXES and p.stem.lower() in TABLES else None


def load_activity(store: Store, path: str | Path) -> Report:
    """Load a folder of activity tables or a DuckDB file; raise LoadError (store untouched) on errors."""
    path = Path(path)
    report = Report()
    sources: dict[str, str] = {}  # table -> label used in problems (file name)
    try:
        if path.is_dir():
            sources = _read_folder(store, path, report)
        elif path.is_file() and is_duckdb_file(path):
            damaged = duckdb_file_problem(path)
            if damaged:
                report.add(Problem(str(path), f"the DuckDB file {damaged}", expected="a whole DuckDB database"))
            else:
                sources = _read_duckdb(store, path, report)
        else:
            report.add(Problem(str(path), "not a folder of activity tables or a DuckDB file",
                               expected="a folder of CSV/Parquet files or a .duckdb file"))
        return _finish(store, sources, report, source=str(path))
    finally:
        _drop(store, [_raw(t) for t in TABLES])


def load_frames(store: Store, frames: Mapping[str, pd.DataFrame], source: str = "frames") -> Report:
    """Load activity tables given as data frames (fixtures, tests) through the same checks."""
    report = Report()
    sources: dict[str, str] = {}
    try:
        for table, frame in frames.items():
            if table not in TABLES:
                report.add(Problem(table, "unknown table ignored", severity="warning"))
                continue
            store.register_df(_raw(table), frame)
            sources[table] = table
        return _finish(store, sources, report, source=source)
    finally:
        _drop(store, [_raw(t) for t in TABLES])


# ---- reading ----------------------------------------------------------------------

def _read_folder(store: Store, folder: Path, report: Report) -> dict[str, str]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
    roots = allowed_roots(folder)  # a table file may not be a link out of the folder / data roots
    seen: dict[str, Path] = {}
    for f in files:
        table = table_for(f.name)
        if table is None:
            report.add(Problem(f.name, f"unknown table {f.stem!r} ignored", severity="warning",
                               expected="one of " + ", ".join(TABLES)))
            continue
        if table in seen:
            report.add(Problem(f.name, f"table {table!r} given twice (also {seen[table].name})"))
            continue
        seen[table] = f
        real, why = readable_file(f, roots)
        if real is None:  # named, never read: nothing of its content reaches a message
            report.add(Problem(f.name, why, expected="a file inside the data folder"))
            continue
        if real.stat().st_size == 0:
            report.add(Problem(f.name, "file is empty", expected="a header row and data rows", found="0 bytes"))
            continue
        try:
            _read_file(store, f, table, report, real)
        except Exception as e:  # a file DuckDB cannot parse at all
            report.add(Problem(f.name, f"cannot read file: {plain_reason(e)}"))
            continue
    return {t: f.name for t, f in seen.items() if store.has_table(_raw(t))}


def _read_file(store: Store, f: Path, table: str, report: Report, real: Path | None = None) -> None:
    """Read `real` (the checked, resolved path of `f`) into the raw table; messages name `f`."""
    raw = quote_ident(_raw(table))
    real = real or f
    if f.suffix.lower() == ".parquet":
        store.execute(f"CREATE OR REPLACE TABLE {raw} AS SELECT * FROM read_parquet(?)", [str(real)])
        return
    try:
        store.execute(f"CREATE OR REPLACE TABLE {raw} AS SELECT * FROM read_csv(?, all_varchar = true, "
                      "header = true)", [str(real)])
    except Exception as e:
        if "unicode" not in str(e).lower():
            raise
        store.execute(f"CREATE OR REPLACE TABLE {raw} AS SELECT * FROM read_csv(?, all_varchar = true, "
                      "header = true, encoding = 'latin-1')", [str(real)])
        report.add(Problem(f.name, "file is not UTF-8; read as Latin-1", severity="warning",
                           expected="UTF-8 text"))


def _read_duckdb(store: Store, path: Path, report: Report) -> dict[str, str]:
    """Copy the known tables of a user's DuckDB file into raw tables. The file (and its WAL) must
    really lie in its folder or a data root, and it is opened in its own read-only connection with
    external access off (security.open_user_database): a view that reads files fails, named."""
    real, why = readable_database(path, allowed_roots(path))
    if real is None:
        report.add(Problem(path.name, why, expected="a DuckDB file inside the data folder"))
        return {}
    try:
        con = open_user_database(real)
    except duckdb.Error:
        report.add(Problem(path.name, "cannot open the DuckDB file: it is damaged, written by another DuckDB "
                           "version, or open for writing in another program", expected="a readable DuckDB file"))
        return {}
    try:
        names = con.execute("SELECT table_name, table_type FROM information_schema.tables "
                            "WHERE table_catalog = current_database() AND table_schema = 'main' ORDER BY 1").fetchall()
        sources = {}
        for name, kind in names:
            label, what = f"{path.name}:{name}", "view" if kind == "VIEW" else "table"
            if name.lower() not in TABLES:
                report.add(Problem(label, f"unknown table {name!r} ignored", severity="warning"))
                continue
            try:
                store.register_df(_raw(name.lower()), con.sql(f"SELECT * FROM {quote_ident(name)}").to_arrow_reader())
            except duckdb.PermissionException:  # the engine's text is not shown: it names the outside file
                report.add(Problem(label, f"the {what} {name!r} reads files outside the DuckDB file, which is not "
                               "allowed (file access is off while a loaded DuckDB file is read)",
                               expected=f"{name!r} stored as a table in the file (CREATE TABLE ... AS SELECT ...)"))
                continue
            except duckdb.Error as e:
                report.add(Problem(label, f"cannot read the {what} {name!r}: {plain_reason(e)}"))
                continue
            sources[name.lower()] = label
        return sources
    finally:
        con.close()


# ---- checking and staging ---------------------------------------------------------

def _finish(store: Store, sources: dict[str, str], report: Report, source: str) -> Report:
    """Check every raw table, stage the good ones, then swap in or raise LoadError."""
    staged: dict[str, str] = {}
    dated: dict[tuple[str, str], tuple[str, str, str]] = {}  # (table, column) -> (label, source column, expr)
    try:
        if "accounts" not in sources and report.ok:  # (an unreadable accounts file is reported already)
            report.add(Problem(source, "the accounts table is required", expected="an accounts file or table",
                               found=", ".join(sources) or "no tables"))
        for table in TABLES:  # accounts first: the other tables are checked against its ids
            if table not in sources:
                continue
            if _check_and_stage(store, table, sources[table], report, dated):
                staged[_stage(table)] = table
        if report.ok:
            _check_past_end(store, dated, report)
        if not report.ok:
            raise LoadError(report)
        drop = ["account_table"] + [t for t in TABLES if t not in sources]
        report.tables = {t: store.one(f"SELECT count(*) FROM {quote_ident(s)}") for s, t in staged.items()}
        report.rows_loaded = sum(report.tables.values())
        store.swap_in(staged, Dataset(kind="activity", source=source, tables=tuple(staged.values())), drop=drop)
        return report
    finally:
        _drop(store, [_stage(t) for t in TABLES])


def _drop(store: Store, tables: list[str]) -> None:
    for t in tables:
        store.execute(f"DROP TABLE IF EXISTS {quote_ident(t)}")


def _columns(store: Store, table: str, label: str, report: Report) -> dict[str, str] | None:
    """Map canonical column names (case and spaces ignored) to the raw table's columns."""
    raw_cols = store.columns(_raw(table))
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


def _check_and_stage(store: Store, table: str, label: str, report: Report,
                     dated: dict[tuple[str, str], tuple[str, str, str]]) -> bool:
    cols = _columns(store, table, label, report)
    if cols is None:
        return False
    raw = quote_ident(_raw(table))
    n = store.one(f"SELECT count(*) FROM {raw}")
    if n == 0:
        report.add(Problem(label, "no data rows", expected="at least one row", found="only a header",
                           severity="error" if table == "accounts" else "warning"))
    types = store.column_types(_raw(table))
    exprs = {c: _cast_expr(table, c, quote_ident(src), types[src]) for c, src in cols.items()}
    errors_before = len(report.errors)
    for c, src in cols.items():
        _check_values(store, table, label, c, src, types[src], exprs[c], report)
    if len(report.errors) > errors_before:
        return False
    if table == "accounts":
        _check_accounts(store, label, exprs, report)
    for (t, c), codes in CODES.items():
        if t == table and c in cols:
            _check_codes(store, table, label, c, exprs[c], codes, report)
    if len(report.errors) > errors_before:
        return False
    if table != "accounts" and not store.has_table(_stage("accounts")):
        return False  # accounts failed: its problems are reported; this table was checked as far as it can be
    exprs, duplicates = _check_sanity(store, table, label, cols, types, exprs, report)
    dated.update({(table, c): (label, cols[c], exprs[c]) for c in exprs if (table, c) in DATED_COLUMNS})
    extras = [f"{quote_ident(c)}" for c in store.columns(_raw(table)) if c not in cols.values()]
    select = ", ".join([f"{e} AS {quote_ident(c)}" for c, e in exprs.items()] + extras)
    where = [f"rowid NOT IN (SELECT r FROM {_dups(table)})"] if duplicates else []
    if table != "accounts":
        where.append(f"{exprs['account_id']} IN (SELECT account_id FROM {_stage('accounts')})")
    try:
        store.execute(f"CREATE OR REPLACE TABLE {_stage(table)} AS SELECT {select} FROM {raw} "
                      + (f"WHERE {' AND '.join(where)}" if where else ""))
    finally:
        _drop(store, [_dups(table)])
    report.rows_skipped += duplicates
    skipped = n - duplicates - store.one(f"SELECT count(*) FROM {_stage(table)}")
    if skipped:
        report.add(Problem(label, f"{skipped:,} rows skipped: account_id not in accounts", column="account_id",
                           severity="warning"))
        report.rows_skipped += skipped
    return True


def _cast_expr(table: str, column: str, src: str, src_type: str) -> str:
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


def _check_values(store: Store, table: str, label: str, column: str, src: str, src_type: str, expr: str,
                  report: Report) -> None:
    """Unparsable values and missing required values, first few rows by number plus a count."""
    raw, q = quote_ident(_raw(table)), quote_ident(src)
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
            _report_rows(store, raw, cond, count, Problem(label, message, column=src, expected=exp), report,
                         found=f"CAST({q} AS VARCHAR)")


def _report_rows(store: Store, source: str, cond: str, count: int, problem: Problem, report: Report,
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


def _check_sanity(store: Store, table: str, label: str, cols: dict[str, str], types: dict[str, str],
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
        _report_rows(store, source, cond, count, replace(problem, severity="warning"), report, found, message)
    return count


def _check_count(store: Store, table: str, label: str, src: str, src_type: str, expr: str, report: Report) -> str:
    """Counts: negative ones are read as empty, fractional ones were rounded (both reported)."""
    raw, q = quote_ident(_raw(table)), quote_ident(src)
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
    if _warn(store, quote_ident(_raw("touchpoints")), f"NOT ({expr} BETWEEN {lo} AND {hi})",
             Problem(label, f"NPS outside {lo}-{hi} read as empty", column=src, expected=f"a score {lo}-{hi}"),
             report, quote_ident(src)):
        return f"CASE WHEN {expr} BETWEEN {lo} AND {hi} THEN {expr} END"
    return expr


def _check_past_end(store: Store, dated: dict[tuple[str, str], tuple[str, str, str]], report: Report) -> None:
    """Rows dated past the data's ordinary end (signals.data_end, over every table's dates together):
    reported and kept, never the default as-of date. `dated`: (table, column) -> (label, source column, expr)."""
    raw = {key: (quote_ident(_raw(key[0])), expr) for key, (_, _, expr) in dated.items()}
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
           f"FROM {quote_ident(_raw('outcomes'))}) r JOIN {_stage('accounts')} a USING (account_id))")
    _warn(store, src, "outcome = 'churned' AND day < contract_start", Problem(
        label, "churn dated before the account's contract start: ignored when deciding which accounts are active",
        column=cols["date"], expected="a date on or after the contract start"), report, "d",
        message="'account ' || account_id || ': churn dated ' || day || ' is before its contract start ' || "
                "contract_start || ': ignored when deciding which accounts are active (the account counts from "
                "its contract start)'")


def _check_duplicates(store: Store, table: str, label: str, report: Report) -> int:
    """Fully duplicated rows (every column equal to an earlier row's): listed in `_dups_<table>` to be
    left out, reported; returns how many."""
    raw = quote_ident(_raw(table))
    keys = [quote_ident(c) for c in store.columns(_raw(table))]
    row_hash = f"hash({', '.join(keys)})"  # grouping 8-byte hashes first keeps memory small; exact pass on collisions
    store.execute(f"""CREATE OR REPLACE TABLE {_dups(table)} AS
        WITH c AS (SELECT {row_hash} AS h FROM {raw} GROUP BY h HAVING count(*) > 1)
        SELECT unnest(rows[2:]) AS r, rows[1] AS first FROM (
            SELECT list(rowid ORDER BY rowid) AS rows FROM {raw} WHERE {row_hash} IN (SELECT h FROM c)
            GROUP BY {', '.join(keys)} HAVING count(*) > 1)""")
    src = (f"(SELECT t.rowid AS rowid, d.first + 1 AS first, concat_ws(',', {', '.join('t.' + k for k in keys)}) "
           f"AS line FROM {raw} t JOIN {_dups(table)} d ON d.r = t.rowid)")
    return _warn(store, src, "true", Problem(label, "the row repeats an earlier row exactly: counted once",
                                             expected="each row once"), report, "line",
                 message="'the row repeats row ' || first || ' exactly: counted once'")


def _check_accounts(store: Store, label: str, exprs: dict[str, str], report: Report) -> None:
    raw = quote_ident(_raw("accounts"))
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


def _check_codes(store: Store, table: str, label: str, column: str, expr: str, codes: tuple[str, ...],
                 report: Report) -> None:
    raw = quote_ident(_raw(table))
    rows = store.rows(f"SELECT {expr}, count(*), min(rowid) + 1 FROM {raw} WHERE {expr} IS NOT NULL "
                      f"AND {expr} NOT IN ({', '.join('?' * len(codes))}) GROUP BY 1 ORDER BY 3", list(codes))
    for value, count, row in rows:
        report.add(Problem(label, f"unknown value in {count:,} row(s); signals ignore it", row=row, column=column,
                           expected=" / ".join(codes), found=value, severity="warning"))

