"""Reading activity tables raw: a folder of CSV / Parquet files (each inside the folder or a data root)
or the known tables of a user's DuckDB file (opened read-only, external access off)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ..db import Store, quote_ident
from ..report import Problem, Report, plain_reason
from ..security import allowed_roots, open_user_database, readable_database, readable_file
from .tables import SUFFIXES, TABLES, raw_name, table_for


def read_folder(store: Store, folder: Path, report: Report) -> dict[str, str]:
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
            read_file(store, f, table, report, real)
        except Exception as e:  # a file DuckDB cannot parse at all
            report.add(Problem(f.name, f"cannot read file: {plain_reason(e)}"))
            continue
    return {t: f.name for t, f in seen.items() if store.has_table(raw_name(t))}


def read_file(store: Store, f: Path, table: str, report: Report, real: Path | None = None) -> None:
    """Read `real` (the checked, resolved path of `f`) into the raw table; messages name `f`."""
    raw = quote_ident(raw_name(table))
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


def read_duckdb(store: Store, path: Path, report: Report) -> dict[str, str]:
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
                store.register_df(raw_name(name.lower()), con.sql(f"SELECT * FROM {quote_ident(name)}").to_arrow_reader())
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
