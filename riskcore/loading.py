"""Load data into a Store, validated first: a wide account table here, activity tables via activity.py.

An account table (CSV with any delimiter / BOM / quoted newlines, Parquet, Excel) is read into
Arrow with internal column names, its columns typed (numeric-looking text becomes DOUBLE,
TRUE/FALSE text BOOLEAN), the mapped roles checked and turned into canonical columns in SQL, and
the result staged and swapped in only when there is no error. The decisions per kind of bad
input are listed in tests/data/bad/README.md.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from .db import Dataset, Mapping, Store
from .mapping import classify_outcome, mapping_from_dict, resolve_mapping
from .security import literal_path
from .report import LoadError, Problem, Report, plain_reason

ACCOUNT_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".xlsx", ".xlsm")
DATABASE_SUFFIXES = (".duckdb", ".db")
ACTIVITY_TABLES = ("accounts", "usage", "tickets", "invoices", "touchpoints", "relationship_events", "outcomes")
STAGE = "_stage_account_table"
RAW = "_stage_account_raw"
# canonical column -> mapping role it comes from (account_id and arr are always present)
CANONICAL = {"account_id": "id_column", "account_name": "name_column", "arr": "value_column",
             "csm_owner": "owner_column", "segment": "segment_column", "renewal_date": "renewal_column",
             "churned": "outcome_column", "parent_id": "parent_column"}
DELIMITERS = (",", ";", "\t", "|")
BLANKS = ("", "na", "n/a", "null", "none", "nan")  # cells read as empty in numeric/outcome columns
NUMBER_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
THOUSANDS_RE = r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"  # '1,234' and '12,345.5'; a decimal comma '1,5' is not one
PERCENT_RE = r"^[+-]?(\d+\.?\d*|\.\d+)\s*%$"  # '45%' -> 45: the column keeps its unit (percent)
NONFINITE_RE = r"^[+-]?(inf|infinity|nan)$"  # matched ignoring case; plain 'nan' is a blank word (BLANKS)
LEADING_ZERO_RE = r"^[+-]?0\d"  # '00123' is a code, not a number: keep such columns as text
CURRENCY_RE = r"\s*[-+]?\s*[$€£¥]?\s*[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?\s*(USD|EUR|GBP)?\s*"
SHOWN = 5  # rows named in one message
HEAD_BYTES = 1 << 20
DATE_FORMATS = "YYYY-MM-DD, MM/DD/YYYY or DD.MM.YYYY"
EXCEL_CELLS = 20_000_000  # a sheet larger than this and under 1% filled has stray cells far from its table


class _Stop(Exception):
    """Stop this load; the problems are already in the report."""


# ---- public API ----------------------------------------------------------------------------------

def load_data(store: Store, path, mapping: Mapping | None = None, sheet: str | None = None) -> Report:
    """Load a folder / DuckDB file of activity tables, or one account-table file; LoadError if bad."""
    path = Path(path)
    file = str(path)
    if not path.exists():
        raise LoadError(Report([Problem(file, "no such file or folder")]))
    suffix = path.suffix.lower()
    if path.is_dir() or suffix in DATABASE_SUFFIXES:
        from .activity import load_activity
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
        except _Stop:
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


__all__ = ["load_data", "load_account_table", "validate_path", "validate_many", "mapping_from_dict"]


# ---- the load --------------------------------------------------------------------------------------

def _load(store: Store, path: Path, explicit: Mapping | None, sheet: str | None, report: Report) -> None:
    file = str(path)
    names, raw = _read(store, path, sheet, report)
    raw, skipped = _drop_blank_rows(raw, file, report)
    if raw.num_rows == 0:
        _fail(report, file, "no data rows: the file has a header but every row is empty" if skipped
              else "no data rows: the file has only a header", expected="at least one data row", found="0 rows")
    report.rows_skipped = skipped
    mapping = _resolve(names, explicit, file, report)
    roles = {role: names.index(col) for role in CANONICAL.values() if (col := getattr(mapping, role)) is not None}
    narrow = pa.table({"__row": raw.column("__row"),
                       **{role: _as_text(raw.column(f"c{i}")) for role, i in roles.items()}})
    if "value_column" in roles:  # a value stored as a number (Parquet): its NaN must not read as the word 'nan'
        value = raw.column(f"c{roles['value_column']}")
        narrow = narrow.append_column("value_number", pc.cast(value, pa.float64()) if _is_number(value.type)
                                      else pa.nulls(narrow.num_rows, pa.float64()))
    store.register_df(RAW, narrow)
    try:
        positive, slash_format = _check_roles(store, mapping, file, report)
        if not report.ok:
            raise _Stop
        sql, params = _canonical_sql(mapping, positive, slash_format)
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
        raise _Stop
    mapping = replace(mapping, outcome_positive=tuple(positive) if mapping.outcome_column else None)
    drop = [t for t in ACTIVITY_TABLES if store.has_table(t)]
    store.swap_in({STAGE: "account_table"},
                  Dataset(kind="account_table", source=file, tables=("account_table",), mapping=mapping,
                          columns=tuple(names)), drop=drop)
    report.rows_loaded = table.num_rows
    report.tables["account_table"] = table.num_rows


def _fail(report: Report, file: str, message: str, **kw) -> None:
    report.add(Problem(file, message, **kw))
    raise _Stop


def _rows_text(rows) -> str:
    rows = list(rows)
    return ", ".join(str(r) for r in rows[:SHOWN]) + (", ..." if len(rows) > SHOWN else "")


# ---- reading: every format becomes (original names, Arrow table __row, c0..cN) --------------------

def _read(store: Store, path: Path, sheet: str | None, report: Report) -> tuple[list[str], pa.Table]:
    """(clean column names, table __row, c0..cN) of any format; columns without name or value dropped."""
    file = str(path)
    if path.is_file() and path.stat().st_size == 0:
        _fail(report, file, "the file is empty", expected="a header line and at least one data row", found="0 bytes")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        header, table = _read_parquet(store, path, report)
    elif suffix in (".xlsx", ".xlsm"):
        header, table = _read_excel(path, sheet, report)
    else:
        header, table = _read_csv(store, path, report)
    header, numbers, table = _drop_nameless_empty(header, table, file, report)
    names = _clean_names(header, file, report, numbers)
    if table.num_rows == 0:
        _fail(report, file, "no data rows: the file has only a header", expected="at least one data row",
              found="0 rows")
    return names, table


def _clean_names(header: list, file: str, report: Report, numbers: list[int]) -> list[str]:
    """Trimmed header names; blank ones named column_<n> (n = the column's place in the file), repeats
    (ignoring case) suffixed _2, _3."""
    names: list[str] = []
    seen: set[str] = set()
    for i, raw in zip(numbers, header):
        name = "" if raw is None else str(raw).strip()
        if not name:
            name = f"column_{i}"
            report.add(Problem(file, f"column {i} has no name in the header; it is called {name!r}",
                               column=name, severity="warning"))
        base, k = name, 2
        while name.lower() in seen:
            name, k = f"{base}_{k}", k + 1
        if name != base:
            report.add(Problem(file, f"column name {base!r} appears more than once; column {i} is called {name!r}",
                               column=name, severity="warning"))
        seen.add(name.lower())
        names.append(name)
    return names


def _internal(table: pa.Table) -> pa.Table:
    """Rename a table's columns to c0..cN and add the 1-based data row number __row."""
    table = table.rename_columns([f"c{i}" for i in range(table.num_columns)])
    return table.add_column(0, "__row", pa.array(range(1, table.num_rows + 1), pa.int64()))


def _read_parquet(store: Store, path: Path, report: Report) -> tuple[list[str], pa.Table]:
    try:
        with literal_path(path) as literal:
            table = store.arrow("SELECT * FROM read_parquet(?)", [literal])
    except Exception as exc:
        _fail(report, str(path), f"not a readable Parquet file: {plain_reason(exc)}", expected="a Parquet file")
    return table.column_names, _internal(table)


def _cell_text(value) -> str | None:
    """An Excel cell as the text a CSV export would hold (dates ISO, 1200.0 -> '1200')."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def _read_excel(path: Path, sheet: str | None, report: Report) -> tuple[list[str], pa.Table]:
    import openpyxl

    file = str(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        _fail(report, file, f"not a readable Excel workbook: {plain_reason(exc)}", expected="an .xlsx file")
    try:
        chosen = _choose_sheet(book, sheet, file, report)
        rows = _sheet_rows(book[chosen])
    finally:
        book.close()
    if not rows:
        _fail(report, file, f"sheet {chosen!r} is empty", expected="a header row and at least one data row",
              found="no cells")
    width, filled = max(len(r) for r in rows), sum(len(r) - r.count(None) for r in rows)
    if len(rows) * width > EXCEL_CELLS and filled * 100 < len(rows) * width:
        from openpyxl.utils import get_column_letter
        _fail(report, file, f"sheet {chosen!r} reaches cell {get_column_letter(width)}{len(rows)} ({len(rows):,} "
              f"rows x {width:,} columns) but only {filled:,} cells hold values: a stray value far outside the table? "
              "Delete it (Ctrl+End in Excel goes to the last used cell) and save again",
              expected=f"at most {EXCEL_CELLS:,} cells, or mostly filled ones", found=f"{filled:,} values")
    header, data = rows[0], rows[1:]
    header = list(header) + [None] * (width - len(header))
    columns = [pa.array([r[i] if i < len(r) else None for r in data], pa.string()) for i in range(width)]
    return header, _internal(pa.table(columns, names=[f"c{i}" for i in range(width)]))


def _choose_sheet(book, sheet: str | None, file: str, report: Report) -> str:
    """The sheet asked for, else the first visible worksheet; a warning names the sheets not read."""
    names = book.sheetnames
    worksheets = [ws.title for ws in book.worksheets]  # chart sheets hold no cells
    if sheet is not None:
        if sheet not in worksheets:
            _fail(report, file, f"no sheet named {sheet!r}; the workbook has: {', '.join(map(repr, worksheets))}",
                  expected="an existing sheet", found=sheet)
        return sheet
    if not worksheets:
        _fail(report, file, "the workbook has no worksheet", expected="a sheet with a table", found="chart sheets")
    hidden = {ws.title for ws in book.worksheets if ws.sheet_state != "visible"}
    chosen = next((n for n in worksheets if n not in hidden), worksheets[0])
    if len(names) > 1:
        if chosen == names[0]:
            read = f"the workbook has {len(names)} sheets; read the first, {chosen!r}"
        else:
            kind = "hidden" if names[0] in hidden else "a chart"
            read = f"the workbook's first sheet, {names[0]!r}, is {kind}; read the first visible sheet, {chosen!r}"
        ignored = [repr(n) + (" (hidden)" if n in hidden else "") for n in names[1:] if n != chosen]
        report.add(Problem(file, read + (f", and ignored {', '.join(ignored)}" if ignored else "")
                           + " (choose one with sheet / --sheet)", severity="warning"))
    return chosen


def _sheet_rows(ws) -> list:
    """The sheet's rows as cell texts, each cut after its last non-blank cell and the list after the last
    non-blank row: memory follows the cells that hold something, not the sheet's stated dimension (a stray
    space in XFD1048576 would otherwise mean 16k x 1M cells)."""
    ws.reset_dimensions()  # ignore the stated <dimension>: missing rows then come as (), not 16k Nones
    rows: list = []
    pending = 0
    for values in ws.iter_rows(values_only=True):
        end = len(values)
        while end and (values[end - 1] is None or (isinstance(values[end - 1], str) and not values[end - 1].strip())):
            end -= 1
        if not end:
            pending += 1  # blank so far; kept only if a later row holds something
            continue
        rows.extend([()] * pending)  # one shared empty tuple per blank row
        pending = 0
        rows.append([_cell_text(v) for v in values[:end]])
    return rows


def _first_non_utf8(path: Path) -> tuple[int, str] | None:
    """(line number, that line decoded as Latin-1) of the first bytes that are not UTF-8, or None."""
    carry, lines = b"", 0
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(1 << 22)
            data = carry + chunk
            if not data:
                return None
            try:
                data.decode("utf-8")
                carry = b""
            except UnicodeDecodeError as exc:
                if chunk and exc.reason == "unexpected end of data":  # a character split across chunks
                    carry = data[exc.start:]
                    lines += data.count(b"\n", 0, exc.start)
                    continue
                start = data.rfind(b"\n", 0, exc.start) + 1
                end = data.find(b"\n", exc.start)
                text = data[start:end if end >= 0 else len(data)].decode("latin-1").rstrip("\r")
                return lines + data.count(b"\n", 0, exc.start) + 1, text
            lines += data.count(b"\n")
            if not chunk:
                return None


def _sniff_delimiter(text: str) -> str:
    """The delimiter (comma, semicolon, tab, pipe) giving every record the header's width, widest first."""
    best, best_score = ",", (False, 0.0, 1)
    for delim in DELIMITERS:
        try:
            records = [r for r in csv.reader(io.StringIO(text), delimiter=delim) if r][:100]
        except csv.Error:
            continue
        if not records or len(records[0]) < 2:
            continue
        share = sum(len(r) == len(records[0]) for r in records) / len(records)
        score = (share == 1.0, share, len(records[0]))
        if score > best_score:
            best, best_score = delim, score
    return best


