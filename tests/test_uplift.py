"""Plays and hold-outs: `riskcore.uplift` against hand-counted fixtures, the interval and sample-size
formulas against independent computations, the generated sample's known effect, and the CLI."""

import json
import math
from datetime import date

import pandas as pd
import pytest
from scipy.stats import norm

from riskcore.cli import main
from riskcore.fixtures import (UPLIFT_MATCH_RULES, uplift_holdout_frames, uplift_matched_frames,
                               uplift_store)
from riskcore.rules import load_ruleset
from riskcore.signals import outcomes
from riskcore.uplift import (UpliftError, accounts_needed, difference_interval, format_uplift, play_accounts,
                             play_names, uplift, uplift_all)

KEYS = {"play", "horizon_days", "method", "treated", "control", "effect", "ci_low", "ci_high"}


@pytest.fixture(scope="module")
def holdout_store():
    return uplift_store(uplift_holdout_frames())


@pytest.fixture(scope="module")
def matched_store():
    return uplift_store(uplift_matched_frames())


# ---- hand-counted fixtures ---------------------------------------------------------------

def test_holdout_play_counted_by_hand(holdout_store):
    r = uplift(holdout_store, "call")
    assert KEYS <= set(r)
    assert (r["play"], r["horizon_days"], r["method"]) == ("call", 90, "holdout")
    # treated T1 (churned), T2, T4, T7; control H1, H2 (churned), H4 (the fixture's table)
    assert r["treated"] == {"n": 4, "churned": 1, "rate": 0.25}
    assert r["control"] == {"n": 3, "churned": 2, "rate": pytest.approx(2 / 3, abs=1e-6)}
    assert r["effect"] == pytest.approx(2 / 3 - 1 / 4, abs=1e-6)  # control - treated: the play helped
    assert r["excluded"] == {"not_active": 3, "horizon_past_data_end": 1, "holdout_and_treated": 1, "unmatched": 0}
    assert r["arr_treated"] == 1000 + 2000 + 4000 + 7000
    assert r["arr_saved"] == pytest.approx((2 / 3 - 1 / 4) * 14000, abs=0.01)
    assert not r["observational"] and r["caveat"] is None
    assert r["ci_low"] < 0 < r["effect"] < r["ci_high"] and not r["conclusive"]
    json.dumps(r, allow_nan=False)  # plain JSON: no NaN, numpy scalars or dates


def test_play_accounts_say_why_each_is_left_out(holdout_store):
    frame = play_accounts(holdout_store, "call").set_index("account_id")
    assert frame.loc["C1", "group"] == "both" and frame.loc["C1", "excluded"] == "holdout_and_treated"
    assert set(frame.index[frame["excluded"] == "not_active"]) == {"T3", "T5", "H3"}
    assert list(frame.index[frame["excluded"] == "horizon_past_data_end"]) == ["T6"]
    assert frame.loc["T7", "group"] == "treated"  # its first start (06-01) counts, not the later hold-out
    assert pd.Timestamp(frame.loc["T7", "started_at"]).date() == date(2024, 6, 1)


def test_active_and_churned_are_the_signals_notion(holdout_store):
    """Whether an account counts at its start and whether it churned agree with signals.outcomes
    (the backtests' definition) at that date."""
    frame = play_accounts(holdout_store, "call")
    at_start = frame[frame["started_at"] == pd.Timestamp(2024, 6, 1)]
    ref = outcomes(holdout_store, date(2024, 6, 1), 90).set_index("account_id")["churned"]
    for _, row in at_start.iterrows():
        assert row["active"] == (row["account_id"] in ref.index), row["account_id"]
        if row["active"]:
            assert row["churned"] == bool(ref[row["account_id"]]), row["account_id"]


def test_horizon_moves_the_window_and_the_data_end(holdout_store):
    r = uplift(holdout_store, "call", horizon_days=30)  # churn in (06-01, 07-01]
    # T1 churned 07-15: now outside; T6 (11-01 + 30 = 12-01, before the data's end) now counts
    assert r["treated"] == {"n": 5, "churned": 0, "rate": 0.0}
    assert r["control"]["n"] == 3 and r["control"]["churned"] == 1  # H1 only (06-20)
    assert r["excluded"]["horizon_past_data_end"] == 0


