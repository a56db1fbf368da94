"""Score-to-probability mappings and reliability bins: by hand, against scikit-learn, out of time."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import expit
from sklearn.calibration import calibration_curve
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss

from riskcore.calibration import ScoreMapping, cross_fitted, fit_mapping, out_of_time, reliability


def synthetic(seed: int, n: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """Points 0..100 where the true churn probability is expit((s - 70) / 10), far from s / 100."""
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 101, n).astype(float)
    y = (rng.random(n) < expit((s - 70) / 10)).astype(int)
    return s, y


def test_reliability_by_hand_uniform():
    # uniform, 2 bins: [0, 0.5] holds 0.05, 0.15, 0.15 (1 churned), (0.5, 1] holds 0.55, 0.65, 0.95 (2)
    prob = [0.05, 0.15, 0.15, 0.55, 0.65, 0.95]
    y = [0, 0, 1, 1, 0, 1]
    got = reliability(prob, y, bins=2, strategy="uniform")
    assert got["n"].tolist() == [3, 3]
    assert got["predicted"].tolist() == pytest.approx([0.35 / 3, 2.15 / 3])
    assert got["observed"].tolist() == pytest.approx([1 / 3, 2 / 3])
    assert (got["ci_low"] <= got["observed"]).all() and (got["observed"] <= got["ci_high"]).all()


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_reliability_matches_sklearn_calibration_curve(strategy):
    rng = np.random.default_rng(3)
    prob = rng.random(700) ** 2
    prob[:50] = 0.5  # ties on an edge
    y = (rng.random(700) < prob).astype(int)
    got = reliability(prob, y, bins=10, strategy=strategy)
    true, pred = calibration_curve(y, prob, n_bins=10, strategy=strategy)
    assert got["observed"].tolist() == pytest.approx(list(true))
    assert got["predicted"].tolist() == pytest.approx(list(pred))
    assert got["n"].sum() == 700


def test_reliability_drops_empty_bins_and_checks_input():
    got = reliability([0.15, 0.15, 0.95], [0, 1, 1], bins=10, strategy="uniform")
    assert got["bin"].tolist() == [1, 9] and got["n"].tolist() == [2, 1]
    # bins are (lo, hi]: 0.1 sits on the edge and belongs to the first bin, as in calibration_curve
    assert reliability([0.1, 0.9], [0, 1], bins=10, strategy="uniform")["bin"].tolist() == [0, 8]
    with pytest.raises(ValueError, match="strategy: expected one of quantile, uniform"):
        reliability([0.1], [0], strategy="kmeans")


def test_platt_is_monotone_recovers_the_model_and_beats_points_as_probability():
    s, y = synthetic(10)
    m = fit_mapping(s, y, "platt")
    assert m.coef == pytest.approx(0.1, rel=0.2) and m.intercept == pytest.approx(-7.0, rel=0.2)
    grid = np.linspace(0, 100, 101)
    assert np.all(np.diff(m.predict(grid)) > 0)
    ts, ty = synthetic(11)
    assert brier_score_loss(ty, m.predict(ts)) < brier_score_loss(ty, ts / 100) - 0.02


def test_isotonic_is_monotone_matches_sklearn_and_beats_points_as_probability():
    s, y = synthetic(12)
    m = fit_mapping(s, y, "isotonic")
    grid = np.linspace(-10, 110, 241)
    assert np.all(np.diff(m.predict(grid)) >= 0)
    iso = IsotonicRegression(out_of_bounds="clip").fit(s, y)
    assert m.predict(grid) == pytest.approx(iso.predict(grid))
    ts, ty = synthetic(13)
    assert brier_score_loss(ty, m.predict(ts)) < brier_score_loss(ty, ts / 100) - 0.02


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_mapping_round_trips_through_json(method):
    s, y = synthetic(14, 500)
    m = fit_mapping(s, y, method)
    back = ScoreMapping.from_dict(json.loads(json.dumps(m.to_dict())))
    assert back == m
    assert back.predict([0, 50, 100]) == pytest.approx(m.predict([0, 50, 100]))


def test_mapping_errors_name_the_field():
    with pytest.raises(ValueError, match="field 'coef' is missing"):
        ScoreMapping.from_dict({"method": "platt", "intercept": 1})
    with pytest.raises(ValueError, match="field 'method'"):
        ScoreMapping.from_dict({"method": "spline"})
    with pytest.raises(ValueError, match="both churned and retained"):
        fit_mapping([1, 2, 3], [0, 0, 0])
    with pytest.raises(ValueError, match="method: expected one of platt, isotonic"):
        fit_mapping([1, 2], [0, 1], method="beta")


def test_out_of_time_fits_on_train_and_evaluates_on_test():
    train, test = synthetic(20), synthetic(21)
    got = out_of_time(train, test, method="platt", bins=5)
    m = fit_mapping(*train)
    p = m.predict(test[0])
    assert got["n_train"] == 4000 and got["n_test"] == 4000
    assert got["brier"] == pytest.approx(brier_score_loss(test[1], p))
    assert got["brier"] < got["brier_points_as_prob"]
    assert got["mapping"] == m.to_dict()
    assert sum(b["n"] for b in got["reliability"]) == 4000
    # well calibrated out of time: every bin's observed rate within its 95% interval or 0.05
    for b in got["reliability"]:
        assert abs(b["predicted"] - b["observed"]) < 0.05 or b["ci_low"] <= b["predicted"] <= b["ci_high"]
    json.dumps(got, allow_nan=False)


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_cross_fitted_probabilities_come_from_the_other_folds(method):
    """Each fold's probabilities equal a mapping fitted on the other folds only (fit_mapping)."""
    from sklearn.model_selection import StratifiedKFold
    s, y = synthetic(11, 1500)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    got = cross_fitted(s, y, cv, method)
    for fit, held in cv.split(s, y):
        expected = fit_mapping(s[fit], y[fit], method).predict(s[held])
        assert got[held] == pytest.approx(expected, abs=1e-6)
    assert ((got >= 0) & (got <= 1)).all()
    # cross-fitted, so no better than the mapping fitted on every row would claim in-sample
    in_sample = fit_mapping(s, y, method).predict(s)
    assert brier_score_loss(y, got) >= brier_score_loss(y, in_sample) - 1e-9


