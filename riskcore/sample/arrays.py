"""Vectorised helpers of the generator: day numbers, anniversaries, Arrow date and id columns, and
per-account window counts over event arrays (the numpy side of riskcore/signals.py)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .parameters import EPOCH


def epoch_day(d: date) -> int:
    return (d - EPOCH).days


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def add_years(days: np.ndarray, k: np.ndarray | int) -> np.ndarray:
    """day + k years (Feb 29 -> Feb 28 in other years), like DuckDB to_years and pandas DateOffset."""
    d = days.astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    dom = (d - months.astype("datetime64[D]")).astype(np.int64)  # 0-based day of month
    mi = months.astype(np.int64) + 12 * np.asarray(k, dtype=np.int64)
    month_start = mi.astype("datetime64[M]").astype("datetime64[D]")
    month_len = ((mi + 1).astype("datetime64[M]").astype("datetime64[D]") - month_start).astype(np.int64)
    return (month_start.astype(np.int64) + np.minimum(dom, month_len - 1)).astype(np.int64)


def date_array(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int32), mask=mask).cast(pa.date32())


def id_array(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def window_count(acct: np.ndarray, day: np.ndarray, d: np.ndarray, k: int, n: int, where=None) -> np.ndarray:
    """Per account: rows dated in (D-k, D] (D per account), optionally also matching `where`."""
    m = (day > d[acct] - k) & (day <= d[acct])
    if where is not None:
        m &= where
    return np.bincount(acct[m], minlength=n)


def last_on_or_before(acct: np.ndarray, day: np.ndarray, d: np.ndarray, n: int, key=None) -> np.ndarray:
    """Per account: max of `key` (default: the day) over rows dated on or before D; -1 when none."""
    m = day <= d[acct]
    out = np.full(n, -1, dtype=np.int64)
    np.maximum.at(out, acct[m], (day if key is None else key)[m])
    return out
