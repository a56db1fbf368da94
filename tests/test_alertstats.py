"""Alerts worth reading: `riskcore.alertstats` against a hand-computed activity fixture, and the
backtest's `alerts` figures."""

import json
from datetime import date

import pandas as pd
import pytest

from riskcore.activity import load_frames
from riskcore.alertstats import (ANY, FIELDS, alert_dates, alert_figures, alert_history, alert_stats,
                                 format_alert_figures, measure)
from riskcore.db import Store
from riskcore.rules import load_ruleset

D = date(2024, 6, 30)
RULES = """
name = "alert fixture"
primary_dimension = "churn"

[tiers]
medium = 31
high = 61

[[rules]]
id = "quiet"
label = "Fewer than {threshold} logins in 30 days"
dimension = "churn"
signal = "logins_30d"
op = "<"
threshold = 5
points = 40
group = "engagement"

[[rules]]
id = "ticket"
label = "A ticket in 30 days"
dimension = "churn"
signal = "tickets_30d"
op = ">="
threshold = 1
points = 30
group = "support"

[[alerts]]
id = "jump"
kind = "score_rise"
dimension = "churn"
points = 30
within_days = 7

[[alerts]]
id = "worse"
kind = "tier_worse"
dimension = "churn"
"""


def _frames() -> dict:
    """Six accounts scored weekly at 06-16, 06-23, 06-30 (2024); logins_30d counts (d-30, d].

    | id | owner | activity                          | score 06-16 / 06-23 / 06-30 | alerts            | churned     |
    |----|-------|-----------------------------------|-----------------------------|-------------------|-------------|
    | A  | ann   | 10 logins 05-20: quiet from 06-20 | 0 / 40 / 40                 | jump, worse 06-23 | 08-01       |
    | B  | ann   | 10 logins 05-27: quiet from 06-27 | 0 / 0 / 40                  | jump, worse 06-30 |             |
    | C  | ann   | busy; a ticket 06-20              | 0 / 30 / 30                 | jump 06-23 (30 stays low) | 07-15 |
    | D  | bob   | never logs in                     | 40 / 40 / 40                | none              | 09-01       |
    | E  | bob   | busy                              | 0                           | none              |             |
    | F  | bob   | busy                              | 0                           | none              |             |

    Churn in (d, d + 90]: at 06-23 A, C, D; at 06-30 A, C, D: base rate 6 / 12.
    """
    d = date.fromisoformat
    ids = list("ABCDEF")
    accounts = pd.DataFrame({"account_id": ids, "arr": 1000.0, "contract_start": d("2024-01-01"),
                             "csm_owner": ["ann"] * 3 + ["bob"] * 3, "segment": "SMB"})
    usage = pd.DataFrame([("A", d("2024-05-20"), 10), ("B", d("2024-05-27"), 10)]
                         + [(a, d(day), 10) for a in "CEF" for day in ("2024-06-01", "2024-06-10", "2024-06-25")],
                         columns=["account_id", "date", "logins"])
    tickets = pd.DataFrame({"account_id": ["C"], "opened_at": [d("2024-06-20")]})
    outcomes = pd.DataFrame({"account_id": ["A", "C", "D"], "date": [d("2024-08-01"), d("2024-07-15"), d("2024-09-01")],
                             "outcome": "churned"})
    return {"accounts": accounts, "usage": usage, "tickets": tickets, "outcomes": outcomes}


@pytest.fixture(scope="module")
def store():
    s = Store()
    load_frames(s, _frames())
    return s


def test_alert_figures_by_hand(store):
    rows = alert_stats(store, load_ruleset(RULES), D, 90, weeks=2)
    assert [tuple(r) for r in rows] == [FIELDS] * 3
    by = {r["alert"]: r for r in rows}
    assert list(by) == ["jump", "worse", ANY]
    # jump: A and C at 06-23 (both churned), B at 06-30 (did not)
    assert by["jump"] == {"alert": "jump", "n_alerted": 3, "churned": 2, "rate": pytest.approx(2 / 3, abs=1e-4),
                          "base_rate": 0.5, "lift": pytest.approx(4 / 3, abs=1e-4), "per_csm_week": 0.75}
    # worse: A at 06-23 (churned), B at 06-30; C's 30 points stay in the low tier
    assert by["worse"] == {"alert": "worse", "n_alerted": 2, "churned": 1, "rate": 0.5, "base_rate": 0.5,
                           "lift": 1.0, "per_csm_week": 0.5}
    # any: A counted once at 06-23 though two alerts fired for it
    assert (by[ANY]["n_alerted"], by[ANY]["churned"], by[ANY]["per_csm_week"]) == (3, 2, 0.75)
    json.dumps(rows, allow_nan=False)