def _read_csv(store: Store, path: Path, report: Report) -> tuple[list[str], pa.Table]:
    file = str(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
        while head.count(b"\n") < 3 and len(head) < size and len(head) < 64 * HEAD_BYTES:
            head += fh.read(HEAD_BYTES)  # very wide header lines
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        _fail(report, file, "the file is UTF-16 text (Excel's 'Unicode Text'); save it as 'CSV UTF-8'",
              expected="UTF-8 text", found="UTF-16")
    if b"\x00" in head:
        kind = ("an Excel workbook or zip archive" if head.startswith(b"PK\x03\x04")
                else "a Parquet file" if head.startswith(b"PAR1") else "binary data")
        _fail(report, file, f"this is not a text CSV file: it looks like {kind}; use the matching extension "
              "(.xlsx, .parquet) or export it as CSV", expected="CSV text", found=kind)
    encoding = "utf-8"
    bad = _first_non_utf8(path)
    if bad is not None:
        encoding = "latin-1"
        report.add(Problem(file, f"line {bad[0]} is not UTF-8 text ({bad[1][:60]!r} when read as Latin-1); the "
                           "whole file was read as Latin-1. If characters look wrong, re-save the file as "
                           "'CSV UTF-8' and load it again", expected="UTF-8", found="Latin-1 bytes",
                           severity="warning"))
    text = head.decode(encoding, errors="replace").lstrip("\ufeff")
    if len(head) < size:
        text = text[:text.rfind("\n") + 1] or text
    if not text.strip():
        _fail(report, file, "the file is empty (only blank lines)", expected="a header line and data rows",
              found="blank lines")
    if not text.splitlines()[0].strip():
        _fail(report, file, "line 1 is blank", expected="the header line first", found="a blank line")
    delim = _sniff_delimiter(text)
    header = next(csv.reader(io.StringIO(text), delimiter=delim))
    if delim != ",":
        label = {";": "semicolon", "\t": "tab", "|": "pipe"}[delim]
        report.add(Problem(file, f"columns are separated by {label}s (detected)", severity="warning"))
    sql = ("SELECT ordinality AS __row, * EXCLUDE (ordinality) FROM read_csv(?, delim = ?, quote = '\"', "
           "escape = '\"', header = true, names = ?, all_varchar = true, strict_mode = true, encoding = ?) "
           "WITH ORDINALITY")
    internal = [f"c{i}" for i in range(len(header))]
    try:
        with literal_path(path) as literal:
            table = store.arrow(sql, [literal, delim, internal, encoding])
    except Exception as exc:
        problems = _locate_csv_problems(path, encoding, delim, len(header))
        for p in problems or [Problem(file, f"could not parse the CSV: {plain_reason(exc)}")]:
            report.add(p)
        raise _Stop from exc
    if table.column_names != ["__row", *internal]:
        _fail(report, file, "could not parse the CSV: the header and the rows disagree",
              expected=f"{len(header)} columns", found=f"{table.num_columns - 1} columns")
    return header, table.sort_by("__row")


def _locate_csv_problems(path: Path, encoding: str, delim: str, width: int) -> list[Problem]:
    """Find the rows DuckDB refused: wrong field counts or broken quotes, with row and line numbers."""
    file, problems, row = str(path), [], 0
    with open(path, encoding="utf-8-sig" if encoding == "utf-8" else encoding, errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=delim, strict=True)
        start = 1
        try:
            next(reader, None)
            while len(problems) < SHOWN:
                start = reader.line_num + 1
                record = next(reader, None)
                if record is None:
                    break
                if not record:
                    continue
                row += 1
                if len(record) != width:
                    problems.append(Problem(
                        file, f"row has {len(record)} fields but the header has {width} (line {start})",
                        row=row, expected=f"{width} fields", found=f"{len(record)} fields"))
        except csv.Error as exc:
            what = ("a quoted field is never closed" if "end of data" in str(exc)
                    else f"malformed quoting ({exc})")
            problems.append(Problem(file, f"{what}: the row starts on line {start}", row=row + 1,
                                    expected='fields quoted with " and quotes doubled inside them',
                                    found=str(exc)))
    return problems


# ---- typing the original columns ------------------------------------------------------------------

def _empty(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """True where a cell is NULL or only spaces (the BLANKS words are values until a column is typed)."""
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return pc.fill_null(pc.equal(pc.utf8_trim_whitespace(col), ""), True)
    return pc.is_null(col)


def _drop_nameless_empty(header: list, raw: pa.Table, file: str, report: Report
                         ) -> tuple[list, list[int], pa.Table]:
    """Drop columns with neither a header nor any value (trailing separators, a stray cell far to the
    right in Excel): they carry nothing, and 16k of them would each get a 'no name' warning. Returns the
    header, the kept columns' 1-based places in the file, and the table."""
    keep = [i for i, h in enumerate(header) if (h is not None and str(h).strip())
            or not pc.all(_empty(raw.column(f"c{i}"))).as_py()]
    if len(keep) == len(header):
        return header, [i + 1 for i in keep], raw
    if not keep:
        _fail(report, file, "no columns: every column has no name and no value", expected="a header line",
              found="empty columns")
    kept = set(keep)
    dropped = [i + 1 for i in range(len(header)) if i not in kept]
    report.add(Problem(file, f"{len(dropped):,} column(s) with no name and no value ignored (columns "
                       f"{_rows_text(dropped)})", severity="warning"))
    table = raw.select(["__row", *(f"c{i}" for i in keep)])
    return ([header[i] for i in keep], [i + 1 for i in keep],
            table.rename_columns(["__row", *(f"c{k}" for k in range(len(keep)))]))


def _drop_blank_rows(raw: pa.Table, file: str, report: Report) -> tuple[pa.Table, int]:
    """Skip rows whose cells are all empty (trailing separators, blank spreadsheet rows), with a warning."""
    blank = None
    for name in raw.column_names[1:]:
        is_blank = _empty(raw.column(name))
        blank = is_blank if blank is None else pc.and_(blank, is_blank)
    if blank is None:
        return raw, 0
    skipped = pc.sum(blank).as_py() or 0
    if skipped:
        rows = pc.filter(raw.column("__row"), blank).to_pylist()
        report.add(Problem(file, f"{skipped:,} empty row(s) skipped (rows {_rows_text(rows)})", row=rows[0],
                           severity="warning"))
        raw = raw.filter(pc.invert(blank))
    return raw, skipped


def _blank_mask(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """True where a text cell is blank: NULL, '', spaces only, or a BLANKS word (NA, null, ...)."""
    lowered = pc.utf8_lower(pc.utf8_trim_whitespace(col))
    return pc.or_kleene(pc.is_null(col), pc.fill_null(pc.is_in(lowered, value_set=pa.array(BLANKS)), True))


class _Column:
    """Warnings about one original column, each naming its rows (silent for a mapped role column,
    whose own checks already report on it)."""

    def __init__(self, name: str, rows: pa.ChunkedArray, file: str, report: Report | None):
        self.name, self.rows, self.file, self.report = name, rows, file, report

    def warn(self, mask, texts, message: str, expected: str, found: str | None = None) -> None:
        """Add `message` (with {n} and {example}) if any cell is in `mask`; rows and first text follow."""
        n = pc.sum(mask).as_py() or 0
        if not n or self.report is None:
            return
        rows = pc.filter(self.rows, mask).slice(0, SHOWN + 1).to_pylist()
        example = pc.filter(texts, mask)[0].as_py()
        self.report.add(Problem(self.file, f"{message.format(n=format(n, ','), example=example)}: rows {_rows_text(rows)}",
                                row=rows[0], column=self.name, expected=expected,
                                found=found if found is not None else str(example), severity="warning"))

    def all_blank(self, length: int) -> pa.ChunkedArray:
        """A column with no value in any row: an all-NULL DOUBLE column (typed, so rules can name it)."""
        if self.report is not None:
            self.report.add(Problem(self.file, f"column {self.name!r} is blank in every row: read as an empty "
                                    "numeric column (all NULL)", column=self.name, expected="some values",
                                    found="only blank cells", severity="warning"))
        return pa.chunked_array([pa.nulls(length, pa.float64())])

    def finite(self, values: pa.ChunkedArray, texts, words=None) -> pa.ChunkedArray:
        """Infinity, NaN and overflowing numbers (1e309) become NULL, with a warning."""
        bad = pc.fill_null(pc.invert(pc.is_finite(values)), False)
        if words is not None:
            bad = pc.or_(bad, words)
        self.warn(bad, texts, "{n} value(s) are not finite numbers (infinity, NaN or too large) and were read "
                  "as empty (NULL)", expected="a finite number")
        return pc.if_else(bad, pa.scalar(None, pa.float64()), values)


def _type_column(col: pa.ChunkedArray, name: str, rows: pa.ChunkedArray, file: str,
                 report: Report | None) -> pa.ChunkedArray:
    """Text that is all numbers (blanks allowed; '1,234', '45%' read with a warning) -> DOUBLE, non-finite
    values NULL; all TRUE/FALSE -> BOOLEAN; all blank -> an all-NULL DOUBLE; else unchanged."""
    column = _Column(name, rows, file, report)
    if pa.types.is_null(col.type):  # an all-NULL Parquet column
        return column.all_blank(len(col))
    if pa.types.is_floating(col.type):
        return column.finite(pc.cast(col, pa.float64()), _as_text(col))
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        return col
    trimmed = pc.utf8_trim_whitespace(col)
    blank = _blank_mask(col)
    filled = pc.invert(blank)
    present = pc.sum(filled).as_py() or 0
    if present == 0:
        return column.all_blank(len(col))

    def matching(pattern: str) -> pa.ChunkedArray:
        return pc.and_(pc.fill_null(pc.match_substring_regex(trimmed, pattern, ignore_case=True), False), filled)

    plain, thousands, percent, words = (matching(r) for r in (NUMBER_RE, THOUSANDS_RE, PERCENT_RE, NONFINITE_RE))
    counts = [pc.sum(m).as_py() or 0 for m in (plain, thousands, percent, words)]
    leading_zero = pc.fill_null(pc.match_substring_regex(trimmed, LEADING_ZERO_RE), False)
    if sum(counts) == present and sum(counts[:3]) and not pc.any(leading_zero).as_py():
        spaces = pc.sum(pc.and_(blank, pc.is_valid(col))).as_py() or 0
        found = "blank or space-only cells" if spaces else "empty cells"
        column.warn(blank, col, f"{{n}} {found} in a numeric column read as empty (NULL)", expected="a number",
                    found=found)
        numbers = pc.if_else(pc.or_(blank, words), pa.scalar(None, pa.string()), trimmed)
        values = pc.cast(pc.replace_substring_regex(numbers, r"[,%\s]", ""), pa.float64())
        column.warn(thousands, trimmed, "{n} value(s) written with thousands separators were read as numbers "
                    f"(e.g. {{example!r}} -> {_example(values, thousands)})", expected="a plain number")
        column.warn(percent, trimmed, "{n} value(s) written with a percent sign were read as numbers in percent "
                    f"(e.g. {{example!r}} -> {_example(values, percent)}, not divided by 100)",
                    expected="a plain number")
        return column.finite(values, trimmed, words)
    lowered = pc.utf8_lower(trimmed)
    truth = pc.fill_null(pc.is_in(lowered, value_set=pa.array(["true", "false"])), False)
    if pc.sum(pc.and_(truth, filled)).as_py() == present:
        return pc.if_else(blank, pa.scalar(None, pa.bool_()), pc.equal(lowered, "true"))
    return col


def _example(values: pa.ChunkedArray, mask: pa.ChunkedArray) -> str:
    """The first value under `mask` as a short number text ('1234', '12.5'); '' if none."""
    picked = pc.filter(values, mask)
    return _cell_text(picked[0].as_py()) if len(picked) else ""


def _is_number(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)


def _as_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as trimmed text with '' as NULL: what the role checks in SQL work on."""
    if pa.types.is_floating(col.type):  # NaN shown as 'NaN': it is a value here, not the blank word 'nan'
        col = pc.if_else(pc.is_nan(col), pa.scalar("NaN"), pc.cast(col, pa.string()))
    elif not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        col = pc.cast(col, pa.string())
    trimmed = pc.utf8_trim_whitespace(col)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


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
        col = _type_column(raw.column(f"c{i}"), name, raw.column("__row"), file, None if i in mapped else report)
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


# ---- mapping and role checks ----------------------------------------------------------------------

def _resolve(names: list[str], explicit: Mapping | None, file: str, report: Report) -> Mapping:
    mapping, missing = resolve_mapping(names, explicit)
    shown = ", ".join(repr(n) for n in names[:30]) + (f", ... ({len(names)} columns)" if len(names) > 30 else "")
    for role, wanted in missing:
        report.add(Problem(file, f"the {role.replace('_column', '')} column {wanted!r} is not in the file; "
                           f"available columns: {shown}", column=wanted, expected="one of the file's columns",
                           found=wanted))
    if explicit is not None and explicit.outcome_positive and mapping.outcome_column is None and not missing:
        report.add(Problem(file, "outcome_positive is set but there is no outcome column; set outcome_column",
                           expected="an outcome column", found="none"))
    if not report.ok:
        raise _Stop
    return mapping


def _check_roles(store: Store, mapping: Mapping, file: str, report: Report) -> tuple[list[str], str | None]:
    """Check id, value, renewal and outcome; returns (positive outcome values, slash date format)."""
    if mapping.id_column:
        _check_ids(store, mapping.id_column, file, report)
    if mapping.value_column:
        _check_value(store, mapping.value_column, file, report)
    slash = _check_dates(store, mapping.renewal_column, file, report) if mapping.renewal_column else None
    positive = _check_outcome(store, mapping, file, report) if mapping.outcome_column else []
    return positive, slash


def _check_ids(store: Store, column: str, file: str, report: Report) -> None:
    blank = [r[0] for r in store.rows(f"SELECT __row FROM {RAW} WHERE id_column IS NULL ORDER BY __row")]
    if blank:
        report.add(Problem(file, f"{len(blank):,} row(s) have no account id: rows {_rows_text(blank)}", row=blank[0],
                           column=column, expected="an account id in every row", found="a blank cell"))
    dups = store.rows(
        f"SELECT id_column, list(__row ORDER BY __row), count(*) OVER () FROM {RAW} WHERE id_column IS NOT NULL "
        "GROUP BY id_column HAVING count(*) > 1 ORDER BY min(__row) LIMIT ?", [SHOWN])
    for value, rows, total in dups:
        report.add(Problem(file, f"account id {value!r} appears in rows {_rows_text(rows)}"
                           + (f" ({total} ids are duplicated)" if total > 1 else ""),
                           row=rows[1], column=column, expected="each account id once", found=value))


_VALUE_SQL = f"""
WITH v AS (
  SELECT __row, value_column AS text,
         CASE WHEN NOT isfinite(value_number) THEN 'nonfinite'
              WHEN value_column IS NULL OR lower(value_column) IN ({", ".join("'" + b + "'" for b in BLANKS)})
                THEN NULL
              WHEN NOT isfinite(TRY_CAST(value_column AS DOUBLE)) THEN 'nonfinite'
              WHEN TRY_CAST(value_column AS DOUBLE) IS NOT NULL THEN 'plain'
              WHEN regexp_full_match(value_column, '{CURRENCY_RE}') THEN 'currency'
              ELSE 'bad' END AS kind
  FROM {RAW}),
n AS (
  SELECT *, CASE kind WHEN 'plain' THEN TRY_CAST(text AS DOUBLE)
                      WHEN 'currency' THEN TRY_CAST(regexp_replace(text, '[^0-9.+-]', '', 'g') AS DOUBLE) END AS num
  FROM v)
SELECT CASE WHEN num < 0 THEN 'negative' ELSE coalesce(kind, 'blank') END AS k, count(*),
       list(__row ORDER BY __row)[1:{SHOWN + 1}], list(text ORDER BY __row)[1:{SHOWN + 1}]
FROM n GROUP BY k
"""


def _value_expr() -> str:
    return ("CASE WHEN TRY_CAST(value_column AS DOUBLE) IS NOT NULL AND lower(value_column) NOT IN ('nan') "
            "THEN TRY_CAST(value_column AS DOUBLE) "
            f"WHEN regexp_full_match(value_column, '{CURRENCY_RE}') "
            "THEN TRY_CAST(regexp_replace(value_column, '[^0-9.+-]', '', 'g') AS DOUBLE) END")


def _check_value(store: Store, column: str, file: str, report: Report) -> None:
    kinds = {k: (n, rows, texts) for k, n, rows, texts in store.rows(_VALUE_SQL)}
    if "bad" in kinds:
        n, rows, texts = kinds["bad"]
        report.add(Problem(file, f"{n:,} value(s) are not numbers: rows {_rows_text(rows)}", row=rows[0],
                           column=column, expected="a number like 1200.50 or $1,200.50", found=texts[0]))
    if "nonfinite" in kinds:
        n, rows, texts = kinds["nonfinite"]
        report.add(Problem(file, f"{n:,} value(s) are not finite numbers (infinity, NaN or too large): rows "
                           f"{_rows_text(rows)}", row=rows[0], column=column, expected="a finite number like 1200.50",
                           found=texts[0]))
    if "negative" in kinds:
        n, rows, texts = kinds["negative"]
        report.add(Problem(file, f"{n} negative value(s): rows {_rows_text(rows)}", row=rows[0], column=column,
                           expected="a value >= 0", found=texts[0]))
    if "currency" in kinds:
        n, rows, texts = kinds["currency"]
        report.add(Problem(file, f"{n:,} value(s) written as currency text were read as numbers (e.g. {texts[0]!r} "
                           f"-> {_cell_text(float(re.sub(r'[^0-9.+-]', '', texts[0])))}): rows {_rows_text(rows)}",
                           row=rows[0], column=column, expected="a plain number", found=texts[0],
                           severity="warning"))
    if "blank" in kinds:
        n, rows, _ = kinds["blank"]
        report.add(Problem(file, f"{n:,} account(s) have no value (arr is empty): rows {_rows_text(rows)}",
                           row=rows[0], column=column, expected="a number", found="a blank cell",
                           severity="warning"))


_DATES_SQL = f"""
WITH d AS (
  SELECT __row, renewal_column AS text,
    CASE WHEN regexp_full_match(renewal_column, '\\d{{4}}-\\d{{1,2}}-\\d{{1,2}}([ T].*)?')
           THEN CASE WHEN TRY_STRPTIME(regexp_extract(renewal_column, '^\\d{{4}}-\\d{{1,2}}-\\d{{1,2}}'), '%Y-%m-%d')
                     IS NULL THEN 'bad' ELSE 'iso' END
         WHEN regexp_full_match(renewal_column, '\\d{{4}}/\\d{{1,2}}/\\d{{1,2}}')
           THEN CASE WHEN TRY_STRPTIME(renewal_column, '%Y/%m/%d') IS NULL THEN 'bad' ELSE 'iso' END
         WHEN regexp_full_match(renewal_column, '\\d{{1,2}}\\.\\d{{1,2}}\\.\\d{{4}}')
           THEN CASE WHEN TRY_STRPTIME(renewal_column, '%d.%m.%Y') IS NULL THEN 'bad' ELSE 'dot' END
         WHEN regexp_full_match(renewal_column, '\\d{{1,2}}/\\d{{1,2}}/\\d{{4}}')
           THEN CASE WHEN TRY_STRPTIME(renewal_column, '%m/%d/%Y') IS NOT NULL
                          AND TRY_STRPTIME(renewal_column, '%d/%m/%Y') IS NOT NULL THEN 'slash_either'
                     WHEN TRY_STRPTIME(renewal_column, '%m/%d/%Y') IS NOT NULL THEN 'slash_us'
                     WHEN TRY_STRPTIME(renewal_column, '%d/%m/%Y') IS NOT NULL THEN 'slash_dayfirst'
                     ELSE 'bad' END
         ELSE 'bad' END AS kind
  FROM {RAW} WHERE renewal_column IS NOT NULL)
SELECT kind, count(*), list(__row ORDER BY __row)[1:{SHOWN + 1}], list(text ORDER BY __row)[1:{SHOWN + 1}]
FROM d GROUP BY kind
"""


def _date_expr() -> str:
    """renewal_column as DATE; the parameter is the chosen format for d/d/yyyy values."""
    return ("CAST(CASE WHEN regexp_full_match(renewal_column, '\\d{4}-\\d{1,2}-\\d{1,2}([ T].*)?') "
            "THEN TRY_STRPTIME(regexp_extract(renewal_column, '^\\d{4}-\\d{1,2}-\\d{1,2}'), '%Y-%m-%d') "
            "WHEN regexp_full_match(renewal_column, '\\d{4}/\\d{1,2}/\\d{1,2}') "
            "THEN TRY_STRPTIME(renewal_column, '%Y/%m/%d') "
            "WHEN regexp_full_match(renewal_column, '\\d{1,2}\\.\\d{1,2}\\.\\d{4}') "
            "THEN TRY_STRPTIME(renewal_column, '%d.%m.%Y') "
            "WHEN regexp_full_match(renewal_column, '\\d{1,2}/\\d{1,2}/\\d{4}') "
            "THEN TRY_STRPTIME(renewal_column, ?) END AS DATE)")


def _check_dates(store: Store, column: str, file: str, report: Report) -> str | None:
    """Detect the column's date format; returns the strptime format for slash dates (None if none)."""
    kinds = {k: (n, rows, texts) for k, n, rows, texts in store.rows(_DATES_SQL)}
    if "bad" in kinds:
        n, rows, texts = kinds["bad"]
        report.add(Problem(file, f"{n:,} date(s) could not be read: rows {_rows_text(rows)}", row=rows[0],
                           column=column, expected=f"a date ({DATE_FORMATS})", found=texts[0]))
    us, dayfirst = kinds.get("slash_us"), kinds.get("slash_dayfirst")
    if us and dayfirst:
        report.add(Problem(file, f"dates mix month-first and day-first: row {us[1][0]} ({us[2][0]!r}) only works "
                           f"as MM/DD/YYYY, row {dayfirst[1][0]} ({dayfirst[2][0]!r}) only as DD/MM/YYYY; use one "
                           "format (ISO YYYY-MM-DD is safest)", row=dayfirst[1][0], column=column,
                           expected="one date format per column", found=dayfirst[2][0]))
        return None
    families = [f for f, present in (("ISO", "iso" in kinds), ("DD.MM.YYYY", "dot" in kinds),
                                     ("slashed", any(k.startswith("slash") for k in kinds))) if present]
    if len(families) > 1:
        report.add(Problem(file, f"the column mixes date formats ({', '.join(families)}); each value was read in "
                           "its own format", column=column, expected="one date format", found=", ".join(families),
                           severity="warning"))
    if dayfirst:
        report.add(Problem(file, f"dates with '/' read as DD/MM/YYYY because e.g. row {dayfirst[1][0]} "
                           f"({dayfirst[2][0]!r}) cannot be month-first", row=dayfirst[1][0], column=column,
                           expected="a date", found=dayfirst[2][0], severity="warning"))
        return "%d/%m/%Y"
    if "slash_either" in kinds and not us:
        n, rows, texts = kinds["slash_either"]
        report.add(Problem(file, f"dates like {texts[0]!r} could be month-first or day-first; read as MM/DD/YYYY "
                           "(US). Use YYYY-MM-DD to be unambiguous", row=rows[0], column=column,
                           expected="an unambiguous date", found=texts[0], severity="warning"))
    return "%m/%d/%Y"


def _check_outcome(store: Store, mapping: Mapping, file: str, report: Report) -> list[str]:
    column = mapping.outcome_column
    values = store.rows(f"SELECT outcome_column, min(__row), count(*) FROM {RAW} WHERE outcome_column IS NOT NULL "
                        "AND lower(outcome_column) NOT IN ('na', 'n/a', 'null', 'none', 'nan') "
                        "GROUP BY outcome_column ORDER BY 2 LIMIT 1001")
    if len(values) > 1000:
        report.add(Problem(file, "the outcome column has more than 1000 different values", column=column,
                           expected="yes/no values (Yes/No, TRUE/FALSE, 1/0, churned/active)",
                           found="over 1000 values"))
        return []
    first_row = {v: r for v, r, _ in values}
    positive, unexpected = classify_outcome([v for v, _, _ in values], mapping.outcome_positive)
    if unexpected:
        listed = ", ".join(f"{v!r} (row {first_row[v]})" for v in unexpected[:SHOWN])
        report.add(Problem(file, f"unexpected outcome value(s): {listed}; set outcome_positive (e.g. "
                           "--outcome-positive) to say which values mean churned", row=first_row[unexpected[0]],
                           column=column, expected="yes/no values (Yes/No, TRUE/FALSE, 1/0, Y/N, churned/active)",
                           found=unexpected[0]))
    if mapping.outcome_positive and not positive:
        report.add(Problem(file, f"no value of the outcome column matches outcome_positive "
                           f"{', '.join(mapping.outcome_positive)}; values found: "
                           f"{', '.join(repr(v) for v, _, _ in values[:10])}", column=column,
                           expected=" or ".join(mapping.outcome_positive), found=values[0][0] if values else None))
    blank = store.rows(f"SELECT count(*), list(__row ORDER BY __row)[1:{SHOWN + 1}] FROM {RAW} "
                       "WHERE outcome_column IS NULL OR lower(outcome_column) IN ('na', 'n/a', 'null', 'none', 'nan')")
    if blank and blank[0][0]:
        report.add(Problem(file, f"{blank[0][0]:,} row(s) have no outcome (churned is empty): rows "
                           f"{_rows_text(blank[0][1])}", row=blank[0][1][0], column=column,
                           expected="a yes/no value", found="a blank cell", severity="warning"))
    return list(positive)


def _canonical_sql(mapping: Mapping, positive: list[str], slash_format: str | None) -> tuple[str, list]:
    """One row per account, ordered by file row: the canonical columns of the mapped roles."""
    params: list = []
    parts = ["__row",
             ("id_column" if mapping.id_column else "CAST(__row AS VARCHAR)") + " AS account_id",
             (_value_expr() if mapping.value_column else "CAST(NULL AS DOUBLE)") + " AS arr"]
    if mapping.name_column:
        parts.append("name_column AS account_name")
    if mapping.owner_column:
        parts.append("owner_column AS csm_owner")
    if mapping.segment_column:
        parts.append("segment_column AS segment")
    if mapping.renewal_column:
        parts.append(_date_expr() + " AS renewal_date")
        params.append(slash_format or "%m/%d/%Y")
    if mapping.outcome_column:
        is_positive = "list_contains(?, outcome_column)" if positive else "false"
        parts.append("CASE WHEN outcome_column IS NULL OR lower(outcome_column) IN ('na', 'n/a', 'null', 'none', "
                     f"'nan') THEN NULL ELSE {is_positive} END AS churned")
        if positive:
            params.append(list(positive))
    if mapping.parent_column:
        parts.append("parent_column AS parent_id")
    return f"SELECT {', '.join(parts)} FROM {RAW} ORDER BY __row", params
