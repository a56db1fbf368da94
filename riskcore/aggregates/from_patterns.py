"""The same summaries from firing patterns (scoring.Patterns): tier / quadrant counts, score histogram and
tier movement with the numbers of the per-account queries, without per-account work (the Tuning path)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..rules.model import QUADRANTS, TIERS
from ..scoring import pattern_quadrant_codes, pattern_scores, pattern_tier_codes


def _pattern_frame(codes: Any, order: tuple[str, ...], name: str, n: Any, value: Any) -> pd.DataFrame:
    accounts = np.bincount(codes, weights=n, minlength=len(order)).astype(np.int64)
    total = np.bincount(codes, weights=value, minlength=len(order)).astype(float)
    na, nv = accounts.sum(), total.sum()
    return pd.DataFrame({name: list(order), "accounts": accounts, "value": total,
                         "share": accounts / na if na else 0.0, "value_share": total / nv if nv else 0.0})


def tier_summary_from_patterns(pat: Any, rs: Any, dimension: str | None = None) -> pd.DataFrame:
    """`tier_summary` (no filters) from firing patterns (scoring.Patterns): same columns and numbers."""
    return _pattern_frame(pattern_tier_codes(pat, rs, dimension), TIERS, "tier", pat.n, pat.value)


def quadrant_summary_from_patterns(pat: Any, rs: Any) -> pd.DataFrame:
    """`quadrant_summary` (no filters) from firing patterns: same columns and numbers."""
    return _pattern_frame(pattern_quadrant_codes(pat, rs), QUADRANTS, "quadrant", pat.n, pat.value)


def score_histogram_from_patterns(pat: Any, rs: Any, bins: int = 20, dimension: str | None = None) -> pd.DataFrame:
    """`score_histogram` (no filters) from firing patterns: same columns and numbers."""
    if not isinstance(bins, int) or isinstance(bins, bool) or not 1 <= bins <= 1000:
        raise ValueError(f"bins: expected a whole number 1..1000, found {bins!r}")
    s, _ = pattern_scores(pat, rs, dimension)
    b = np.minimum(np.maximum(np.floor(s * bins / 100.0), 0), bins - 1).astype(np.int64)
    accounts = np.bincount(b, weights=pat.n, minlength=bins).astype(np.int64)
    value = np.bincount(b, weights=pat.value, minlength=bins)
    r = np.arange(bins)
    return pd.DataFrame({"bin": r, "bin_start": r * 100.0 / bins, "bin_end": (r + 1) * 100.0 / bins,
                         "accounts": accounts, "value": value})


def _firing_parts(rs: Any, rule_ids: tuple[str, ...]) -> tuple:
    """What the firings of these rules depend on (not points, tiers, fusion, enabled or labels)."""
    return rs.firing_key(rule_ids), rs.quadrant.value_column


def tier_movement_from_patterns(pat: Any, rs_a: Any, rs_b: Any, dimension: str | None = None) -> pd.DataFrame:
    """`tier_movement` (tier under rs_a x tier under rs_b, all nine cells) from firing patterns; both
    rule sets must fire the same way (differ only in points, tiers, fusion, enabled)."""
    if _firing_parts(rs_a, pat.rule_ids) != _firing_parts(rs_b, pat.rule_ids):
        raise ValueError("the two rule sets differ in thresholds or signals: their movement needs the per-account "
                         "tables (tier_movement)")
    cell = pattern_tier_codes(pat, rs_a, dimension) * 3 + pattern_tier_codes(pat, rs_b, dimension)
    accounts = np.bincount(cell, weights=pat.n, minlength=9).astype(np.int64)
    value = np.bincount(cell, weights=pat.value, minlength=9)
    return pd.DataFrame({"from_tier": [a for a in TIERS for _ in TIERS], "to_tier": [b for _ in TIERS for b in TIERS],
                         "accounts": accounts, "value": value})


def tier_movement_from_index(index: Any, pat: Any, rs_a: Any, rs_b: Any, dimension: str | None = None) -> pd.DataFrame:
    """`tier_movement` from a pattern index (scoring.PatternIndex): tiers under rs_a, which must fire
    like the index's rule set, x tiers under rs_b of `pat = patterns_for(store, index, rs_b)`, so
    also across a threshold change."""
    if _firing_parts(rs_a, index.base.rule_ids) != _firing_parts(index.rs, index.base.rule_ids):
        raise ValueError("rs_a does not fire like the index's rule set: build an index for it")
    if pat.base_pid is None:
        raise ValueError("these patterns do not come from patterns_for(store, index, rs)")
    cell = pattern_tier_codes(index.base, rs_a, dimension)[pat.base_pid] * 3 + pattern_tier_codes(pat, rs_b, dimension)
    accounts = np.bincount(cell, weights=pat.n, minlength=9).astype(np.int64)
    value = np.bincount(cell, weights=pat.value, minlength=9)
    return pd.DataFrame({"from_tier": [a for a in TIERS for _ in TIERS], "to_tier": [b for _ in TIERS for b in TIERS],
                         "accounts": accounts, "value": value})
