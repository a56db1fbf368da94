"""The scorecard's points: a sparse logistic regression over bin indicators with non-negative
weights, scaled to whole points whose largest possible total is at most 100.

1. Each signal's bins become 0/1 columns measured from its lowest-risk bin: steps for a monotone
   signal ("value >= cut", so its points can only rise with the risk), one column per bin
   otherwise, and one for blanks. A lasso with weights >= 0 (the L1 penalty is then smooth: scipy's
   L-BFGS-B solves it with exact zeros) runs along a path of penalties; the weakest penalty
   leaving at most N non-zero weights picks the rules (one weight = one rule once equal
   neighbouring bins merge).
2. The chosen columns are refitted with a small ridge penalty (weights >= 0) so the shrinkage the
   selection needed does not blunt the ranking.
3. Weights become points: `scale` points per unit of log-odds with the signals' largest bins
   summing to at most 100 (so `pdo = scale * ln 2` points double the odds), rounded to whole points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit
from threadpoolctl import threadpool_limits

from .binning import NUMBER, SignalBins, bin_category, bin_number

MAX_SCORE = 100
TWIN_CORRELATION = 0.99
PATH_STEPS = 30     # penalties on the selection path
BISECT_STEPS = 6    # refinements between two path points
RIDGE = 1e-3          # per-row ridge penalty of the refit: keeps rare bins' weights finite


@dataclass(frozen=True)
class CardSignal:
    """A signal's bins and the whole points of each (0 for the lowest-risk ones)."""

    bins: SignalBins
    points: tuple[int, ...]
    ramp_points: int = 0      # full points of the graded rule along `bins.ramp` (0: none)

    @property
    def n_rules(self) -> int:
        return sum(1 for p in self.points if p > 0) + (1 if self.ramp_points > 0 else 0)

    @property
    def max_points(self) -> int:
        """The most this signal can give: its largest bin plus the full ramp (both at the risky end)."""
        return max(self.points) + self.ramp_points

    def score(self, x: pd.Series) -> np.ndarray:
        total = np.zeros(len(x))
        for b, p in zip(self.bins.bins, self.points):
            if p:
                total += p * b.mask(x)
        if self.ramp_points:
            total += self.ramp_points * self.bins.ramp_degree(x)
        return total


@dataclass(frozen=True)
class Card:
    """A fitted scorecard: per signal its bins and points; `pdo` points double the odds."""

    signals: tuple[CardSignal, ...]
    pdo: float

    @property
    def n_rules(self) -> int:
        return sum(s.n_rules for s in self.signals)

    @property
    def max_total(self) -> int:
        return sum(s.max_points for s in self.signals)

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        """Every row's total points (what the written rule set scores)."""
        total = np.zeros(len(frame))
        for s in self.signals:
            total += s.score(frame[s.bins.column])
        return total


def learn_bins(frame: pd.DataFrame, y: np.ndarray, kinds: dict[str, str], min_share: float = 0.05,
               max_bins: int = 6) -> list[SignalBins]:
    """Bins of every candidate column (`kinds`: column -> number | category | flag); columns that
    cannot be cut in two are left out."""
    out = []
    twins = copies(frame, kinds)
    for col, kind in kinds.items():
        if col in twins:
            continue
        if kind == NUMBER:
            sb = bin_number(col, frame[col], y, min_share, max_bins)
        else:
            sb = bin_category(col, frame[col], y, min_share, max_bins, kind=kind)
        if len(sb.bins) >= 2:
            out.append(sb)
    return out


def copies(frame: pd.DataFrame, kinds: dict[str, str]) -> dict[str, str]:
    """Numeric columns that repeat an earlier one (rank correlation of 0.99 or more either way, e.g.
    a charge that is minutes x a rate) -> the column they repeat: two rules saying one thing would
    split its points and read as twice the evidence."""
    nums = [c for c, k in kinds.items() if k == NUMBER]
    if len(nums) < 2:
        return {}
    corr = frame[nums].apply(pd.to_numeric, errors="coerce").rank().corr().abs().fillna(0).to_numpy()
    out: dict[str, str] = {}
    for i, c in enumerate(nums):
        for j in range(i):
            if nums[j] not in out and corr[i, j] >= TWIN_CORRELATION:
                out[c] = nums[j]
                break
    return out


