"""Load data into a Store, validated first: a wide account table here, activity tables via activity.py.

An account table (CSV with any delimiter / BOM / quoted newlines, Parquet, Excel) is read into
Arrow with internal column names, its columns typed (numeric-looking text becomes DOUBLE,
TRUE/FALSE text BOOLEAN), the mapped roles checked and turned into canonical columns in SQL, and
the result staged and swapped in only when there is no error. The decisions per kind of bad
input are listed in tests/data/bad/README.md.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ..activity import TABLES as _ACTIVITY_SCHEMAS, load_activity
from ..db import Dataset, Mapping, Store
from ..report import LoadError, Problem, Report, plain_reason
from .columns import as_text, is_number_type, type_column
from .problems import Stop, fail
from .readers import drop_blank_rows, read_table
from .roles import RAW, canonical_sql, check_roles, resolve_roles

ACCOUNT_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".xlsx", ".xlsm")
DATABASE_SUFFIXES = (".duckdb", ".db")
ACTIVITY_TABLES = tuple(_ACTIVITY_SCHEMAS)  # every activity table (plays included): dropped when an account table loads
STAGE = "_stage_account_table"
# canonical column -> mapping role it comes from (account_id and arr are always present)
CANONICAL = {"account_id": "id_column", "account_name": "name_column", "arr": "value_column",
             "csm_owner": "owner_column", "segment": "segment_column", "renewal_date": "renewal_column",
             "churned": "outcome_column", "parent_id": "parent_column"}


# ---- public API ----------------------------------------------------------------------------------

def load_data(store: Store, path, mapping: Mapping | None = None, sheet: str | None = None) -> Report:
    """Load a folder / DuckDB file of activity tables, or one account-table file; LoadError if bad."""
    path = Path(path)
    file = str(path)
    if not path.exists():
        raise LoadError(Report([Problem(file, "no such file or folder")]))
    suffix = path.suffix.lower()
    if path.is_dir() or suffix in DATABASE_SUFFIXES:
        try:
            return load_activity(store, path)
        except LoadError:
            raise
        except Exception as exc:  # never a traceback at the load boundary
            raise LoadError(Report([Problem(file, f"could not load: {plain_reason(exc)}")])) from exc
    if suffix in ACCOUNT_SUFFIXES:
        return load_account_table(store, path, mapping=mapping, sheet=sheet)
    hint = " (old Excel format: save it as .xlsx or CSV)" if suffix == ".xls" else ""
    raise LoadError(Report([Problem(
        file, f"unknown kind of file{hint}", expected="an account table (.csv, .tsv, .txt, .parquet, .xlsx), "
        "a folder of activity tables or a DuckDB file (.duckdb, .db)", found=suffix or "no extension")]))


def load_account_table(store: Store, path, mapping: Mapping | None = None, sheet: str | None = None) -> Report:
    """Validate a wide account table and swap it in as `account_table`; LoadError leaves the store as it was."""
    path = Path(path)
    report = Report()
    with store.lock:
        try:
            _load(store, path, mapping, sheet, report)
        except Stop:
            pass
        except Exception as exc:  # an unexpected failure is still a message naming the file
            report.add(Problem(str(path), f"could not load: {plain_reason(exc)}"))
        if not report.ok:
            for table in (STAGE, RAW):
                try:
                    store.execute(f"DROP TABLE IF EXISTS {table}")
                except Exception:
                    pass
            raise LoadError(report)
    return report


def validate_path(path, mapping: Mapping | None = None, sheet: str | None = None) -> Report:
    """Every problem of a file or folder, loading it into a throwaway in-memory store."""
    store = Store()
    try:
        return load_data(store, path, mapping=mapping, sheet=sheet)
    except LoadError as exc:
        return exc.report
    except Exception as exc:
        return Report([Problem(str(path), f"could not load: {plain_reason(exc)}")])
    finally:
        store.close()


def validate_many(paths, mapping: Mapping | None = None) -> list[Report]:
    """validate_path for each path (e.g. every file of a folder of account tables)."""
    return [validate_path(p, mapping=mapping) for p in paths]


# ---- the load --------------------------------------------------------------------------------------

def _load(store: Store, path: Path, explicit: Mapping | None, sheet: str | None, report: Report) -> None:
    file = str(path)
    names, raw = read_table(store, path, sheet, report)
    raw, skipped = drop_blank_rows(raw, file, report)
    if raw.num_rows == 0:
        fail(report, file, "no data rows: the file has a header but every row is empty" if skipped
              else "no data rows: the file has only a header", expected="at least one data row", found="0 rows")
    report.rows_skipped = skipped
    mapping = resolve_roles(names, explicit, file, report)
    roles = {role: names.index(col) for role in CANONICAL.values() if (col := getattr(mapping, role)) is not None}
    narrow = pa.table({"__row": raw.column("__row"),
                       **{role: as_text(raw.column(f"c{i}")) for role, i in roles.items()}})
    if "value_column" in roles:  # a value stored as a number (Parquet): its NaN must not read as the word 'nan'
        value = raw.column(f"c{roles['value_column']}")
        narrow = narrow.append_column("value_number", pc.cast(value, pa.float64()) if is_number_type(value.type)
                                      else pa.nulls(narrow.num_rows, pa.float64()))
    store.register_df(RAW, narrow)
    try:
        positive, slash_format = check_roles(store, mapping, file, report)
        if not report.ok:
            raise Stop
        sql, params = canonical_sql(mapping, positive, slash_format)
        canonical = store.arrow(sql, params)
    finally:
        store.execute(f"DROP TABLE IF EXISTS {RAW}")
    if mapping.id_column is None:
        report.add(Problem(file, "no id column found: accounts are numbered by their row in the file",
                           expected="a column like customerID, account_id or id, or id_column set",
                           severity="warning"))
    if mapping.value_column is None:
        report.add(Problem(file, "no value (ARR) column found: arr is empty, so ARR totals and the value axis "
                           "are unavailable", expected="a column like arr or annual_revenue, or value_column set",
                           severity="warning"))
    if not pc.all(pc.equal(canonical.column("__row"), raw.column("__row"))).as_py():
        raise RuntimeError("internal: canonical columns out of order")
    table = _assemble(raw, names, canonical.drop_columns(["__row"]), mapping, roles, file, report)
    store.register_df(STAGE, table)
    if not report.ok:
        raise Stop
    mapping = replace(mapping, outcome_positive=tuple(positive) if mapping.outcome_column else None)
    drop = [t for t in ACTIVITY_TABLES if store.has_table(t)]
    store.swap_in({STAGE: "account_table"},
                  Dataset(kind="account_table", source=file, tables=("account_table",), mapping=mapping,
                          columns=tuple(names)), drop=drop)
    report.rows_loaded = table.num_rows
    report.tables["account_table"] = table.num_rows


def _assemble(raw: pa.Table, names: list[str], canonical: pa.Table, mapping: Mapping, roles: dict[str, int],
              file: str, report: Report) -> pa.Table:
    """Typed original columns plus the canonical ones; an original clashing with a canonical is renamed."""
    produced = {c for c, role in CANONICAL.items() if c in ("account_id", "arr") or role in roles}
    taken = {n.lower() for n in names} | produced
    columns, out_names = [], []
    mapped = set(roles.values())
    for i, name in enumerate(names):
        canon = name.lower()
        if canon in produced and roles.get(CANONICAL[canon]) == i:
            continue  # this column *is* the role: the canonical column replaces it
        # a mapped role column is typed quietly: the role checks have already reported on its cells
        col = type_column(raw.column(f"c{i}"), name, raw.column("__row"), file, None if i in mapped else report)
        if canon in produced:
            new, k = f"{name}_orig", 2
            while new.lower() in taken:
                new, k = f"{name}_orig{k}", k + 1
            taken.add(new.lower())
            report.add(Problem(file, f"column {name!r} clashes with the canonical column {canon!r} (which comes "
                               f"from {getattr(mapping, CANONICAL[canon]) or 'the row number'!r}); it is "
                               f"kept as {new!r}", column=name, severity="warning"))
            name = new
        columns.append(col)
        out_names.append(name)
    for c in CANONICAL:
        if c in produced:
            columns.append(canonical.column(c))
            out_names.append(c)
    return pa.table(columns, names=out_names)
