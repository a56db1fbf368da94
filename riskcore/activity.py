"""Load activity tables (a folder of CSV/Parquet files, or a DuckDB file) into the store, validated.

Each table is read raw, checked (required columns, types, ids, ARR), cast to the canonical types
of PRODUCT.md §2.2 into `_stage_<table>`, and swapped in only when nothing is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import duckdb
import pandas as pd

from .db import Dataset, Store, quote_ident, safe_table_name
from .report import LoadError, Problem, Report
from .security import allowed_roots, open_user_database, readable_database, readable_file

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
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "accounts": ("account_id", "arr", "contract_start"),
    "usage": ("account_id", "date", "logins"),
    "tickets": ("account_id", "opened_at"),
    "invoices": ("account_id", "due_date", "status"),
    "touchpoints": ("account_id", "date", "kind"),
    "relationship_events": ("account_id", "date", "event"),
    "outcomes": ("account_id", "date", "outcome"),
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
MAX_EXAMPLES = 3  # bad rows reported one by one per column; the rest as a count
SUFFIXES = (".csv", ".parquet")


def _raw(table: str) -> str:
    return safe_table_name(f"_raw_{table}")


def _stage(table: str) -> str:
    return safe_table_name(f"_stage_{table}")


def is_duckdb_file(path: Path) -> bool:
    """A DuckDB database file (its header carries the magic bytes 'DUCK' at offset 8)."""
    try:
        with open(path, "rb") as f:
            return f.read(12)[8:12] == b"DUCK"
    except OSError:
        return False


def load_activity(store: Store, path: str | Path) -> Report:
    """Load a folder of activity tables or a DuckDB file; raise LoadError (store untouched) on errors."""
    path = Path(path)
    report = Report()
    sources: dict[str, str] = {}  # table -> label used in problems (file name)
    try:
        if path.is_dir():
            sources = _read_folder(store, path, report)
        elif path.is_file() and is_duckdb_file(path):
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
        table = f.stem.lower()
        if table not in TABLES:
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
            report.add(Problem(f.name, f"cannot read file: {_first_line(e)}"))
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
                report.add(Problem(label, f"cannot read the {what} {name!r}: {_engine_text(e)}"))
                continue
            sources[name.lower()] = label
        return sources
    finally:
        con.close()


def _engine_text(e: Exception) -> str:
    """The engine's first message line without its 'Catalog Error:'-style prefix."""
    return _first_line(e).split(": ", 1)[-1]


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


# ---- checking and staging ---------------------------------------------------------

def _finish(store: Store, sources: dict[str, str], report: Report, source: str) -> Report:
    """Check every raw table, stage the good ones, then swap in or raise LoadError."""
    staged: dict[str, str] = {}
    try:
        if "accounts" not in sources and report.ok:  # (an unreadable accounts file is reported already)
            report.add(Problem(source, "the accounts table is required", expected="an accounts file or table",
                               found=", ".join(sources) or "no tables"))
        for table in TABLES:  # accounts first: the other tables are checked against its ids
            if table not in sources:
                continue
            if _check_and_stage(store, table, sources[table], report):
                staged[_stage(table)] = table
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


def _check_and_stage(store: Store, table: str, label: str, report: Report) -> bool:
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
    extras = [f"{quote_ident(c)}" for c in store.columns(_raw(table)) if c not in cols.values()]
    select = ", ".join([f"{e} AS {quote_ident(c)}" for c, e in exprs.items()] + extras)
    where = ""
    if table != "accounts" and not store.has_table(_stage("accounts")):
        return False  # accounts failed: its problems are reported; this table was checked as far as it can be
    if table != "accounts":
        where = f"WHERE {exprs['account_id']} IN (SELECT account_id FROM {_stage('accounts')})"
    store.execute(f"CREATE OR REPLACE TABLE {_stage(table)} AS SELECT {select} FROM {raw} {where}")
    skipped = n - store.one(f"SELECT count(*) FROM {_stage(table)}")
    if skipped:
        report.add(Problem(label, f"{skipped} rows skipped: account_id not in accounts", column="account_id",
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
        if not count:
            continue
        rows = store.rows(f"SELECT rowid + 1, CAST({q} AS VARCHAR) FROM {raw} WHERE {cond} ORDER BY rowid "
                          f"LIMIT {MAX_EXAMPLES}")
        for row, found in rows:
            report.add(Problem(label, message, row=row, column=src, expected=exp,
                               found="" if found is None else found))
        if count > len(rows):
            report.add(Problem(label, f"{count} rows in all with this problem ({message})", column=src))


def _check_accounts(store: Store, label: str, exprs: dict[str, str], report: Report) -> None:
    raw = quote_ident(_raw("accounts"))
    dups = store.rows(f"""
        SELECT id, list(rowid + 1 ORDER BY rowid) FROM (SELECT {exprs['account_id']} AS id, rowid FROM {raw})
        GROUP BY id HAVING count(*) > 1 ORDER BY min(rowid)""")
    for id_, rows in dups[:MAX_EXAMPLES]:
        report.add(Problem(label, f"duplicated account_id (first on row {rows[0]}; {len(rows)} rows in all)",
                           row=rows[1], column="account_id", expected="a unique id", found=id_))
    if len(dups) > MAX_EXAMPLES:
        report.add(Problem(label, f"{len(dups)} duplicated account ids in all", column="account_id"))
    neg = store.rows(f"SELECT rowid + 1, {exprs['arr']} FROM {raw} WHERE {exprs['arr']} < 0 ORDER BY rowid")
    for row, value in neg[:MAX_EXAMPLES]:
        report.add(Problem(label, "negative ARR", row=row, column="arr", expected="a number >= 0", found=str(value)))
    if len(neg) > MAX_EXAMPLES:
        report.add(Problem(label, f"{len(neg)} rows with negative ARR in all", column="arr"))


def _check_codes(store: Store, table: str, label: str, column: str, expr: str, codes: tuple[str, ...],
                 report: Report) -> None:
    raw = quote_ident(_raw(table))
    rows = store.rows(f"SELECT {expr}, count(*), min(rowid) + 1 FROM {raw} WHERE {expr} IS NOT NULL "
                      f"AND {expr} NOT IN ({', '.join('?' * len(codes))}) GROUP BY 1 ORDER BY 3", list(codes))
    for value, count, row in rows:
        report.add(Problem(label, f"unknown value in {count} row(s); signals ignore it", row=row, column=column,
                           expected=" / ".join(codes), found=value, severity="warning"))