@dataclass(frozen=True)
class _Design:
    """The fit's columns (`X`), the signal of each, and per signal the matrix turning its columns'
    weights into its bins' weights (bins x columns)."""

    X: np.ndarray
    owner: np.ndarray          # the signal of each bin column (the ramp columns follow them)
    to_bins: list[np.ndarray]
    ramps: list[int]           # the signal of each ramp column


def _design(frame: pd.DataFrame, signals: list[SignalBins], y: np.ndarray) -> _Design:
    cols, owner, to_bins, ramps = [], [], [], []
    for j, sb in enumerate(signals):
        x = frame[sb.column]
        bins = sb.bins
        masks = [b.mask(x) for b in bins]
        n_value = len(bins) - (1 if sb.has_null else 0)
        steps = sb.monotone is not None and n_value >= 2
        if steps:
            # up: column k is "value in bin k or above" (k >= 1); down: "in bin k-1 or below"
            order = range(1, n_value) if sb.monotone == "up" else range(n_value - 2, -1, -1)
            m = np.zeros((len(bins), 0))
            for k in order:
                above = list(range(k, n_value)) if sb.monotone == "up" else list(range(0, k + 1))
                cols.append(np.logical_or.reduce([masks[i] for i in above]))
                m = np.column_stack([m, np.isin(np.arange(len(bins)), above).astype(float)])
        else:  # one column per bin but the lowest-churn one
            rates = [(y[mk].sum() + 0.5) / (mk.sum() + 1.0) for mk in masks[:n_value]]
            ref = int(np.argmin(rates))
            m = np.zeros((len(bins), 0))
            for k in range(n_value):
                if k != ref:
                    cols.append(masks[k])
                    m = np.column_stack([m, (np.arange(len(bins)) == k).astype(float)])
        if sb.has_null:
            cols.append(masks[-1])
            m = np.column_stack([m, (np.arange(len(bins)) == len(bins) - 1).astype(float)])
        owner += [j] * m.shape[1]
        to_bins.append(m)
    for j, sb in enumerate(signals):  # graded rules last: column index len(owner) + k
        if sb.ramp is not None:
            cols.append(sb.ramp_degree(frame[sb.column]))
            ramps.append(j)
    X = np.column_stack(cols).astype(float) if cols else np.zeros((len(y), 0))
    return _Design(X, np.asarray(owner, dtype=int), to_bins, ramps)


def _nonneg_logistic(X: np.ndarray, y: np.ndarray, l1: float = 0.0, l2: float = 0.0,
                     start: np.ndarray | None = None) -> np.ndarray:
    """Logistic regression with weights >= 0 and a free intercept (the last entry), penalised by
    l1 * sum(sd_j * w_j) + l2/2 * |w|^2: the lasso of standardised columns, so a rare bin or a
    graded column is not penalised for its scale (on w >= 0 the L1 penalty is smooth: L-BFGS-B
    solves it exactly, with exact zeros)."""
    k = X.shape[1]
    l1 = l1 * X.std(axis=0) if l1 else 0.0

    def loss(w):
        z = X @ w[:k] + w[k]
        p = expit(z)
        f = np.sum(np.logaddexp(0, z) - y * z) + np.sum(l1 * w[:k]) + 0.5 * l2 * w[:k] @ w[:k]
        g = X.T @ (p - y) + l1 + l2 * w[:k]
        return f, np.append(g, np.sum(p - y))

    if start is None:
        start = np.append(np.zeros(k), math.log(y.mean() / (1 - y.mean())))
    res = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(0, None)] * k + [(None, None)],
                   options={"maxiter": 2000})
    return res.x


def lasso_path(X: np.ndarray, y: np.ndarray, steps: int = PATH_STEPS) -> list[tuple[float, np.ndarray]]:
    """(penalty, weights) of the non-negative lasso from the smallest penalty that keeps no bin down
    to 1/10,000 of it (log-spaced, each fit warm-started from the previous one)."""
    sd = X.std(axis=0)
    lam_max = float(max((X.T @ (y - y.mean())) / np.where(sd > 0, sd, np.inf))) if X.shape[1] else 0.0
    if lam_max <= 0:
        return []
    out, w = [], None
    for lam in np.geomspace(lam_max, lam_max * 1e-4, steps):
        w = _nonneg_logistic(X, y, l1=float(lam), start=w)
        out.append((float(lam), w))
    return out


