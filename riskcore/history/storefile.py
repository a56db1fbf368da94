"""Opening a DuckDB snapshot store (PRODUCT.md §9): a busy store is retried with bounded backoff, a file
that is not a whole DuckDB database is a HistoryError naming it, and is never written."""

from __future__ import annotations

import contextlib
import time
import warnings
from pathlib import Path

import duckdb

from .. import settings
from ..db import Store
from ..duckfile import duckdb_file_problem


class HistoryError(ValueError):
    """Bad input to history functions (unknown account, no snapshot at a date): one clear message."""


_FIRST_RETRY_SECONDS, _MAX_RETRY_SECONDS = 0.05, 1.0  # backoff between attempts: doubling, capped


class StoreBusyWarning(UserWarning):
    """The snapshot store was held by another process; it was opened after waiting."""


def store_wait_seconds() -> float:
    """The bounded wait for a busy store: $RISKCORE_STORE_WAIT seconds (riskcore.settings; 30), at least 0."""
    try:
        return max(0.0, settings.get("RISKCORE_STORE_WAIT"))
    except settings.SettingError as e:
        raise HistoryError(str(e)) from None


def check_store_file(path: str | Path) -> None:
    """An existing file at `path` must be a whole DuckDB database (a new path or a folder is fine):
    else a HistoryError naming it. Reads the file's headers only; never writes."""
    path = Path(path)
    problem = duckdb_file_problem(path) if path.is_file() else None
    if problem:
        raise HistoryError(f"{path}: {problem}, so it cannot be a snapshot store; it was left untouched "
                           "(give a new file name, or a folder for Parquet snapshots)")


def open_store_file(path: str | Path, read_only: bool = False, wait: float | None = None) -> Store:
    """Open a DuckDB snapshot store. While another process holds its lock, retry with backoff for up to
    `wait` seconds (default `store_wait_seconds()`), then warn how long it waited (StoreBusyWarning).
    A file that is not a whole DuckDB database is a HistoryError naming it; the file is never written."""
    path = Path(path)
    check_store_file(path)
    wait = store_wait_seconds() if wait is None else wait
    start, delay, busy = time.monotonic(), _FIRST_RETRY_SECONDS, False
    while True:
        try:
            store = Store(str(path), read_only=read_only)
            break
        except duckdb.Error as e:
            waited, busy = time.monotonic() - start, True
            if not _is_lock_conflict(e):
                raise HistoryError(f"{path}: cannot be opened as a snapshot store (a damaged or foreign "
                                   "DuckDB file?); it was left untouched") from None
            if waited >= wait:
                raise HistoryError(f"{path}: store is busy (another process is using it); gave up after "
                                   f"{waited:.1f} s (wait longer with --wait or RISKCORE_STORE_WAIT)") from None
            time.sleep(min(delay, wait - waited))
            delay = min(2 * delay, _MAX_RETRY_SECONDS)
    if busy:
        warnings.warn(f"{path}: store is busy (another snapshot is writing); waited "
                      f"{time.monotonic() - start:.1f} s", StoreBusyWarning, stacklevel=2)
    return store


def _is_lock_conflict(e: Exception) -> bool:
    """DuckDB's error for a file another process holds ("Could not set lock on file ... Conflicting lock")."""
    text = str(e).lower()
    return "could not set lock" in text or "conflicting lock" in text


@contextlib.contextmanager
def reading_errors(path: Path):
    """Turn a DuckDB error while reading or writing a store (a read past a truncated end) into a
    HistoryError naming the file, without the engine's text."""
    try:
        yield
    except duckdb.Error:
        raise HistoryError(f"{path}: the snapshot store could not be read to the end (a damaged file?)") from None
