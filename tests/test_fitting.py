"""Baselines and suggested points on data drawn from known logistic models."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.metrics import roc_auc_score

from riskcore.fitting import _features, baselines, baselines_cv, cv_folds, suggest_points, usable_features

TRUE = {"champion_left": 2.0, "failed_payment": 1.5, "usage_drop": 0.6, "no_qbr": 0.0,
        "many_tickets": 0.0, "new_logo": -1.0}


def rule_history(seed: int, n: int = 5000) -> tuple[pd.DataFrame, np.ndarray]:
    """Firing indicators (each rule fires for ~25%; usage_drop graded 0..1) and churn drawn
    from logit = -2.5 + sum(TRUE[rule] * degree)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({r: (rng.random(n) < 0.25).astype(float) for r in TRUE})
    X["usage_drop"] = X["usage_drop"] * rng.random(n).round(1)
    logit = -2.5 + X.to_numpy() @ np.array(list(TRUE.values()))
    return X, (rng.random(n) < expit(logit)).astype(int)


def signal_history(seed: int, n: int = 2000) -> tuple[pd.DataFrame, np.ndarray]:
    """Three numeric signals (one with 20% NaN, one pure noise) and churn from a logistic model."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"usage_change": rng.normal(0, 1, n), "nps": rng.normal(0, 1, n),
                      "noise": rng.normal(0, 1, n), "champion_left": rng.random(n) < 0.2})
    logit = -1.0 - 1.5 * X["usage_change"] - 0.8 * X["nps"] + 1.0 * X["champion_left"]
    y = (rng.random(n) < expit(logit)).astype(int)
    X.loc[rng.random(n) < 0.2, "nps"] = np.nan
    return X, y


def test_baselines_beat_random_out_of_time():
    (Xtr, ytr), (Xte, yte) = signal_history(1), signal_history(2)
    got = baselines(Xtr, ytr, Xte, yte)
    constant_brier = yte.mean() * (1 - yte.mean())  # Brier of always predicting the base rate
    for name in ("logistic_regression", "gradient_boosting"):
        assert got[name]["auc"] > 0.75, name
        assert got[name]["brier"] < constant_brier - 0.03, name
        assert got[name]["n_features"] == 4 and got[name]["n_test"] == 2000
    assert got["logistic_regression"]["auc"] >= got["gradient_boosting"]["auc"] - 0.02  # the truth is linear
    json.dumps(got, allow_nan=False)


def test_baselines_align_columns_and_name_bad_ones():
    (Xtr, ytr), (Xte, yte) = signal_history(1, 300), signal_history(2, 300)
    shuffled = Xte[list(reversed(Xte.columns))]
    assert baselines(Xtr, ytr, shuffled, yte) == baselines(Xtr, ytr, Xte, yte)
    with pytest.raises(ValueError, match="column 'nps' of the training features is missing"):
        baselines(Xtr, ytr, Xte.drop(columns="nps"), yte)
    bad = Xtr.assign(plan="gold")
    with pytest.raises(ValueError, match="column 'plan' expected numbers"):
        baselines(bad, ytr, Xte.assign(plan="gold"), yte)


def test_suggest_points_recover_the_order_of_known_coefficients():
    X, y = rule_history(5)
    got = suggest_points(X, y)
    p = got["points"]
    assert p["champion_left"] > p["failed_payment"] > p["usage_drop"] > max(p["no_qbr"], p["many_tickets"])
    assert p["no_qbr"] <= 5 and p["many_tickets"] <= 5
    assert p["new_logo"] == 0 and got["coefficients"]["new_logo"] == 0.0  # negative evidence refitted away
    assert all(0 <= v <= 100 for v in p.values()) and all(isinstance(v, int) for v in p.values())
    # the coefficients themselves are close to the truth (L2 with C=1 shrinks little at n=5000)
    assert got["coefficients"]["champion_left"] == pytest.approx(2.0, abs=0.3)
    assert got["coefficients"]["usage_drop"] == pytest.approx(0.6, abs=0.3)
    json.dumps(got, allow_nan=False)


def test_suggested_points_beat_equal_weights_out_of_time():
    X, y = rule_history(6)
    points = suggest_points(X, y)["points"]
    Xt, yt = rule_history(7)
    fitted = np.minimum(100, Xt.to_numpy() @ np.array([points[c] for c in Xt.columns]))
    equal = np.minimum(100, Xt.to_numpy() @ np.full(len(points), 20))
    assert roc_auc_score(yt, fitted) > roc_auc_score(yt, equal) + 0.03
    # default scale: only about the top 1% of history is capped at 100
    totals = X.to_numpy() @ np.array([points[c] for c in X.columns])
    assert (totals >= 100).mean() < 0.03


def test_suggest_points_scale_options_and_signed_points():
    X, y = rule_history(8)
    top = suggest_points(X, y, top_points=40)
    assert top["points"]["champion_left"] == 40
    ratio = top["coefficients"]["failed_payment"] / top["coefficients"]["champion_left"]
    assert top["points"]["failed_payment"] == round(40 * ratio)
    signed = suggest_points(X, y, nonneg=False, top_points=40)
    assert signed["points"]["new_logo"] < -10
    assert signed["coefficients"]["new_logo"] == pytest.approx(-1.0, abs=0.3)


def test_rules_that_never_fire_keep_current_points():
    X, y = rule_history(9, 1000)
    X["chargeback"] = 0.0
    got = suggest_points(X, y, current={"chargeback": 35})
    assert got["never_fired"] == ["chargeback"] and got["points"]["chargeback"] == 35
    assert suggest_points(X, y)["points"]["chargeback"] == 0


def test_suggest_points_bad_input_is_named():
    X, y = rule_history(9, 200)
    with pytest.raises(ValueError, match="column 'usage_drop' expected degrees in 0..1, found 2.0"):
        suggest_points(X.assign(usage_drop=2.0), y)
    with pytest.raises(ValueError, match="one row per outcome"):
        suggest_points(X.iloc[:10], y)
    with pytest.raises(ValueError, match="both churned and retained"):
        suggest_points(X, np.zeros(len(y), dtype=int))


def test_degenerate_features_are_dropped_with_their_reason():
    def spoil(X):
        return X.assign(empty=np.nan, constant=3.0, infinite=np.where(np.arange(len(X)) % 50 == 0, np.inf, 1.0))

    (X, y), (test_X, test_y) = signal_history(4, 400), signal_history(5, 400)
    kept, dropped = usable_features(_features(spoil(X), "X"))
    assert kept == ["usage_change", "nps", "noise", "champion_left"]
    assert dropped == [{"column": "empty", "reason": "all empty"},
                       {"column": "constant", "reason": "one value only (3)"},
                       {"column": "infinite", "reason": "infinite values in 8 row(s)"}]
    got = baselines(spoil(X), y, spoil(test_X), test_y)
    clean = baselines(X, y, test_X, test_y)
    for name in ("logistic_regression", "gradient_boosting"):
        assert got[name]["unavailable"] is None and got[name]["n_features"] == 4
        assert got[name]["auc"] == pytest.approx(clean[name]["auc"])  # the same model as without them
        assert got[name]["features_dropped"] == dropped[:2] + [
            {"column": "infinite", "reason": "infinite values in 16 row(s)"}]  # 8 training + 8 test rows
    # an infinite value only in the test rows also drops the column (it could not be scored)
    got = baselines(X, y, test_X.assign(nps=np.inf), test_y)
    assert {"column": "nps", "reason": "infinite values in 400 row(s)"} in got["gradient_boosting"]["features_dropped"]


def test_a_failing_baseline_is_unavailable_and_the_other_stands(monkeypatch):
    from riskcore import fitting

    class Broken:
        def fit(self, X, y):
            raise ValueError("window shape cannot be larger than input array shape")

    real = fitting._models
    monkeypatch.setattr(fitting, "_models", lambda rs: {**real(rs), "gradient_boosting": Broken()})
    (Xtr, ytr), (Xte, yte) = signal_history(1, 500), signal_history(2, 500)
    got = baselines(Xtr, ytr, Xte, yte)
    assert got["gradient_boosting"]["auc"] is None
    assert got["gradient_boosting"]["unavailable"] == ("gradient boosting could not be fitted: window shape "
                                                       "cannot be larger than input array shape")
    assert got["logistic_regression"]["unavailable"] is None and got["logistic_regression"]["auc"] > 0.75
    json.dumps(got, allow_nan=False)


def test_no_usable_feature_or_one_class_is_a_reason_not_an_error():
    X, y = signal_history(3, 200)
    empty = pd.DataFrame({"a": np.full(200, np.nan), "b": np.ones(200)})
    got = baselines(empty, y, empty, y)
    assert got["logistic_regression"]["unavailable"] == "no usable feature: 'a' all empty; 'b' one value only (1)"
    got = baselines(X, np.zeros(200, dtype=int), X, y)
    assert "both churned and retained" in got["gradient_boosting"]["unavailable"]


def test_cross_fitted_baselines_equal_cross_val_predict():
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    X, y = signal_history(6, 600)
    cv = cv_folds(y)
    got = baselines_cv(X.assign(empty=np.nan), y, cv)
    gbm = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, min_samples_leaf=20, random_state=0)
    p = cross_val_predict(gbm, _features(X, "X"), y, cv=StratifiedKFold(5, shuffle=True, random_state=0),
                          method="predict_proba")[:, 1]
    assert got["gradient_boosting"]["auc"] == pytest.approx(roc_auc_score(y, p))
    assert got["gradient_boosting"]["folds"] == 5 and got["gradient_boosting"]["n_test"] == 600
    assert got["logistic_regression"]["auc"] > 0.75


def test_cv_folds_shrink_with_the_smaller_class():
    assert cv_folds(np.r_[np.zeros(100), np.ones(40)]).get_n_splits() == 5
    assert cv_folds(np.r_[np.zeros(100), np.ones(3)]).get_n_splits() == 3
    assert cv_folds(np.r_[np.ones(100), np.zeros(2)]).get_n_splits() == 2
    with pytest.raises(ValueError, match="at least 2 churned and 2 retained accounts, found 1 churned and 100"):
        cv_folds(np.r_[np.zeros(100), np.ones(1)])
