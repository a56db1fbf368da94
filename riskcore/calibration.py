"""Score-to-probability mappings (Platt or isotonic, scikit-learn) fitted on an earlier window and
checked on a later one, or cross-fitted over k folds of one table, and the reliability table
(predicted vs observed churn per bin)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict

from .metrics import as_outcome, as_prob, as_scores, records, summary_metrics, wilson_interval

METHODS = ("platt", "isotonic")
STRATEGIES = ("quantile", "uniform")


@dataclass(frozen=True)
class ScoreMapping:
    """A fitted score -> churn probability mapping.

    platt: p = 1 / (1 + exp(-(coef * score + intercept))).
    isotonic: non-decreasing, linear between the knots (x, y), flat beyond the first/last knot.
    """

    method: str
    coef: float | None = None
    intercept: float | None = None
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    n_train: int = 0
    churn_rate_train: float | None = None

    def predict(self, scores: Any) -> np.ndarray:
        """Churn probability for each score."""
        s = as_scores(scores)
        if self.method == "platt":
            return expit(self.coef * s + self.intercept)
        return np.interp(s, np.asarray(self.x), np.asarray(self.y))

    def to_dict(self) -> dict:
        """JSON-ready parameters (stored with a backtest, reloaded with from_dict)."""
        d = {"method": self.method, "n_train": self.n_train, "churn_rate_train": self.churn_rate_train}
        if self.method == "platt":
            d.update(coef=self.coef, intercept=self.intercept)
        else:
            d.update(x=list(self.x), y=list(self.y))
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ScoreMapping":
        """Inverse of to_dict; a missing or bad field is named in the error."""
        method = d.get("method")
        if method not in METHODS:
            raise ValueError(f"mapping: field 'method' expected one of {', '.join(METHODS)}, found {method!r}")
        common = {"n_train": int(d.get("n_train", 0)), "churn_rate_train": d.get("churn_rate_train")}
        try:
            if method == "platt":
                return cls("platt", coef=float(d["coef"]), intercept=float(d["intercept"]), **common)
            x, y = tuple(float(v) for v in d["x"]), tuple(float(v) for v in d["y"])
        except KeyError as e:
            raise ValueError(f"mapping: field {e.args[0]!r} is missing for method {method!r}") from None
        if len(x) != len(y) or not x:
            raise ValueError(f"mapping: fields 'x' and 'y' expected equally long and non-empty, "
                             f"found {len(x)} and {len(y)}")
        return cls("isotonic", x=x, y=y, **common)


def _estimator(method: str):
    """The scikit-learn model behind a mapping: Platt (unpenalised logistic regression on the
    score) or isotonic (non-decreasing in the score, clipped to [0, 1])."""
    if method not in METHODS:
        raise ValueError(f"method: expected one of {', '.join(METHODS)}, found {method!r}")
    if method == "platt":
        return LogisticRegression(C=np.inf, max_iter=1000)
    return IsotonicRegression(increasing=True, out_of_bounds="clip", y_min=0.0, y_max=1.0)


def _both_outcomes(scores: Any, y: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    y = as_outcome(y)
    s = as_scores(scores, len(y))
    if not 0 < y.sum() < len(y):
        raise ValueError(f"{what}: the training window needs both churned and retained accounts")
    return s, y


def fit_mapping(scores: Any, y: Any, method: str = "platt", sample_weight: Any = None) -> ScoreMapping:
    """Fit churn probability as a function of the score (Platt or isotonic). Needs both outcomes.

    `sample_weight`: how many accounts each row stands for (firing patterns, riskcore.accuracy); the
    fit is then the one on the rows repeated that many times (lbfgs takes the same steps: the same
    mapping as on the per-account rows, to rounding)."""
    model = _estimator(method)
    s, y = _both_outcomes(scores, y, "fit_mapping")
    w = None if sample_weight is None else as_scores(sample_weight, len(y), "sample_weight")
    common = {"n_train": len(y) if w is None else int(w.sum()), "churn_rate_train": float(np.average(y, weights=w))}
    if method == "platt":
        lr = model.fit(s.reshape(-1, 1), y, sample_weight=w)
        return ScoreMapping("platt", coef=float(lr.coef_[0, 0]), intercept=float(lr.intercept_[0]), **common)
    iso = model.fit(s, y, sample_weight=w)
    return ScoreMapping("isotonic", x=tuple(float(v) for v in iso.X_thresholds_),
                        y=tuple(float(v) for v in iso.y_thresholds_), **common)


def cross_fitted(scores: Any, y: Any, cv, method: str = "platt") -> np.ndarray:
    """Every account's churn probability from a mapping fitted on the other folds of `cv`
    (scikit-learn cross_val_predict): no account's probability was learnt from its own outcome."""
    model = _estimator(method)
    s, y = _both_outcomes(scores, y, "cross_fitted")
    if method == "platt":
        return cross_val_predict(model, s.reshape(-1, 1), y, cv=cv, method="predict_proba")[:, 1]
    return np.clip(cross_val_predict(model, s.reshape(-1, 1), y, cv=cv), 0.0, 1.0)


