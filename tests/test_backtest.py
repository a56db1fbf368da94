import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, log_loss, precision_score, recall_score, roc_auc_score

from riskcore.activity import load_activity
from riskcore.backtest import (Window, default_windows, fit_rules, format_backtest, run_backtest,
                               scored_frame, training_dates)
from riskcore.calibration import fit_mapping
from riskcore.db import Store
from riskcore.loading import load_account_table, load_data
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


def _account_store(tmp_path) -> Store:
    rng = np.random.default_rng(3)
    logins = rng.integers(0, 40, 200)
    churn = rng.random(200) < np.where(logins < 10, 0.6, 0.1)
    df = pd.DataFrame({"account_id": [f"A{i}" for i in range(200)], "arr": 1000.0, "logins_30d": logins,
                       "seats": rng.integers(1, 30, 200), "churned": np.where(churn, "Yes", "No")})
    df.to_csv(tmp_path / "accounts.csv", index=False)
    store = Store()
    load_account_table(store, tmp_path / "accounts.csv")
    return store


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_account_table_backtest_is_cross_validated_on_every_row(tmp_path, method):
    """No dates: every account with an outcome is evaluated; each probability comes from a
    mapping fitted on the other folds (checked fold by fold with fit_mapping)."""
    from sklearn.model_selection import StratifiedKFold
    store = _account_store(tmp_path)
    res = run_backtest(store, load_ruleset(ACCOUNTS), horizon_days=H, method=method)
    assert res["mode"] == "cross_validated" and res["folds"] == 5
    assert "not point in time" in res["note"] and "other 4 folds" in res["note"]
    assert res["as_of"] is None and res["train_as_of"] is None and res["horizon_days"] is None
    json.dumps(res, allow_nan=False)
    frame = scored_frame(store, load_ruleset(ACCOUNTS), Window(None, H), "acct_chk")
    y, s = frame["churned"].to_numpy(int), frame["risk_score"].to_numpy(float)
    assert res["n"] == len(frame) == 200  # every row, not a held-out half
    assert res["auc"] == pytest.approx(roc_auc_score(y, s))
    prob = np.zeros(len(y))
    for fit, held in StratifiedKFold(5, shuffle=True, random_state=0).split(s, y):
        prob[held] = fit_mapping(s[fit], y[fit], method=method).predict(s[held])
    assert res["brier"] == pytest.approx(brier_score_loss(y, prob))
    assert sum(b["n"] for b in res["calibration"]) == 200
    assert res["mapping"]["n_train"] == 200  # the mapping to use from now on: fitted on every row
    for name in ("logistic_regression", "gradient_boosting"):
        b = res["baselines"][name]
        assert b["unavailable"] is None and b["folds"] == 5 and b["n_test"] == 200 and b["auc"] > 0.6, b


