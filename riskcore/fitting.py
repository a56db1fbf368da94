"""What history says: scikit-learn baselines on the same signals (out of time, or cross-fitted
over k folds), and rule points fitted from the rules' firing degrees (a starting point for the
draft rule set)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from .metrics import as_outcome, summary_metrics


def _features(X: Any, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """A float frame (booleans as 0/1); with `columns`, exactly those, in that order."""
    df = pd.DataFrame(X).copy()
    if columns is not None:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ValueError(f"{name}: column {missing[0]!r} of the training features is missing")
        df = df[columns]
    for c in df.columns:
        try:
            df[c] = pd.to_numeric(df[c].astype("float64") if df[c].dtype == bool else df[c]).astype("float64")
        except (TypeError, ValueError):
            raise ValueError(f"{name}: column {c!r} expected numbers, found {df[c].dtype} "
                             f"(e.g. {df[c].dropna().iloc[0]!r})") from None
    return df


def cv_folds(y: Any, k: int = 5, seed: int = 0) -> StratifiedKFold:
    """Stratified k folds, shuffled with a fixed seed; fewer folds when the smaller outcome class
    has fewer than k accounts. Needs at least 2 churned and 2 retained accounts."""
    y = as_outcome(y)
    churned = int(y.sum())
    minority = min(churned, len(y) - churned)
    if minority < 2:
        raise ValueError(f"cross-validation needs at least 2 churned and 2 retained accounts, found "
                         f"{churned} churned and {len(y) - churned} retained")
    return StratifiedKFold(n_splits=min(k, minority), shuffle=True, random_state=seed)


def usable_features(X: pd.DataFrame, *more: pd.DataFrame) -> tuple[list[str], list[dict]]:
    """Columns of X a model can learn from, and the others with the reason: all empty, one value
    only (nothing to learn), or infinite values (in X or any of `more`, e.g. the test rows)."""
    kept, dropped = [], []
    for c in X.columns:
        col = X[c]
        inf = int(np.isinf(col).sum() + sum(int(np.isinf(m[c]).sum()) for m in more))
        distinct = col[np.isfinite(col)].nunique()
        if col.isna().all():
            dropped.append({"column": str(c), "reason": "all empty"})
        elif inf:
            dropped.append({"column": str(c), "reason": f"infinite values in {inf} row(s)"})
        elif distinct <= 1:
            value = col.dropna().iloc[0]
            dropped.append({"column": str(c), "reason": f"one value only ({value:g})"})
        else:
            kept.append(c)
    return kept, dropped


def _models(random_state: int) -> dict:
    """Logistic regression (median imputation + missing indicators + scaling) and histogram
    gradient boosting (NaN handled natively)."""
    return {
        "logistic_regression": make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(), LogisticRegression(max_iter=2000)),
        "gradient_boosting": HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, min_samples_leaf=20, random_state=random_state),
    }


def _unavailable(reason: str, **counts) -> dict:
    return {"auc": None, "brier": None, "log_loss": None, **counts, "unavailable": reason}


def _run_models(predict, y_eval: np.ndarray, n_rows: int, info: dict, random_state: int) -> dict:
    """Each model's metrics on y_eval from `predict(model) -> probabilities`; a model that fails is
    reported unavailable with its reason, the other still stands."""
    out = {}
    # On a few thousand rows OpenMP start-up and contention cost far more than they save
    # (measured: 4 s threaded vs 0.1 s single-threaded on 2,000 rows); threads only for big data.
    threads = 1 if n_rows < 50_000 else None
    for name, model in _models(random_state).items():
        try:
            with threadpool_limits(limits=threads):
                prob = predict(model)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as e:
            out[name] = _unavailable(f"{name.replace('_', ' ')} could not be fitted: {e}", **info)
            continue
        m = summary_metrics(prob, y_eval, prob=prob)
        out[name] = {"auc": m["auc"], "brier": m["brier"], "log_loss": m["log_loss"], **info, "unavailable": None}
    return out


def unavailable_baselines(reason: str, **info) -> dict:
    """Both baselines reported unavailable for one reason (with the same counts as a fitted one)."""
    return {name: _unavailable(reason, **info) for name in _models(0)}


def baselines(train_X: Any, train_y: Any, test_X: Any, test_y: Any, random_state: int = 0) -> dict:
    """The two baselines fitted on train and scored on test (out of time).
    Returns {model: {auc, brier, log_loss, n_train, n_test, n_features, features_dropped, unavailable}};
    degenerate features are dropped first (usable_features), `unavailable` is None or the reason."""
    ytr, yte = as_outcome(train_y, "train_y"), as_outcome(test_y, "test_y")
    Xtr = _features(train_X, "train_X")
    Xte = _features(test_X, "test_X", list(Xtr.columns))
    if len(Xtr) != len(ytr) or len(Xte) != len(yte):
        raise ValueError(f"baselines: expected one outcome per row, found {len(Xtr)} rows / {len(ytr)} "
                         f"outcomes (train) and {len(Xte)} / {len(yte)} (test)")
    kept, dropped = usable_features(Xtr, Xte)
    info = {"n_train": len(ytr), "n_test": len(yte), "n_features": len(kept), "features_dropped": dropped,
            "folds": None}
    if not kept:
        return unavailable_baselines(_no_features(Xtr, dropped), **info)
    if not 0 < ytr.sum() < len(ytr):
        return unavailable_baselines("the training window needs both churned and retained accounts", **info)
    Xtr, Xte = Xtr[kept], Xte[kept]
    return _run_models(lambda model: model.fit(Xtr, ytr).predict_proba(Xte)[:, 1], yte, len(Xtr), info,
                       random_state)


def baselines_cv(X: Any, y: Any, cv: StratifiedKFold, random_state: int = 0) -> dict:
    """The two baselines cross-fitted: every row's probability comes from a model fitted on the
    other folds (scikit-learn cross_val_predict), so every row is evaluated and none was learnt
    from. Same result shape as `baselines`, with `folds` set."""
    yy = as_outcome(y)
    Xf = _features(X, "X")
    if len(Xf) != len(yy):
        raise ValueError(f"baselines: expected one outcome per row, found {len(Xf)} rows / {len(yy)} outcomes")
    kept, dropped = usable_features(Xf)
    info = {"n_train": len(yy), "n_test": len(yy), "n_features": len(kept), "features_dropped": dropped,
            "folds": cv.get_n_splits()}
    if not kept:
        return unavailable_baselines(_no_features(Xf, dropped), **info)
    Xk = Xf[kept]
    return _run_models(lambda model: cross_val_predict(model, Xk, yy, cv=cv, method="predict_proba")[:, 1],
                       yy, len(Xk), info, random_state)


def _no_features(X: pd.DataFrame, dropped: list[dict]) -> str:
    if X.shape[1] == 0:
        return "no numeric signal to learn from"
    return "no usable feature: " + "; ".join(f"{d['column']!r} {d['reason']}" for d in dropped[:5])


def _fit_coefficients(X: np.ndarray, y: np.ndarray, C: float, nonneg: bool) -> tuple[np.ndarray, float]:
    """L2 logistic regression; with nonneg, an active-set fit: drop the most negative rule, refit,
    until every remaining coefficient is >= 0 (dropped rules get 0)."""
    active = list(range(X.shape[1]))
    coef = np.zeros(X.shape[1])
    intercept = float(np.log(y.mean() / (1 - y.mean())))
    while active:
        lr = LogisticRegression(C=C, max_iter=2000).fit(X[:, active], y)
        c = lr.coef_[0]
        if not nonneg or c.min() >= 0:
            coef[active] = c
            intercept = float(lr.intercept_[0])
            break
        del active[int(np.argmin(c))]
    return coef, intercept


def suggest_points(firing: pd.DataFrame, y: Any, max_points: int = 100, nonneg: bool = True,
                   C: float = 1.0, top_points: int | None = None,
                   current: Mapping[str, int] | None = None) -> dict:
    """Points fitted from history: logistic regression of churn on the rules' firing degrees
    (one column per rule id, 0..1), coefficients (log-odds per full firing) turned into points.

    Scale (points per unit of log-odds): with `top_points`, the strongest rule gets top_points;
    by default the scale puts the 99th percentile of the accounts' fitted point totals at
    `max_points`, so the min(100, sum) cap flattens only the top 1% and the ranking of the rest
    follows the fitted model. Points are rounded and clipped to [0, max_points] with nonneg
    (negative evidence refitted away, see _fit_coefficients), [-max_points, max_points] without.
    Rules that never fire in history cannot be fitted: they keep their `current` points, else 0,
    and are listed in `never_fired`.
    Returns {points, coefficients, intercept, scale, never_fired}.
    """
    if not isinstance(firing, pd.DataFrame):
        raise ValueError("firing: expected a DataFrame with one column per rule id")
    y = as_outcome(y)
    if len(firing) != len(y):
        raise ValueError(f"firing: expected one row per outcome ({len(y)}), found {len(firing)} rows")
    if not 0 < y.sum() < len(y):
        raise ValueError("suggest_points: history needs both churned and retained accounts")
    if max_points < 1 or (top_points is not None and not 0 < top_points <= max_points):
        raise ValueError(f"max_points/top_points: expected 0 < top_points <= max_points, "
                         f"found {top_points} and {max_points}")
    X = _features(firing, "firing").fillna(0.0)
    bad = [c for c in X.columns if ((X[c] < 0) | (X[c] > 1)).any()]
    if bad:
        raise ValueError(f"firing: column {bad[0]!r} expected degrees in 0..1, "
                         f"found {X[bad[0]][(X[bad[0]] < 0) | (X[bad[0]] > 1)].iloc[0]}")
    rules = [str(c) for c in X.columns]
    fired = [r for r, c in zip(rules, X.columns) if (X[c] > 0).any()]
    never = [r for r in rules if r not in fired]
    coef = np.zeros(len(rules))
    intercept = float(np.log(y.mean() / (1 - y.mean())))
    if fired:
        cols = [rules.index(r) for r in fired]
        c, intercept = _fit_coefficients(X.iloc[:, cols].to_numpy(), y, C, nonneg)
        coef[cols] = c
    pos = np.clip(coef, 0, None)
    if top_points is not None:
        scale = top_points / pos.max() if pos.max() > 0 else 0.0
    else:
        totals = X.to_numpy() @ pos
        p99 = float(np.percentile(totals, 99))
        p99 = p99 if p99 > 0 else float(pos.max())
        scale = max_points / p99 if p99 > 0 else 0.0
    low = 0 if nonneg else -max_points
    points = {}
    for r, c in zip(rules, coef):
        if r in never:
            points[r] = int((current or {}).get(r, 0))
        else:
            points[r] = int(np.clip(round(c * scale), low, max_points))
    return {"points": points, "coefficients": {r: float(c) for r, c in zip(rules, coef)},
            "intercept": intercept, "scale": float(scale), "never_fired": never}
