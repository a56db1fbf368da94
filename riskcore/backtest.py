"""Point-in-time backtests: score accounts as of D with signals as of D, compare with churn in (D, D+H]."""

from __future__ import annotations

from dataclasses import dataclass
import uuid
from datetime import date, timedelta

import numpy as np
import pandas as pd

from .db import Store
from .rules import RuleSet, with_points

TIERS = ("low", "medium", "high")


@dataclass(frozen=True)
class Window:
    """One backtest window: scores as of `as_of`, outcome = churned in (as_of, as_of + horizon]."""

    as_of: date | None
    horizon_days: int


def _is_activity(store: Store) -> bool:
    return store.dataset is not None and store.dataset.kind == "activity"


def default_windows(store: Store, horizon_days: int, as_of: date | None = None,
                    train_as_of: date | None = None) -> tuple[Window, Window]:
    """The evaluation window ends at the last data date; the training one ends before it starts."""
    from .signals import active_dates
    first, last = active_dates(store)
    test = as_of or (last - timedelta(days=horizon_days))
    train = train_as_of or (test - timedelta(days=horizon_days))
    if train + timedelta(days=horizon_days) > test:
        raise ValueError(f"--train-as-of {train} overlaps the evaluation window starting {test}: "
                         f"expected a date on or before {test - timedelta(days=horizon_days)}")
    if train <= first:
        raise ValueError(f"not enough history before {test} for an out-of-time window (data starts {first})")
    return Window(train, horizon_days), Window(test, horizon_days)


def scored_frame(store: Store, rs: RuleSet, window: Window, table_tag: str = "bt") -> pd.DataFrame:
    """Scores, tiers, rule firings and outcome for every account active at the window's date."""
    from .scoring import firings, score
    from .signals import outcomes, signals_table

    sig = signals_table(store, window.as_of or date.today())
    # A private table name per call: sessions sharing one store never overwrite each other's.
    tag = f"{table_tag}_{uuid.uuid4().hex[:10]}"
    scored = score(store, rs, sig, out_table=f"{tag}_scores")
    fired = f"{tag}_scores_firings"
    try:
        dims = [f"{d}_score" for d in rs.dimensions] + [f"{d}_tier" for d in rs.dimensions]
        frame = store.df(f"SELECT account_id, segment, value, risk_score, tier, {', '.join(dims)} "
                         f"FROM {scored} ORDER BY account_id")
        fcols = [c for c in store.columns(fired) if c.startswith("f_")]
        if fcols:
            f = store.df(f"SELECT account_id, {', '.join(fcols)} FROM {fired}")
            frame = frame.merge(f, on="account_id", how="left")
    finally:
        for t in (scored, fired, f"{tag}_scores_playbooks"):
            store.execute(f"DROP TABLE IF EXISTS {t}")
    numeric = _signal_matrix(store, sig)
    frame = frame.merge(numeric, on="account_id", how="left", suffixes=("", "_sig"))
    if _is_activity(store):
        out = outcomes(store, window.as_of, window.horizon_days)
        frame = frame.merge(out[["account_id", "churned"]], on="account_id", how="left")
    else:
        if "churned" not in store.columns(sig):
            raise ValueError("the account table has no outcome column mapped: a backtest needs one "
                             "(map it on the Data page or with --outcome-column)")
        out = store.df(f"SELECT account_id, churned FROM {sig}")
        frame = frame.merge(out, on="account_id", how="left")
        frame = frame[frame["churned"].notna()]
    frame["churned"] = frame["churned"].fillna(False).astype(bool)
    return frame.reset_index(drop=True)


def _signal_matrix(store: Store, table: str) -> pd.DataFrame:
    """Numeric signal columns (the baselines' features), prefixed `x_`."""
    from .db import quote_ident
    skip = {"account_id", "arr", "value", "seats", "churned"}
    mapping = store.dataset.mapping if store.dataset is not None else None
    if mapping is not None and mapping.outcome_column:
        skip.add(mapping.outcome_column)  # the outcome itself is never a feature
    types = store.column_types(table)
    num = [c for c, t in types.items() if c not in skip and (
        t.startswith(("DOUBLE", "FLOAT", "INTEGER", "BIGINT", "DECIMAL", "SMALLINT", "HUGEINT", "TINYINT",
                      "UBIGINT", "UINTEGER", "BOOLEAN")))]
    if not num:
        return store.df(f"SELECT account_id FROM {table}")
    cols = ", ".join(f"CAST({quote_ident(c)} AS DOUBLE) AS {quote_ident('x_' + c)}" for c in num)
    return store.df(f"SELECT account_id, {cols} FROM {table}")