def test_account_table_baselines_are_cross_fitted(tmp_path):
    """The LR baseline's AUC is that of cross_val_predict on the same folds (not of an in-sample fit)."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    store = _account_store(tmp_path)
    res = run_backtest(store, load_ruleset(ACCOUNTS), horizon_days=H)
    frame = scored_frame(store, load_ruleset(ACCOUNTS), Window(None, H), "acct_chk2")
    X, y = frame[["x_logins_30d"]].to_numpy(float), frame["churned"].to_numpy(int)
    lr = make_pipeline(SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                       StandardScaler(), LogisticRegression(max_iter=2000))
    p = cross_val_predict(lr, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")[:, 1]
    got = res["baselines"]["logistic_regression"]
    assert got["n_features"] == 1  # logins_30d; `seats` and arr are never features
    assert got["auc"] == pytest.approx(roc_auc_score(y, p))


EXPORTS = Path(__file__).resolve().parent / "data" / "exports"


def test_fewer_folds_when_one_class_is_tiny():
    store = Store()
    load_data(store, EXPORTS / "tiny_class.csv")  # 300 accounts, 3 churned
    res = run_backtest(store, load_ruleset(ACCOUNTS))
    assert res["folds"] == 3 and res["n"] == 300 and res["churned"] == 3
    assert "other 2 folds" in res["note"] and res["brier"] is not None
    assert "cross-validated (3 folds)" in format_backtest(res)


def test_one_churner_keeps_every_other_metric():
    store = Store()
    load_data(store, EXPORTS / "one_churner.csv")  # 300 accounts, 1 churned: nothing to cross-fit
    res = run_backtest(store, load_ruleset(ACCOUNTS))
    json.dumps(res, allow_nan=False)
    assert res["n"] == 300 and res["auc"] is not None and res["tiers"] and res["folds"] is None
    assert res["brier"] is None and res["mapping"] is None
    for b in res["baselines"].values():
        assert "at least 2 churned and 2 retained accounts, found 1 churned" in b["unavailable"]
    text = format_backtest(res)
    assert "unavailable (cross-validation needs at least 2 churned" in text and "nan" not in text.lower()


@pytest.mark.parametrize("name", ["empty_numeric_column.parquet", "empty_numeric_column.csv",
                                  "empty_numeric_column.xlsx"])
def test_an_all_empty_column_does_not_kill_the_backtest(name):
    """A typed column with no value at all (a blank CRM field) used to stop the whole backtest in the
    gradient-boosting baseline ("window shape cannot be larger than input array shape")."""
    store = Store()
    load_data(store, EXPORTS / name)
    res = run_backtest(store, load_ruleset(ACCOUNTS))
    assert res["n"] == 240 and res["auc"] is not None and res["brier"] is not None
    for b in res["baselines"].values():
        assert b["unavailable"] is None and b["auc"] is not None
    if "Support calls" in store.column_types("account_table") and \
            store.column_types("account_table")["Support calls"] != "VARCHAR":
        dropped = res["baselines"]["gradient_boosting"]["features_dropped"]
        assert {"column": "Support calls", "reason": "all empty"} in dropped
        assert "Support calls (all empty)" in format_backtest(res)


def _activity_copy(src: Path, dst: Path, edit) -> Store:
    """The sample's CSV tables copied to dst with `edit(name, frame)` applied, then loaded."""
    dst.mkdir()
    for f in src.glob("*.csv"):
        t = pd.read_csv(f)
        edit(f.stem, t).to_csv(dst / f.name, index=False)
    store = Store()
    load_activity(store, dst)
    return store


@pytest.fixture(scope="module")
def sample_csv(tmp_path_factory):
    return generate_sample(tmp_path_factory.mktemp("csv"), n_accounts=300, seed=8, fmt="csv")


def test_touchpoints_without_nps_keep_the_baselines(sample_csv, tmp_path):
    store = _activity_copy(sample_csv, tmp_path / "no_nps",
                           lambda name, t: t.assign(nps=np.nan) if name == "touchpoints" else t)
    res = run_backtest(store, load_ruleset(DEFAULT), horizon_days=H)
    assert res["mode"] == "point_in_time" and res["auc"] is not None
    for b in res["baselines"].values():
        assert b["unavailable"] is None and b["auc"] is not None
        assert {"column": "last_nps", "reason": "all empty"} in b["features_dropped"]


def test_header_only_usage_keeps_the_baselines(sample_csv, tmp_path):
    store = _activity_copy(sample_csv, tmp_path / "no_usage",
                           lambda name, t: t.iloc[:0] if name == "usage" else t)
    res = run_backtest(store, load_ruleset(DEFAULT), horizon_days=H)
    assert res["auc"] is not None and res["brier"] is not None
    dropped = {d["column"]: d["reason"] for d in res["baselines"]["logistic_regression"]["features_dropped"]}
    assert dropped["usage_change_30d"] == "all empty" and dropped["logins_30d"] == "one value only (0)"
    assert all(b["unavailable"] is None for b in res["baselines"].values())


TWO_RULES = ACCOUNTS + """
[[rules]]
id = "many_seats"
label = "20 seats or more"
dimension = "churn"
signal = "seats"
op = ">="
threshold = 20
points = 40
group = "usage"
"""


