"""The one choke point that runs SQL: a DuckDB connection behind a lock, values always bound."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import duckdb
import pandas as pd
import pyarrow as pa

_IDENT_OK = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB (doubling embedded quotes); the only way names reach SQL."""
    if not isinstance(name, str) or name == "" or "\x00" in name:
        raise ValueError(f"invalid identifier: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def safe_table_name(name: str) -> str:
    """Check an internal table name (letters, digits, underscore) and return it unchanged."""
    if not _IDENT_OK.match(name):
        raise ValueError(f"invalid table name: {name!r}")
    return name


class Params:
    """Collects bound values for one statement; `add` returns the `$n` placeholder of the value."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
            value = value.item()
        self.values.append(value)
        return f"${len(self.values)}"


@dataclass(frozen=True)
class Mapping:
    """Which column of an account table plays which role (None: absent / auto)."""

    id_column: str | None = None
    name_column: str | None = None
    value_column: str | None = None
    owner_column: str | None = None
    segment_column: str | None = None
    renewal_column: str | None = None
    outcome_column: str | None = None
    outcome_positive: tuple[str, ...] | None = None
    parent_column: str | None = None


@dataclass(frozen=True)
class Dataset:
    """What is loaded in a store: activity tables, or one wide account table."""

    kind: Literal["activity", "account_table"]
    source: str
    tables: tuple[str, ...]
    mapping: Mapping | None = None
    columns: tuple[str, ...] = field(default=())


class Store:
    """A DuckDB database (in memory by default) with a lock; every query goes through here.

    Its attributes are the ones set here: caches of what is derived from its data live outside it
    (riskcore.derived, riskcore.engine), and no other module sets attributes on a Store."""

    def __init__(self, path: str | None = None, read_only: bool = False):
        self.path = path or ":memory:"
        self.con = duckdb.connect(self.path, read_only=read_only)
        self.lock = threading.RLock()
        self.dataset: Dataset | None = None
        self.generation = 0  # bumped on every successful (re)load; caches key on it
        self.last_report: Any = None  # the loader's Report of what is loaded (the Data page shows its warnings)

    def keep_report(self, report: Any) -> None:
        """Remember the report of the load that filled this store (workspace.open_store)."""
        self.last_report = report

    # -- running SQL -------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | dict | None = None) -> None:
        """Run a statement that returns nothing of interest (DDL, INSERT)."""
        with self.lock:
            res = self.con.execute(sql, params) if params is not None else self.con.execute(sql)
            res.fetchall()

    def rows(self, sql: str, params: Sequence[Any] | dict | None = None) -> list[tuple]:
        with self.lock:
            return self.con.execute(sql, params).fetchall() if params is not None else self.con.execute(sql).fetchall()

    def one(self, sql: str, params: Sequence[Any] | dict | None = None) -> Any:
        """First column of the first row (None when no row)."""
        r = self.rows(sql, params)
        return r[0][0] if r else None

    def df(self, sql: str, params: Sequence[Any] | dict | None = None) -> pd.DataFrame:
        with self.lock:
            return self.con.execute(sql, params).df() if params is not None else self.con.execute(sql).df()

    def arrow(self, sql: str, params: Sequence[Any] | dict | None = None) -> pa.Table:
        with self.lock:
            # A relation (not a DB-API cursor) streams to Arrow without an extra copy of the rows.
            rel = self.con.sql(sql, params=params) if params is not None else self.con.sql(sql)
            return rel.to_arrow_table()

    def register_df(self, name: str, frame: pd.DataFrame | pa.Table) -> None:
        """Copy a frame into a real table `name` (replacing it)."""
        safe_table_name(name)
        with self.lock:
            self.con.register("__incoming", frame)
            try:
                self.con.execute(f"CREATE OR REPLACE TABLE {quote_ident(name)} AS SELECT * FROM __incoming").fetchall()
            finally:
                self.con.unregister("__incoming")

    def swap_in(self, staged: dict[str, str], dataset: Dataset, drop: Sequence[str] = ()) -> None:
        """Atomically replace tables: rename each staging table to its final name, drop `drop`.

        Runs in one transaction, so a failure leaves the previous tables and dataset untouched.
        """
        with self.lock:
            self.con.execute("BEGIN TRANSACTION").fetchall()
            try:
                for final in list(staged.values()) + list(drop):
                    self.con.execute(f"DROP TABLE IF EXISTS {quote_ident(safe_table_name(final))}").fetchall()
                for stage, final in staged.items():
                    self.con.execute(
                        f"ALTER TABLE {quote_ident(safe_table_name(stage))} RENAME TO {quote_ident(final)}").fetchall()
                self.con.execute("COMMIT").fetchall()
            except Exception:
                self.con.execute("ROLLBACK").fetchall()
                raise
            self.dataset = dataset
            self.generation += 1

    # -- catalog -----------------------------------------------------------
    def tables(self) -> list[str]:
        return [r[0] for r in self.rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1")]

    def has_table(self, name: str) -> bool:
        return name in self.tables()

    def columns(self, table: str) -> list[str]:
        return [r[0] for r in self.rows(
            "SELECT column_name FROM information_schema.columns WHERE table_schema='main' AND table_name = ? "
            "ORDER BY ordinal_position", [table])]

    def column_types(self, table: str) -> dict[str, str]:
        return dict(self.rows(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema='main' "
            "AND table_name = ? ORDER BY ordinal_position", [table]))

    def close(self) -> None:
        with self.lock:
            self.con.close()