def test_matched_play_counted_by_hand(matched_store):
    r = uplift(matched_store, "nudge", rules=load_ruleset(UPLIFT_MATCH_RULES))
    assert r["method"] == "matched" and r["observational"] and "observational" in r["caveat"]
    assert r["treated"] == {"n": 3, "churned": 1, "rate": pytest.approx(1 / 3, abs=1e-6)}  # N1, N2, N3
    assert r["control"] == {"n": 3, "churned": 2, "rate": pytest.approx(2 / 3, abs=1e-6)}  # 2 of P1-P3, 1 of P4-P6
    assert r["excluded"]["unmatched"] == 1  # N4: no Enterprise account without the play
    assert r["arr_treated"] == 1000 + 2000 + 3000
    assert r == uplift(matched_store, "nudge", rules=load_ruleset(UPLIFT_MATCH_RULES))  # the draw is seeded


def test_holdout_column_is_optional(matched_store):
    assert "holdout" not in matched_store.columns("plays")
    assert play_names(matched_store) == ["nudge"]


@pytest.mark.parametrize("play, horizon, words", [
    ("no such play", 90, "no play named 'no such play' in the plays table (plays: 'call', 'other')"),
    ("call", 0, "horizon_days must be a positive number of days"),
])
def test_bad_requests_are_named(holdout_store, play, horizon, words):
    with pytest.raises(UpliftError, match=words.replace("(", r"\(").replace(")", r"\)")):
        uplift(holdout_store, play, horizon_days=horizon)


def test_data_without_plays_says_what_to_add():
    from riskcore.fixtures import activity_store
    with pytest.raises(UpliftError, match="no plays table: add plays.csv"):
        uplift(activity_store(), "call")


# ---- the formulas, against independent computations --------------------------------------

def _wilson(x: int, n: int, z: float) -> tuple[float, float]:
    p = x / n
    mid, half = (p + z * z / (2 * n)), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (mid - half) / (1 + z * z / n), (mid + half) / (1 + z * z / n)


def _newcombe(x1, n1, x2, n2, z=norm.ppf(0.975)):
    """Newcombe (1998), method 10: the hybrid score interval for p1 - p2 from Wilson intervals."""
    p1, p2 = x1 / n1, x2 / n2
    (l1, u1), (l2, u2) = _wilson(x1, n1, z), _wilson(x2, n2, z)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


@pytest.mark.parametrize("c, t", [((56, 70), (48, 80)), ((2, 3), (1, 4)), ((30, 103), (64, 243)), ((0, 10), (0, 12))])
def test_interval_is_newcombes_for_control_minus_treated(c, t):
    low, high = difference_interval({"churned": c[0], "n": c[1]}, {"churned": t[0], "n": t[1]})
    assert (low, high) == pytest.approx(_newcombe(c[0], c[1], t[0], t[1]), abs=1e-9)
    # the other way round is the mirror image: the sign convention is control - treated
    back = difference_interval({"churned": t[0], "n": t[1]}, {"churned": c[0], "n": c[1]})
    assert back == pytest.approx((-high, -low), abs=1e-9)


def test_interval_matches_newcombes_published_example():
    """Newcombe (1998), Table II, example (a): 56/70 - 48/80, method 10: 0.0524 to 0.3339."""
    low, high = difference_interval({"churned": 56, "n": 70}, {"churned": 48, "n": 80})
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def test_interval_of_an_empty_group_is_none():
    assert difference_interval({"churned": 0, "n": 0}, {"churned": 1, "n": 4}) == (None, None)


@pytest.mark.parametrize("pc, pt, nc, nt", [(0.3, 0.2, 100, 200), (2 / 3, 0.25, 3, 4), (0.1, 0.15, 50, 50)])
def test_accounts_needed_is_the_two_proportion_power_formula(pc, pt, nc, nt):
    need = accounts_needed(pc, pt, nc, nt, conclusive=False)
    h = abs(2 * math.asin(math.sqrt(pc)) - 2 * math.asin(math.sqrt(pt)))  # Cohen's h
    ratio = nc / nt
    n1 = (norm.ppf(0.975) + norm.ppf(0.8)) ** 2 * (1 + 1 / ratio) / h ** 2
    assert need["treated"] == pytest.approx(math.ceil(n1), abs=1)
    assert need["control"] == pytest.approx(math.ceil(n1 * ratio), abs=1)
    assert need["more"] == max(0, need["treated"] - nt) + max(0, need["control"] - nc)
    assert "80% power" in need["formula"]


def test_accounts_needed_when_conclusive_or_equal():
    assert accounts_needed(0.4, 0.1, 500, 500, conclusive=True)["more"] == 0
    assert accounts_needed(0.2, 0.2, 50, 50, conclusive=False)["more"] is None


# ---- the generated sample's known effect -----------------------------------------------------