def test_dates_measured_and_scored():
    measured, scored = alert_dates(D, 2, 7)
    assert measured == [date(2024, 6, 23), date(2024, 6, 30)]
    assert scored == [date(2024, 6, 16), date(2024, 6, 23), date(2024, 6, 30)]
    measured, scored = alert_dates(D, 1, 14)  # a 14-day score rise needs two weeks before
    assert scored == [date(2024, 6, 16), date(2024, 6, 23), date(2024, 6, 30)] and measured == [D]


def test_other_settings_measured_on_the_same_history(store):
    """Scoring is done once; a stricter score_rise raises fewer alerts on the same states."""
    from dataclasses import replace
    rs = load_ruleset(RULES)
    history = alert_history(store, rs, D, 90, weeks=2)
    strict = replace(rs, alerts=(replace(rs.alerts[0], points=35),))
    [jump, any_] = measure(history, strict)
    assert (jump["n_alerted"], jump["churned"]) == (2, 1)  # A and B rose 40; C's 30 is below 35
    assert any_["n_alerted"] == 2


def test_alert_figures_edge_cases():
    pop = pd.DataFrame({"date": ["2024-01-07"] * 2, "account_id": ["a", "b"], "churned": [False, False]})
    [x, any_] = alert_figures([{"account_id": "a", "alert": "x", "date": "2024-01-07"}], pop, ["x"], None, 1)
    assert x["rate"] == 0.0 and x["base_rate"] == 0.0 and x["lift"] is None  # no churn at all: no lift
    assert x["per_csm_week"] is None  # no owner column: no CSM to divide by
    [y, _] = alert_figures([], pop, ["y"], 3, 4)
    assert (y["n_alerted"], y["rate"], y["lift"], y["per_csm_week"]) == (0, None, None, 0.0)
    # an alert at a date outside the population (or for an account not active) is not counted
    [z, _] = alert_figures([{"account_id": "q", "alert": "z", "date": "2024-01-07"}], pop, ["z"], 1, 1)
    assert z["n_alerted"] == 0


def test_text_lines_never_show_none(store):
    lines = format_alert_figures(alert_stats(store, load_ruleset(RULES), D, 90, weeks=2))
    assert lines[1].split()[:3] == ["jump", "3", "2"] and "None" not in "\n".join(lines)
    assert format_alert_figures([]) == []


def test_no_alerts_declared_and_too_little_history(store):
    from dataclasses import replace
    rs = load_ruleset(RULES)
    assert alert_stats(store, replace(rs, alerts=()), D, 90) == []
    with pytest.raises(ValueError, match="not enough history before 2024-05-20"):
        alert_stats(store, rs, date(2024, 5, 20), 90, weeks=1)


# ---- in the backtest ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    from riskcore.activity import load_activity
    from riskcore.sample import generate_sample
    out = generate_sample(tmp_path_factory.mktemp("alerts"), n_accounts=400, seed=5)
    s = Store()
    load_activity(s, out)
    return out, s


def test_backtest_json_has_the_alert_figures(sample, capsys):
    from riskcore.backtest import default_windows
    from riskcore.cli import main
    out, s = sample
    rs = load_ruleset("data/rules/default.toml")
    _, test_w = default_windows(s, 90)
    assert main(["backtest", "--data", str(out), "--horizon", "90", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["alerts"] == alert_stats(s, rs, test_w.as_of, 90)
    assert [r["alert"] for r in result["alerts"]] == [a.id for a in rs.alerts] + [ANY]
    for r in result["alerts"]:
        assert r["base_rate"] == pytest.approx(result["alerts"][0]["base_rate"])
        if r["n_alerted"]:
            assert r["lift"] == pytest.approx(r["rate"] / r["base_rate"], rel=1e-3)


def test_backtest_text_lists_the_alerts(sample, capsys):
    from riskcore.cli import main
    out, _ = sample
    assert main(["backtest", "--data", str(out), "--horizon", "90"]) == 0
    text = capsys.readouterr().out
    assert "per CSM/week" in text and "\nany " in text
