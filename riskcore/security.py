"""Lock a loaded store down so the connection that runs rule SQL cannot touch files or extensions.

Rule expressions are whitelisted and values bound (expressions.py, aggregates.py), so no user text
should reach SQL; this is the second wall for a parser hole. Once data is loaded, `lock_down` sets
`enable_external_access = false` (no file reads or writes, COPY, ATTACH, INSTALL/LOAD, secrets)
and `lock_configuration = true` (the setting cannot be switched back by any later statement).

A locked store can no longer load files: DuckDB reading a path is external access. Loading new
data therefore builds a *fresh* store (`open_locked_store`), loads, locks, and only then replaces
the old one; the old store stays active if the load fails. Frames handed over with
`Store.register_df` still work on a locked store (they are not file access).

What a load may read: every file taken from a folder (each table of an activity folder, a DuckDB
file and its write-ahead log) is resolved and refused when its real path lies outside the allowed
roots (`readable_file`), so a symbolic link inside a data folder cannot reach `/etc/passwd`. A
user's DuckDB file is opened in its own read-only connection with external access off and the
configuration locked (`open_user_database`), so a view in it cannot read files either.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterable

import duckdb

from . import settings
from .db import Mapping, Store
from .report import LoadError, Problem, Report

LOCKDOWN_STATEMENTS = (
    "SET enable_external_access = false",
    "SET lock_configuration = true",
)


ROOT_ENV = "RISKCORE_DATA_ROOT"  # riskcore.settings declares it (default: the repo's data and .cache)
PATTERN_CHARS = "*?["  # DuckDB reads a path holding one of these as a glob of other files


@contextlib.contextmanager
def literal_path(path: str | os.PathLike):
    """A path DuckDB reads as exactly this file: the path itself, or, when its name holds a pattern
    character (`export [2026].csv`), a link to it under a plain name in a temporary folder."""
    path = Path(path)
    if not any(ch in str(path) for ch in PATTERN_CHARS):
        yield str(path)
        return
    with tempfile.TemporaryDirectory(prefix="riskcore-read-") as tmp:
        link = Path(tmp) / ("data" + path.suffix.lower())
        link.symlink_to(path.resolve())
        yield str(link)


def data_roots() -> tuple[Path, ...]:
    """Folders data may be loaded from on a server: $RISKCORE_DATA_ROOT (several separated by the OS
    path separator), else the repo's `data` folder and `.cache` (sample, uploads); resolved
    (riskcore.settings declares it)."""
    return tuple(r.resolve() for r in settings.get(ROOT_ENV))


def within(path: Path, roots: Iterable[Path]) -> bool:
    """True when the (already resolved) `path` is one of `roots` or lies inside one."""
    return any(path == r or path.is_relative_to(r) for r in roots)


def allowed_roots(source: str | os.PathLike) -> tuple[Path, ...]:
    """Where the files read for `source` (a folder, or a DuckDB file) may really live: the folder
    itself (a DuckDB file's own folder) and the data roots."""
    real = Path(source).resolve()
    return (real if real.is_dir() else real.parent,) + data_roots()


def readable_file(path: str | os.PathLike, roots: Iterable[Path]) -> tuple[Path | None, str]:
    """(the real path to read, "") when `path` resolves inside `roots` and DuckDB would read exactly
    that file; else (None, why). The message says why and never shows the file's content."""
    try:
        real = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):
        return None, "cannot be resolved (a broken or looping symbolic link)"
    if not within(real, tuple(roots)):
        return None, ("refused: it is a symbolic link to a file outside the folders data is loaded from; "
                      "it was not read (copy the file into the folder instead)")
    if any(ch in str(real) for ch in PATTERN_CHARS):
        return None, ("refused: its path contains *, ? or [, which DuckDB reads as a pattern of other files; "
                      "rename the file or folder")
    return real, ""


def readable_database(path: str | os.PathLike, roots: Iterable[Path]) -> tuple[Path | None, str]:
    """`readable_file` for a DuckDB file and its write-ahead log (`<file>.wal`, read on open)."""
    roots = tuple(roots)
    real, why = readable_file(path, roots)
    wal = Path(f"{real}.wal") if real is not None else None
    if wal is not None and (wal.exists() or wal.is_symlink()):
        ok, wal_why = readable_file(wal, roots)
        if ok is None:
            return None, f"its write-ahead log {wal.name}: {wal_why}"
    return real, why


def open_user_database(path: str | os.PathLike) -> duckdb.DuckDBPyConnection:
    """A user's DuckDB file, opened read-only in its own connection with external access off and the
    configuration locked before anything in it is read: a view that reads files (read_csv, ATTACH,
    a replacement scan) then fails with duckdb.PermissionException instead of reading them."""
    return duckdb.connect(str(path), read_only=True,
                          config={"enable_external_access": False, "lock_configuration": True})


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
