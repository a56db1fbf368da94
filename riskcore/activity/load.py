"""Loading activity tables: read raw, check, cast to the canonical types into `_stage_<table>`, and swap
in only when nothing is wrong (else LoadError, the store untouched)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import pandas as pd

from ..db import Dataset, Store, quote_ident
from ..duckfile import duckdb_file_problem
from ..report import LoadError, Problem, Report
from .checks import canonical_columns, cast_expr, check_accounts, check_codes, check_values
from .reading import read_duckdb, read_folder
from .sanity import check_past_end, check_sanity
from .tables import CODES, DATED_COLUMNS, TABLES, dups_name, is_duckdb_file, raw_name, stage_name


def load_activity(store: Store, path: str | Path) -> Report:
    """Load a folder of activity tables or a DuckDB file; raise LoadError (store untouched) on errors."""
    path = Path(path)
    report = Report()
    sources: dict[str, str] = {}  # table -> label used in problems (file name)
    try:
        if path.is_dir():
            sources = read_folder(store, path, report)
        elif path.is_file() and is_duckdb_file(path):
            damaged = duckdb_file_problem(path)
            if damaged:
                report.add(Problem(str(path), f"the DuckDB file {damaged}", expected="a whole DuckDB database"))
            else:
                sources = read_duckdb(store, path, report)
        else:
            report.add(Problem(str(path), "not a folder of activity tables or a DuckDB file",
                               expected="a folder of CSV/Parquet files or a .duckdb file"))
        return _finish(store, sources, report, source=str(path))
    finally:
        _drop(store, [raw_name(t) for t in TABLES])


def load_frames(store: Store, frames: Mapping[str, pd.DataFrame], source: str = "frames") -> Report:
    """Load activity tables given as data frames (fixtures, tests) through the same checks."""
    report = Report()
    sources: dict[str, str] = {}
    try:
        for table, frame in frames.items():
            if table not in TABLES:
                report.add(Problem(table, "unknown table ignored", severity="warning"))
                continue
            store.register_df(raw_name(table), frame)
            sources[table] = table
        return _finish(store, sources, report, source=source)
    finally:
        _drop(store, [raw_name(t) for t in TABLES])


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
                staged[stage_name(table)] = table
        if report.ok:
            check_past_end(store, dated, report)
        if not report.ok:
            raise LoadError(report)
        drop = ["account_table"] + [t for t in TABLES if t not in sources]
        report.tables = {t: store.one(f"SELECT count(*) FROM {quote_ident(s)}") for s, t in staged.items()}
        report.rows_loaded = sum(report.tables.values())
        store.swap_in(staged, Dataset(kind="activity", source=source, tables=tuple(staged.values())), drop=drop)
        return report
    finally:
        _drop(store, [stage_name(t) for t in TABLES])


def _drop(store: Store, tables: list[str]) -> None:
    for t in tables:
        store.execute(f"DROP TABLE IF EXISTS {quote_ident(t)}")


def _check_and_stage(store: Store, table: str, label: str, report: Report,
                     dated: dict[tuple[str, str], tuple[str, str, str]]) -> bool:
    cols = canonical_columns(store, table, label, report)
    if cols is None:
        return False
    raw = quote_ident(raw_name(table))
    n = store.one(f"SELECT count(*) FROM {raw}")
    if n == 0:
        report.add(Problem(label, "no data rows", expected="at least one row", found="only a header",
                           severity="error" if table == "accounts" else "warning"))
    types = store.column_types(raw_name(table))
    exprs = {c: cast_expr(table, c, quote_ident(src), types[src]) for c, src in cols.items()}
    errors_before = len(report.errors)
    for c, src in cols.items():
        check_values(store, table, label, c, src, types[src], exprs[c], report)
    if len(report.errors) > errors_before:
        return False
    if table == "accounts":
        check_accounts(store, label, exprs, report)
    for (t, c), codes in CODES.items():
        if t == table and c in cols:
            check_codes(store, table, label, c, exprs[c], codes, report)
    if len(report.errors) > errors_before:
        return False
    if table != "accounts" and not store.has_table(stage_name("accounts")):
        return False  # accounts failed: its problems are reported; this table was checked as far as it can be
    exprs, duplicates = check_sanity(store, table, label, cols, types, exprs, report)
    dated.update({(table, c): (label, cols[c], exprs[c]) for c in exprs if (table, c) in DATED_COLUMNS})
    extras = [f"{quote_ident(c)}" for c in store.columns(raw_name(table)) if c not in cols.values()]
    select = ", ".join([f"{e} AS {quote_ident(c)}" for c, e in exprs.items()] + extras)
    where = [f"rowid NOT IN (SELECT r FROM {dups_name(table)})"] if duplicates else []
    if table != "accounts":
        where.append(f"{exprs['account_id']} IN (SELECT account_id FROM {stage_name('accounts')})")
    try:
        store.execute(f"CREATE OR REPLACE TABLE {stage_name(table)} AS SELECT {select} FROM {raw} "
                      + (f"WHERE {' AND '.join(where)}" if where else ""))
    finally:
        _drop(store, [dups_name(table)])
    report.rows_skipped += duplicates
    skipped = n - duplicates - store.one(f"SELECT count(*) FROM {stage_name(table)}")
    if skipped:
        report.add(Problem(label, f"{skipped:,} rows skipped: account_id not in accounts", column="account_id",
                           severity="warning"))
        report.rows_skipped += skipped
    return True