@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    from riskcore.activity import load_activity
    from riskcore.db import Store
    from riskcore.sample import generate_sample
    out = generate_sample(tmp_path_factory.mktemp("plays"), n_accounts=8000, seed=11)
    store = Store()
    load_activity(store, out)
    return store, json.loads((out / "truth.json").read_text())


def test_sample_plays_recover_the_known_effect(sample_store):
    store, truth = sample_store
    known = truth["plays"]["plays"]
    results = {r["play"]: r for r in uplift_all(store)}
    assert set(results) == set(known) == {"exec_sponsor_call", "health_check_email"}
    for name, r in results.items():
        k = known[name]
        assert r["method"] == "holdout"
        assert (r["treated"]["n"], r["control"]["n"]) == (k["treated"], k["control"])  # every start counted
        assert r["ci_low"] <= k["expected_effect"] <= r["ci_high"], name
        assert r["ci_low"] <= k["expected_effect_given_groups"] <= r["ci_high"], name
    assert results["exec_sponsor_call"]["conclusive"] and results["exec_sponsor_call"]["effect"] > 0
    assert not results["health_check_email"]["conclusive"]  # no effect: the interval holds 0


def test_sample_hold_outs_are_random(sample_store):
    """Hold-outs are drawn at random among the eligible: the share is near the truth's, and the
    groups' churn risk without the play is alike (the expected control rate ~ the treated's before it)."""
    store, truth = sample_store
    for name, k in truth["plays"]["plays"].items():
        share = k["control"] / (k["control"] + k["treated"])
        assert share == pytest.approx(k["holdout_share"], abs=0.05)
        before = k["expected_treated_rate"] / (1 - k["relative_reduction"])
        assert before == pytest.approx(k["expected_control_rate"], abs=0.04)


def test_sample_play_without_holdouts_runs_matched(sample_store, tmp_path):
    """The sample's treated accounts alone (those started in two months: matching scores the book once
    per week with a start): matched against accounts without the play, labelled observational."""
    from riskcore.activity import load_frames
    from riskcore.db import Store
    store, _ = sample_store
    frames = {t: store.df(f"SELECT * FROM {t}") for t in ("accounts", "usage", "outcomes")}
    frames["plays"] = store.df("SELECT account_id, play, started_at FROM plays "
                               "WHERE play = 'exec_sponsor_call' AND NOT holdout "
                               "AND started_at BETWEEN DATE '2025-09-01' AND DATE '2025-10-31'")
    matched = Store()
    load_frames(matched, frames)
    r = uplift(matched, "exec_sponsor_call")
    assert r["method"] == "matched" and r["observational"] and r["caveat"]
    assert r["control"]["n"] == r["treated"]["n"] > 0 and r["ci_low"] <= r["effect"] <= r["ci_high"]


# ---- command line ---------------------------------------------------------------------------

def _folder(tmp_path, frames):
    d = tmp_path / "data"
    d.mkdir()
    for name, frame in frames.items():
        frame.to_csv(d / f"{name}.csv", index=False)
    return d


def test_cli_json_equals_the_library(holdout_store, tmp_path, capsys):
    data = _folder(tmp_path, uplift_holdout_frames())
    assert main(["uplift", "--data", str(data), "--play", "call", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == uplift(holdout_store, "call")


def test_cli_text_and_horizon(tmp_path, capsys):
    data = _folder(tmp_path, uplift_holdout_frames())
    assert main(["uplift", "--data", str(data), "--play", "call", "--horizon", "30"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Play 'call', churn within 30 days of the start, hold-out (randomised)")
    assert "treated: 5 accounts, 0 churned (0.0%)" in out and "control: 3 accounts, 1 churned (33.3%)" in out


def test_cli_matched_shows_the_caveat(tmp_path, capsys):
    data = _folder(tmp_path, uplift_matched_frames())
    rules = tmp_path / "rules.toml"
    rules.write_text(UPLIFT_MATCH_RULES)
    assert main(["uplift", "--data", str(data), "--rules", str(rules), "--play", "nudge"]) == 0
    out = capsys.readouterr().out
    assert "matched (observational)" in out and "caveat: observational" in out and "1 unmatched" in out


def test_cli_unknown_play_is_one_message(tmp_path, capsys):
    data = _folder(tmp_path, uplift_holdout_frames())
    assert main(["uplift", "--data", str(data), "--play", "calls"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no play named 'calls'") and "Traceback" not in err


def test_format_never_shows_none_or_nan(holdout_store):
    text = format_uplift(uplift(holdout_store, "call", horizon_days=90))
    assert "None" not in text and "nan" not in text


def test_doctests():
    import doctest

    import riskcore.uplift as module
    assert doctest.testmod(module).failed == 0
