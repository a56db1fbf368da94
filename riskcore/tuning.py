"""The Tuning page's live numbers, draft against published (PRODUCT.md §8): tier counts + value,
quadrants, the score histogram, the tier movement matrix and the accounts of a movement cell.

Two sources with one shape (`LiveNumbers`): firing patterns re-weighted in numpy (`tuning_numbers`, a
slider move touches no account: the pattern index is the engine's) and, when the draft's rules differ
from the published ones or the user sees only a book, the per-account scored tables (`ScoredNumbers`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np
import pandas as pd

from . import aggregates as agg
from .db import Store, quote_ident
from .rules import RuleSet
from .rules.model import TIERS
from .scoring import PatternIndex, index_firings_sql, pattern_scores, pattern_tier_codes, patterns_for

MOVER_COLUMNS = ["account_id", "account_name", "segment", "csm_owner", "value", "from_tier", "to_tier",
                 "from_score", "to_score", "change"]


@dataclass(frozen=True)
class TuningNumbers:
    """Everything the Tuning page's live results show, for the draft and the published rule set,
    from firing patterns."""

    draft_tiers: pd.DataFrame       # tier, accounts, value, share, value_share
    pub_tiers: pd.DataFrame
    draft_quadrants: pd.DataFrame   # quadrant, accounts, value, ...
    pub_quadrants: pd.DataFrame
    draft_hist: pd.DataFrame        # bin, bin_start, bin_end, accounts, value
    pub_hist: pd.DataFrame
    movement: pd.DataFrame          # from_tier, to_tier, accounts, value (all nine cells)
    index: Any                      # scoring.PatternIndex the movement is measured on
    draft_patterns: Any             # scoring.Patterns of the draft (base_pid into index.base)
    pub_rs: Any                     # the published rule set as the index sees it (draft's quadrant)
    draft_rs: Any
    store: Store | None = field(default=None, compare=False, repr=False)

    def movers(self, from_tier: str | None = None, to_tier: str | None = None, limit: int = 200) -> pd.DataFrame:
        """`pattern_movers` of these numbers."""
        return pattern_movers(self.store, self, from_tier, to_tier, limit=limit)


def tuning_numbers(store: Store, pub_rs: RuleSet, draft_rs: RuleSet, index_of: Callable[[RuleSet], PatternIndex],
                   bins: int = 20) -> TuningNumbers | None:
    """Tier counts + value, quadrants, histogram and the movement matrix of draft vs published from
    firing patterns (same numbers as the per-account scored tables); `index_of(rs)` is the pattern
    index of a rule set (the engine's, built once). None when the draft's rules differ from the
    published ones (added, removed, other signal): then use `ScoredNumbers`."""
    if draft_rs.primary_dimension != pub_rs.primary_dimension or \
            draft_rs.primary_dimension not in pub_rs.dimensions:
        return None
    with store.lock:
        p0 = index_of(pub_rs)
        pub_q = replace(pub_rs, quadrant=draft_rs.quadrant)  # tiers do not depend on the quadrant
        idx = p0 if pub_q.quadrant == pub_rs.quadrant else index_of(pub_q)
        try:
            pat = patterns_for(store, idx, draft_rs)
        except ValueError:  # the rules themselves changed
            return None
    return TuningNumbers(
        draft_tiers=agg.tier_summary_from_patterns(pat, draft_rs),
        pub_tiers=agg.tier_summary_from_patterns(p0.base, pub_rs),
        draft_quadrants=agg.quadrant_summary_from_patterns(pat, draft_rs),
        pub_quadrants=agg.quadrant_summary_from_patterns(p0.base, pub_rs),
        draft_hist=agg.score_histogram_from_patterns(pat, draft_rs, bins=bins),
        pub_hist=agg.score_histogram_from_patterns(p0.base, pub_rs, bins=bins),
        movement=agg.tier_movement_from_index(idx, pat, pub_q, draft_rs),
        index=idx, draft_patterns=pat, pub_rs=pub_q, draft_rs=draft_rs, store=store)


def pattern_movers(store: Store, numbers: TuningNumbers, from_tier: str | None = None, to_tier: str | None = None,
                   limit: int = 200) -> pd.DataFrame:
    """The accounts of one movement cell (all that moved when no tier is given), largest score
    change first: the columns and order of `aggregates.movers`, read from the pattern index table
    (only the selected patterns' accounts, top `limit`)."""
    for name, t in (("from_tier", from_tier), ("to_tier", to_tier)):
        if t is not None and t not in TIERS:
            raise ValueError(f"{name}: expected {' | '.join(TIERS)}, found {t!r}")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"limit: expected a whole number >= 1, found {limit!r}")
    idx, pat = numbers.index, numbers.draft_patterns
    pid = pat.base_pid if pat.base_pid is not None else np.arange(len(pat))
    a_codes = pattern_tier_codes(idx.base, numbers.pub_rs)[pid]
    b_codes = pattern_tier_codes(pat, numbers.draft_rs)
    a_score = pattern_scores(idx.base, numbers.pub_rs)[0][pid]
    b_score = pattern_scores(pat, numbers.draft_rs)[0]
    sel = np.ones(len(pat), dtype=bool)
    if from_tier is None and to_tier is None:
        sel &= a_codes != b_codes
    if from_tier is not None:
        sel &= a_codes == TIERS.index(from_tier)
    if to_tier is not None:
        sel &= b_codes == TIERS.index(to_tier)
    # the draft pattern of an account = (its pid, the new degrees of the rules whose firing changed)
    changed = [r for k, r in enumerate(pat.rule_ids)
               if not np.array_equal(pat.degrees[:, k], idx.base.degrees[pid, k], equal_nan=True)]
    arrays = {"pid": pid[sel].astype(np.int64).tolist(),
              "from_tier": [TIERS[c] for c in a_codes[sel]], "to_tier": [TIERS[c] for c in b_codes[sel]],
              "from_score": a_score[sel].astype(float).tolist(), "to_score": b_score[sel].astype(float).tolist()}
    if not arrays["pid"]:
        return pd.DataFrame(columns=MOVER_COLUMNS)
    for r in changed:
        arrays["f_" + r] = pat.degrees[sel, pat.rule_ids.index(r)].astype(float).tolist()
    cols = ", ".join(f"unnest(?) AS {quote_ident('m_' + k)}" for k in arrays)
    on = " AND ".join(["f.pid = m.m_pid"] + [f"f.{quote_ident('f_' + r)} IS NOT DISTINCT FROM m.{quote_ident('m_f_' + r)}"
                                             for r in changed])
    with store.lock:
        fsql, params = index_firings_sql(store, idx, numbers.draft_rs, changed,
                                         attributes=("account_id", "account_name", "csm_owner", "value"))
        sql = (f"SELECT f.account_id, f.account_name, f.segment, f.csm_owner, f.value, m.m_from_tier AS from_tier, "
               f"m.m_to_tier AS to_tier, m.m_from_score AS from_score, m.m_to_score AS to_score, "
               f"m.m_to_score - m.m_from_score AS change\n"
               f"FROM ({fsql}) AS f JOIN (SELECT {cols}) AS m ON {on}\n"
               f"ORDER BY abs(m.m_to_score - m.m_from_score) DESC NULLS LAST, f.value DESC NULLS LAST, f.account_id\n"
               f"LIMIT ?")
        return store.df(sql, [*params, *arrays.values(), int(limit)])


class ScoredNumbers:
    """The same numbers from the per-account scored tables of draft and published, narrowed to `book`:
    when the draft's rules differ from the published ones (added, removed, re-signalled), which the
    pattern index cannot re-weight, and for a user restricted to a book (the index counts everyone)."""

    def __init__(self, store: Store, draft_table: str, pub_table: str, book: agg.Filters | None = None,
                 bins: int = 20):
        self.store, self.book = store, book
        self.draft_table, self.pub_table = draft_table, pub_table
        with store.lock:
            self.draft_tiers = agg.tier_summary(store, draft_table, filters=book)
            self.pub_tiers = agg.tier_summary(store, pub_table, filters=book)
            self.draft_hist = agg.score_histogram(store, draft_table, bins=bins, filters=book)
            self.pub_hist = agg.score_histogram(store, pub_table, bins=bins, filters=book)
            self.draft_quadrants = agg.quadrant_summary(store, draft_table, filters=book)
            self.pub_quadrants = agg.quadrant_summary(store, pub_table, filters=book)
            self.movement = agg.tier_movement(store, pub_table, draft_table, filters=book)

    def movers(self, from_tier: str | None = None, to_tier: str | None = None, limit: int = 200) -> pd.DataFrame:
        return agg.movers(self.store, self.pub_table, self.draft_table, from_tier=from_tier, to_tier=to_tier,
                          limit=limit, filters=self.book)


LiveNumbers = TuningNumbers | ScoredNumbers  # draft_tiers ... movement, and movers(from, to, limit)
