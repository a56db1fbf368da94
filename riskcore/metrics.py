"""Accuracy of a risk score against observed churn: rates by bin and tier, confusion of the high
tier, AUC / Brier / log loss (scikit-learn), top-decile lift, all JSON-ready (floats, None)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (average_precision_score, brier_score_loss, confusion_matrix, log_loss,
                             roc_auc_score, roc_curve)

from .rules.model import TIERS


# ---- input checks -----------------------------------------------------------

def as_outcome(y: Any, name: str = "y") -> np.ndarray:
    """Outcomes as an int array of 0/1; bools, 0/1 numbers accepted, anything else is an error."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d array of outcomes, found shape {arr.shape}")
    if arr.dtype == bool:
        return arr.astype(int)
    try:
        num = arr.astype(float)
    except (TypeError, ValueError):
        bad = next(v for v in arr if not _is_01(v))
        raise ValueError(f"{name}: expected outcomes 0/1 or True/False, found {_plain(bad)!r}") from None
    bad_pos = np.flatnonzero(~np.isin(num, (0.0, 1.0)))
    if bad_pos.size:
        i = int(bad_pos[0])
        raise ValueError(f"{name}: expected outcomes 0/1 or True/False, found {_plain(arr[i])!r} at position {i}")
    return num.astype(int)


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def _is_01(v: Any) -> bool:
    try:
        return float(v) in (0.0, 1.0)
    except (TypeError, ValueError):
        return False