def reliability(prob: Any, y: Any, bins: int = 10, strategy: str = "quantile") -> pd.DataFrame:
    """Mean predicted probability vs observed churn rate per bin, with counts and Wilson intervals.

    Binning is scikit-learn's calibration_curve: uniform edges over [0, 1] or quantiles of `prob`;
    a bin is (lo, hi] (the first also takes lo). Empty bins are left out, as calibration_curve does.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy: expected one of {', '.join(STRATEGIES)}, found {strategy!r}")
    if int(bins) < 1:
        raise ValueError(f"bins: expected a positive number of bins, found {bins}")
    y = as_outcome(y)
    p = as_prob(prob, len(y))
    cols = ["bin", "lo", "hi", "predicted", "observed", "n", "ci_low", "ci_high"]
    if len(y) == 0:
        return pd.DataFrame(columns=cols)
    if strategy == "quantile":
        edges = np.percentile(p, np.linspace(0, 100, bins + 1))
    else:
        edges = np.linspace(0.0, 1.0, bins + 1)
    ids = np.searchsorted(edges[1:-1], p)
    rows = []
    for b in range(bins):
        m = ids == b
        n = int(m.sum())
        if n == 0:
            continue
        k = int(y[m].sum())
        lo, hi = wilson_interval(k, n)
        rows.append({"bin": b, "lo": float(edges[b]), "hi": float(edges[b + 1]),
                     "predicted": float(p[m].mean()), "observed": k / n, "n": n,
                     "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows, columns=cols)


def out_of_time(train: tuple[Any, Any], test: tuple[Any, Any], method: str = "platt",
                bins: int = 10, strategy: str = "quantile") -> dict:
    """Fit the mapping on (train scores, train outcomes), evaluate on the later test window:
    AUC, Brier, log loss of the mapped probabilities, the reliability bins, and for contrast the
    Brier score of reading points as probabilities (score / 100, clipped to [0, 1])."""
    mapping = fit_mapping(train[0], train[1], method)
    y = as_outcome(test[1], "test outcomes")
    s = as_scores(test[0], len(y), "test scores")
    prob = mapping.predict(s)
    m = summary_metrics(s, y, prob=prob)
    naive = summary_metrics(s, y, prob=np.clip(s / 100.0, 0.0, 1.0))
    return {"mapping": mapping.to_dict(), "n_train": mapping.n_train, "n_test": m["n"],
            "churn_rate_test": m["churn_rate"], "auc": m["auc"], "brier": m["brier"],
            "log_loss": m["log_loss"], "brier_points_as_prob": naive["brier"],
            "reliability": records(reliability(prob, y, bins=bins, strategy=strategy))}
