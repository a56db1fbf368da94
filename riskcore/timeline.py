"""History for the app's pages (PRODUCT.md §9): alerts up to a date, segment sizes and movement,
an account's timeline with one explanation per step, and the tables the Accounts filters need.

Built on riskcore.history and riskcore.segments; results are small (lists, frames of a few rows),
so the pages can cache them. Re-scored history scores the whole population once per date and
reuses those states for the chart and the explanations (history.explain would score each pair
again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from . import history as hist
from .db import Store, quote_ident, safe_table_name
from .rules import RuleSet
from .segments import STEADY, assign_segments, segments_df
from .signals import active_dates, signals_table

NEW, GONE = "(new)", "(gone)"


# ---- alerts -------------------------------------------------------------------------

def alert_dates(store: Store, rs: RuleSet, since: date, until: date,
                step_days: int = hist.RESCORE_STEP_DAYS) -> list[date]:
    """Weekly as-of dates ending at `until`, reaching back before `since` as far as the rule set's
    alerts look (history.rescore_dates, but ending at `until` rather than the latest activity date)."""
    first, last = active_dates(store)
    until = min(until, last)
    lookback = max([a.within_days or 0 for a in rs.alerts] + [step_days])
    start = max(first, since - timedelta(days=max(lookback, step_days)))
    out, d = [], until
    while d >= start:
        out.append(d)
        d -= timedelta(days=step_days)
    return sorted(out)


def alerts_until(rs: RuleSet, since: date, until: date, store: Store | None = None,
                 snapshots: str | Path | None = None) -> list[dict]:
    """history.alerts raised in [since, until]: over snapshots when given, else re-scored weekly
    ending at `until` (the same as history.alerts when `until` is the latest activity date)."""
    if not rs.alerts or since > until:
        return []
    if snapshots is not None:
        found = hist.alerts(rs, since, snapshots=snapshots)
    else:
        if store is None or store.dataset is None or store.dataset.kind != "activity":
            return []
        with store.lock:
            states = [hist.rescored_state(store, rs, d) for d in alert_dates(store, rs, since, until)]
        found = hist.evaluate_alerts(rs, states, since)
    return [a for a in found if a["date"] <= until.isoformat()]


def alerts_frame(found: list[dict], rs: RuleSet, names: dict[str, str] | None = None) -> pd.DataFrame:
    """The alerts as the Overview lists them, newest first: date, account_id, account, alert,
    change ('from → to'), cause ('customer' | 'rule-set change')."""
    labels = {a.id: a.label or a.id.replace("_", " ") for a in rs.alerts}
    names = names or {}
    rows = [{"date": date.fromisoformat(a["date"]), "account_id": a["account_id"],
             "account": names.get(a["account_id"], a["account_id"]),
             "alert": labels.get(a["alert"], a["alert"]),
             "change": f"{_fmt(a['from'])} → {_fmt(a['to'])}",
             "cause": "rule-set change" if a.get("cause") == "rule_set" else "customer"} for a in found]
    cols = ["date", "account_id", "account", "alert", "change", "cause"]
    frame = pd.DataFrame(rows, columns=cols)
    return frame.sort_values(["date", "account_id", "alert"], ascending=[False, True, True]).reset_index(drop=True)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.0f}" if v == int(v) else f"{v:.1f}"
    return str(v)


def alerts_table(store: Store, found: list[dict], out_table: str) -> str:
    """A table `out_table` (account_id, date) of the alerts, for aggregates' `alerted_since` filter."""
    name = safe_table_name(out_table)
    frame = pd.DataFrame({"account_id": pd.Series([a["account_id"] for a in found], dtype=str),
                          "date": pd.to_datetime(pd.Series([a["date"] for a in found], dtype=str)).dt.date})
    store.register_df(name, frame)
    return name


# ---- behavioural segments ---------------------------------------------------------------

def segment_order(rs: RuleSet) -> list[str]:
    """Segment ids in the rule set's order, then `steady`."""
    return [s.id for s in rs.behavior_segments] + [STEADY]


def segment_labels(rs: RuleSet) -> dict[str, str]:
    return {**{s.id: s.label or s.id.replace("_", " ") for s in rs.behavior_segments},
            STEADY: "Steady: none of the above"}