def as_scores(scores: Any, n: int | None = None, name: str = "scores") -> np.ndarray:
    """Scores as a float array without NaN, optionally of length n."""
    try:
        arr = np.asarray(scores, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected numbers") from None
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d array, found shape {arr.shape}")
    if n is not None and len(arr) != n:
        raise ValueError(f"{name}: expected {n} values (one per outcome), found {len(arr)}")
    nan = np.flatnonzero(~np.isfinite(arr))
    if nan.size:
        raise ValueError(f"{name}: expected finite numbers, found {float(arr[nan[0]])} at position {int(nan[0])}")
    return arr


def as_prob(prob: Any, n: int, name: str = "prob") -> np.ndarray:
    """Probabilities in [0, 1], one per outcome."""
    arr = as_scores(prob, n, name)
    out = np.flatnonzero((arr < 0) | (arr > 1))
    if out.size:
        raise ValueError(f"{name}: expected probabilities in [0, 1], found {float(arr[out[0]])} at position {int(out[0])}")
    return arr


def _f(x: Any) -> float | None:
    """A plain float, or None for undefined (NaN, inf, None)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _ratio(k: float, n: float) -> float | None:
    return _f(k / n) if n else None


def records(df: pd.DataFrame) -> list[dict]:
    """DataFrame rows as JSON-ready dicts (numpy scalars to Python, NaN to None)."""
    out = []
    for row in df.to_dict("records"):
        rec = {}
        for k, v in row.items():
            if hasattr(v, "item"):
                v = v.item()
            if isinstance(v, float) and not math.isfinite(v):
                v = None
            rec[k] = v
        out.append(rec)
    return out


# ---- rates and intervals ----------------------------------------------------

def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float | None, float | None]:
    """Wilson score interval for k successes in n trials; (None, None) when n == 0.

    >>> tuple(round(v, 4) for v in wilson_interval(2, 10))
    (0.0567, 0.5098)
    """
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"wilson_interval: expected 0 <= k <= n, found k={k}, n={n}")
    if n == 0:
        return None, None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _rate_row(y_part: np.ndarray) -> dict:
    n, k = int(len(y_part)), int(y_part.sum())
    lo, hi = wilson_interval(k, n)
    return {"n": n, "churned": k, "rate": _ratio(k, n), "ci_low": lo, "ci_high": hi}


def score_edges(scores: np.ndarray, bins: int | Sequence[float]) -> np.ndarray:
    """Bin edges: given edges as they are; an int gives equal-width bins over 0..100 when every
    score is in that range (the points scale), else over the scores' min..max."""
    if not isinstance(bins, (int, np.integer)):
        edges = np.asarray(bins, dtype=float)
        if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
            raise ValueError(f"bins: expected an int or at least two increasing edges, found {list(edges)}")
        return edges
    if bins < 1:
        raise ValueError(f"bins: expected a positive number of bins, found {bins}")
    if len(scores) == 0 or (scores.min() >= 0 and scores.max() <= 100):
        lo, hi = 0.0, 100.0
    else:
        lo, hi = float(scores.min()), float(scores.max())
        if lo == hi:
            hi = lo + 1.0
    return np.linspace(lo, hi, int(bins) + 1)


def rate_by_bin(scores: Any, y: Any, bins: int | Sequence[float] = 10) -> pd.DataFrame:
    """Churn rate per score bin with counts and Wilson intervals; bins are [lo, hi) except the
    last, which includes hi; empty bins are kept (n = 0, rate NaN); scores outside the edges are dropped."""
    y = as_outcome(y)
    s = as_scores(scores, len(y))
    edges = score_edges(s, bins)
    idx = np.searchsorted(edges, s, side="right") - 1
    idx[s == edges[-1]] = len(edges) - 2
    rows = []
    for b in range(len(edges) - 1):
        row = {"bin": b, "lo": float(edges[b]), "hi": float(edges[b + 1])}
        row.update(_rate_row(y[idx == b]))
        rows.append(row)
    return pd.DataFrame(rows, columns=["bin", "lo", "hi", "n", "churned", "rate", "ci_low", "ci_high"])


def _as_tiers(tiers: Any, n: int) -> np.ndarray:
    t = np.asarray(tiers, dtype=object)
    if t.ndim != 1 or len(t) != n:
        raise ValueError(f"tiers: expected {n} values (one per outcome), found {t.shape}")
    bad = [v for v in t if v not in TIERS]
    if bad:
        raise ValueError(f"tiers: expected one of {', '.join(TIERS)}, found {bad[0]!r}")
    return t


def rate_by_tier(tiers: Any, y: Any) -> pd.DataFrame:
    """Churn rate per tier (low, medium, high; empty tiers kept with n = 0) with Wilson intervals."""
    y = as_outcome(y)
    t = _as_tiers(tiers, len(y))
    rows = [{"tier": name, **_rate_row(y[t == name])} for name in TIERS]
    return pd.DataFrame(rows, columns=["tier", "n", "churned", "rate", "ci_low", "ci_high"])


def high_tier_confusion(tiers: Any, y: Any, flagged: str = "high") -> dict:
    """The high tier as a churn prediction: precision, recall, false-positive rate (None when undefined)."""
    y = as_outcome(y)
    t = _as_tiers(tiers, len(y))
    pred = (t == flagged).astype(int)
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y, pred, labels=[0, 1]).ravel())
    return {"precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn),
            "false_positive_rate": _ratio(fp, fp + tn), "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def lift_top_decile(scores: Any, y: Any, fraction: float = 0.1) -> dict:
    """Lift and capture of the top `fraction` of accounts by score (n_top = ceil(fraction * n)).

    Ties: accounts tied at the cut-off score (`threshold`) count pro rata, i.e. the expected
    result of breaking ties at random; the answer does not depend on row order.
    lift = churn rate in the top / overall churn rate; capture = share of all churners in the top.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction: expected a number in (0, 1], found {fraction}")
    y = as_outcome(y)
    s = as_scores(scores, len(y))
    n, total = len(y), int(y.sum())
    if n == 0:
        return {"lift": None, "capture": None, "threshold": None, "n_top": 0, "churned_top": None}
    k = math.ceil(fraction * n)
    threshold = float(np.sort(s)[::-1][k - 1])
    above = s > threshold
    tied = s == threshold
    n_tied_in = k - int(above.sum())
    churned_top = float(y[above].sum() + n_tied_in * y[tied].mean())
    base = total / n
    return {"lift": _ratio(churned_top / k, base), "capture": _ratio(churned_top, total),
            "threshold": threshold, "n_top": k, "churned_top": churned_top}


# ---- summary ---------------------------------------------------------------

def summary_metrics(scores: Any, y: Any, prob: Any = None, tiers: Any = None) -> dict:
    """n, churn rate, AUC and PR-AUC of the score, Brier and log loss of `prob` (None without it),
    top-decile lift; with `tiers` also per-tier rates and the high tier's confusion. AUC is None
    when only one outcome class is present."""
    y = as_outcome(y)
    s = as_scores(scores, len(y))
    n, k = len(y), int(y.sum())
    both = 0 < k < n
    out: dict[str, Any] = {
        "n": n, "churned": k, "churn_rate": _ratio(k, n),
        "auc": _f(roc_auc_score(y, s)) if both else None,
        "pr_auc": _f(average_precision_score(y, s)) if both else None,
        "brier": None, "log_loss": None,
    }
    if prob is not None and n:
        p = as_prob(prob, n)
        out["brier"] = _f(brier_score_loss(y, p, labels=[0, 1]))
        out["log_loss"] = _f(log_loss(y, p, labels=[0, 1]))
    top = lift_top_decile(s, y)
    out["lift_top_decile"] = top["lift"]
    out["capture_top_decile"] = top["capture"]
    if tiers is not None:
        out["tiers"] = records(rate_by_tier(tiers, y))
        out["high_tier"] = high_tier_confusion(tiers, y)
    return out


def metrics_by_segment(frame: pd.DataFrame, segment_col: str, score_col: str = "risk_score",
                       y_col: str = "churned", prob_col: str | None = None,
                       tier_col: str | None = None) -> dict[str, dict]:
    """summary_metrics per segment (missing segment values grouped as "(none)"), segments sorted."""
    for c in (segment_col, score_col, y_col, prob_col, tier_col):
        if c is not None and c not in frame.columns:
            raise ValueError(f"metrics_by_segment: column {c!r} not found; columns are {list(frame.columns)}")
    seg = frame[segment_col].astype(object).where(frame[segment_col].notna(), "(none)").astype(str)
    out = {}
    for name in sorted(seg.unique()):
        part = frame[(seg == name).to_numpy()]
        out[name] = summary_metrics(part[score_col].to_numpy(), part[y_col].to_numpy(),
                                    prob=None if prob_col is None else part[prob_col].to_numpy(),
                                    tiers=None if tier_col is None else part[tier_col].to_numpy())
    return out


# ---- curves for charts -------------------------------------------------------

def roc_points(scores: Any, y: Any) -> dict:
    """ROC curve (scikit-learn roc_curve) as lists; the first threshold (+inf) is None."""
    y = as_outcome(y)
    s = as_scores(scores, len(y))
    if not 0 < y.sum() < len(y):
        raise ValueError("roc_points: the ROC curve needs both churned and retained accounts")
    fpr, tpr, thr = roc_curve(y, s)
    return {"fpr": [float(v) for v in fpr], "tpr": [float(v) for v in tpr],
            "threshold": [_f(v) for v in thr]}


def gain_curve(scores: Any, y: Any) -> dict:
    """Cumulative gain: share of accounts contacted (highest scores first) vs share of churners
    reached, one point per distinct score (tied accounts enter together), from (0, 0) to (1, 1)."""
    y = as_outcome(y)
    s = as_scores(scores, len(y))
    n, pos = len(y), int(y.sum())
    if not 0 < pos < n:
        raise ValueError("gain_curve: the gain curve needs both churned and retained accounts")
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    share_accounts = (tpr * pos + fpr * (n - pos)) / n
    return {"share_accounts": [float(v) for v in share_accounts], "share_churned": [float(v) for v in tpr],
            "threshold": [_f(v) for v in thr]}
