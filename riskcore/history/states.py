"""Accounts' states at dates, from snapshots or re-scored activity, and what a rule contributes in one:
fired rules, effective points after overrides, a rule's definition, B's degrees under A's rule set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..db import Store
from ..rules import RuleSet, content_hash
from ..signals import active_dates
from .snapshots import SnapshotStore, choose_snapshots, snapshot_frame
from .storefile import HistoryError

RESCORE_STEP_DAYS = 7  # cadence of re-scored history (the weekly refresh)


@dataclass(frozen=True)
class State:
    """Snapshot rows of one date under one rule set (from a store, or re-scored)."""

    date: date
    rules: RuleSet
    ruleset_hash: str
    rows: pd.DataFrame  # one row per account (snapshot columns), indexed by account_id
    source: str  # "snapshot" | "rescored"


def make_state(rows: pd.DataFrame, d: date, rules: RuleSet, h: str, source: str) -> State:
    rows = rows.copy()
    rows["account_id"] = rows["account_id"].astype(str)
    return State(d, rules, h, rows.set_index("account_id", drop=False), source)


def rescored_state(store: Store, rs: RuleSet, as_of: date) -> State:
    """Score the loaded activity tables as of a date and hold the rows like a snapshot's."""
    frame = snapshot_frame(store, rs, as_of).to_pandas()
    return make_state(frame, as_of, rs, content_hash(rs), "rescored")


def fired_rules(row: pd.Series | None) -> dict[str, dict]:
    if row is None:
        return {}
    items = row["fired"]
    if items is None or (isinstance(items, float) and np.isnan(items)):
        return {}
    return {x["rule_id"]: x for x in items}


def rule_definition(rs: RuleSet, rule_id: str) -> tuple | None:
    """What decides a rule's degree (not its points): equal definitions give equal degrees."""
    try:
        r = rs.rule(rule_id)
    except KeyError:
        return None
    return r.firing_key(), rs.threshold_overrides(rule_id)


def effective_points(rs: RuleSet, rule_id: str, segment: Any, stage: Any) -> Fraction:
    """Points of a rule for an account of this segment and stage under `rs` (0: absent or disabled)."""
    try:
        r = rs.rule(rule_id)
    except KeyError:
        return Fraction(0)
    if not r.enabled:
        return Fraction(0)
    pts = r.points
    for o in rs.overrides:  # later overrides win, as in scoring
        if o.rule == rule_id and o.points is not None and (
                (o.segment is not None and o.segment == segment) or (o.stage is not None and o.stage == stage)):
            pts = o.points
    return Fraction(pts)


def account_context(row: pd.Series | None) -> tuple[Any, Any]:
    if row is None:
        return None, None
    seg, stage = row.get("segment"), row.get("stage")
    return (None if pd.isna(seg) else seg), (None if pd.isna(stage) else stage)


def rule_dimension(rs: RuleSet, rule_id: str) -> str | None:
    try:
        return rs.rule(rule_id).dimension
    except KeyError:
        return None


def counterfactual_degrees(a: State, b: State, fa: dict, fb: dict) -> dict[str, Fraction]:
    """Degrees of B's customer under RA (B'); redefined rules keep A's degree (see module doc)."""
    out = {}
    for r in a.rules.rules:
        da = Fraction(fa[r.id]["degree"]) if r.id in fa else Fraction(0)
        db = Fraction(fb[r.id]["degree"]) if r.id in fb else Fraction(0)
        same = a.ruleset_hash == b.ruleset_hash or rule_definition(a.rules, r.id) == rule_definition(b.rules, r.id)
        out[r.id] = db if same else da
    return out


def states_from_snapshots(path: str | Path, dates: list[date], rules: RuleSet | None,
                           account_id: str | None = None) -> list[State]:
    """For each requested date, the latest snapshot on or before it (one per date, see choose_snapshots)."""
    snaps = SnapshotStore(path)
    chosen = choose_snapshots(snaps.index(), rules)
    if chosen.empty:
        raise HistoryError(f"{path}: no snapshots stored yet (create them with `python -m riskcore snapshot`)")
    keys = []
    for d in dates:
        before = chosen[chosen["snapshot_date"] <= d]
        if before.empty:
            raise HistoryError(f"{path}: no snapshot on or before {d} (the first is {chosen['snapshot_date'].iloc[0]})")
        row = before.iloc[-1]
        keys.append((row["snapshot_date"], row["ruleset_hash"]))
    frame = snaps.rows(list(dict.fromkeys(keys)), account_id=account_id)
    rulesets: dict[str, RuleSet] = {}
    out = []
    for d, h in keys:
        if h not in rulesets:
            rulesets[h] = snaps.ruleset(h)
        rows = frame[(frame["snapshot_date"] == d) & (frame["ruleset_hash"] == h)] if not frame.empty else frame
        out.append(make_state(rows if not rows.empty else _empty_rows(), d, rulesets[h], h, "snapshot"))
    return out


def _empty_rows() -> pd.DataFrame:
    return pd.DataFrame({"account_id": pd.Series([], dtype=str), "fired": pd.Series([], dtype=object)})


def history_source(store: Store | None, snapshots: str | Path | None) -> str:
    if snapshots is not None:
        return "snapshots"
    if store is None:
        raise HistoryError("give a snapshot store (--store) or activity tables (--data)")
    if store.dataset is None or store.dataset.kind != "activity":
        raise HistoryError("an account table has no dates to re-score: build a history with "
                           "`python -m riskcore snapshot --as-of DATE` and pass --store")
    return "rescored"


def rescore_dates(store: Store, since: date, lookback_days: int = RESCORE_STEP_DAYS,
                  step_days: int = RESCORE_STEP_DAYS) -> list[date]:
    """Weekly as-of dates ending at the latest activity date, reaching `lookback_days` before `since`."""
    first, last = active_dates(store)
    if since > last:
        raise HistoryError(f"--since {since} is after the latest activity date {last}")
    start = max(first, since - timedelta(days=max(lookback_days, step_days)))
    dates, d = [], last
    while d >= start:
        dates.append(d)
        d -= timedelta(days=step_days)
    return sorted(dates)