def test_fit_on_an_account_table_is_cross_validated(tmp_path):
    """Each fold is scored with points fitted on the other folds (recomputed here with suggest_points)."""
    from sklearn.model_selection import StratifiedKFold
    from riskcore.fitting import suggest_points
    store = _account_store(tmp_path)
    rs = load_ruleset(TWO_RULES)
    fitted, info = fit_rules(store, rs)
    assert info["mode"] == "cross_validated" and info["folds"] == 5 and info["n_test"] == 200
    assert info["summary"].startswith("cross-validated (5 folds) AUC on 200 accounts: current weights ")
    frame = scored_frame(store, rs, Window(None, H), "fit_chk")
    y = frame["churned"].to_numpy(int)
    X = frame[["f_low_logins", "f_many_seats"]].fillna(0.0).rename(columns=lambda c: c[2:])
    assert info["auc_current"] == pytest.approx(roc_auc_score(y, frame["risk_score"]))
    held_scores = np.zeros(len(y))
    for fit, held in StratifiedKFold(5, shuffle=True, random_state=0).split(X, y):
        pts = suggest_points(X.iloc[fit], y[fit], current={"low_logins": 70, "many_seats": 40})["points"]
        held_scores[held] = np.minimum(100, X.iloc[held].to_numpy() @ np.array([round(pts[c]) for c in X.columns]))
    assert info["auc_fitted"] == pytest.approx(roc_auc_score(y, held_scores))
    everything = suggest_points(X, y, current={"low_logins": 70, "many_seats": 40})["points"]
    assert {r.id: r.points for r in fitted.rules} == {k: round(v) for k, v in everything.items()}


def test_fit_sets_tier_cut_offs_from_the_fitted_scores(tmp_path):
    """The fitted set's high cut-off is the smallest score whose accounts churn at least twice the
    base rate (recomputed here from the fitted points and the outcomes, not with tiercuts)."""
    store = _account_store(tmp_path)
    fitted, info = fit_rules(store, load_ruleset(TWO_RULES))
    frame = scored_frame(store, fitted, Window(None, H), "fit_tiers_chk")
    s, y = frame["risk_score"].to_numpy(float), frame["churned"].to_numpy(float)
    qualifying = [c for c in sorted(set(s[s > 0]))
                  if (s >= c).sum() >= 5 and y[s >= c].mean() >= 2 * y.mean()]
    assert qualifying, "the fixture's fitted scores separate churners"
    assert (fitted.tiers.high, fitted.tiers.mode) == (qualifying[0], "points")
    assert info["tiers"].startswith(f"high >= {qualifying[0]:g} (")
    assert f"tier cut-offs: high >= {qualifying[0]:g}" in info["summary"]


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


@pytest.mark.parametrize("name", ["telco_leaky.csv", "tiny_class.csv", "one_churner.csv"])
def test_tuning_accuracy_is_the_cross_validated_backtest(name):
    """The Tuning page's draft accuracy (accuracy.quick_accuracy, from firing patterns) is the same
    cross-validated AUC and Brier as run_backtest on an account table, for any points."""
    from riskcore.accuracy import backtest_patterns, quick_accuracy
    from riskcore.rules import with_points
    from riskcore.starter import starter_ruleset
    store = Store()
    load_data(store, EXPORTS / name)
    rs = starter_ruleset(store)
    bp = backtest_patterns(store, rs)
    for r in (rs, with_points(rs, {rs.rules[0].id: 5})):
        quick, full = quick_accuracy(bp, r), run_backtest(store, r)
        assert quick["n"] == full["n"] and quick["auc"] == pytest.approx(full["auc"], abs=1e-12)
        if full["brier"] is None:
            assert quick["brier"] is None and quick["method"].startswith("every account")
        else:
            assert quick["brier"] == pytest.approx(full["brier"], abs=1e-12)
            assert quick["method"] == f"cross-validated ({full['folds']} folds)"
