"""Metrics on a 10-account fixture computed by hand, and against scikit-learn on random data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score, roc_curve

from riskcore.metrics import (gain_curve, high_tier_confusion, lift_top_decile, metrics_by_segment,
                              rate_by_bin, rate_by_tier, roc_points, summary_metrics, wilson_interval)

# 10 accounts, 4 churned (rate 0.4). Tiers by the default cut-offs: >= 61 high, >= 31 medium.
SCORES = [90, 80, 70, 60, 50, 40, 30, 20, 10, 0]
Y = [1, 1, 0, 1, 0, 0, 1, 0, 0, 0]
TIERS = ["high", "high", "high", "medium", "medium", "medium", "low", "low", "low", "low"]


def test_wilson_interval_by_hand():
    # k=2, n=10, z=1.96: p=0.2, z^2=3.8416, denom=1.38416, centre=0.39208/1.38416=0.283262,
    # half=1.96*sqrt(0.016+0.009604)/1.38416=0.226581 -> (0.056681, 0.509843)
    lo, hi = wilson_interval(2, 10)
    assert lo == pytest.approx(0.056681, abs=1e-6)
    assert hi == pytest.approx(0.509843, abs=1e-6)
    assert wilson_interval(0, 0) == (None, None)
    lo0, hi0 = wilson_interval(0, 5)
    assert lo0 == 0.0 and 0 < hi0 < 1
    with pytest.raises(ValueError, match="0 <= k <= n"):
        wilson_interval(3, 2)


def test_high_tier_confusion_by_hand():
    # high = 90, 80, 70: tp=2 (90, 80), fp=1 (70); churned outside high: 60, 30 -> fn=2; tn=10-3-2=5
    # precision 2/3, recall 2/4, false-positive rate 1/6
    got = high_tier_confusion(TIERS, Y)
    assert got == {"precision": pytest.approx(2 / 3), "recall": 0.5, "false_positive_rate": pytest.approx(1 / 6),
                   "tp": 2, "fp": 1, "fn": 2, "tn": 5}


def test_high_tier_confusion_undefined_is_none():
    got = high_tier_confusion(["low", "low"], [0, 0])
    assert got["precision"] is None and got["recall"] is None and got["false_positive_rate"] == 0.0


def test_rate_by_tier_by_hand_and_empty_tier_kept():
    # low: 30,20,10,0 -> 1 of 4; medium: 60,50,40 -> 1 of 3; high: 2 of 3
    got = rate_by_tier(TIERS, Y)
    assert list(got["tier"]) == ["low", "medium", "high"]
    assert list(got["n"]) == [4, 3, 3]
    assert list(got["churned"]) == [1, 1, 2]
    assert got["rate"].tolist() == pytest.approx([0.25, 1 / 3, 2 / 3])
    assert (got["ci_low"] <= got["rate"]).all() and (got["rate"] <= got["ci_high"]).all()
    empty = rate_by_tier(["low", "high"], [0, 1])
    assert empty.loc[1, "tier"] == "medium" and empty.loc[1, "n"] == 0 and pd.isna(empty.loc[1, "rate"])


def test_rate_by_tier_rejects_unknown_tier():
    with pytest.raises(ValueError, match="found 'critical'"):
        rate_by_tier(["low", "critical"], [0, 1])


def test_rate_by_bin_edges_by_hand():
    # [0, 50): 40,30,20,10,0 -> 1 churned of 5; [50, 100]: 90,80,70,60,50 -> 3 of 5
    got = rate_by_bin(SCORES, Y, bins=[0, 50, 100])
    assert got["n"].tolist() == [5, 5]
    assert got["churned"].tolist() == [1, 3]
    assert got["rate"].tolist() == pytest.approx([0.2, 0.6])


def test_rate_by_bin_ten_bins_include_100_and_match_pandas():
    scores = np.array(SCORES[:-1] + [100])  # 100 belongs to the last bin [90, 100]
    got = rate_by_bin(scores, Y, bins=10)
    assert got["n"].tolist() == [0] + [1] * 8 + [2]
    rng = np.random.default_rng(1)
    s, y = rng.integers(0, 101, 500), rng.integers(0, 2, 500)
    got = rate_by_bin(s, y, bins=10)
    expected = pd.Series(y).groupby(pd.cut(s, np.linspace(0, 100, 11), right=False, include_lowest=True),
                                    observed=False).agg(["size", "sum"])
    expected.iloc[-1] += [(s == 100).sum(), y[s == 100].sum()]
    assert got["n"].tolist() == expected["size"].tolist()
    assert got["churned"].tolist() == expected["sum"].tolist()


def test_lift_top_decile_by_hand():
    # top decile = 1 account (score 90, churned): rate 1.0 / base 0.4 = lift 2.5; capture 1/4
    got = lift_top_decile(SCORES, Y)
    assert got == {"lift": pytest.approx(2.5), "capture": pytest.approx(0.25), "threshold": 90.0,
                   "n_top": 1, "churned_top": 1.0}


def test_lift_ties_count_pro_rata_and_ignore_row_order():
    # top decile = 1 account, but 4 accounts tie at 50 with 2 churners among them:
    # expected churners in the top = 1 * 2/4 = 0.5; base 2/10 -> lift 0.5/0.2 = 2.5, capture 0.5/2
    scores = [50, 50, 50, 50, 10, 10, 10, 10, 10, 10]
    y = [1, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    got = lift_top_decile(scores, y)
    assert got["lift"] == pytest.approx(2.5) and got["capture"] == pytest.approx(0.25)
    assert got["threshold"] == 50.0
    order = [3, 1, 0, 2, 9, 8, 7, 6, 5, 4]
    again = lift_top_decile([scores[i] for i in order], [y[i] for i in order])
    assert again == got


def test_summary_metrics_by_hand_and_sklearn():
    # AUC by hand: positives 90, 80, 60, 30 vs negatives 70, 50, 40, 20, 10, 0:
    # 6 + 6 + 5 + 3 = 20 of 24 pairs ordered -> 0.8333
    prob = [0.9, 0.8, 0.6, 0.5, 0.4, 0.3, 0.3, 0.2, 0.1, 0.05]
    got = summary_metrics(SCORES, Y, prob=prob, tiers=TIERS)
    assert got["n"] == 10 and got["churned"] == 4 and got["churn_rate"] == pytest.approx(0.4)
    assert got["auc"] == pytest.approx(20 / 24)
    assert got["auc"] == pytest.approx(roc_auc_score(Y, SCORES))
    assert got["pr_auc"] == pytest.approx(average_precision_score(Y, SCORES))
    assert got["brier"] == pytest.approx(np.mean((np.array(prob) - np.array(Y)) ** 2))
    assert got["brier"] == pytest.approx(brier_score_loss(Y, prob))
    assert got["log_loss"] == pytest.approx(log_loss(Y, prob))
    assert got["lift_top_decile"] == pytest.approx(2.5)
    assert [t["n"] for t in got["tiers"]] == [4, 3, 3]
    assert got["high_tier"]["recall"] == 0.5
    text = json.dumps(got, allow_nan=False)
    assert "NaN" not in text


def test_summary_metrics_one_class_and_empty():
    got = summary_metrics([10, 20, 30], [0, 0, 0])
    assert got["auc"] is None and got["churn_rate"] == 0.0 and got["brier"] is None
    assert got["lift_top_decile"] is None
    empty = summary_metrics([], [])
    assert empty["n"] == 0 and empty["churn_rate"] is None and empty["auc"] is None
    json.dumps(got, allow_nan=False)


def test_bad_outcomes_and_lengths_are_named():
    with pytest.raises(ValueError, match=r"found 2 at position 1"):
        summary_metrics([1, 2], [0, 2])
    with pytest.raises(ValueError, match="expected 3 values"):
        summary_metrics([1, 2], [0, 1, 1])
    with pytest.raises(ValueError, match=r"prob: expected probabilities in \[0, 1\], found 1.5"):
        summary_metrics([1, 2], [0, 1], prob=[0.5, 1.5])
    with pytest.raises(ValueError, match="found None"):
        summary_metrics([1, 2], [0, None])
    assert summary_metrics([1, 2], [False, True])["auc"] == 1.0


def test_metrics_by_segment_matches_subsets():
    frame = pd.DataFrame({"segment": ["SMB"] * 5 + ["Enterprise"] * 3 + [None] * 2,
                          "risk_score": SCORES, "churned": [bool(v) for v in Y], "tier": TIERS})
    got = metrics_by_segment(frame, "segment", tier_col="tier")
    assert list(got) == ["(none)", "Enterprise", "SMB"]
    smb = summary_metrics(SCORES[:5], Y[:5], tiers=TIERS[:5])
    assert got["SMB"] == smb
    assert got["Enterprise"]["n"] == 3 and got["(none)"]["n"] == 2
    with pytest.raises(ValueError, match="column 'region' not found"):
        metrics_by_segment(frame, "region")


def test_roc_points_match_sklearn():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 200)
    s = y * 10 + rng.normal(0, 10, 200)
    got = roc_points(s, y)
    fpr, tpr, thr = roc_curve(y, s)
    assert got["fpr"] == pytest.approx(list(fpr)) and got["tpr"] == pytest.approx(list(tpr))
    assert got["threshold"][0] is None and got["threshold"][1:] == pytest.approx(list(thr[1:]))
    json.dumps(got, allow_nan=False)


def test_gain_curve_by_hand():
    # no ties: after the top 4 accounts (90, 80, 70, 60) 3 of the 4 churners are reached
    got = gain_curve(SCORES, Y)
    assert (got["share_accounts"][0], got["share_churned"][0]) == (0.0, 0.0)
    assert got["share_accounts"][-1] == pytest.approx(1.0) and got["share_churned"][-1] == 1.0
    i = min(range(len(got["share_accounts"])), key=lambda j: abs(got["share_accounts"][j] - 0.4))
    assert got["share_accounts"][i] == pytest.approx(0.4) and got["share_churned"][i] == pytest.approx(0.75)
    # ties enter together: two tied accounts move x by 0.5 in one step
    tied = gain_curve([5, 5, 1, 1], [1, 0, 0, 1])
    assert tied["share_accounts"] == pytest.approx([0.0, 0.5, 1.0])
    assert tied["share_churned"] == pytest.approx([0.0, 0.5, 1.0])
