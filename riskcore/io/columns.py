"""Typing an account table's original columns: text that is all numbers becomes DOUBLE ('1,234' and
'45%' read with a warning, infinities NULL), all TRUE/FALSE becomes BOOLEAN, all blank an all-NULL
DOUBLE; every change a warning naming its rows."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..report import Problem, Report
from .problems import SHOWN, rows_text
from .readers import cell_text

BLANKS = ("", "na", "n/a", "null", "none", "nan")  # cells read as empty in numeric/outcome columns
NUMBER_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
THOUSANDS_RE = r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"  # '1,234' and '12,345.5'; a decimal comma '1,5' is not one
PERCENT_RE = r"^[+-]?(\d+\.?\d*|\.\d+)\s*%$"  # '45%' -> 45: the column keeps its unit (percent)
NONFINITE_RE = r"^[+-]?(inf|infinity|nan)$"  # matched ignoring case; plain 'nan' is a blank word (BLANKS)
LEADING_ZERO_RE = r"^[+-]?0\d"  # '00123' is a code, not a number: keep such columns as text


def blank_mask(col: pa.ChunkedArray) -> pa.ChunkedArray:
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
        self.report.add(Problem(self.file, f"{message.format(n=format(n, ','), example=example)}: rows {rows_text(rows)}",
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


def type_column(col: pa.ChunkedArray, name: str, rows: pa.ChunkedArray, file: str,
                 report: Report | None) -> pa.ChunkedArray:
    """Text that is all numbers (blanks allowed; '1,234', '45%' read with a warning) -> DOUBLE, non-finite
    values NULL; all TRUE/FALSE -> BOOLEAN; all blank -> an all-NULL DOUBLE; else unchanged."""
    column = _Column(name, rows, file, report)
    if pa.types.is_null(col.type):  # an all-NULL Parquet column
        return column.all_blank(len(col))
    if pa.types.is_floating(col.type):
        return column.finite(pc.cast(col, pa.float64()), as_text(col))
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        return col
    trimmed = pc.utf8_trim_whitespace(col)
    blank = blank_mask(col)
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
    return cell_text(picked[0].as_py()) if len(picked) else ""


def is_number_type(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)


def as_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as trimmed text with '' as NULL: what the role checks in SQL work on."""
    if pa.types.is_floating(col.type):  # NaN shown as 'NaN': it is a value here, not the blank word 'nan'
        col = pc.if_else(pc.is_nan(col), pa.scalar("NaN"), pc.cast(col, pa.string()))
    elif not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        col = pc.cast(col, pa.string())
    trimmed = pc.utf8_trim_whitespace(col)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
