"""Validation reports: every problem names the file, row, column, what was expected and found."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

# "IO Error: ", "duckdb.IOException: ", "InvalidInputException: ": engine labels in front of a reason
_LABEL = re.compile(r"^\s*(?:[\w.]*(?:Exception|Error|Warning)|[A-Z][A-Za-z]*(?: [A-Z][A-Za-z]*)* Error)\s*:\s*")
# a class name anywhere in the text: IOException, duckdb.ConversionException, zipfile.BadZipFile
_CLASS = re.compile(r" ?\b(?:[a-z_]\w*\.)*[A-Z]\w*(?:Exception|Error|BadZipFile)\b")


@dataclass(frozen=True)
class Problem:
    """One problem in the input. `row` is 1-based over data rows (header excluded), None if n/a."""

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    expected: str | None = None
    found: str | None = None
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column!r}"
        text = f"{self.severity}: {where}: {self.message}"
        if self.expected is not None:
            text += f" (expected {self.expected}"
            text += f", found {self.found!r})" if self.found is not None else ")"
        return text


@dataclass
class Report:
    """What a load or validation found; `ok` when there is no error (warnings allowed)."""

    problems: list[Problem] = field(default_factory=list)
    rows_loaded: int = 0
    rows_skipped: int = 0
    tables: dict[str, int] = field(default_factory=dict)  # table -> rows

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def extend(self, other: "Report") -> None:
        self.problems.extend(other.problems)
        self.rows_loaded += other.rows_loaded
        self.rows_skipped += other.rows_skipped
        self.tables.update(other.tables)

    def as_rows(self) -> list[dict]:
        """Plain dicts for a table in the app or JSON output."""
        return [
            {"severity": p.severity, "file": p.file, "row": p.row, "column": p.column,
             "message": p.message, "expected": p.expected, "found": p.found}
            for p in self.problems
        ]

    def __str__(self) -> str:
        lines = [str(p) for p in self.problems]
        lines.append(f"{self.rows_loaded:,} rows loaded, {self.rows_skipped:,} skipped")
        return "\n".join(lines)


def plain_reason(exc: BaseException) -> str:
    """The first line of an exception's text as a plain sentence: no engine or class names, no traceback.

    >>> plain_reason(OSError("IO Error: No files found that match the pattern 'x.csv'"))
    "No files found that match the pattern 'x.csv'"
    """
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = lines[0] if lines else ""
    while (stripped := _LABEL.sub("", text, count=1)) != text:
        text = stripped
    text = _CLASS.sub("", text).replace("  ", " ").strip(" :-")
    if not re.search(r"[A-Za-z]", text):
        return "an unexpected problem while reading it (the file may be damaged or not what its name says)"
    return text


def user_message(exc: BaseException) -> str:
    """What to show for a failure: our own messages (a ValueError such as RuleSetError, LoadError) as
    written, anything else (an engine or library error) as `plain_reason` plus a request to report it."""
    if isinstance(exc, (ValueError, LoadError, KeyError, FileNotFoundError)) and not _engine(exc):
        return str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return f"{plain_reason(exc)} (an unexpected problem; please report it with the command and data you used)"


def _engine(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in ("duckdb", "_duckdb", "pyarrow", "sqlglot", "numpy", "pandas")


class LoadError(Exception):
    """A load failed; `report` holds every problem. The store keeps what it had before."""

    def __init__(self, report: Report):
        self.report = report
        super().__init__("\n".join(str(p) for p in report.errors) or "load failed")
