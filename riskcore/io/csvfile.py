"""CSV files: sniff the encoding (UTF-8, else Latin-1 with a warning) and the delimiter, read every
cell as text with DuckDB, and when DuckDB refuses the file find the rows at fault with Python's csv."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow as pa

from ..db import Store
from ..report import Problem, Report, plain_reason
from ..security import literal_path
from .problems import SHOWN, Stop, fail

DELIMITERS = (",", ";", "\t", "|")
HEAD_BYTES = 1 << 20


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


def read_csv(store: Store, path: Path, report: Report) -> tuple[list[str], pa.Table]:
    file = str(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
        while head.count(b"\n") < 3 and len(head) < size and len(head) < 64 * HEAD_BYTES:
            head += fh.read(HEAD_BYTES)  # very wide header lines
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        fail(report, file, "the file is UTF-16 text (Excel's 'Unicode Text'); save it as 'CSV UTF-8'",
              expected="UTF-8 text", found="UTF-16")
    if b"\x00" in head:
        kind = ("an Excel workbook or zip archive" if head.startswith(b"PK\x03\x04")
                else "a Parquet file" if head.startswith(b"PAR1") else "binary data")
        fail(report, file, f"this is not a text CSV file: it looks like {kind}; use the matching extension "
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
        fail(report, file, "the file is empty (only blank lines)", expected="a header line and data rows",
              found="blank lines")
    if not text.splitlines()[0].strip():
        fail(report, file, "line 1 is blank", expected="the header line first", found="a blank line")
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
        raise Stop from exc
    if table.column_names != ["__row", *internal]:
        fail(report, file, "could not parse the CSV: the header and the rows disagree",
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
