"""Behavioural segments: first match wins, steady otherwise, percentile thresholds over the scored accounts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskcore.db import Store
from riskcore.fixtures import HISTORY_DATES, HISTORY_RULES_V1, history_signals_frames
from riskcore.rules import load_ruleset
from riskcore.segments import assign_segments, behavior_segments_sql, segments_df, unavailable_segments


def _segments(frame: pd.DataFrame, rules) -> dict:
    store = Store()
    store.register_df("sig", frame)
    return dict(segments_df(store, rules, "sig").itertuples(index=False))


def test_fixture_segments_by_hand():
    # D1 logins [20, 5, 8, 30, 12] -> sorted [5, 8, 12, 20, 30]; 80th pct: 20 + 0.2 * 10 = 22 -> only S.
    # D2 logins [2, 5, 0, 30, 12] -> 80th pct 12 + 0.2 * 18 = 15.6 -> S; R has no login for 40 days:
    # dormant comes first in the file, so R is dormant.
    rs = load_ruleset(HISTORY_RULES_V1)
    frames = history_signals_frames()
    assert _segments(frames[HISTORY_DATES[0]], rs) == {
        "P": "steady", "Q": "steady", "R": "steady", "S": "high_engager", "T": "steady"}
    assert _segments(frames[HISTORY_DATES[1]], rs) == {
        "P": "steady", "Q": "steady", "R": "dormant", "S": "high_engager", "T": "steady"}
    # the percentile matches numpy's linear quantile
    assert np.quantile([20, 5, 8, 30, 12], 0.8) == pytest.approx(22.0)


def test_first_match_wins_and_null_fires():
    rs = load_ruleset(HISTORY_RULES_V1)
    frame = history_signals_frames()[HISTORY_DATES[0]].copy()
    frame["days_since_last_login"] = pd.Series([None, 31, 2, 35, 1], dtype="Int64")
    # P: NULL fires dormant (null_fires); S: dormant (35) wins over high_engager (30 logins)
    assert _segments(frame, rs) == {"P": "dormant", "Q": "dormant", "R": "steady", "S": "dormant", "T": "steady"}


def test_no_segments_declared_means_steady_and_missing_signal_is_skipped():
    frame = history_signals_frames()[HISTORY_DATES[0]]
    plain = load_ruleset('name = "x"\n')
    assert set(_segments(frame, plain).values()) == {"steady"}
    rs = load_ruleset('name = "x"\n[[behavior_segments]]\nid = "ghost"\nsignal = "no_such_col"\nop = ">"\n'
                      'threshold = 1\n[[behavior_segments]]\nid = "busy"\nsignal = "logins_30d"\nop = ">="\n'
                      'threshold = 20\n')
    assert unavailable_segments(rs, frame.columns) == ["ghost"]
    assert _segments(frame, rs) == {"P": "busy", "Q": "steady", "R": "steady", "S": "busy", "T": "steady"}


def test_values_are_bound_never_in_sql():
    rs = load_ruleset('name = "x"\n[[behavior_segments]]\nid = "vip"\nsignal = "segment"\nop = "in"\n'
                      "threshold = [\"Ent'; DROP TABLE sig; --\", \"SMB\"]\n")
    sql, params = behavior_segments_sql(rs, {"account_id", "segment"}, source="sig")
    assert "DROP" not in sql and "SMB" not in sql
    assert "Ent'; DROP TABLE sig; --" in params
    frame = history_signals_frames()[HISTORY_DATES[0]]
    store = Store()
    store.register_df("sig", frame)
    assign_segments(store, rs, "sig", out_table="segs")
    got = dict(store.rows("SELECT account_id, behavior_segment FROM segs ORDER BY 1"))
    assert got == {"P": "vip", "Q": "vip", "R": "steady", "S": "steady", "T": "vip"}
    assert store.has_table("sig")


def test_expression_signal_and_between():
    frame = history_signals_frames()[HISTORY_DATES[0]]
    rs = load_ruleset('name = "x"\n[[behavior_segments]]\nid = "mixed"\n'
                      'signal = "usage_change_30d < -0.3 AND logins_30d < 10"\nop = "is_true"\n'
                      '[[behavior_segments]]\nid = "mid"\nsignal = "logins_30d"\nop = "between"\nthreshold = [10, 20]\n')
    # Q (-0.5, 5) and R (-0.4, 8) are mixed; P (20) and T (12) are mid; S (30) steady
    assert _segments(frame, rs) == {"P": "mid", "Q": "mixed", "R": "mixed", "S": "steady", "T": "mid"}
