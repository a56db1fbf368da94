"""Tier cut-offs chosen from the data, so that "high" and "medium" mean something.

The rule: over the accounts with a known outcome, scored with the rule set,
- **high** = the smallest score cut whose accounts (score >= cut) churn at least HIGH_LIFT (2x) the
  base rate, among cuts holding at least MIN_SHARE of the accounts (and MIN_ACCOUNTS). The smallest
  such cut gives the largest high tier that still churns twice the base rate; such a tier can never
  hold more than half the accounts (it would need more churners than there are).
- **medium** = the smallest cut below high whose band (cut <= score < high) churns at least
  MEDIUM_LIFT (1.25x) the base rate; none: medium = high (no medium tier).
- No cut reaches 2x (a base rate of 50% or more, or rules that barely separate): high = the cut with
  the largest lift among those holding at most half the accounts, and the summary says so.

Used by `starter` and `fit` (written into the TOML's [tiers] and stated in its description and the CLI).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .db import Store, quote_ident, safe_table_name
from .rules import RuleSet, Tiers

HIGH_LIFT = 2.0
MEDIUM_LIFT = 1.25
MIN_SHARE = 0.01
MIN_ACCOUNTS = 5


@dataclass(frozen=True)
class TierChoice:
    """The cut-offs chosen and what they mean on the data they were chosen on."""

    medium: float
    high: float
    n: int                 # accounts with an outcome
    base_rate: float
    high_n: int
    high_rate: float
    medium_n: int
    medium_rate: float | None
    reached: bool          # the high tier churns at least HIGH_LIFT x the base rate
    unit: str = "accounts"  # what a row is: "account-dates" when as-of dates are pooled

    def summary(self) -> str:
        """One line: the cut-offs and their churn against the base rate."""
        def part(name: str, cut: float, k: int, rate: float | None) -> str:
            if k == 0 or rate is None:
                return f"{name} >= {cut:g} (no {self.unit})"
            return (f"{name} >= {cut:g} ({k:,} of {self.n:,} {self.unit}, {k / self.n:.0%}; churn {rate:.1%}, "
                    f"{rate / self.base_rate:.1f}x the base rate {self.base_rate:.1%})")
        text = part("high", self.high, self.high_n, self.high_rate)
        if self.medium < self.high:
            text += "; " + part("medium", self.medium, self.medium_n, self.medium_rate)
        else:
            text += "; no medium tier (no band below high churns 1.25x the base rate)"
        if not self.reached:
            text += f"; no score cut churns {HIGH_LIFT:g}x the base rate: high is the cut with the largest lift"
        return text


def choose_tiers(scores: np.ndarray, churned: np.ndarray, unit: str = "accounts") -> TierChoice:
    """Cut-offs (see the module doc) from per-account scores and outcomes (0/1); `unit` names a row."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(churned, dtype=float)
    n = len(s)
    if n == 0 or y.sum() == 0:
        raise ValueError("no accounts with a churned outcome: tier cut-offs cannot be chosen from the data")
    base = float(y.mean())
    cuts = np.unique(s[s > 0])
    if len(cuts) == 0:
        raise ValueError("every account scores 0: no rule fires, so there is nothing to cut")
    # accounts and churners at or above each cut (cuts ascending)
    order = np.sort(s)
    at_or_above = n - np.searchsorted(order, cuts, side="left")
    churn_above = np.array([y[s >= c].sum() for c in cuts])
    rate = churn_above / at_or_above
    enough = at_or_above >= max(MIN_ACCOUNTS, MIN_SHARE * n)
    ok = enough & (rate >= HIGH_LIFT * base)
    if ok.any():
        i = int(np.flatnonzero(ok)[0])
        reached = True
    else:
        small = enough & (at_or_above <= n / 2)
        pool = np.flatnonzero(small) if small.any() else np.array([len(cuts) - 1])
        i = int(pool[np.argmax(rate[pool])])
        reached = False
    high = float(cuts[i])
    medium = high
    below = cuts[:i][::-1]  # candidate medium cuts, nearest to high first
    best = None
    for c in below:
        band = (s >= c) & (s < high)
        k = int(band.sum())
        if k >= max(MIN_ACCOUNTS, MIN_SHARE * n) and y[band].mean() >= MEDIUM_LIFT * base:
            best = float(c)  # keep going: the smallest qualifying cut wins
    if best is not None:
        medium = best
    band = (s >= medium) & (s < high)
    return TierChoice(medium=medium, high=high, n=n, base_rate=base, high_n=int(at_or_above[i]),
                      high_rate=float(rate[i]), medium_n=int(band.sum()),
                      medium_rate=float(y[band].mean()) if band.any() else None, reached=reached, unit=unit)


def tiers_from_data(store: Store, rs: RuleSet, table: str) -> TierChoice:
    """Score `table` (an account table with a `churned` column) with `rs` (points mode, fusion as
    set) and choose the primary dimension's cut-offs from the outcomes."""
    from dataclasses import replace

    from .scoring import score
    probe = replace(rs, tiers=Tiers(medium=rs.tiers.medium, high=rs.tiers.high, mode="points"))
    out = safe_table_name(f"{table}_tiercuts")
    score(store, probe, table, out_table=out)
    try:
        d = store.df(f"SELECT s.{quote_ident(rs.primary_dimension + '_score')} AS score, "
                     f"CAST(t.churned AS DOUBLE) AS churned FROM {quote_ident(out)} s "
                     f"JOIN {quote_ident(safe_table_name(table))} t ON CAST(t.account_id AS VARCHAR) = s.account_id "
                     "WHERE t.churned IS NOT NULL")
    finally:
        store.execute(f"DROP TABLE IF EXISTS {quote_ident(out)}")
        store.execute(f"DROP TABLE IF EXISTS {quote_ident(out + '_firings')}")
    return choose_tiers(d["score"].to_numpy(float), d["churned"].to_numpy(float))


def with_data_tiers(rs: RuleSet, choice: TierChoice) -> RuleSet:
    """A copy whose primary dimension's cut-offs (points) are the chosen ones: its own
    [tiers.<dimension>] when it has one, else the global [tiers]."""
    from dataclasses import replace

    from .rules import TierCuts
    whole = lambda x: int(x) if float(x).is_integer() else x  # noqa: E731 - scores of whole points: 46, not 46.0
    medium, high = whole(choice.medium), whole(choice.high)
    per = dict(rs.tiers.per_dimension)
    if rs.primary_dimension in per:
        per[rs.primary_dimension] = TierCuts(medium=medium, high=high, mode="points")
        return replace(rs, tiers=replace(rs.tiers, per_dimension=tuple(per.items())))
    return replace(rs, tiers=replace(rs.tiers, medium=medium, high=high, mode="points"))