def segments_at(store: Store, rs: RuleSet, as_of: date, snapshots: str | Path | None = None) -> pd.DataFrame | None:
    """account_id, behavior_segment, value of every account at `as_of`: from the latest snapshot on or
    before it when a snapshot store is given, else assigned over the signals as of that date.
    None when there is nothing at that date (no snapshot yet, no activity then)."""
    if snapshots is not None:
        snaps = hist.SnapshotStore(snapshots)
        chosen = hist.choose_snapshots(snaps.index(), rs)
        before = chosen[chosen["snapshot_date"] <= as_of] if not chosen.empty else chosen
        if before.empty:
            return None
        row = before.iloc[-1]
        rows = snaps.rows([(row["snapshot_date"], row["ruleset_hash"])])
        return pd.DataFrame({"account_id": rows["account_id"].astype(str),
                             "behavior_segment": rows["behavior_segment"].fillna(STEADY),
                             "value": pd.to_numeric(rows["value"], errors="coerce")})
    with store.lock:
        sig = signals_table(store, as_of)
        segs = segments_df(store, rs, sig)
        value_col = "arr" if "arr" in store.columns(sig) else None
        values = store.df(f"SELECT CAST(account_id AS VARCHAR) AS account_id, "
                          f"{quote_ident(value_col) if value_col else 'NULL'} AS value FROM {quote_ident(sig)}")
    if segs.empty:
        return None
    return segs.merge(values, on="account_id", how="left")


def segment_sizes(now: pd.DataFrame, rs: RuleSet) -> pd.DataFrame:
    """segment, label, accounts, value (ARR), share of accounts: one row per segment (empty ones too)."""
    g = now.groupby("behavior_segment").agg(accounts=("account_id", "size"), value=("value", "sum"))
    order = segment_order(rs) + sorted(set(g.index) - set(segment_order(rs)))
    g = g.reindex(order).fillna({"accounts": 0, "value": 0.0})
    g["accounts"] = g["accounts"].astype("int64")
    total = int(g["accounts"].sum())
    labels = segment_labels(rs)
    out = g.reset_index().rename(columns={"behavior_segment": "segment"})
    out.insert(1, "label", out["segment"].map(lambda s: labels.get(s, s)))
    out["share"] = out["accounts"] / total if total else 0.0
    return out


def segment_movement(before: pd.DataFrame, now: pd.DataFrame, rs: RuleSet) -> pd.DataFrame:
    """Accounts by segment before (rows) x segment now (columns); accounts that were not there
    before come from '(new)', those no longer there go to '(gone)'."""
    j = before[["account_id", "behavior_segment"]].merge(
        now[["account_id", "behavior_segment"]], on="account_id", how="outer", suffixes=("_from", "_to"))
    j["behavior_segment_from"] = j["behavior_segment_from"].fillna(NEW)
    j["behavior_segment_to"] = j["behavior_segment_to"].fillna(GONE)
    order = segment_order(rs)
    extra = sorted((set(j["behavior_segment_from"]) | set(j["behavior_segment_to"])) - set(order) - {NEW, GONE})
    m = pd.crosstab(j["behavior_segment_from"], j["behavior_segment_to"])
    rows = [s for s in order + extra + [NEW] if s in m.index or s in order]
    cols = [s for s in order + extra + [GONE] if s in m.columns or s in order]
    m = m.reindex(index=rows, columns=cols, fill_value=0).astype("int64")
    m.index.name, m.columns.name = "from", "to"
    return m


def moved(matrix: pd.DataFrame) -> int:
    """How many accounts changed segment (new and gone accounts not counted)."""
    inner = [s for s in matrix.index if s != NEW]
    return int(sum(matrix.loc[a, b] for a in inner for b in matrix.columns if b not in (a, GONE)))


def with_segments(store: Store, scored: str, rs: RuleSet, as_of: date, out_table: str,
                  keep: tuple[str, ...] = ()) -> str:
    """A copy `out_table` of the scored table with a `behavior_segment` column (as of `as_of`), optionally
    only the accounts whose segment is in `keep`; the Accounts page lists and filters it like the scored
    table. (The engine keeps these tables; this function only builds one.)"""
    out = safe_table_name(out_table)
    whole = safe_table_name(f"{out}_all") if keep else out
    with store.lock:
        segs = assign_segments(store, rs, signals_table(store, as_of), out_table=f"{out}_seg")
        store.execute(f"CREATE OR REPLACE TABLE {quote_ident(whole)} AS SELECT s.*, "
                      f"COALESCE(b.behavior_segment, ?) AS behavior_segment "
                      f"FROM {quote_ident(safe_table_name(scored))} s "
                      f"LEFT JOIN {quote_ident(segs)} b ON b.account_id = CAST(s.account_id AS VARCHAR)",
                      [STEADY])
        store.execute(f"DROP TABLE IF EXISTS {quote_ident(segs)}")
        if keep:
            only_segments(store, whole, keep, out)
            store.execute(f"DROP TABLE IF EXISTS {quote_ident(whole)}")
    return out


