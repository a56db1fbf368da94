"""Backtests. Activity tables: point in time, score accounts as of D with signals as of D, compare
with churn in (D, D+H], the probability mapping and baselines fitted on an earlier window (out of
time). An account table (an outcome, no dates): every account scored and evaluated, the mapping
and baselines cross-fitted over k stratified folds (cross-validated)."""

from __future__ import annotations

from dataclasses import dataclass
import uuid
from datetime import date, timedelta

import numpy as np
import pandas as pd

from .db import Store
from .rules import RuleSet, with_points


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
    """Numeric signal columns (the baselines' features), prefixed `x_`; never the outcome, nor a
    column that is the outcome in disguise (leakage.outcome_leaks)."""
    from .db import quote_ident
    from .leakage import leak_columns
    skip = {"account_id", "arr", "value", "seats", "churned"} | leak_columns(store, table)
    mapping = store.dataset.mapping if store.dataset is not None else None
    if mapping is not None and mapping.outcome_column:
        skip.add(mapping.outcome_column)  # the outcome itself is never a feature
    types = store.column_types(table)
    num = [c for c, t in types.items() if c not in skip and c.lower() not in skip and (
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


def cv_label(folds: int) -> str:
    """How an account table's backtest is named everywhere (CLI, JSON note, pages, fit)."""
    return f"cross-validated ({folds} folds)"


def run_backtest(store: Store, rs: RuleSet, as_of: date | None = None, horizon_days: int = 90,
                 train_as_of: date | None = None, method: str = "platt", folds: int = 5,
                 with_alerts: bool = False) -> dict:
    """Activity tables: out-of-time backtest, the score-to-probability mapping and baselines fitted
    on an earlier window, everything evaluated on the later one. An account table (no dates):
    every account with an outcome is scored and evaluated; the mapping and the baselines are
    cross-fitted over `folds` stratified folds (fewer when a class is small), mode "cross_validated".
    A baseline that cannot be fitted is reported unavailable with its reason; the rest stands.
    `with_alerts`: also measure each alert (`alerts`, alertstats: it re-scores the weeks before D,
    about 15 s on 3,000 accounts, so pages that only need the metrics leave it off)."""
    from .leakage import leaky_rules, outcome_leaks

    if _is_activity(store):
        train_w, test_w = default_windows(store, horizon_days, as_of, train_as_of)
        train = scored_frame(store, rs, train_w, "bt_train")
        test = scored_frame(store, rs, test_w, "bt_test")
        if len(test) == 0:
            raise ValueError("no accounts to evaluate in the backtest window")
        result = {"mode": "point_in_time", "folds": None, "note": (
            f"scores as of {test_w.as_of}, churn in the next {horizon_days} days; probability mapping "
            f"and baselines fitted as of {train_w.as_of} (out of time)"),
            "horizon_days": horizon_days, "as_of": str(test_w.as_of), "train_as_of": str(train_w.as_of)}
        prob, mapping, bases = _out_of_time(train, test, method)
    else:
        test = scored_frame(store, rs, Window(None, horizon_days), "bt_all")
        if len(test) == 0:
            raise ValueError("no accounts with an outcome to evaluate (the outcome column is empty)")
        prob, mapping, bases, k, why = _cross_validated(test, method, folds)
        fits = (f"each account's probability and baseline predictions come from fits on the other {k - 1} folds"
                if k else f"no probability mapping or baselines: {why}")
        note = (f"the account table has an outcome but no dates: all {len(test):,} accounts with an outcome are "
                f"scored and compared with it (not point in time); {fits}")
        result = {"mode": "cross_validated", "folds": k, "note": note,
                  "horizon_days": None, "as_of": None, "train_as_of": None}
    result["rule_set"] = rs.name
    result.update(evaluate(test, prob))
    result["mapping"] = mapping.to_dict() if mapping is not None else None
    from .aggregates import NO_SEGMENT
    from .metrics import summary_metrics
    by_seg = {}
    for seg, part in test.groupby("segment", dropna=False):
        p = prob[part.index.to_numpy()] if prob is not None else None
        key = NO_SEGMENT if pd.isna(seg) else str(seg)  # a blank segment is "(none)", never "nan"
        by_seg[key] = summary_metrics(part["risk_score"].to_numpy(float), part["churned"].to_numpy(int),
                                      prob=p, tiers=part["tier"].to_numpy())
    result["by_segment"] = by_seg
    result["baselines"] = bases
    leaks = outcome_leaks(store)
    result["leaks"] = [{"column": leak.column, "reason": leak.message} for leak in leaks]
    result["warnings"] = list(leaky_rules(store, rs.rules).values()) + [
        leak.warning("not used by the baselines") for leak in leaks]
    if with_alerts:
        result["alerts"] = _alert_figures(store, rs, test_w if _is_activity(store) else None, result["warnings"])
    return result


def _alert_figures(store: Store, rs: RuleSet, window: Window | None, warnings: list[str]) -> list[dict]:
    """Each alert's precision and volume over the weeks ending at the window's date (alertstats);
    none on an account table (no history to alert on)."""
    from .alertstats import alert_stats
    if window is None:
        return []
    try:
        return alert_stats(store, rs, window.as_of, window.horizon_days)
    except ValueError as e:
        warnings.append(f"alerts not measured: {e}")
        return []


def _out_of_time(train: pd.DataFrame, test: pd.DataFrame, method: str):
    """(test probabilities, mapping, baselines) fitted on the earlier window `train`."""
    from .calibration import fit_mapping
    from .fitting import baselines
    prob = mapping = None
    if train["churned"].nunique() == 2:
        mapping = fit_mapping(train["risk_score"].to_numpy(float), train["churned"].to_numpy(int), method=method)
        prob = mapping.predict(test["risk_score"].to_numpy(float))
    bases = baselines(_features(train), train["churned"].to_numpy(int), _features(test),
                      test["churned"].to_numpy(int))
    return prob, mapping, bases


def _features(frame: pd.DataFrame) -> pd.DataFrame:
    """The baselines' features of a scored frame (its `x_` signal columns, named as in the data)."""
    return frame[[c for c in frame.columns if c.startswith("x_")]].rename(columns=lambda c: c[2:])


def _cross_validated(frame: pd.DataFrame, method: str, folds: int):
    """(cross-fitted probabilities, mapping fitted on every row, cross-fitted baselines, folds used,
    why not cross-validated); without two of each outcome there is nothing to fit: None, reason."""
    from .calibration import cross_fitted, fit_mapping
    from .fitting import baselines_cv, cv_folds, unavailable_baselines
    y, s = frame["churned"].to_numpy(int), frame["risk_score"].to_numpy(float)
    X = _features(frame)
    try:
        cv = cv_folds(y, folds)
    except ValueError as e:
        return None, None, unavailable_baselines(str(e), n_train=len(y), n_test=len(y), n_features=X.shape[1],
                                                 features_dropped=[], folds=None), None, str(e)
    prob = cross_fitted(s, y, cv, method)
    mapping = fit_mapping(s, y, method=method)  # the mapping to use from here on: fitted on every row
    return prob, mapping, baselines_cv(X, y, cv), cv.get_n_splits(), None


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
              renewing_only: bool = False, folds: int = 5) -> tuple[RuleSet, dict]:
    """Suggested weights: points of the primary dimension's rules fitted by logistic regression on
    their firings. Activity tables: pooled over monthly as-of dates before the evaluation window,
    compared out of time with the current weights on that window. An account table: fitted on
    every account; the comparison is cross-validated (each fold scored with points fitted on the
    other folds). A rule whose signal is the outcome in disguise is flagged and left out of the fit
    (it keeps its points)."""
    from .leakage import leaky_rules

    dim = rs.primary_dimension
    leaky = leaky_rules(store, [r for r in rs.rules if r.dimension == dim])
    if _is_activity(store):
        _, test_w = default_windows(store, horizon_days, as_of)
        train = pooled_frame(store, rs, training_dates(test_w.as_of, horizon_days, windows), horizon_days, "fit_train")
        test = scored_frame(store, rs, test_w, "fit_test")
    else:
        test_w = Window(None, horizon_days)
        train = test = scored_frame(store, rs, test_w, "fit_all")
    rule_ids = [r.id for r in rs.rules if r.enabled and r.dimension == dim and f"f_{r.id}" in train.columns
                and r.id not in leaky]
    if not rule_ids or train["churned"].nunique() < 2:
        raise ValueError("cannot fit weights: need rules with available signals and both outcomes in history")
    current = {r.id: r.points for r in rs.rules if r.id in rule_ids}
    y_test = test["churned"].to_numpy(int)
    if _is_activity(store):
        fitted, points, coefficients = _fit_points(train, rs, rule_ids, current, nonneg, renewing_only, horizon_days)
        fitted_test = scored_frame(store, fitted, test_w, "fit_eval")
        fitted_test = fitted_test[fitted_test["account_id"].isin(test["account_id"])]
        after, how = fitted_test["risk_score"].to_numpy(float), "out-of-time AUC"
        n_train, n_test = len(train), len(test)
    else:
        from .fitting import cv_folds
        cv = cv_folds(y_test, folds)
        after = np.empty(len(test))
        for fit_idx, held_idx in cv.split(np.zeros(len(test)), y_test):
            fold_rs = _fit_points(test.iloc[fit_idx], rs, rule_ids, current, nonneg, renewing_only, horizon_days)[0]
            held = scored_frame(store, fold_rs, test_w, "fit_fold").set_index("account_id")["risk_score"]
            after[held_idx] = held.loc[test["account_id"].iloc[held_idx]].to_numpy(float)
        fitted, points, coefficients = _fit_points(test, rs, rule_ids, current, nonneg, renewing_only, horizon_days)
        how, n_train, n_test = f"{cv_label(cv.get_n_splits())} AUC on {len(test):,} accounts", len(test), len(test)
    fitted, tiers_note = _fitted_tiers(store, fitted, train if _is_activity(store) else None, test_w, horizon_days)
    from .metrics import summary_metrics
    auc_before = summary_metrics(test["risk_score"].to_numpy(float), y_test)["auc"]
    auc_after = summary_metrics(after, y_test)["auc"]
    warnings = [f"{w}: left out of the fit (its points unchanged); disable it" for w in leaky.values()]
    summary = (f"{how}: current weights {auc_before:.3f}, fitted weights {auc_after:.3f}"
               if auc_before is not None and auc_after is not None else "AUC undefined (one outcome class)")
    info = {"points": points, "current": current, "auc_current": auc_before, "auc_fitted": auc_after,
            "coefficients": coefficients, "n_train": int(n_train), "n_test": int(n_test),
            "mode": "point_in_time" if _is_activity(store) else "cross_validated",
            "folds": None if _is_activity(store) else cv.get_n_splits(), "flagged_rules": sorted(leaky),
            "tiers": tiers_note,
            "warnings": warnings, "summary": "\n".join([summary, f"tier cut-offs: {tiers_note}",
                                                        *(f"warning: {w}" for w in warnings)])}
    return fitted, info


def _fitted_tiers(store: Store, fitted: RuleSet, train: pd.DataFrame | None, test_w: Window,
                  horizon_days: int) -> tuple[RuleSet, str]:
    """(`fitted` with tier cut-offs chosen from its scores, what they mean): on activity data from the
    pooled training dates (nothing from the evaluation window), on an account table from every
    account (an account counts once per pooled date). Cut-offs that cannot be chosen (one outcome,
    nothing fires) stay, and the note says why."""
    from .tiercuts import choose_tiers, with_data_tiers
    if train is not None:
        dates = sorted(set(train["as_of"]))
        frame = pooled_frame(store, fitted, dates, horizon_days, "fit_tiers")
    else:
        frame = scored_frame(store, fitted, test_w, "fit_tiers")
    try:
        choice = choose_tiers(frame[f"{fitted.primary_dimension}_score"].to_numpy(float),
                              frame["churned"].to_numpy(float), "account-dates" if train is not None else "accounts")
    except ValueError as e:
        return fitted, f"unchanged ({e})"
    return with_data_tiers(fitted, choice), choice.summary()


def _fit_points(train: pd.DataFrame, rs: RuleSet, rule_ids: list[str], current: dict, nonneg: bool,
                renewing_only: bool, horizon_days: int) -> tuple[RuleSet, dict, dict | None]:
    """(rule set with fitted points, the points, the coefficients) from the firings in `train`."""
    from .fitting import suggest_points
    if renewing_only and "x_days_to_renewal" in train.columns:
        # Churn happens at renewal: learn what separates churners from renewers among the
        # accounts that do face a renewal in the horizon, not who happens to renew soon.
        train = train[train["x_days_to_renewal"] <= horizon_days]
    X = train[[f"f_{r}" for r in rule_ids]].fillna(0.0).rename(columns=lambda c: c[2:])
    suggestion = suggest_points(X, train["churned"].to_numpy(int), nonneg=nonneg, current=current)
    points = {k: int(round(v)) for k, v in suggestion["points"].items()}
    return with_points(rs, points), points, suggestion.get("coefficients")


def format_backtest(result: dict) -> str:
    """Human-readable summary for the CLI."""
    def f(x):
        return "n/a" if x is None else (f"{x:.3f}" if isinstance(x, float) else str(x))
    if result["mode"] == "cross_validated":
        how = cv_label(result["folds"]) if result.get("folds") else "every account, nothing cross-fitted"
    else:
        how = "point in time"
    lines = [f"Backtest, {how}: {result['note']}",
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
    for name, m in (result.get("baselines") or {}).items():
        label = name.replace("_", " ")
        if m.get("unavailable"):
            lines.append(f"baseline {label}: unavailable ({m['unavailable']})")
        else:
            lines.append(f"baseline {label}: AUC {f(m.get('auc'))}, Brier {f(m.get('brier'))}")
    dropped = next((m.get("features_dropped") for m in (result.get("baselines") or {}).values()), None)
    if dropped:
        lines.append("baseline features left out: " + "; ".join(f"{d['column']} ({d['reason']})" for d in dropped))
    from .alertstats import format_alert_figures
    lines += format_alert_figures(result.get("alerts") or [])
    lines += [f"warning: {w}" for w in result.get("warnings") or []]
    return "\n".join(lines)
