"""The account view's history: one account's scores, tiers and quadrant over time, from snapshots where
they exist and re-scored activity at the other dates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from ..db import Store
from ..rules import RuleSet
from .snapshots import SnapshotStore, choose_snapshots
from .states import State, rescored_state, states_from_snapshots


def score_history(store: Store, rs: RuleSet, account_id: str, dates: list[date]) -> pd.DataFrame:
    """One account re-scored as of each date (the whole population is scored: percentiles, median)."""
    states = [rescored_state(store, rs, d) for d in sorted(dates)]
    return history_frame(states, str(account_id))


def history_frame(states: list[State], account_id: str) -> pd.DataFrame:
    """One account's points of these states, in `account_history`'s columns (absent ones skipped)."""
    recs = []
    prev_hash = None
    for s in states:
        if account_id not in s.rows.index:
            continue
        row = s.rows.loc[account_id]
        rec = {"date": s.date, "source": s.source, "ruleset_name": s.rules.name, "ruleset_hash": s.ruleset_hash,
               "rule_set_changed": prev_hash is not None and prev_hash != s.ruleset_hash}
        for d in s.rules.dimensions:
            rec[f"{d}_score"], rec[f"{d}_tier"] = row.get(f"{d}_score"), row.get(f"{d}_tier")
        for c in ("risk_score", "tier", "quadrant", "behavior_segment"):
            rec[c] = row.get(c)
        recs.append(rec)
        prev_hash = s.ruleset_hash
    return pd.DataFrame(recs)


def account_history(account_id: str, rules: RuleSet, store: Store | None = None,
                    snapshots: str | Path | None = None, dates: list[date] | None = None) -> pd.DataFrame:
    """The account view's history: snapshots where they exist, re-scored activity at the other `dates`.

    Columns: date, source (snapshot | rescored), ruleset_name, ruleset_hash, rule_set_changed (a marker
    for the chart), <dim>_score/<dim>_tier, risk_score, tier, quadrant, behavior_segment.
    """
    states: list[State] = []
    have: set[date] = set()
    if snapshots is not None and Path(snapshots).exists():
        chosen = choose_snapshots(SnapshotStore(snapshots).index(), rules)
        if not chosen.empty:
            states = states_from_snapshots(snapshots, list(chosen["snapshot_date"]), rules, str(account_id))
            have = {s.date for s in states}
    if store is not None and store.dataset is not None and store.dataset.kind == "activity" and dates:
        states += [rescored_state(store, rules, d) for d in dates if d not in have]
    states.sort(key=lambda s: s.date)
    return history_frame(states, str(account_id))