def evaluate(frame: pd.DataFrame, prob: np.ndarray | None = None) -> dict:
    """All metrics of one scored frame with outcomes (score = risk_score, tiers = tier)."""
    from .metrics import (gain_curve, high_tier_confusion, lift_top_decile, rate_by_bin, rate_by_tier,
                          roc_points, summary_metrics)
    from .calibration import reliability

    s = frame["risk_score"].to_numpy(dtype=float)
    y = frame["churned"].to_numpy(dtype=int)
    tiers = frame["tier"].to_numpy()
    result = summary_metrics(s, y, prob=prob, tiers=tiers)
    result["tiers"] = [dict(t, churn_rate=t["rate"]) for t in _records(rate_by_tier(tiers, y))]
    result["high_tier"] = high_tier_confusion(tiers, y)
    result["score_bins"] = _records(rate_by_bin(s, y, bins=10))
    result["lift_top_decile"] = lift_top_decile(s, y)
    result["roc"] = roc_points(s, y) if len(set(y)) > 1 else None
    result["gain"] = gain_curve(s, y) if len(set(y)) > 1 else None
    if prob is not None:
        result["calibration"] = _records(reliability(prob, y, bins=10))
    return result


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: (None if (isinstance(v, float) and np.isnan(v)) else (v.item() if hasattr(v, "item") else v))
             for k, v in row.items()} for row in df.to_dict("records")]


def run_backtest(store: Store, rs: RuleSet, as_of: date | None = None, horizon_days: int = 90,
                 train_as_of: date | None = None, method: str = "platt") -> dict:
    """Out-of-time backtest: fit the score-to-probability mapping and baselines on an earlier
    window, evaluate everything on the later one. For an account table (no dates) this is the
    plain comparison of score and outcome, with the mapping fitted on a seeded half of the rows."""
    from .calibration import fit_mapping
    from .fitting import baselines

    if _is_activity(store):
        train_w, test_w = default_windows(store, horizon_days, as_of, train_as_of)
        train = scored_frame(store, rs, train_w, "bt_train")
        test = scored_frame(store, rs, test_w, "bt_test")
        mode, note = "point_in_time", (
            f"scores as of {test_w.as_of}, churn in the next {horizon_days} days; probability mapping "
            f"and baselines fitted as of {train_w.as_of} (out of time)")
    else:
        frame = scored_frame(store, rs, Window(None, horizon_days), "bt_all")
        rng = np.random.default_rng(0)
        mask = rng.random(len(frame)) < 0.5
        train, test = frame[mask].reset_index(drop=True), frame[~mask].reset_index(drop=True)
        mode, note = "plain_outcome", ("the account table has an outcome but no dates: this is the plain "
                                      "comparison of score and outcome (not point in time); the probability "
                                      "mapping and baselines are fitted on a random half, evaluated on the other")
    if len(test) == 0:
        raise ValueError("no accounts to evaluate in the backtest window")
    prob = None
    mapping = None
    if train["churned"].nunique() == 2:
        mapping = fit_mapping(train["risk_score"].to_numpy(float), train["churned"].to_numpy(int), method=method)
        prob = mapping.predict(test["risk_score"].to_numpy(float))
    result = {"mode": mode, "note": note, "horizon_days": horizon_days,
              "as_of": str(test_w.as_of) if mode == "point_in_time" else None,
              "train_as_of": str(train_w.as_of) if mode == "point_in_time" else None,
              "rule_set": rs.name}
    result.update(evaluate(test, prob))
    result["mapping"] = mapping.to_dict() if mapping is not None else None
    by_seg = {}
    for seg, part in test.groupby("segment", dropna=False):
        p = prob[part.index.to_numpy()] if prob is not None else None
        from .metrics import summary_metrics
        by_seg[str(seg)] = summary_metrics(part["risk_score"].to_numpy(float), part["churned"].to_numpy(int),
                                           prob=p, tiers=part["tier"].to_numpy())
    result["by_segment"] = by_seg
    xcols = [c for c in train.columns if c.startswith("x_")]
    if xcols and train["churned"].nunique() == 2 and test["churned"].nunique() == 2:
        result["baselines"] = baselines(train[xcols], train["churned"].to_numpy(int),
                                        test[xcols], test["churned"].to_numpy(int))
    else:
        result["baselines"] = None
    return result


def training_dates(test_as_of: date, horizon_days: int, windows: int = 12, step_days: int = 30) -> list[date]:
    """As-of dates for pooled training: monthly steps back from the last date whose outcome
    window closes before the evaluation date (so nothing is learnt from the test period)."""
    last = test_as_of - timedelta(days=horizon_days)
    return [last - timedelta(days=step_days * k) for k in range(windows)][::-1]


