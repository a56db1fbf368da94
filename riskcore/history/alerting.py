"""Alerts (PRODUCT.md §9): a rule set's alerts evaluated over a date-ordered history of states, each
marked as caused by the customer or by a rule-set change (B scored with A's rule set, B')."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..db import Store
from ..rules import QUADRANTS, TIERS, RuleSet
from .snapshots import SnapshotStore, choose_snapshots
from .states import (RESCORE_STEP_DAYS, State, account_context, counterfactual_degrees, effective_points, fired_rules,
                     history_source, rescore_dates, rescored_state, states_from_snapshots)
from .storefile import HistoryError

TIER_RANK = {t: i for i, t in enumerate(TIERS)}  # low 0, medium 1, high 2
LOW, MEDIUM, HIGH = TIERS
SAVE, EXPAND, MAINTAIN, TRIAGE = QUADRANTS  # high value x high risk, x low risk; low x low, low x high


def _counterfactual(a: State, b: State) -> pd.DataFrame:
    """B's accounts scored with A's rule set (B'): <dim>_score, <dim>_tier, quadrant, behavior_segment."""
    ra = a.rules
    recs = []
    for acc, row in b.rows.iterrows():
        fa = fired_rules(a.rows.loc[acc]) if acc in a.rows.index else {}
        fb = fired_rules(row)
        cf = counterfactual_degrees(a, b, fa, fb)
        ctx = account_context(row)
        rec: dict[str, Any] = {"account_id": acc}
        for d in ra.dimensions:
            total, groups = Fraction(0), set()
            for r in ra.rules:
                if r.dimension != d:
                    continue
                c = effective_points(ra, r.id, *ctx) * cf.get(r.id, Fraction(0))
                total += c
                if c > 0:
                    groups.add(r.group)
            rec[f"{d}_score"] = float(min(Fraction(100), total))
            rec[f"{d}_groups"] = len(groups)
        recs.append(rec)
    out = pd.DataFrame(recs).set_index("account_id", drop=False) if recs else pd.DataFrame()
    if out.empty:
        return out
    for d in ra.dimensions:
        m, h, mode = ra.tiers.cuts(d)
        s = out[f"{d}_score"].to_numpy(dtype=float)
        if mode == "percentile":
            m, h = np.quantile(s, m / 100.0), np.quantile(s, h / 100.0)
            pos = s > 0
        else:
            pos = np.ones(len(s), dtype=bool)
        fus = out[f"{d}_groups"].to_numpy() >= ra.fusion.min_groups if ra.fusion.enabled else np.ones(len(s), bool)
        out[f"{d}_tier"] = np.where((s >= h) & pos & fus, HIGH, np.where((s >= m) & pos, MEDIUM, LOW))
    prim = ra.primary_dimension
    value = pd.to_numeric(b.rows["value"], errors="coerce").reindex(out.index)
    cut = value.median() if ra.quadrant.value_cutoff == "median" else float(ra.quadrant.value_cutoff)
    high_value = (value >= cut).fillna(False).to_numpy()
    if ra.quadrant.tied_to_tier:  # risk_cutoff = "high_tier": the risk line is the high tier
        high_risk = (out[f"{prim}_tier"] == HIGH).to_numpy()
    else:
        high_risk = out[f"{prim}_score"].to_numpy() >= float(ra.quadrant.risk_cutoff)
        if ra.fusion.enabled:
            high_risk &= out[f"{prim}_groups"].to_numpy() >= ra.fusion.min_groups
    out["quadrant"] = np.where(high_value, np.where(high_risk, SAVE, EXPAND),
                               np.where(high_risk, TRIAGE, MAINTAIN))
    if ra.behavior_segments == b.rules.behavior_segments:
        out["behavior_segment"] = b.rows["behavior_segment"].reindex(out.index)
    else:  # unknown under A's definitions: keep A's segment (a redefinition is not a customer change)
        prev = a.rows["behavior_segment"] if "behavior_segment" in a.rows.columns else pd.Series(dtype=object)
        out["behavior_segment"] = prev.reindex(out.index)
    return out


def _get(frame: pd.DataFrame, acc: str, col: str) -> Any:
    if acc not in frame.index or col not in frame.columns:
        return None
    v = frame.loc[acc, col]
    return None if pd.isna(v) else v


def _fires(alert, before: Any, after: Any) -> bool:
    if before is None or after is None:
        return False
    if alert.kind == "score_rise":
        return float(after) - float(before) >= float(alert.points)
    if alert.kind == "tier_worse":
        return TIER_RANK.get(str(after), -1) > TIER_RANK.get(str(before), -1)
    if alert.kind == "entered_quadrant":
        q = alert.quadrant.lower()
        return str(after).lower() == q and str(before).lower() != q
    return str(after) != str(before)  # segment_change


def _column(alert, rs: RuleSet) -> str:
    if alert.kind in ("score_rise", "tier_worse"):
        d = alert.dimension or rs.primary_dimension
        return f"{d}_score" if alert.kind == "score_rise" else f"{d}_tier"
    return "quadrant" if alert.kind == "entered_quadrant" else "behavior_segment"


def evaluate_alerts(rs: RuleSet, states: list[State], since: date) -> list[dict]:
    """Alerts of `rs` over a date-ordered history of states, dated on or after `since`.

    score_rise fires at a state whose score rose since the previous one, comparing every earlier
    state at most `within_days` before (the previous one when within_days is not set); it reports the
    largest rise (on a tie, from the most recent state). The other kinds compare consecutive states.
    Accounts absent from the earlier state raise nothing. `cause` is "rule_set" when the condition
    does not hold once B is scored with A's rule set (the move comes from the version), else "customer".
    """
    out: list[dict] = []
    cf_cache: dict[tuple[int, int], pd.DataFrame] = {}

    def cf(i: int, j: int) -> pd.DataFrame | None:
        if states[i].ruleset_hash == states[j].ruleset_hash:
            return None
        if (i, j) not in cf_cache:
            cf_cache[(i, j)] = _counterfactual(states[i], states[j])
        return cf_cache[(i, j)]

    for j, b in enumerate(states):
        if b.date < since or j == 0:
            continue
        for alert in rs.alerts:
            col = _column(alert, rs)
            if alert.kind == "score_rise" and alert.within_days:
                earlier = [i for i in range(j) if (b.date - states[i].date).days <= alert.within_days]
            else:
                earlier = [j - 1]
            for acc in b.rows.index:
                after = _get(b.rows, acc, col)
                if alert.kind == "score_rise":  # a shift happens at j only when the score rose at j
                    prev = _get(states[j - 1].rows, acc, col)
                    if prev is None or after is None or float(after) <= float(prev):
                        continue
                best = None
                for i in earlier:
                    before = _get(states[i].rows, acc, col)
                    if not _fires(alert, before, after):
                        continue
                    rise = float(after) - float(before) if alert.kind == "score_rise" else 0.0
                    if best is None or rise >= best[0]:  # ties: the most recent earlier state
                        best = (rise, i, before, after)
                if best is None:
                    continue
                _, i, before, after = best
                counter = cf(i, j)
                cause = "customer"
                if counter is not None and not _fires(alert, before, _get(counter, acc, col)):
                    cause = "rule_set"
                rec = {"account_id": acc, "alert": alert.id, "kind": alert.kind, "date": b.date.isoformat(),
                       "from": _plain(before), "to": _plain(after), "from_date": states[i].date.isoformat(),
                       "cause": cause}
                if alert.label:
                    rec["label"] = alert.label
                out.append(rec)
    out.sort(key=lambda r: (r["date"], r["account_id"], r["alert"]))
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v == int(v):
        return int(v)
    return v


def alerts(rs: RuleSet, since: date, store: Store | None = None, snapshots: str | Path | None = None) -> list[dict]:
    """Alerts ({account_id, alert, date, from, to, cause, ...}) raised on or after `since`.

    Over the stored snapshots (one per date, see choose_snapshots) or, without snapshots, over a
    weekly re-scored history of the activity tables in `store`.
    """
    if not rs.alerts:
        return []
    lookback = max([a.within_days or 0 for a in rs.alerts] + [RESCORE_STEP_DAYS])
    source = history_source(store, snapshots)
    if source == "snapshots":
        chosen = choose_snapshots(SnapshotStore(snapshots).index(), rs)
        if chosen.empty:
            raise HistoryError(f"{snapshots}: no snapshots stored yet")
        dates = list(chosen["snapshot_date"])
        after = [d for d in dates if d >= since]
        if not after:
            return []
        k = dates.index(after[0])
        start = min(dates[max(k - 1, 0)], since - timedelta(days=lookback))
        states = states_from_snapshots(snapshots, [d for d in dates if d >= start], rs)
    else:
        states = [rescored_state(store, rs, d) for d in rescore_dates(store, since, lookback)]
    return evaluate_alerts(rs, states, since)


def format_alerts(found: list[dict]) -> str:
    """Plain-text list of alerts for the terminal."""
    if not found:
        return "no alerts"
    lines = []
    for a in found:
        note = "  [rule-set change, not the customer]" if a.get("cause") == "rule_set" else ""
        lines.append(f"{a['date']}  {a['account_id']}  {a['alert']}: {a['from']} -> {a['to']} "
                     f"(since {a['from_date']}){note}")
    n_rs = sum(a.get("cause") == "rule_set" for a in found)
    lines.append(f"{len(found):,} alert(s), {n_rs:,} caused by a rule-set change")
    return "\n".join(lines)
