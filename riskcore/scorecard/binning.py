"""Bins of one signal, learnt from outcomes: the first step of a scorecard.

A number is cut by a shallow decision tree (scikit-learn) whose leaves hold at least `min_share` of
the rows, made monotone in the signal unless a non-monotone shape fits clearly better; each cut is
moved to the roundest number between the training values on either side ("Age 46 or more", not
"Age > 45.5"). Text (and yes/no) values are grouped by their churn rate the same way. Blanks get
their own bin. Pure functions over arrays: no store, no SQL.

>>> nice_cut(45, 46), nice_cut(182.1, 185.0), nice_cut(150.3, 200.5), nice_cut(0.2345, 0.2401)
(46, 184, 200, 0.24)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

NUMBER, CATEGORY, FLAG = "number", "category", "flag"
CUT_SLACK = 0.005         # a cut may move this share of the rows across it to land on a rounder number
MAX_CATEGORIES = 100      # more distinct text values than this: an id or free text, not a signal
MONOTONE_SLACK = 0.10     # a non-monotone shape must predict held-out rows 10% better than a monotone one
RAMP_ENDS = (0.05, 0.93)   # a ramp runs from about the 5th to about the 95th percentile
RAMP_MIN_VALUES = 10      # a signal of fewer distinct values is all steps (a yes/no needs no ramp)
MERGE_P = 0.05            # neighbouring bins whose churn rates differ less surely than this merge


@dataclass(frozen=True)
class Cut:
    """A cut between two neighbouring training values: rows with value >= `at` go above it;
    `below` is the largest training value under it (where the bin below may end)."""

    at: float
    below: float


@dataclass(frozen=True)
class Bin:
    """One bin of a signal. Numbers: `lo <= x <= hi` (None: unbounded, `lo` exclusive of nothing);
    the lowest bin is `x < hi_cut`, the highest `x >= lo`. Text: `x in values`. `null`: blank."""

    lo: float | None = None
    hi: float | None = None       # inclusive upper bound of a middle bin
    below: float | None = None    # the lowest bin: x < below (exclusive)
    values: tuple[str, ...] = ()
    null: bool = False

    def mask(self, x: pd.Series) -> np.ndarray:
        """Which rows of `x` fall in the bin (the rule's firing, as the scoring SQL computes it)."""
        if self.null:
            return x.isna().to_numpy()
        if self.values:
            return x.isin(self.values).to_numpy()
        v = x.to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            if self.below is not None:
                return v < self.below
            if self.hi is None:
                return v >= self.lo
            return (v >= self.lo) & (v <= self.hi)


@dataclass(frozen=True)
class SignalBins:
    """The bins of one column: numbers by `cuts` (bins below, between and above them), text by
    `groups` of values; plus a blank bin when the training rows had blanks."""

    column: str
    kind: str
    cuts: tuple[Cut, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()
    has_null: bool = False
    monotone: str | None = None   # "up" / "down": churn rises / falls with the value; None: other shape
    ramp: tuple[float, float] | None = None  # monotone numbers: (no points at, full points at), a graded rule

    def ramp_degree(self, x: pd.Series) -> np.ndarray:
        """0..1 along the ramp (0 for blanks), as the scoring SQL computes op `scale`."""
        if self.ramp is None:
            return np.zeros(len(x))
        lo, hi = self.ramp
        v = x.to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            return np.nan_to_num(np.clip((v - lo) / (hi - lo), 0.0, 1.0), nan=0.0)

    @property
    def bins(self) -> tuple[Bin, ...]:
        """Value bins in order (numbers low to high), then the blank bin if any."""
        out: list[Bin] = []
        if self.kind == NUMBER:
            c = self.cuts
            if c:
                out.append(Bin(below=c[0].at))
                for i in range(len(c) - 1):
                    out.append(Bin(lo=c[i].at, hi=upper_end(c[i + 1].below, c[i + 1].at)))
                out.append(Bin(lo=c[-1].at))
        else:
            out += [Bin(values=g) for g in self.groups]
        if self.has_null:
            out.append(Bin(null=True))
        return tuple(out)

    def merged(self, points: list[int]) -> tuple["SignalBins", list[int]]:
        """Neighbouring value bins with equal points become one (numbers: the cut between them
        goes; text: groups of equal points join), so each rule is a distinct step."""
        n_value = len(points) - (1 if self.has_null else 0)
        value_pts, null_pts = points[:n_value], points[n_value:]
        if self.kind == NUMBER:
            keep, pts = [], [value_pts[0]]
            for cut, p in zip(self.cuts, value_pts[1:]):
                if p != pts[-1]:
                    keep.append(cut)
                    pts.append(p)
            return replace(self, cuts=tuple(keep)), pts + null_pts
        joined: dict[int, list[str]] = {}
        for g, p in zip(self.groups, value_pts):
            joined.setdefault(p, []).extend(g)
        order = sorted(joined)
        return replace(self, groups=tuple(tuple(joined[p]) for p in order)), order + null_pts


# ---- round numbers -----------------------------------------------------------

def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def _as_number(d: Decimal) -> float | int:
    return int(d) if d == d.to_integral_value() and abs(d) < 2 ** 53 else float(d)


def nice_cut(below: float, above: float) -> float | int:
    """The roundest number in (below, above]: the fewest decimals, nearest the middle (a value >=
    it is above the cut, so every training value stays on its side)."""
    if not below < above:
        raise ValueError(f"nice_cut: expected below < above, found {below} and {above}")
    lo, hi = _dec(below), _dec(above)
    mid = (lo + hi) / 2
    top = max(abs(float(below)), abs(float(above)), 1e-12)
    for e in range(int(math.floor(math.log10(top))) + 1, -16, -1):
        step = Decimal(1).scaleb(e)
        first, last = math.floor(lo / step) + 1, math.floor(hi / step)  # multiples in (lo, hi]
        if first <= last:
            k = min(max(int((mid / step).to_integral_value()), first), last)
            return _as_number(Decimal(k) * step)
    return above


def upper_end(below: float, cut: float) -> float | int:
    """Where a middle bin ends under the next cut: the largest number in [below, cut) at the cut's
    own precision or finer (60 under a cut at 61; 215.3 under 215.4). Values between it and the
    cut (none in the training data) fall in no bin and get no points for this signal."""
    lo, hi = _dec(below), _dec(cut)
    exp = min(hi.normalize().as_tuple().exponent, 0) if hi != 0 else 0
    for e in range(exp, exp - 12, -1):
        step = Decimal(1).scaleb(e)
        k = math.ceil(hi / step) - 1  # the largest multiple below the cut
        if Decimal(k) * step >= lo:
            return _as_number(Decimal(k) * step)
    return below


# ---- learning bins -------------------------------------------------------------

def _binned_log_loss(codes: np.ndarray, y: np.ndarray) -> float:
    """Mean log loss of predicting each row by its bin's churn rate (smoothed): how much the bins say."""
    total = 0.0
    for k in np.unique(codes):
        m = codes == k
        n, pos = m.sum(), y[m].sum()
        p = (pos + 0.5) / (n + 1.0)
        total -= pos * math.log(p) + (n - pos) * math.log(1 - p)
    return total / len(y)


def _tree_cuts(x: np.ndarray, y: np.ndarray, max_bins: int, min_leaf: int, direction: int) -> list[float]:
    tree = DecisionTreeClassifier(max_leaf_nodes=max_bins, min_samples_leaf=min_leaf, criterion="log_loss",
                                  monotonic_cst=[direction] if direction else None, random_state=0)
    tree.fit(x.reshape(-1, 1), y)
    t = tree.tree_
    return sorted(float(v) for v, f in zip(t.threshold, t.feature) if f >= 0)


def _cuts_at(x: np.ndarray, thresholds: list[float]) -> tuple[Cut, ...]:
    """Tree thresholds moved to the roundest number that moves at most CUT_SLACK of the rows
    across ("0.24", not "0.238464"), kept in order."""
    xs = np.sort(x)
    n, slack = len(xs), int(CUT_SLACK * len(xs))
    out: list[Cut] = []
    for t in thresholds:
        r = int(np.searchsorted(xs, t, side="right"))  # rows below the tree's cut
        if r == 0 or r == n:
            continue
        a, b = float(xs[max(r - 1 - slack, 0)]), float(xs[min(r + slack, n - 1)])
        if not a < b:
            a, b = float(xs[r - 1]), float(xs[r])
        at = nice_cut(a, b)
        k = int(np.searchsorted(xs, at, side="left"))
        if k == 0 or (out and at <= out[-1].at):
            continue
        out.append(Cut(at=at, below=float(xs[k - 1])))
    return tuple(out)


def _codes(x: np.ndarray, cuts: tuple[Cut, ...]) -> np.ndarray:
    return np.searchsorted(np.array([c.at for c in cuts]), x, side="right")


def _merge_alike(codes: np.ndarray, y: np.ndarray, n_cuts: int) -> list[int]:
    """Which of the cuts between ordered bins to keep: neighbours whose churn rates do not differ
    (two-proportion z-test, p > MERGE_P) merge, the most alike pair first."""
    from scipy.stats import norm
    keep = list(range(n_cuts))
    while keep:
        edges = [-1] + keep + [n_cuts]  # bin j holds codes edges[j]+1 .. edges[j+1]
        stats = [(int(y[(codes > a) & (codes <= b)].sum()), int(((codes > a) & (codes <= b)).sum()))
                 for a, b in zip(edges[:-1], edges[1:])]
        best, best_p = None, MERGE_P
        for i in range(len(keep)):
            (k1, n1), (k2, n2) = stats[i], stats[i + 1]
            pooled = (k1 + k2) / max(n1 + n2, 1)
            var = pooled * (1 - pooled) * (1 / max(n1, 1) + 1 / max(n2, 1))
            pv = 1.0 if var <= 0 else float(2 * norm.sf(abs(k1 / max(n1, 1) - k2 / max(n2, 1)) / math.sqrt(var)))
            if pv > best_p:
                best, best_p = i, pv
        if best is None:
            break
        del keep[best]
    return keep


def _fit_cuts(xs: np.ndarray, ys: np.ndarray, max_bins: int, min_leaf: int, direction: int) -> tuple[Cut, ...]:
    """Round cuts of a tree (monotone for direction +1 / -1), alike neighbours merged."""
    cuts = _cuts_at(xs, _tree_cuts(xs, ys, max_bins, min_leaf, direction))
    keep = _merge_alike(_codes(xs, cuts), ys, len(cuts))
    return tuple(cuts[i] for i in keep)


def _held_out_log_loss(xs: np.ndarray, ys: np.ndarray, max_bins: int, min_leaf: int, direction: int) -> float:
    """Binned log loss on each half of the rows with bins and rates learnt on the other half."""
    half = np.random.default_rng(0).permutation(len(xs)) % 2 == 0
    total = 0.0
    for fit in (half, ~half):
        cuts = _fit_cuts(xs[fit], ys[fit], max_bins, max(min_leaf // 2, 1), direction)
        fc, hc = _codes(xs[fit], cuts), _codes(xs[~fit], cuts)
        for k in np.unique(hc):
            m, f = hc == k, fc == k
            p = (ys[fit][f].sum() + 0.5) / (f.sum() + 1.0)
            pos = ys[~fit][m].sum()
            total -= pos * math.log(p) + (m.sum() - pos) * math.log(1 - p)
    return total / len(xs)


def bin_number(column: str, x: pd.Series, y: np.ndarray, min_share: float = 0.05,
               max_bins: int = 6) -> SignalBins:
    """Bins of a numeric column: a monotone tree (churn rising or falling with the value), or an
    unconstrained one when its shape (a U, a bump) predicts held-out rows clearly better."""
    v = pd.to_numeric(x, errors="coerce").to_numpy(dtype=float)
    known = np.isfinite(v)
    has_null = bool((~known).any())
    xs, ys = v[known], y[known]
    min_leaf = max(int(math.ceil(min_share * len(y))), 1)
    if len(np.unique(xs)) < 2 or len(xs) < 2 * min_leaf or len(np.unique(ys)) < 2:
        return SignalBins(column, NUMBER, has_null=has_null)
    null_ll = _binned_log_loss(np.zeros(len(ys), dtype=int), ys)
    # which way churn moves is one bit, read off all rows; whether a non-monotone shape is worth it
    # is judged on held-out rows (a wiggle that does not repeat is noise)
    best_mono = min((1, -1), key=lambda d: _binned_log_loss(
        _codes(xs, _cuts_at(xs, _tree_cuts(xs, ys, max_bins, min_leaf, d))), ys))
    held = {d: _held_out_log_loss(xs, ys, max_bins, min_leaf, d) for d in (best_mono, 0)}
    gain_mono, gain_free = null_ll - held[best_mono], null_ll - held[0]
    if gain_free > max(gain_mono, 0) * (1 + MONOTONE_SLACK) and gain_free - gain_mono > 1e-4:
        return SignalBins(column, NUMBER, cuts=_fit_cuts(xs, ys, max_bins, min_leaf, 0), has_null=has_null)
    return SignalBins(column, NUMBER, cuts=_fit_cuts(xs, ys, max_bins, min_leaf, best_mono), has_null=has_null,
                      monotone="up" if best_mono == 1 else "down",
                      ramp=_ramp(xs, best_mono) if len(np.unique(xs)) >= RAMP_MIN_VALUES else None)


def _ramp(xs: np.ndarray, direction: int) -> tuple[float, float] | None:
    """A graded rule along a monotone signal: from a round number near its 5th percentile to one near
    its 95th (reversed when churn falls with the value), so a straight-line effect needs one rule."""
    v = np.sort(xs)
    ends = []
    for q in (RAMP_ENDS[0], RAMP_ENDS[1]):
        lo, hi = float(v[int(q * (len(v) - 1))]), float(v[min(int((q + 0.02) * (len(v) - 1)), len(v) - 1)])
        ends.append(nice_cut(lo - abs(lo) * 1e-9 - 1e-12, hi) if lo < hi else lo)
    if not ends[0] < ends[1]:
        return None
    return (ends[0], ends[1]) if direction == 1 else (ends[1], ends[0])


def bin_category(column: str, x: pd.Series, y: np.ndarray, min_share: float = 0.05, max_bins: int = 6,
                 kind: str = CATEGORY) -> SignalBins:
    """Groups of text values with like churn rates: values ordered by their (smoothed) churn rate,
    then cut like a monotone number (each group at least `min_share` of the rows, alike neighbours
    merged)."""
    s = x.astype("string")
    known = s.notna().to_numpy()
    has_null = bool((~known).any())
    vals, ys = s[known].astype(str).to_numpy(), y[known]
    if len(vals) == 0:
        return SignalBins(column, kind, has_null=has_null)
    frame = pd.DataFrame({"v": vals, "y": ys}).groupby("v")["y"].agg(["sum", "size"])
    prior = float(ys.mean())
    frame["rate"] = (frame["sum"] + 2 * prior) / (frame["size"] + 2)
    frame = frame.sort_values(["rate", "size"], kind="stable")
    if len(frame) < 2 or len(frame) > MAX_CATEGORIES:
        return SignalBins(column, kind, has_null=has_null)
    rank = pd.Series(np.arange(len(frame)), index=frame.index)
    r = rank.loc[vals].to_numpy(dtype=float)
    min_leaf = max(int(math.ceil(min_share * len(y))), 1)
    if len(ys) < 2 * min_leaf or len(np.unique(ys)) < 2:
        groups = [tuple(frame.index)]
    else:
        cuts = _tree_cuts(r, ys, max_bins, min_leaf, 1)
        codes = np.searchsorted(np.asarray(cuts), r, side="left")
        keep = [cuts[i] for i in _merge_alike(codes, ys, len(cuts))]
        edges = np.searchsorted(np.asarray(keep), np.arange(len(frame)), side="left")
        groups = [tuple(str(v) for v in frame.index[edges == k]) for k in np.unique(edges)]
    return SignalBins(column, kind, groups=tuple(groups), has_null=has_null, monotone="up")
