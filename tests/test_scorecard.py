"""Scorecard fit (issue 16): rules and points proposed from history, scored by riskcore.scoring,
measured next to the baselines on the same rows, and no look-ahead."""

import json
import re
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from riskcore.activity import load_activity
from riskcore.backtest import default_windows, pooled_frame, scored_frame, training_dates
from riskcore.cli import main
from riskcore.db import Store
from riskcore.fitting import baselines
from riskcore.loading import load_account_table
from riskcore.rules import load_ruleset, number_text, rule_label, ruleset_to_toml, signal_text
from riskcore.sample import TABLE_NAMES, generate_sample
from riskcore.scorecard import fit_scorecard, scorecard_frontier
from riskcore.scorecard.binning import bin_category, bin_number, nice_cut, upper_end
from riskcore.scorecard.writing import readable
from riskcore.scoring import score_df
from riskcore.signals import signals_table

DEFAULT = "data/rules/default.toml"
H = 90
BUDGETS = (5, 10, 20, 40)


# ---- fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """A 600-account sample on disk, loaded."""
    out = generate_sample(tmp_path_factory.mktemp("sc"), n_accounts=600, seed=5)
    store = Store()
    load_activity(store, out)
    return out, store


@pytest.fixture(scope="module")
def fitted(sample):
    """fit --scorecard on the sample: the 40-rule set and the frontier."""
    return fit_scorecard(sample[1], load_ruleset(DEFAULT), horizon_days=H, max_rules=40)


def _accounts(n: int = 1500, seed: int = 11) -> pd.DataFrame:
    """An account table whose churn is additive in a U-shaped age, a plan (text), support calls,
    a spend with blanks (blank = risky) and a yes/no contract flag; with an id and a leaky score."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    plan = rng.choice(["Basic", "Pro", "Team", "Enterprise"], n, p=[0.4, 0.3, 0.2, 0.1])
    calls = rng.poisson(1.5, n)
    spend = np.round(rng.gamma(2.0, 40.0, n), 2)
    blank = rng.random(n) < 0.15
    contract = rng.random(n) < 0.5
    z = (-2.2 + 1.2 * ((age < 28) | (age > 65)) + np.select([plan == "Basic", plan == "Pro"], [1.0, 0.4], 0.0)
         + 0.6 * np.minimum(calls, 4) - 0.8 * contract + 1.0 * blank - 0.004 * spend)
    churn = rng.random(n) < 1 / (1 + np.exp(-z))
    return pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in range(n)], "Age": age, "Plan": plan, "Support calls": calls,
        "Monthly spend": np.where(blank, np.nan, spend), "Has contract": np.where(contract, "TRUE", "FALSE"),
        "Churn score": np.where(churn, rng.uniform(0.9, 1.0, n), rng.uniform(0.0, 0.1, n)),
        "Churned": np.where(churn, "Yes", "No")})


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("sc_acct") / "accounts.csv"
    _accounts().to_csv(path, index=False)
    store = Store()
    load_account_table(store, path)
    return path, store


@pytest.fixture(scope="module")
def table_fit(table):
    return fit_scorecard(table[1], None, max_rules=20)


@pytest.fixture(scope="module")
def small_table(tmp_path_factory):
    """A 400-account table for the command line and the frontier API."""
    path = tmp_path_factory.mktemp("sc_small") / "accounts.csv"
    _accounts(400, seed=3).to_csv(path, index=False)
    store = Store()
    load_account_table(store, path)
    return path, store


@pytest.fixture(scope="module")
def pooled(sample, fitted):
    """The fitted set's firings and the backtest's signal matrix over the pooled training dates
    (backtest.pooled_frame: an independent path to the rows the fit learnt from)."""
    store = sample[1]
    return pooled_frame(store, fitted[0], training_dates(default_windows(store, H)[1].as_of, H), H, "sc_pool")


def _churn_rules(rs):
    return [r for r in rs.rules if r.dimension == rs.primary_dimension]


# ---- the rules: readable, non-negative, at most 100, reasons add up -------------------------------

def test_reasons_of_every_account_add_up_to_its_score(sample, fitted):
    """Scored by riskcore.scoring (SQL) as of the evaluation date: each account's churn reasons sum
    to its churn score, and that score is the scorecard's own total (no cap needed)."""
    store = sample[1]
    rs, info = fitted
    as_of = default_windows(store, H)[1].as_of
    out = score_df(store, rs, signals_table(store, as_of), out_table="sc_reasons")
    sums = out["reasons"].map(lambda rr: sum(r["points"] for r in rr if r["dimension"] == "churn"))
    assert len(out) > 400 and (out["churn_score"] > 0).sum() > 100
    # graded rules give fractions of their points: reasons and the score are each rounded to 4 decimals
    np.testing.assert_allclose(sums.to_numpy(float), out["churn_score"].to_numpy(float), rtol=0, atol=5e-4)
    assert out["churn_score"].max() <= 100


