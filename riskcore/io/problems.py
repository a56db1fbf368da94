"""How a load reports and stops: `fail` adds a problem and raises `Stop`, which the load catches
(the report already says why); `rows_text` names at most SHOWN rows in one message."""

from __future__ import annotations

from ..report import Problem, Report

SHOWN = 5  # rows named in one message


class Stop(Exception):
    """Stop this load; the problems are already in the report."""


def fail(report: Report, file: str, message: str, **kw) -> None:
    report.add(Problem(file, message, **kw))
    raise Stop


def rows_text(rows) -> str:
    rows = list(rows)
    return ", ".join(str(r) for r in rows[:SHOWN]) + (", ..." if len(rows) > SHOWN else "")