def _kept(w: np.ndarray) -> np.ndarray:
    return w[:-1] > 1e-8


def _support(X: np.ndarray, y: np.ndarray, path: list[tuple[float, np.ndarray]], max_rules: int) -> np.ndarray:
    """The bins kept at the weakest penalty leaving at most `max_rules`: the last such point of the
    path, then bisection (log scale) towards the next point, which keeps too many."""
    i = max((k for k, (_, w) in enumerate(path) if _kept(w).sum() <= max_rules), default=None)
    if i is None:
        return np.zeros(X.shape[1], dtype=bool)
    lam, w = path[i]
    best = _kept(w)
    if i + 1 == len(path) or best.sum() == max_rules:
        return best
    hi, lo = math.log(lam), math.log(path[i + 1][0])
    for _ in range(BISECT_STEPS):
        mid = (hi + lo) / 2
        w_mid = _nonneg_logistic(X, y, l1=math.exp(mid), start=w)
        if _kept(w_mid).sum() <= max_rules:
            hi, best, w = mid, _kept(w_mid), w_mid
            if best.sum() == max_rules:
                break
        else:
            lo = mid
    return best


def fit_cards(frame: pd.DataFrame, y: np.ndarray, signals: list[SignalBins], budgets: list[int]) -> dict[int, Card]:
    """One scorecard per rule budget (the selection path is shared)."""
    if not budgets or min(budgets) < 1:
        raise ValueError(f"max_rules: expected at least 1, found {min(budgets, default=None)}")
    y = np.asarray(y, dtype=float)
    d = _design(frame, signals, y)
    # the design is thin (rows x a few dozen columns): BLAS threads only contend (measured on 2 shared
    # cores: 2,000 rows 5x slower, 50,000 rows 29 s threaded vs 4.4 s on one thread)
    with threadpool_limits(limits=1, user_api="blas"):
        path = lasso_path(d.X, y)
        return {n: _card(d, y, signals, _support(d.X, y, path, n)) for n in budgets}


def fit_card(frame: pd.DataFrame, y: np.ndarray, signals: list[SignalBins], max_rules: int) -> Card:
    """The scorecard with at most `max_rules` rules over the bins `signals`, learnt on (frame, y)."""
    return fit_cards(frame, y, signals, [max_rules])[max_rules]


def _card(d: _Design, y: np.ndarray, signals: list[SignalBins], chosen: np.ndarray) -> Card:
    """Refit the chosen columns (ridge, weights >= 0) and turn the bins' weights into whole points."""
    w = np.zeros(d.X.shape[1])
    if chosen.any():
        w[chosen] = _nonneg_logistic(d.X[:, chosen], y, l2=RIDGE * len(y))[:-1]
    n_bins = len(d.owner)
    bin_w = [m @ w[:n_bins][d.owner == j] for j, m in enumerate(d.to_bins)]
    ramp_w = np.zeros(len(signals))
    ramp_w[d.ramps] = w[n_bins:]
    total = sum(float(b.max()) for b in bin_w) + float(ramp_w.sum())
    if total <= 0:
        return Card(signals=(), pdo=0.0)
    scale = MAX_SCORE / total
    while True:  # rounding may lift the largest total past 100: shrink the scale until it fits
        pts = [np.rint(b * scale).astype(int) for b in bin_w]
        ramp_pts = np.rint(ramp_w * scale).astype(int)
        if sum(int(p.max()) for p in pts) + int(ramp_pts.sum()) <= MAX_SCORE:
            break
        scale *= 0.99
    card = []
    for sb, p, rp in zip(signals, pts, ramp_pts):
        if p.max() <= 0 and rp <= 0:
            continue
        merged, mp = sb.merged([int(v) for v in p])
        card.append(CardSignal(merged, tuple(mp), int(rp)))
    return Card(signals=tuple(card), pdo=float(scale * math.log(2)))