def test_points_are_whole_non_negative_and_the_largest_total_is_at_most_100(fitted, pooled):
    """Bins of one signal never fire together (checked on the scored firings), so the largest
    possible total is the sum over signals of each signal's largest bin: at most 100. Every signal
    keeps a lowest-risk bin of 0 points: some accounts fire none of its rules."""
    rs, info = fitted
    rules = _churn_rules(rs)
    assert 5 <= len(rules) <= 40 and info["rules"] == len(rules)
    assert all(float(r.points).is_integer() and r.points > 0 for r in rules)
    frame = pooled
    by_signal: dict[str, list] = {}
    for r in rules:
        by_signal.setdefault(r.signal, []).append(r)
    largest = 0
    for sig, rr in by_signal.items():
        bins = [r for r in rr if r.op != "scale"]  # a graded rule runs along its signal's bins
        graded = [r for r in rr if r.op == "scale"]
        assert len(graded) <= 1
        fired = frame[[f"f_{r.id}" for r in rr]].fillna(0)
        assert (fired[[f"f_{r.id}" for r in bins]].sum(axis=1) <= 1).all(), f"two bins of {sig} fired together"
        assert (fired.sum(axis=1) == 0).any(), f"{sig} gives every account points"
        # the largest bin and the full ramp sit at the same (risky) end of a monotone signal
        largest += max([r.points for r in bins], default=0) + sum(r.points for r in graded)
        if graded and bins:
            top = max(bins, key=lambda r: r.points)
            at_top = frame[f"f_{top.id}"] > 0
            assert (frame.loc[at_top, f"f_{graded[0].id}"] == 1).any(), sig
    assert largest <= 100 and info["chosen"]["max_score"] == largest


def _condition_words(r) -> list[str]:
    """What a label must say for a rule: the column and each threshold in the op's words."""
    if r.op == "is_null":
        return ["is empty"]
    if r.op == "is_true":
        return ["is true"]
    if r.op == "between":
        return [f"between {number_text(r.threshold[0])} and {number_text(r.threshold[1])}"]
    if r.op == "scale":
        return [f"from {number_text(r.threshold[0])} to {number_text(r.threshold[1])}", "(graded)"]
    if r.op == "in":
        return [str(v) for v in r.threshold]
    word = {"<": "below {}", ">=": "{} or more", "==": "is {}"}[r.op]
    return [word.format("false" if r.threshold is False else number_text(r.threshold))]


@pytest.mark.parametrize("which", ["sample", "table"])
def test_every_label_states_its_condition(fitted, table_fit, which):
    rs = (fitted if which == "sample" else table_fit)[0]
    for r in _churn_rules(rs):
        label = rule_label(r)
        assert label.startswith(readable(signal_text(r.signal))), label
        for words in _condition_words(r):
            assert words in label, (label, r.op, r.threshold)
        assert "{" not in label and not re.search(r"\b(nan|None)\b", label), label


def test_the_written_toml_loads_back_with_tiers_mapping_and_groups(fitted):
    rs, info = fitted
    back = load_ruleset(ruleset_to_toml(rs))
    assert back == rs
    assert back.tiers.mode == "points" and 0 < back.tiers.high <= 100
    assert "double the odds" in back.description and "1 / (1 + exp(-(" in back.description
    groups = {r.group for r in _churn_rules(back)}
    assert len(groups) >= 2 and back.fusion.enabled  # evidence from several groups: fusion can still act
    assert [r for r in back.rules if r.dimension != "churn"]  # the default set's other dimensions stay


# ---- the frontier: measured like the baselines, on the same rows -----------------------------------