def pooled_frame(store: Store, rs: RuleSet, dates: list[date], horizon_days: int, tag: str = "pool") -> pd.DataFrame:
    """Scored frames of several as-of dates stacked (an account appears once per date)."""
    from .signals import active_dates
    first, _ = active_dates(store)
    parts = []
    for d in dates:
        if d <= first:
            continue
        part = scored_frame(store, rs, Window(d, horizon_days), tag)
        part.insert(1, "as_of", d)
        parts.append(part)
    if not parts:
        raise ValueError(f"no history before {dates[-1] if dates else '?'} to learn from")
    return pd.concat(parts, ignore_index=True)


def fit_rules(store: Store, rs: RuleSet, as_of: date | None = None, horizon_days: int = 90,
              nonneg: bool = True, windows: int = 12,
              renewing_only: bool = False) -> tuple[RuleSet, dict]:
    """Suggested weights: points of the primary dimension's rules fitted by logistic regression on
    their firings, pooled over monthly as-of dates before the evaluation window, then compared out
    of time with the current weights on the evaluation window."""
    from .fitting import suggest_points
    from .metrics import summary_metrics

    if _is_activity(store):
        _, test_w = default_windows(store, horizon_days, as_of)
        train = pooled_frame(store, rs, training_dates(test_w.as_of, horizon_days, windows), horizon_days, "fit_train")
        test = scored_frame(store, rs, test_w, "fit_test")
    else:
        test_w = Window(None, horizon_days)
        frame = scored_frame(store, rs, test_w, "fit_all")
        mask = np.random.default_rng(0).random(len(frame)) < 0.5
        train, test = frame[mask], frame[~mask]
    dim = rs.primary_dimension
    rule_ids = [r.id for r in rs.rules if r.enabled and r.dimension == dim and f"f_{r.id}" in train.columns]
    if not rule_ids or train["churned"].nunique() < 2:
        raise ValueError("cannot fit weights: need rules with available signals and both outcomes in history")
    if renewing_only and "x_days_to_renewal" in train.columns:
        # Churn happens at renewal: learn what separates churners from renewers among the
        # accounts that do face a renewal in the horizon, not who happens to renew soon.
        train = train[train["x_days_to_renewal"] <= horizon_days]
    X = train[[f"f_{r}" for r in rule_ids]].fillna(0.0).rename(columns=lambda c: c[2:])
    current = {r.id: r.points for r in rs.rules if r.id in rule_ids}
    suggestion = suggest_points(X, train["churned"].to_numpy(int), nonneg=nonneg, current=current)
    points = {k: int(round(v)) for k, v in suggestion["points"].items()}
    fitted = with_points(rs, points)
    fitted_test = scored_frame(store, fitted, test_w, "fit_eval")
    fitted_test = fitted_test[fitted_test["account_id"].isin(test["account_id"])]
    auc_before = summary_metrics(test["risk_score"].to_numpy(float), test["churned"].to_numpy(int))["auc"]
    auc_after = summary_metrics(fitted_test["risk_score"].to_numpy(float),
                                fitted_test["churned"].to_numpy(int))["auc"]
    info = {"points": points, "current": current, "auc_current": auc_before, "auc_fitted": auc_after,
            "coefficients": suggestion.get("coefficients"), "n_train": int(len(train)),
            "n_test": int(len(test)),
            "summary": (f"out-of-time AUC: current weights {auc_before:.3f}, fitted weights {auc_after:.3f}"
                        if auc_before is not None and auc_after is not None else
                        "AUC undefined (one outcome class)")}
    return fitted, info


def format_backtest(result: dict) -> str:
    """Human-readable summary for the CLI."""
    def f(x):
        return "n/a" if x is None else (f"{x:.3f}" if isinstance(x, float) else str(x))
    lines = [f"Backtest ({result['mode']}): {result['note']}",
             f"accounts {result['n']}, churn rate {f(result['churn_rate'])}",
             f"AUC {f(result['auc'])}  Brier {f(result.get('brier'))}  log loss {f(result.get('log_loss'))}",
             "tier     n      churn rate"]
    for t in result["tiers"]:
        lines.append(f"{t['tier']:<8} {t['n']:<6} {f(t['rate'])}")
    h = result["high_tier"]
    lines.append(f"high tier: precision {f(h['precision'])}, recall {f(h['recall'])}, "
                 f"false-positive rate {f(h['false_positive_rate'])}")
    lt = result["lift_top_decile"]
    lines.append(f"top decile: lift {f(lt.get('lift'))}, capture {f(lt.get('capture'))}")
    if result.get("baselines"):
        for name, m in result["baselines"].items():
            lines.append(f"baseline {name}: AUC {f(m.get('auc'))}, Brier {f(m.get('brier'))}")
    return "\n".join(lines)
