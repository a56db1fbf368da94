"""Baselines and suggested points on data drawn from known logistic models."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.metrics import roc_auc_score

from riskcore.fitting import baselines, suggest_points

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