def test_frontier_auc_is_the_written_rule_set_scored_out_of_time(sample, fitted):
    """The frontier's AUC for the chosen budget is sklearn's AUC of the written rule set's scores
    (riskcore.scoring) on the accounts active at D, churn in (D, D+H]."""
    store = sample[1]
    rs, info = fitted
    test_w = default_windows(store, H)[1]
    frame = scored_frame(store, rs, test_w, "sc_front")
    y, s = frame["churned"].to_numpy(int), frame["churn_score"].to_numpy(float)
    assert info["mode"] == "point_in_time" and info["as_of"] == str(test_w.as_of)
    assert [p["max_rules"] for p in info["frontier"]] == list(BUDGETS)
    assert all(p["rules"] <= p["max_rules"] for p in info["frontier"])
    chosen = next(p for p in info["frontier"] if p["max_rules"] == 40)
    assert chosen["n"] == len(frame) and chosen["auc"] == pytest.approx(roc_auc_score(y, s))
    json.dumps(info, allow_nan=False, default=str)


def test_baselines_are_fitted_on_the_same_pooled_rows(sample, fitted, pooled):
    """The baselines next to the frontier: fitting.baselines on the backtest's signal matrix of the
    pooled training dates, evaluated at D (recomputed through backtest.pooled_frame)."""
    store = sample[1]
    train = pooled
    test = scored_frame(store, load_ruleset(DEFAULT), default_windows(store, H)[1], "sc_pool_test")
    x = lambda f: f[[c for c in f.columns if c.startswith("x_")]].rename(columns=lambda c: c[2:])  # noqa: E731
    want = baselines(x(train), train["churned"].to_numpy(int), x(test), test["churned"].to_numpy(int))
    got = fitted[1]["baselines"]
    for name in want:
        assert got[name]["auc"] == pytest.approx(want[name]["auc"]) and got[name]["n_train"] == len(train)


def test_scorecards_are_within_002_auc_of_the_best_baseline_on_the_sample(fitted):
    info = fitted[1]
    best = info["best_baseline"]["auc"]
    assert best > 0.8
    for p in info["frontier"]:
        assert p["auc"] >= best - 0.02, (p, info["baselines"])
    assert info["current_rules"]["auc"] < best - 0.05  # the default rules leave accuracy on the table


def test_account_table_frontier_is_cross_validated_and_says_so(table_fit):
    rs, info = table_fit
    assert info["mode"] == "cross_validated" and info["folds"] == 5 and info["as_of"] is None
    assert "cross-validated" in info["note"] and "cross-validated (5 folds)" in info["summary"]
    assert [p["max_rules"] for p in info["frontier"]] == list(BUDGETS)
    best = info["best_baseline"]["auc"]
    for p in info["frontier"]:
        assert p["n"] == 1500 and p["rules"] <= p["max_rules"]
        assert p["auc"] >= best - 0.02, (p, info["baselines"])
    used = {signal_text(r.signal) for r in _churn_rules(rs)}
    assert {"Age", "Plan", "Support calls"} <= used
    assert not used & {"customer_id", "Churn score", "Churned"}  # ids, the outcome and its copy never


def test_account_table_shapes_become_bins(table_fit):
    """The U-shaped age gets points at both ends, blanks of the spend their own bin, the plan grouped."""
    rs = table_fit[0]
    rules = {r.id: r for r in _churn_rules(rs)}
    age = [r for r in rules.values() if r.signal == '"Age"']
    assert {r.op for r in age} >= {"<", ">="}, [rule_label(r) for r in age]
    assert any(r.op == "is_null" and r.signal == '"Monthly spend"' for r in rules.values())
    plan = [r for r in rules.values() if r.signal == '"Plan"']
    assert plan and all(r.op == "in" for r in plan) and "Enterprise" not in sum((r.threshold for r in plan), ())


# ---- no look-ahead ----------------------------------------------------------------------------------

def _rewrite_after(src, dst, d) -> None:
    """Copy the sample; after d, zero every login and churn every account."""
    dst.mkdir()
    ts = pd.Timestamp(d)
    for name in TABLE_NAMES:
        t = pd.read_parquet(src / f"{name}.parquet")
        if name == "usage":
            t.loc[pd.to_datetime(t["date"]) > ts, ["logins", "active_users"]] = 0
        elif name == "outcomes":
            t.loc[pd.to_datetime(t["date"]) > ts, "outcome"] = "churned"
        t.to_parquet(dst / f"{name}.parquet")


