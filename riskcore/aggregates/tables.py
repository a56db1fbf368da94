"""Checking a scored table's names before they go into SQL: the table exists and has the needed
columns; a dimension's tier / score column; page sizes and limits."""

from __future__ import annotations

from typing import Any, Literal

from ..db import Store, safe_table_name


def table_columns(store: Store, table: str, needed: tuple[str, ...] = ()) -> set[str]:
    """The table's columns, after checking the table exists and has `needed`."""
    safe_table_name(table)
    if not store.has_table(table):
        raise ValueError(f"no scored table {table!r} in the store")
    cols = set(store.columns(table))
    missing = [c for c in needed if c not in cols]
    if missing:
        raise ValueError(f"scored table {table!r} has no column {missing[0]!r}")
    return cols


def dimension_column(cols: set[str], table: str, dimension: str | None, kind: Literal["tier", "score"]) -> str:
    """`tier` / `risk_score` for the primary dimension, else `<dimension>_tier` / `_score`."""
    if dimension is None:
        name = "tier" if kind == "tier" else "risk_score"
    else:
        name = f"{dimension}_{kind}"
    if name not in cols:
        raise ValueError(f"scored table {table!r} has no column {name!r} (dimension {dimension!r})")
    return name


def check_limit(n: Any, name: str, minimum: int = 1) -> None:
    """A size or limit argument is a whole number >= `minimum`, else a ValueError naming it."""
    if not isinstance(n, int) or isinstance(n, bool) or n < minimum:
        raise ValueError(f"{name}: expected a whole number >= {minimum}, found {n!r}")
