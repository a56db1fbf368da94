"""Lock a loaded store down so the connection that runs rule SQL cannot touch files or extensions.

Rule expressions are whitelisted and values bound (expressions.py, aggregates.py), so no user text
should reach SQL; this is the second wall for a parser hole. Once data is loaded, `lock_down` sets
`enable_external_access = false` (no file reads or writes, COPY, ATTACH, INSTALL/LOAD, secrets)
and `lock_configuration = true` (the setting cannot be switched back by any later statement).

A locked store can no longer load files: DuckDB reading a path is external access. Loading new
data therefore builds a *fresh* store (`open_locked_store`), loads, locks, and only then replaces
the old one; the old store stays active if the load fails. Frames handed over with
`Store.register_df` still work on a locked store (they are not file access).
"""

from __future__ import annotations

import os

from .db import Mapping, Store
from .report import LoadError, Problem, Report

LOCKDOWN_STATEMENTS = (
    "SET enable_external_access = false",
    "SET lock_configuration = true",
)


def is_locked(store: Store) -> bool:
    """True when the store's connection can no longer reach files (external access is off)."""
    return store.one("SELECT current_setting('enable_external_access')") is False


def lock_down(store: Store) -> Store:
    """Switch external access off and lock the configuration on the store's connection (idempotent)."""
    with store.lock:
        if not is_locked(store):
            for sql in LOCKDOWN_STATEMENTS:
                store.execute(sql)
    return store


def check_loadable(store: Store, source: str) -> None:
    """Raise LoadError with a plain message when `store` is locked (it cannot read `source`)."""
    if is_locked(store):
        report = Report()
        report.add(Problem(file=str(source), message=(
            "this store is locked down (no file access) after its data was loaded; load new data "
            "into a fresh store (riskcore.security.open_locked_store)")))
        raise LoadError(report)


def open_locked_store(data: str | os.PathLike | None = None, mapping: Mapping | None = None,
                      db_path: str | None = None) -> Store:
    """`workspace.open_store` (load `data`, or the sample), then lock the store down.

    Raises LoadError (from the loader) on bad data, before anything is locked or swapped in.
    """
    from .workspace import open_store
    return lock_down(open_store(data, mapping=mapping, db_path=db_path))
