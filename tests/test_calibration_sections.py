"""The Calibration page's alert precision table and scorecard frontier, below the page: the text
riskcore hands the page (alertstats.alert_table, scorecard.figures) against hand-written values, the
frontier fitted once and rebuilt per rule set (scorecard.with_rules), and the engine's caches."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from types import SimpleNamespace

import pytest
from sklearn.metrics import roc_auc_score
from test_alertstats import D, RULES, _frames

from riskcore.activity import load_frames
from riskcore.alertstats import alert_condition, alert_report, alert_stats, alert_table
from riskcore.db import Store
from riskcore.display import DASH
from riskcore.rules import load_ruleset, with_points
from riskcore.rules.model import Alert
from riskcore.scorecard import fit_frontier, frontier_headline, frontier_table, measured_how, with_rules
from riskcore.scorecard.fit import evidence
from riskcore.scorecard.frontier import Frontier, Point, measure
from riskcore.workspace import DEFAULT_RULES

H = 90


# ---- alerts: the table a page shows ------------------------------------------------------------

@pytest.fixture(scope="module")
def alert_store():
    s = Store()
    load_frames(s, _frames())
    return s


def test_alert_report_keeps_the_dates_and_csms_it_measured(alert_store):
    """The hand fixture of test_alertstats: measured at 06-23 and 06-30, two CSM owners (ann, bob)."""
    rs = load_ruleset(RULES)
    rep = alert_report(alert_store, rs, D, H, weeks=2)
    assert rep.measured == (date(2024, 6, 23), date(2024, 6, 30)) and rep.n_csm == 2 and rep.horizon_days == H
    assert rep.rows == alert_stats(alert_store, rs, D, H, weeks=2)
    assert alert_report(alert_store, replace(rs, alerts=()), D, H).rows == []


def test_alert_table_by_hand(alert_store):
    """jump: A, C at 06-23 (churned), B at 06-30 (not): 3 alerted, 2 churned, 66.7% against a base
    rate of 6 / 12; 3 alerts / 2 CSMs / 2 weeks = 0.75. worse: A (churned), B: 50.0%, lift 1.00x."""
    rs = load_ruleset(RULES)
    table = alert_table(alert_stats(alert_store, rs, D, H, weeks=2), rs)
    assert list(table[0]) == ["alert", "alerted", "churned", "churn rate", "base rate", "lift", "per CSM / week",
                              "fires when"]
    assert table == [
        {"alert": "jump", "fires when": "churn score up 30+ points within 7 days", "alerted": "3", "churned": "2",
         "churn rate": "66.7%", "base rate": "50.0%", "lift": "1.33x", "per CSM / week": "0.75"},
        {"alert": "worse", "fires when": "churn tier worse than the week before", "alerted": "2", "churned": "1",
         "churn rate": "50.0%", "base rate": "50.0%", "lift": "1.00x", "per CSM / week": "0.5"},
        {"alert": "any alert", "fires when": "once per account and date, whatever fired", "alerted": "3",
         "churned": "2", "churn rate": "66.7%", "base rate": "50.0%", "lift": "1.33x", "per CSM / week": "0.75"}]


def test_alert_table_formats_large_counts_and_blanks():
    rs = SimpleNamespace(primary_dimension="churn", alerts=(Alert("s", "entered_quadrant", label="Into Save",
                                                                  quadrant="save"),))
    rows = [{"alert": "s", "n_alerted": 12345, "churned": 1234, "rate": 0.09996, "base_rate": 0.0365,
             "lift": 2.7386, "per_csm_week": 12.345},
            {"alert": "gone", "n_alerted": 0, "churned": 0, "rate": None, "base_rate": None, "lift": None,
             "per_csm_week": None}]
    a, b = alert_table(rows, rs)
    assert a == {"alert": "Into Save", "fires when": "entered the Save quadrant", "alerted": "12,345",
                 "churned": "1,234", "churn rate": "10.0%", "base rate": "3.6%", "lift": "2.74x",
                 "per CSM / week": "12"}
    assert b == {"alert": "gone", "fires when": DASH, "alerted": "0", "churned": "0", "churn rate": DASH,
                 "base rate": DASH, "lift": DASH, "per CSM / week": DASH}


def test_alert_condition_of_every_kind():
    rs = SimpleNamespace(primary_dimension="churn")
    assert alert_condition(Alert("a", "score_rise", points=25, within_days=21), rs) == \
        "churn score up 25+ points within 21 days"
    assert alert_condition(Alert("a", "score_rise", dimension="expansion", points=12.5), rs) == \
        "expansion score up 12.5+ points since the week before"
    assert alert_condition(Alert("a", "tier_worse"), rs) == "churn tier worse than the week before"
    assert alert_condition(Alert("a", "entered_quadrant", quadrant="triage"), rs) == "entered the Triage quadrant"
    assert alert_condition(Alert("a", "segment_change"), rs) == "behavioural segment changed"


# ---- the frontier as text ------------------------------------------------------------------------

def _point(n: int, used: int, signals: int, top: int, auc: float | None, brier=0.0312, log_loss=0.1181) -> Point:
    card = SimpleNamespace(n_rules=used, signals=(None,) * signals, max_total=top)
    return Point(n, card, None, {"auc": auc, "brier": brier, "log_loss": log_loss, "n": 100})


def _front(mode="point_in_time", current=None, points=None, baselines=None) -> Frontier:
    points = points if points is not None else (_point(5, 5, 4, 100, 0.9012), _point(20, 19, 12, 98, 0.9049),
                                                _point(40, 27, 12, 99, 0.9051))
    baselines = baselines if baselines is not None else {
        "logistic_regression": {"auc": 0.9104, "brier": 0.0301, "log_loss": 0.1102, "unavailable": None},
        "gradient_boosting": {"auc": 0.9216, "brier": 0.0299, "log_loss": None, "unavailable": None}}
    return Frontier(mode, "fitted on 1,234 account-dates", 5 if mode == "cross_validated" else None, points,
                    baselines, current, None)


def test_headline_names_your_rules_the_20_rule_point_and_the_best_baseline():
    front = _front(current={"rule_set": "default", "rules": 9, "auc": 0.7349, "n": 2408})
    assert frontier_headline(front) == "your rules: AUC 0.735; a 19-rule scorecard: 0.905; gradient boosting: 0.922"
    # no 20-rule budget: the largest; no rules of its own: no 'your rules'
    front = _front(points=(_point(5, 5, 4, 100, 0.8), _point(10, 8, 6, 97, 0.85)))
    assert frontier_headline(front) == "an 8-rule scorecard: 0.850; gradient boosting: 0.922"
    empty = _front(points=(_point(5, 0, 0, 0, None),), baselines={
        "gradient_boosting": {"auc": None, "unavailable": "one class"}})
    assert frontier_headline(empty) == ""


def test_frontier_table_is_text_with_dashes_for_blanks():
    front = _front(current={"rule_set": "default", "rules": 9, "auc": 0.7349, "n": 2408},
                   baselines={"logistic_regression": {"auc": 0.9104, "brier": 0.0301, "log_loss": 0.1102},
                              "gradient_boosting": {"auc": None, "brier": None, "log_loss": None,
                                                    "unavailable": "one outcome class"}})
    rows = frontier_table(front)
    assert rows[0] == {"model": "your rules (default)", "rules": "9", "signals": DASH, "largest score": DASH,
                       "AUC": "0.735", "Brier": DASH, "log loss": DASH}
    assert rows[2] == {"model": "scorecard, at most 20 rules", "rules": "19", "signals": "12", "largest score": "98",
                       "AUC": "0.905", "Brier": "0.031", "log loss": "0.118"}
    assert rows[4]["model"] == "logistic regression" and rows[4]["AUC"] == "0.910"
    assert rows[5] == {"model": "gradient boosting (unavailable: one outcome class)", "rules": DASH, "signals": DASH,
                       "largest score": DASH, "AUC": DASH, "Brier": DASH, "log loss": DASH}
    assert all(isinstance(v, str) and v not in ("nan", "None") for r in rows for v in r.values())


def test_measured_how_says_point_in_time_or_cross_validated():
    assert measured_how(_front()) == "Point in time (out of time): fitted on 1,234 account-dates"
    assert measured_how(_front("cross_validated")) == "Cross-validated (5 folds): fitted on 1,234 account-dates"


# ---- fitted once, rebuilt per rule set -------------------------------------------------------------

@pytest.fixture(scope="module")
def sample():
    from riskcore.engine import Engine
    from riskcore.sample import ensure_sample
    from riskcore.workspace import discard_store, open_store
    store = open_store(ensure_sample(400))
    yield Engine(store), load_ruleset(DEFAULT_RULES)
    discard_store(store)


def test_with_rules_equals_building_the_rule_sets_at_once(sample):
    """fit_frontier + with_rules (the engine's path) writes the same rule sets as measuring with the
    rule set from the start (the CLI's former path), and `current` is sklearn's AUC of the rule set's
    scores on the accounts the scorecards are evaluated on."""
    from riskcore.backtest import default_windows, scored_frame
    engine, rs = sample
    store = engine.store
    ev = evidence(store, None, H, skip={rs.quadrant.value_column})
    direct = measure(ev, rs, (5, 20))
    fit = measure(ev, None, (5, 20))
    assert all(p.ruleset is None for p in fit.points)
    built = with_rules(store, fit, rs, H)
    assert [p.ruleset for p in built.points] == [p.ruleset for p in direct.points]
    assert [p.metrics for p in built.points] == [p.metrics for p in direct.points]
    frame = scored_frame(store, rs, default_windows(store, H)[1], "t_cs_current")
    frame = frame[frame["account_id"].isin(ev.test["account_id"])]
    assert built.current["n"] == len(ev.test) == len(frame)
    assert built.current["auc"] == pytest.approx(roc_auc_score(frame["churned"].astype(int), frame["risk_score"]))
    assert built.current["rules"] == sum(1 for r in rs.rules if r.dimension == "churn" and r.enabled)
    with pytest.raises(ValueError, match="fit_frontier"):
        with_rules(store, replace(fit, points=tuple(replace(p, tiering=None) for p in fit.points)), rs, H)


def test_engine_fits_the_frontier_once_per_date_and_horizon(sample):
    from riskcore.backtest import default_windows
    engine, rs = sample
    as_of = default_windows(engine.store, H)[1].as_of
    assert not engine.scorecard_fitted(rs, as_of, H)
    front = engine.scorecard_frontier(rs, as_of, H)
    assert engine.scorecard_fitted(rs, as_of, H)
    assert engine.scorecard_frontier(rs, as_of, H) is front  # a rerun: nothing recomputed
    fits = [k for k, _ in engine.cache.entries() if k[0] == "scorecard_fit"]
    heavier = with_points(rs, {"usage_drop": 70})
    other = engine.scorecard_frontier(heavier, as_of, H)  # another rule set: the same fit, its own rules
    assert [k for k, _ in engine.cache.entries() if k[0] == "scorecard_fit"] == fits
    assert other.rows() == front.rows() and other.current["auc"] != pytest.approx(front.current["auc"])
    loaded = front.point(20).ruleset  # the frontier's own rule set (as loaded as the draft) reuses it too
    assert engine.scorecard_fitted(loaded, as_of, H)
    assert not engine.scorecard_fitted(rs, as_of, 60)
    direct = fit_frontier(engine.store, as_of, H, skip={rs.quadrant.value_column})
    assert direct.rows() == front.rows() and direct.baselines == front.baselines


def test_engine_alert_report_is_remembered(sample):
    from riskcore.backtest import default_windows
    engine, rs = sample
    as_of = default_windows(engine.store, H)[1].as_of
    rep = engine.alert_report(rs, as_of, H)
    assert engine.alert_report(rs, as_of, H) is rep
    assert rep.rows == alert_stats(engine.store, rs, as_of, H)
