"""Score rounding, twice: in SQL (`round_sql`) and in numpy (`round_score`), with the same IEEE
operations in the same order, so the pattern path and the SQL give identical doubles."""

from __future__ import annotations

import numpy as np

SCORE_DECIMALS = 4  # scores are rounded so float noise never moves an account across a cut-off


def round_sql(expr: str) -> str:
    """SQL rounding a non-negative DOUBLE score to SCORE_DECIMALS: floor(x * 10^d + 0.5) / 10^d.

    Written with IEEE multiply, add, floor and divide only (no engine ROUND, whose half-way
    behaviour differs between DuckDB versions and Spark), so `round_score` matches it by construction.
    """
    m = f"CAST({10 ** SCORE_DECIMALS} AS DOUBLE)"
    return f"(floor(({expr}) * {m} + 0.5) / {m})"


def round_score(x: np.ndarray) -> np.ndarray:
    """numpy twin of `round_sql`: the same operations in the same order, so the same doubles."""
    m = float(10 ** SCORE_DECIMALS)
    return np.floor(np.asarray(x, dtype=float) * m + 0.5) / m
