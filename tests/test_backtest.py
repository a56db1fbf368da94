import json
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, log_loss, precision_score, recall_score, roc_auc_score

from riskcore.activity import load_activity
from riskcore.backtest import (Window, default_windows, fit_rules, run_backtest, scored_frame,
                               training_dates)
from riskcore.calibration import fit_mapping
from riskcore.db import Store
from riskcore.loading import load_account_table
from riskcore.rules import load_ruleset
from riskcore.sample import TABLE_NAMES, ensure_sample, generate_sample

DEFAULT = "data/rules/default.toml"
H = 90


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A 600-account sample on disk and a store with it loaded."""
    out = generate_sample(tmp_path_factory.mktemp("bt"), n_accounts=600, seed=5)
    store = Store()
    load_activity(store, out)
    return out, store


@pytest.fixture(scope="module")
def result(small):
    return run_backtest(small[1], load_ruleset(DEFAULT), horizon_days=H)


def test_result_is_json_with_the_metrics_of_section_5(result):
    back = json.loads(json.dumps(result))  # no numpy scalars, dates or NaN objects left
    assert back["mode"] == "point_in_time"
    for key in ("n", "churn_rate", "auc", "brier", "log_loss", "tiers", "high_tier", "calibration"):
        assert key in back, key
    assert [t["tier"] for t in back["tiers"]] == ["low", "medium", "high"]
    assert all({"n", "rate"} <= set(t) for t in back["tiers"])
    assert sum(t["n"] for t in back["tiers"]) == back["n"]
    assert {"precision", "recall", "false_positive_rate"} <= set(back["high_tier"])
    assert back["calibration"] and all({"predicted", "observed", "n"} <= set(b) for b in back["calibration"])
    assert sum(b["n"] for b in back["calibration"]) == back["n"]
    assert set(back["baselines"]) == {"logistic_regression", "gradient_boosting"}


def test_metrics_equal_sklearn_on_the_frame(small, result):
    store = small[1]
    rs = load_ruleset(DEFAULT)
    train_w, test_w = default_windows(store, H)
    assert result["as_of"] == str(test_w.as_of) and result["train_as_of"] == str(train_w.as_of)
    test = scored_frame(store, rs, test_w, "chk_test")
    train = scored_frame(store, rs, train_w, "chk_train")
    y, s = test["churned"].to_numpy(int), test["risk_score"].to_numpy(float)
    prob = fit_mapping(train["risk_score"].to_numpy(float), train["churned"].to_numpy(int)).predict(s)
    assert result["n"] == len(test) and result["churn_rate"] == pytest.approx(y.mean())
    assert result["auc"] == pytest.approx(roc_auc_score(y, s))
    assert result["brier"] == pytest.approx(brier_score_loss(y, prob))
    assert result["log_loss"] == pytest.approx(log_loss(y, prob, labels=[0, 1]))
    rates = test.groupby("tier")["churned"].agg(["size", "mean"])
    for t in result["tiers"]:
        if t["tier"] in rates.index:
            assert t["n"] == rates.loc[t["tier"], "size"] and t["rate"] == pytest.approx(rates.loc[t["tier"], "mean"])
        else:
            assert t["n"] == 0
    high = (test["tier"] == "high").to_numpy(int)
    if high.sum():
        assert result["high_tier"]["precision"] == pytest.approx(precision_score(y, high))
    assert result["high_tier"]["recall"] == pytest.approx(recall_score(y, high))
    fp = int(((high == 1) & (y == 0)).sum())
    assert result["high_tier"]["false_positive_rate"] == pytest.approx(fp / int((y == 0).sum()))


def _rewrite_after(src, dst, d: date) -> None:
    """Copy the sample, changing every activity row dated after d (and churning everyone after d)."""
    dst.mkdir()
    ts = pd.Timestamp(d)
    for name in TABLE_NAMES:
        t = pd.read_parquet(src / f"{name}.parquet")
        if name == "usage":
            late = pd.to_datetime(t["date"]) > ts
            t.loc[late, ["logins", "active_users", "core_feature_events"]] = 0
        elif name == "tickets":
            late = pd.to_datetime(t["opened_at"]) > ts
            t.loc[late, "sentiment"] = -1.0
            t.loc[late, "escalated"] = True
        elif name == "invoices":
            late = pd.to_datetime(t["due_date"]) > ts
            t.loc[late, "status"] = "failed"
            t.loc[late, "paid_at"] = pd.NaT
        elif name == "touchpoints":
            late = pd.to_datetime(t["date"]) > ts
            t.loc[late & (t["kind"] == "nps_survey"), "nps"] = 0.0
        elif name == "relationship_events":
            late = pd.to_datetime(t["date"]) > ts
            t.loc[late, "event"] = "champion_left"
        elif name == "outcomes":
            late = pd.to_datetime(t["date"]) > ts
            t.loc[late, "outcome"] = "churned"  # more churn after d: outcomes must change
        t.to_parquet(dst / f"{name}.parquet")


def test_no_look_ahead(small, tmp_path):
    out, store = small
    _, test_w = default_windows(store, H)
    _rewrite_after(out, tmp_path / "changed", test_w.as_of)
    changed = Store()
    load_activity(changed, tmp_path / "changed")
    rs = load_ruleset(DEFAULT)
    a = scored_frame(store, rs, test_w, "la_a")
    b = scored_frame(changed, rs, test_w, "la_b")
    pd.testing.assert_series_equal(a["account_id"], b["account_id"])
    score_cols = [c for c in a.columns if c.endswith(("_score", "_tier")) or c.startswith(("f_", "x_"))]
    score_cols += ["risk_score", "tier"]
    pd.testing.assert_frame_equal(a[score_cols], b[score_cols])
    assert b["churned"].sum() > a["churned"].sum()  # only the outcomes moved
    ra, rb = run_backtest(store, rs, horizon_days=H), run_backtest(changed, rs, horizon_days=H)
    assert ra["n"] == rb["n"] and rb["churn_rate"] > ra["churn_rate"]


ACCOUNTS = """
name = "acct"
primary_dimension = "churn"
dimensions = ["churn"]

