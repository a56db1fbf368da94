"""Readers: every account-table format (CSV, Parquet, Excel) becomes (original column names, an
Arrow table `__row, c0..cN` of text or native values); columns without name or value and blank
rows are dropped with a warning, blank and repeated names made unique."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ..db import Store
from ..report import Problem, Report, plain_reason
from ..security import literal_path
from .csvfile import read_csv
from .problems import fail, rows_text

EXCEL_CELLS = 20_000_000  # a sheet larger than this and under 1% filled has stray cells far from its table


def read_table(store: Store, path: Path, sheet: str | None, report: Report) -> tuple[list[str], pa.Table]:
    """(clean column names, table __row, c0..cN) of any format; columns without name or value dropped."""
    file = str(path)
    if path.is_file() and path.stat().st_size == 0:
        fail(report, file, "the file is empty", expected="a header line and at least one data row", found="0 bytes")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        header, table = _read_parquet(store, path, report)
    elif suffix in (".xlsx", ".xlsm"):
        header, table = _read_excel(path, sheet, report)
    else:
        header, table = read_csv(store, path, report)
    header, numbers, table = _drop_nameless_empty(header, table, file, report)
    names = _clean_names(header, file, report, numbers)
    if table.num_rows == 0:
        fail(report, file, "no data rows: the file has only a header", expected="at least one data row",
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
        fail(report, str(path), f"not a readable Parquet file: {plain_reason(exc)}", expected="a Parquet file")
    return table.column_names, _internal(table)


def cell_text(value) -> str | None:
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
        fail(report, file, f"not a readable Excel workbook: {plain_reason(exc)}", expected="an .xlsx file")
    try:
        chosen = _choose_sheet(book, sheet, file, report)
        rows = _sheet_rows(book[chosen])
    finally:
        book.close()
    if not rows:
        fail(report, file, f"sheet {chosen!r} is empty", expected="a header row and at least one data row",
              found="no cells")
    width, filled = max(len(r) for r in rows), sum(len(r) - r.count(None) for r in rows)
    if len(rows) * width > EXCEL_CELLS and filled * 100 < len(rows) * width:
        from openpyxl.utils import get_column_letter
        fail(report, file, f"sheet {chosen!r} reaches cell {get_column_letter(width)}{len(rows)} ({len(rows):,} "
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
            fail(report, file, f"no sheet named {sheet!r}; the workbook has: {', '.join(map(repr, worksheets))}",
                  expected="an existing sheet", found=sheet)
        return sheet
    if not worksheets:
        fail(report, file, "the workbook has no worksheet", expected="a sheet with a table", found="chart sheets")
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
        rows.append([cell_text(v) for v in values[:end]])
    return rows


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
        fail(report, file, "no columns: every column has no name and no value", expected="a header line",
              found="empty columns")
    kept = set(keep)
    dropped = [i + 1 for i in range(len(header)) if i not in kept]
    report.add(Problem(file, f"{len(dropped):,} column(s) with no name and no value ignored (columns "
                       f"{rows_text(dropped)})", severity="warning"))
    table = raw.select(["__row", *(f"c{i}" for i in keep)])
    return ([header[i] for i in keep], [i + 1 for i in keep],
            table.rename_columns(["__row", *(f"c{k}" for k in range(len(keep)))]))


def drop_blank_rows(raw: pa.Table, file: str, report: Report) -> tuple[pa.Table, int]:
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
        report.add(Problem(file, f"{skipped:,} empty row(s) skipped (rows {rows_text(rows)})", row=rows[0],
                           severity="warning"))
        raw = raw.filter(pc.invert(blank))
    return raw, skipped