def only_segments(store: Store, table: str, keep: tuple[str, ...], out_table: str) -> str:
    """The rows of a `with_segments` table whose behavioural segment is in `keep`, as `out_table`."""
    out = safe_table_name(out_table)
    marks = ", ".join("?" for _ in keep)
    store.execute(f"CREATE OR REPLACE TABLE {quote_ident(out)} AS SELECT * FROM "
                  f"{quote_ident(safe_table_name(table))} WHERE behavior_segment IN ({marks})", list(keep))
    return out


# ---- an account's timeline ----------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """What changed for one account between two consecutive points of its history."""

    from_date: date
    to_date: date
    rule_set_changed: bool
    scores: dict[str, tuple[float, float]]  # dimension -> (from, to)
    sentences: dict[str, list[str]]          # dimension -> history.change_sentences


@dataclass(frozen=True)
class Timeline:
    history: pd.DataFrame  # history.account_history's columns
    steps: tuple[Step, ...]
    source: str  # snapshots | rescored | none


def account_timeline(account_id: str, rs: RuleSet, dates: list[date], store: Store | None = None,
                     snapshots: str | Path | None = None) -> Timeline:
    """An account's score history and, per consecutive pair of points, the explanation of the change.

    From the snapshots in [min(dates), max(dates)] when a snapshot store is given (history.explain
    per pair, with first-seen dates and rule-set changes), else re-scored at `dates` once each.
    """
    account_id = str(account_id)
    if snapshots is not None and Path(snapshots).exists():
        frame = hist.account_history(account_id, rs, snapshots=snapshots)
        if not frame.empty:
            frame = frame[(frame["date"] >= min(dates)) & (frame["date"] <= max(dates))].reset_index(drop=True)
        steps = []
        for i in range(1, len(frame)):
            d1, d2 = frame["date"].iloc[i - 1], frame["date"].iloc[i]
            steps.append(_step(hist.explain(account_id, d1, d2, rs, snapshots=snapshots)))
        return Timeline(frame, tuple(steps), "snapshots")
    if store is None or store.dataset is None or store.dataset.kind != "activity" or not dates:
        return Timeline(pd.DataFrame(), (), "none")
    with store.lock:
        states = [hist.rescored_state(store, rs, d) for d in sorted(set(dates))]
    frame = hist.history_frame(states, account_id)
    present = [s for s in states if account_id in s.rows.index]
    steps = tuple(_step(explain_states(a, b, account_id)) for a, b in zip(present, present[1:]))
    return Timeline(frame, steps, "rescored")


def _step(result: dict) -> Step:
    dims = result["dimensions"]
    return Step(date.fromisoformat(result["from_date"]), date.fromisoformat(result["to_date"]),
                result["rule_set_changed"], {d: (v["from"], v["to"]) for d, v in dims.items()},
                {d: hist.change_sentences(result, d) for d in dims})


def explain_states(a: hist.State, b: hist.State, account_id: str) -> dict:
    """history.explain's result for two re-scored states already in hand ('seen' is the later date)."""
    return hist.explain_states(a, b, account_id)


def step_heading(step: Step, dimension: str) -> str | None:
    """'31 Aug → 30 Sep 2026: churn 10 → 70 (+60)' (and 'rule set changed'); None when the
    dimension neither moved nor has parts to explain."""
    f, t = step.scores.get(dimension, (None, None))
    if f is None or (f == t and not step.sentences.get(dimension)):
        return None
    head = f"{step.from_date:%d %b} → {step.to_date:%d %b %Y}: {dimension} {f:g} → {t:g} ({t - f:+g})"
    return head + (" · rule set changed" if step.rule_set_changed else "")


# ---- small helpers for the pages ------------------------------------------------------------

def account_names(store: Store, table: str, ids: list[str]) -> dict[str, str]:
    """account_id -> account_name for the given ids (those present in `table`)."""
    if not ids:
        return {}
    frame = store.df(f"SELECT account_id, account_name FROM {quote_ident(safe_table_name(table))} "
                     "WHERE list_contains(?, CAST(account_id AS VARCHAR))", [sorted(set(map(str, ids)))])
    return {str(a): (n if isinstance(n, str) and n else str(a)) for a, n in zip(frame["account_id"], frame["account_name"])}


def snapshots_version(path: str | Path | None) -> str:
    """A cache key that changes when snapshots are written: '' when there is no store at `path`."""
    if not path:
        return ""
    p = Path(path)
    if not p.exists():
        return ""
    files = [p] + (list(p.glob("snapshot_*.parquet")) if p.is_dir() else [])
    return f"{p}|{max(f.stat().st_mtime_ns for f in files)}|{len(files)}"
