"""riskcore.timeline: what the Overview and Accounts pages show of history, checked by hand on the
fixture snapshots (riskcore.fixtures.history_snapshots) and against riskcore.history on activity tables."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from riskcore import aggregates as agg
from riskcore import history as hist
from riskcore import timeline as tl
from riskcore.db import Store
from riskcore.fixtures import (ACTIVITY_AS_OF, HISTORY_DATES, HISTORY_RULES_V1, HISTORY_RULES_V2, activity_store,
                               history_snapshots)
from riskcore.rules import DEFAULT_RULESET_PATH, load_ruleset

D1, D2, D3 = HISTORY_DATES
V1, V2 = load_ruleset(HISTORY_RULES_V1), load_ruleset(HISTORY_RULES_V2)


@pytest.fixture(scope="module")
def snaps(tmp_path_factory):
    return history_snapshots(tmp_path_factory.mktemp("snaps") / "snaps.duckdb")


@pytest.fixture(scope="module")
def activity():
    return activity_store(), load_ruleset(DEFAULT_RULESET_PATH)


# ---- segments -------------------------------------------------------------------------------

def test_segments_from_snapshots_by_hand(snaps):
    # D1 logins 20,5,8,30,12: p80 = 22 -> S high_engager; nobody 30+ days without login
    # D2 logins 2,5,0,30,12: p80 = 15.6 -> S; R 40 days without login -> dormant
    before, now = tl.segments_at(Store(), V2, D1, snaps), tl.segments_at(Store(), V2, D2, snaps)
    assert dict(zip(before["account_id"], before["behavior_segment"])) == {
        "P": "steady", "Q": "steady", "R": "steady", "S": "high_engager", "T": "steady"}
    sizes = tl.segment_sizes(now, V2).set_index("segment")
    assert list(sizes.index) == ["dormant", "high_engager", "steady"]
    assert list(sizes["accounts"]) == [1, 1, 3] and list(sizes["value"]) == [300.0, 400.0, 800.0]
    assert sizes.loc["steady", "share"] == pytest.approx(0.6)
    m = tl.segment_movement(before, now, V2)
    assert m.loc["steady", "dormant"] == 1 and m.loc["steady", "steady"] == 3
    assert m.loc["high_engager", "high_engager"] == 1 and int(m.to_numpy().sum()) == 5
    assert tl.moved(m) == 1
    assert tl.segments_at(Store(), V2, date(2024, 12, 1), snaps) is None  # before the first snapshot


def test_movement_counts_new_and_gone_accounts():
    a = pd.DataFrame({"account_id": ["x", "y"], "behavior_segment": ["steady", "dormant"], "value": [1.0, 2.0]})
    b = pd.DataFrame({"account_id": ["y", "z"], "behavior_segment": ["steady", "steady"], "value": [2.0, 3.0]})
    m = tl.segment_movement(a, b, V1)
    assert m.loc["steady", tl.GONE] == 1 and m.loc[tl.NEW, "steady"] == 1 and m.loc["dormant", "steady"] == 1
    assert tl.moved(m) == 1


def test_segments_rescored_equal_riskcore(activity):
    from riskcore.segments import segments_df
    from riskcore.signals import signals_table
    store, rs = activity
    now = tl.segments_at(store, rs, ACTIVITY_AS_OF)
    expected = segments_df(store, rs, signals_table(store, ACTIVITY_AS_OF))
    assert dict(zip(now["account_id"], now["behavior_segment"])) == dict(
        zip(expected["account_id"], expected["behavior_segment"]))


# ---- alerts ---------------------------------------------------------------------------------

def test_alerts_until_cuts_at_the_date(snaps):
    full = hist.alerts(V2, D2, snapshots=snaps)
    assert {a["date"] for a in full} == {D2.isoformat(), D3.isoformat()}
    got = tl.alerts_until(V2, D2, D2, snapshots=snaps)
    assert got == [a for a in full if a["date"] == D2.isoformat()] and got
    frame = tl.alerts_frame(tl.alerts_until(V2, D2, D3, snapshots=snaps), V2, {"R": "Account R"})
    assert len(frame) == len(full) and frame["date"].iloc[0] == D3  # newest first
    r = frame[(frame["account_id"] == "R") & (frame["alert"] == "segment change")].iloc[0]
    assert r["account"] == "Account R" and r["change"] == "steady → dormant" and r["cause"] == "customer"
    # the weights-only edit at D3 moves T 55 -> 75: labelled, not a customer event
    t = frame[(frame["account_id"] == "T") & (frame["alert"] == "score jump")].iloc[0]
    assert t["change"] == "55 → 75" and t["cause"] == "rule-set change"


def test_alerts_until_the_latest_date_equal_history_alerts(activity):
    from riskcore.signals import active_dates
    store, rs = activity
    last = active_dates(store)[1]
    since = date(2025, 6, 1)
    lookback = max(a.within_days or 0 for a in rs.alerts)  # the default alerts look back 21 days
    assert tl.alert_dates(store, rs, since, last) == hist.rescore_dates(store, since, lookback)
    expected = hist.alerts(rs, since, store=store)
    assert expected and tl.alerts_until(rs, since, last, store=store) == expected
    earlier = tl.alerts_until(rs, since, date(2025, 6, 20), store=store)
    assert all(a["date"] <= "2025-06-20" for a in earlier)


def test_alerts_table_feeds_the_alerted_since_filter():
    store = Store()
    store.register_df("scored", pd.DataFrame({"account_id": ["A", "B", "C"], "value": [1.0, 2.0, 3.0],
                                              "risk_score": [1.0, 2.0, 3.0]}))
    found = [{"account_id": "A", "date": "2025-01-10"}, {"account_id": "C", "date": "2025-01-20"}]
    t = tl.alerts_table(store, found, "k")
    f = agg.Filters(alerted_since=date(2025, 1, 15))
    assert list(agg.account_list(store, "scored", f, alerts=t)["account_id"]) == ["C"]
    assert agg.count_accounts(store, "scored", agg.Filters(alerted_since=date(2025, 1, 1)), alerts=t) == 2


# ---- an account's timeline ---------------------------------------------------------------------

def test_timeline_from_snapshots_marks_the_rule_set_change(snaps):
    t = tl.account_timeline("S", V2, [D1, D3], snapshots=snaps)
    assert t.source == "snapshots" and list(t.history["date"]) == [D1, D2, D3]
    assert list(t.history["rule_set_changed"]) == [False, False, True]
    assert [(s.from_date, s.to_date, s.rule_set_changed) for s in t.steps] == [(D1, D2, False), (D2, D3, True)]
    assert t.steps[1].sentences["churn"] == hist.change_sentences(hist.explain("S", D2, D3, V2, snapshots=snaps),
                                                                  "churn")
    assert t.steps[1].scores["churn"] == (0, 45)
    assert tl.step_heading(t.steps[1], "churn") == "13 Jan → 20 Jan 2025: churn 0 → 45 (+45) · rule set changed"
    assert tl.step_heading(t.steps[0], "churn") is None  # S did not move from D1 to D2


def test_timeline_rescored_equals_history_explain(activity):
    store, rs = activity
    dates = [date(2025, 4, 30), date(2025, 5, 31), ACTIVITY_AS_OF]
    t = tl.account_timeline("A1", rs, dates, store=store)
    expected = hist.account_history("A1", rs, store=store, dates=dates)
    pd.testing.assert_frame_equal(t.history, expected)
    assert len(t.steps) == 2
    for step, (a, b) in zip(t.steps, zip(dates, dates[1:])):
        res = hist.explain("A1", a, b, rs, store=store)
        for d in rs.dimensions:
            assert step.sentences[d] == hist.change_sentences(res, d)
            assert step.scores[d] == (res["dimensions"][d]["from"], res["dimensions"][d]["to"])
    assert any(step.sentences["churn"] for step in t.steps)


def test_explain_states_is_history_explain(activity):
    store, rs = activity
    a, b = hist.rescored_state(store, rs, date(2025, 5, 15)), hist.rescored_state(store, rs, ACTIVITY_AS_OF)
    for acc in ("A1", "A6"):
        assert tl.explain_states(a, b, acc) == hist.explain(acc, date(2025, 5, 15), ACTIVITY_AS_OF, rs, store=store)


def test_with_segments_adds_the_column_and_filters(activity):
    from riskcore.scoring import score
    from riskcore.segments import segments_df
    from riskcore.signals import signals_table
    store, rs = activity
    sig = signals_table(store, ACTIVITY_AS_OF)
    scored = score(store, rs, sig, out_table="tl_scored")
    expected = dict(zip(*segments_df(store, rs, sig).to_dict("list").values()))
    t = tl.with_segments(store, scored, rs, ACTIVITY_AS_OF, "k")
    got = store.df(f"SELECT account_id, behavior_segment FROM {t}")
    assert dict(zip(got["account_id"], got["behavior_segment"])) == expected
    seg = sorted(set(expected.values()))[0]
    kept = store.df(f"SELECT account_id FROM {tl.with_segments(store, scored, rs, ACTIVITY_AS_OF, 'k', (seg,))}")
    assert sorted(kept["account_id"]) == sorted(a for a, s in expected.items() if s == seg)


def test_snapshots_version_changes_when_written(tmp_path):
    assert tl.snapshots_version(None) == "" and tl.snapshots_version(tmp_path / "none") == ""
    p = history_snapshots(tmp_path / "snaps")  # a Parquet folder
    v = tl.snapshots_version(p)
    assert v and v.startswith(str(p))