def test_cross_fitted_needs_both_outcomes():
    from sklearn.model_selection import StratifiedKFold
    with pytest.raises(ValueError, match="cross_fitted: the training window needs both churned and retained"):
        cross_fitted([1.0, 2.0, 3.0], [0, 0, 0], StratifiedKFold(2))
    with pytest.raises(ValueError, match="method: expected one of platt, isotonic"):
        cross_fitted([1.0, 2.0], [0, 1], StratifiedKFold(2), method="beta")


def test_weighted_mapping_is_the_mapping_of_the_repeated_rows():
    """sample_weight = accounts per row (firing patterns): the same Platt and isotonic mapping as on the
    rows repeated, checked against scikit-learn fitted on the repeated rows."""
    from sklearn.linear_model import LogisticRegression
    rng = np.random.default_rng(3)
    s = rng.integers(0, 101, 60).astype(float)
    y = (rng.random(60) < s / 150).astype(int)
    w = rng.integers(1, 6, 60)
    rep_s, rep_y = np.repeat(s, w), np.repeat(y, w)
    weighted = fit_mapping(s, y, sample_weight=w)
    lr = LogisticRegression(C=np.inf, max_iter=1000).fit(rep_s.reshape(-1, 1), rep_y)
    assert weighted.coef == pytest.approx(float(lr.coef_[0, 0]), rel=1e-6)
    assert weighted.intercept == pytest.approx(float(lr.intercept_[0]), rel=1e-6)
    assert weighted.n_train == int(w.sum()) and weighted.churn_rate_train == pytest.approx(rep_y.mean())
    iso, rep_iso = fit_mapping(s, y, "isotonic", sample_weight=w), fit_mapping(rep_s, rep_y, "isotonic")
    grid = np.linspace(0, 100, 41)
    np.testing.assert_allclose(iso.predict(grid), rep_iso.predict(grid), atol=1e-12)