def test_no_look_ahead(sample, tmp_path):
    """fit --scorecard --as-of D: facts and outcomes after D change nothing that is written; only
    the evaluation (churn after D) moves."""
    out, store = sample
    d = default_windows(store, H)[1].as_of - timedelta(days=30)
    _rewrite_after(out, tmp_path / "changed", d)
    changed = Store()
    load_activity(changed, tmp_path / "changed")
    a = fit_scorecard(store, load_ruleset(DEFAULT), as_of=d, horizon_days=H, max_rules=10, budgets=(10,))
    b = fit_scorecard(changed, load_ruleset(DEFAULT), as_of=d, horizon_days=H, max_rules=10, budgets=(10,))
    assert ruleset_to_toml(a[0]) == ruleset_to_toml(b[0])
    assert a[1]["as_of"] == b[1]["as_of"] == str(d)
    assert a[1]["frontier"][0]["auc"] != b[1]["frontier"][0]["auc"]  # the outcomes after D did change


# ---- binning ----------------------------------------------------------------------------------------

def test_cuts_land_on_round_numbers_between_neighbouring_values():
    assert (nice_cut(45, 46), nice_cut(182.1, 185.0), nice_cut(-0.5, -0.3)) == (46, 184, -0.4)
    assert (upper_end(60, 61), upper_end(215.3, 215.4), upper_end(0.2345678, 0.3)) == (60, 215.3, 0.29)


def test_monotone_where_the_data_is_and_not_where_it_is_not():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 100, 5000).astype(float)
    rising = (rng.random(5000) < 0.05 + 0.3 * (x / 100)).astype(int)
    u = (rng.random(5000) < np.where((x < 20) | (x > 80), 0.4, 0.05)).astype(int)
    up = bin_number("x", pd.Series(x), rising)
    assert up.monotone == "up" and len(up.cuts) >= 2
    assert all(float(c.at).is_integer() for c in up.cuts)  # whole numbers for whole-number data
    shape = bin_number("x", pd.Series(x), u)
    assert shape.monotone is None and len(shape.cuts) >= 2
    with_blanks = bin_number("x", pd.Series(np.where(x < 10, np.nan, x)), rising)
    assert with_blanks.has_null and with_blanks.bins[-1].null


def test_text_values_are_grouped_by_churn_rate():
    rng = np.random.default_rng(1)
    v = rng.choice(list("ABCDEF"), 6000)
    rate = pd.Series(v).map({"A": 0.02, "B": 0.03, "C": 0.2, "D": 0.21, "E": 0.5, "F": 0.02}).to_numpy()
    y = (rng.random(6000) < rate).astype(int)
    sb = bin_category("v", pd.Series(v), y)
    groups = [set(g) for g in sb.groups]
    assert len(groups) == 3 and {"A", "B", "F"} in groups and {"C", "D"} in groups and {"E"} in groups


# ---- command line -------------------------------------------------------------------------------------

def test_cli_fit_scorecard_json(small_table, tmp_path, capsys):
    path, _ = small_table
    out = tmp_path / "card.toml"
    assert main(["fit", "--scorecard", "--data", str(path), "--max-rules", "10", "--json", "--out", str(out)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["mode"] == "cross_validated" and [p["max_rules"] for p in info["frontier"]] == list(BUDGETS)
    assert set(info["baselines"]) == {"logistic_regression", "gradient_boosting"}
    rs = load_ruleset(out)
    assert 1 <= len(_churn_rules(rs)) <= 10 == info["chosen"]["max_rules"]


def test_cli_max_rules_needs_scorecard(small_table, tmp_path, capsys):
    assert main(["fit", "--data", str(small_table[0]), "--max-rules", "5", "--out", str(tmp_path / "x.toml")]) == 1
    assert "--max-rules and --json go with --scorecard" in capsys.readouterr().err
    assert not (tmp_path / "x.toml").exists()


def test_frontier_offers_a_rule_set_per_point(small_table):
    front = scorecard_frontier(small_table[1], None, budgets=(5, 10))
    assert [p.max_rules for p in front.points] == [5, 10]
    for p in front.points:
        assert len(_churn_rules(p.ruleset)) == p.card.n_rules <= p.max_rules
        assert load_ruleset(ruleset_to_toml(p.ruleset)) == p.ruleset


def test_cli_scorecard_without_two_outcomes_says_why(tmp_path, capsys):
    out = tmp_path / "card.toml"
    assert main(["fit", "--scorecard", "--data", "tests/data/exports/one_churner.csv", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "error: cross-validation needs at least 2 churned and 2 retained accounts, found 1 churned" in err
    assert "Traceback" not in err and not out.exists()