[tiers]
medium = 31
high = 61

[[rules]]
id = "low_logins"
label = "Few logins"
dimension = "churn"
signal = "logins_30d"
op = "<"
threshold = 10
points = 70
group = "usage"
"""


def test_account_table_mode_is_the_plain_comparison(tmp_path):
    rng = np.random.default_rng(3)
    logins = rng.integers(0, 40, 200)
    churn = rng.random(200) < np.where(logins < 10, 0.6, 0.1)
    df = pd.DataFrame({"account_id": [f"A{i}" for i in range(200)], "arr": 1000.0, "logins_30d": logins,
                       "churned": np.where(churn, "Yes", "No")})
    df.to_csv(tmp_path / "accounts.csv", index=False)
    store = Store()
    load_account_table(store, tmp_path / "accounts.csv")
    res = run_backtest(store, load_ruleset(ACCOUNTS), horizon_days=H)
    assert res["mode"] == "plain_outcome" and "not point in time" in res["note"]
    assert res["as_of"] is None and res["train_as_of"] is None
    json.dumps(res)
    # the held-out half: the plain comparison of score and outcome
    frame = scored_frame(store, load_ruleset(ACCOUNTS), Window(None, H), "acct_chk")
    held = frame[~(np.random.default_rng(0).random(len(frame)) < 0.5)]
    assert res["n"] == len(held)
    assert res["auc"] == pytest.approx(roc_auc_score(held["churned"].astype(int), held["risk_score"]))


def test_training_dates_end_before_the_evaluation_window():
    d = training_dates(date(2026, 8, 1), 90, windows=3)
    assert d == [date(2026, 5, 3) - timedelta(days=60), date(2026, 5, 3) - timedelta(days=30), date(2026, 5, 3)]
    assert max(d) + timedelta(days=90) <= date(2026, 8, 1)  # every training outcome is known by then


WEAK_RULES = """
[[rules]]
id = "many_tickets"
label = "Two or more tickets in 30 days"
dimension = "churn"
signal = "tickets_30d"
op = ">="
threshold = 2
points = 10
group = "support"

[[rules]]
id = "late_invoice"
label = "An invoice late or unpaid in 90 days"
dimension = "churn"
signal = "late_invoices_90d"
op = ">="
threshold = 1
points = 10
group = "billing"
"""


@pytest.fixture(scope="module")
def sample5000():
    store = Store()
    load_activity(store, ensure_sample(5000))
    return store


def test_suggested_weights_rank_rules_like_the_truth(sample5000):
    """Strong truth drivers (usage decline 2.2, champion loss 1.4) get more points than rules over
    signals with no or ~0 effect (inactivity, tickets 0.0, late invoices 0.1)."""
    rs = load_ruleset(open(DEFAULT).read() + WEAK_RULES)
    _, info = fit_rules(sample5000, rs, horizon_days=H)
    p = info["points"]
    strong = min(p["usage_drop"], p["champion_left"])
    weak = max(p["inactive_7d"], p["many_tickets"], p["late_invoice"])
    assert strong >= 20 and strong > weak + 15, p


def test_suggested_weights_beat_the_default_weights_out_of_time(sample5000):
    _, info = fit_rules(sample5000, load_ruleset(DEFAULT), horizon_days=H)
    assert info["n_train"] > 10 * info["n_test"] / 2  # pooled monthly windows
    assert info["auc_fitted"] > info["auc_current"] + 0.01, info["summary"]
