"""History: snapshots, exact decomposition of changes, alerts with their cause, roll-up.

The fixture (riskcore/fixtures.py, history section): five accounts at D1, D2 (rule set v1) and D3
(v2 = v1 with champion_left 25 -> 45 and neg_tickets 20 -> 10). Every number below is worked out
by hand from the fixture's table.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskcore.db import Store
from riskcore.fixtures import (HISTORY_DATES, HISTORY_RULES_V1, HISTORY_RULES_V2, activity_store,
                               history_signals_frames, history_snapshots)
from riskcore.history import (HistoryError, SnapshotStore, State, account_history, alerts, change_sentences,
                              decompose, display_parts, effective_points, explain, format_alerts,
                              format_explain, rollup, ruleset_toml, score_history, snapshot, snapshot_frame,
                              write_snapshot)
from riskcore.rules import content_hash, load_ruleset

D1, D2, D3 = HISTORY_DATES
V1, V2 = load_ruleset(HISTORY_RULES_V1), load_ruleset(HISTORY_RULES_V2)


@pytest.fixture(scope="module", params=["snaps.duckdb", "snapdir"])
def snaps(request, tmp_path_factory):
    """The three fixture snapshots in a DuckDB file and in a Parquet folder (read only in the tests)."""
    return history_snapshots(tmp_path_factory.mktemp("snaps") / request.param)


def _all_rows(path) -> pd.DataFrame:
    s = SnapshotStore(path)
    ix = s.index()
    return s.rows(list(zip(ix["snapshot_date"], ix["ruleset_hash"]))).set_index(["snapshot_date", "account_id"])


# ---- snapshots ----------------------------------------------------------------------

EXPECTED_ROWS = {  # (date, id): churn score, churn tier, payment score, payment tier, quadrant, segment
    (D1, "P"): (0, "low", 0, "low", "Maintain", "steady"),
    (D1, "Q"): (70, "high", 30, "medium", "Triage", "steady"),  # payment 30: one group, fusion -> medium
    (D1, "R"): (43, "medium", 0, "low", "Expand", "steady"),
    (D1, "S"): (0, "low", 0, "low", "Expand", "high_engager"),
    (D1, "T"): (55, "medium", 0, "low", "Expand", "steady"),
    (D2, "P"): (82, "high", 0, "low", "Triage", "steady"),
    (D2, "Q"): (40, "medium", 0, "low", "Maintain", "steady"),
    (D2, "R"): (75, "high", 0, "low", "Save", "dormant"),
    (D2, "S"): (0, "low", 0, "low", "Expand", "high_engager"),
    (D2, "T"): (55, "medium", 0, "low", "Expand", "steady"),
    (D3, "P"): (72, "high", 0, "low", "Triage", "steady"),
    (D3, "Q"): (30, "low", 0, "low", "Maintain", "steady"),
    (D3, "R"): (100, "high", 0, "low", "Save", "dormant"),
    (D3, "S"): (45, "medium", 0, "low", "Expand", "high_engager"),
    (D3, "T"): (75, "high", 0, "low", "Save", "steady"),
}


def test_snapshot_rows_by_hand(snaps):
    rows = _all_rows(snaps)
    assert len(rows) == 15
    for key, (cs, ct, ps, pt, quad, seg) in EXPECTED_ROWS.items():
        r = rows.loc[key]
        assert (r["churn_score"], r["churn_tier"], r["payment_score"], r["payment_tier"], r["quadrant"],
                r["behavior_segment"]) == pytest.approx((cs, ct, ps, pt, quad, seg)), key
        assert r["risk_score"] == r["churn_score"] and r["tier"] == r["churn_tier"]
        expected_rs = V2 if key[0] == D3 else V1
        assert (r["ruleset_name"], r["ruleset_hash"]) == (expected_rs.name, content_hash(expected_rs))
    # fired rules: effective points (Enterprise override: usage_drop 10), degree, signal value
    fired = {x["rule_id"]: (x["points"], x["degree"], x["value"]) for x in rows.loc[(D1, "R"), "fired"]}
    assert fired == {"usage_drop": (10.0, 1.0, "-0.4"), "champion_left": (25.0, 1.0, "true"),
                     "shortfall": (40.0, pytest.approx(0.2), "8")}
    fired = {x["rule_id"]: (x["points"], x["degree"]) for x in rows.loc[(D3, "R"), "fired"]}
    assert fired == {"usage_drop": (10.0, 1.0), "champion_left": (45.0, 1.0), "neg_tickets": (10.0, 1.0),
                     "shortfall": (40.0, 1.0)}
    assert list(rows.loc[(D1, "P"), "fired"]) == []
    assert [x["rule_id"] for x in rows.loc[(D1, "Q"), "fired"]] == ["usage_drop", "neg_tickets", "shortfall",
                                                                     "failed_payment"]


def test_snapshot_matches_scoring(tmp_path):
    """The stored scores are exactly what scoring.score gives (an independent path through the scorer)."""
    from riskcore.scoring import score_df
    store = Store()
    store.register_df("sig", history_signals_frames()[D2])
    scored = score_df(store, V1, "sig", out_table="direct")
    snap = snapshot_frame(store, V1, D2, signals="sig").to_pandas()
    pd.testing.assert_frame_equal(scored[["account_id", "churn_score", "churn_tier", "quadrant"]].reset_index(drop=True),
                                  snap[["account_id", "churn_score", "churn_tier", "quadrant"]].reset_index(drop=True))
    # points x degree of the stored firings add up to the score (no cap at D2)
    for _, r in snap.iterrows():
        assert sum(x["points"] * x["degree"] for x in r["fired"] if x["dimension"] == "churn") == \
            pytest.approx(r["churn_score"])


@pytest.mark.parametrize("name", ["again.duckdb", "againdir"])
def test_snapshot_twice_leaves_one_copy(tmp_path, name):
    path = tmp_path / name
    store = Store()
    store.register_df("sig", history_signals_frames()[D1])
    for _ in range(2):
        assert write_snapshot(path, snapshot_frame(store, V1, D1, signals="sig"), ruleset_toml(V1)) == 5
    ix = SnapshotStore(path).index()
    assert len(ix) == 1 and int(ix["accounts"].iloc[0]) == 5
    # a different rule set on the same date is another snapshot, not a replacement
    write_snapshot(path, snapshot_frame(store, V2, D1, signals="sig"), ruleset_toml(V2))
    ix = SnapshotStore(path).index()
    assert sorted(ix["ruleset_hash"]) == sorted([content_hash(V1), content_hash(V2)])
    assert list(ix["accounts"]) == [5, 5]
    if path.is_dir():
        assert sorted(p.name for p in (path / "rulesets").iterdir()) == sorted(
            f"{content_hash(r)}.toml" for r in (V1, V2))


def test_snapshot_from_activity_tables(tmp_path):
    """snapshot() on loaded activity tables: one row per account active at the date."""
    from riskcore.fixtures import ACTIVITY_AS_OF
    from riskcore.rules import DEFAULT_RULESET_PATH
    rs = load_ruleset(DEFAULT_RULESET_PATH)
    store = activity_store()
    n = snapshot(store, rs, ACTIVITY_AS_OF, tmp_path / "act.duckdb")
    assert n == 5  # A3 churned at D and A4 starts after D (fixture table)
    rows = _all_rows(tmp_path / "act.duckdb")
    assert sorted(a for _, a in rows.index) == ["A1", "A2", "A5", "A6", "A7"]
    assert set(rows["ruleset_hash"]) == {content_hash(rs)}


_WRITER = textwrap.dedent("""
    import sys; sys.path.insert(0, {cwd!r})
    from datetime import date, timedelta
    import numpy as np, pyarrow as pa
    from riskcore.history import write_snapshot, ruleset_toml
    from riskcore.rules import load_ruleset, content_hash
    from riskcore.fixtures import HISTORY_RULES_V1
    rs = load_ruleset(HISTORY_RULES_V1); h = content_hash(rs); n = 100_000
    fired = pa.array([[{{"rule_id": "usage_drop", "dimension": "churn", "grp": "usage", "points": 30.0,
                        "degree": 1.0, "value": "-0.5"}}]] * n)
    print("ready", flush=True)
    d = date(2025, 2, 1)
    while True:
        rows = pa.table({{"snapshot_date": pa.array([d] * n), "ruleset_name": ["hist"] * n,
                         "ruleset_hash": [h] * n, "account_id": [f"acc{{i}}" for i in range(n)],
                         "churn_score": np.full(n, 30.0), "fired": fired}})
        write_snapshot({path!r}, rows, ruleset_toml(rs))
        d += timedelta(days=7)
""")


@pytest.mark.parametrize("name", ["kill.duckdb", "killdir"])
def test_sigkill_mid_snapshot_keeps_previous(tmp_path, name):
    path = tmp_path / name
    history_snapshots(path)
    before = _all_rows(path)
    proc = subprocess.Popen([sys.executable, "-c", _WRITER.format(cwd=os.getcwd(), path=str(path))],
                            stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"ready"
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    snaps = SnapshotStore(path)
    ix = snaps.index()
    # the fixture snapshots are intact, and every snapshot present is complete
    keys = [(d, content_hash(V2 if d == D3 else V1)) for d in (D1, D2, D3)]
    after = snaps.rows(keys).set_index(["snapshot_date", "account_id"])
    pd.testing.assert_frame_equal(after.loc[before.index, before.columns], before)
    later = ix[ix["snapshot_date"] > D3]
    assert (later["accounts"] == 100_000).all()
    assert set(ix["snapshot_date"]) >= {D1, D2, D3}


# ---- what changed and why -----------------------------------------------------------

def _changes(result, dim="churn"):
    return [(c["rule"], c["reason"], c["points"]) for c in result["dimensions"][dim]["changes"]]


EXPLAIN_D2_D3 = {  # from, to, changes (rule-set change v1 -> v2 between D2 and D3)
    "P": (82, 72, [("neg_tickets", "rule_set", -10)]),
    "Q": (40, 30, [("neg_tickets", "rule_set", -10)]),
    "R": (75, 100, [("neg_tickets", "started", 20), ("champion_left", "rule_set", 20),
                    ("neg_tickets", "rule_set", -10), (None, "cap", -5)]),
    "S": (0, 45, [("champion_left", "started", 25), ("champion_left", "rule_set", 20)]),
    "T": (55, 75, [("champion_left", "rule_set", 20)]),
}
EXPLAIN_D1_D2 = {  # same rule set: customer changes only
    "P": (0, 82, [("shortfall", "started", 32), ("usage_drop", "started", 30), ("neg_tickets", "started", 20)]),
    "Q": (70, 40, [("usage_drop", "stopped", -30)]),
    "R": (43, 75, [("shortfall", "changed", 32)]),
    "S": (0, 0, []),
    "T": (55, 55, []),
}


@pytest.mark.parametrize("frm,to,expected", [(D1, D2, EXPLAIN_D1_D2), (D2, D3, EXPLAIN_D2_D3)])
def test_explain_every_account_by_hand(snaps, frm, to, expected):
    for acc, (f, t, changes) in expected.items():
        res = explain(acc, frm, to, rules=V2, snapshots=snaps)
        churn = res["dimensions"]["churn"]
        assert (churn["from"], churn["to"]) == (f, t), acc
        assert _changes(res) == changes, acc
        assert res["rule_set_changed"] == (to == D3)
    q = explain("Q", D1, D2, rules=V1, snapshots=snaps)
    assert q["dimensions"]["payment"]["from"] == 30 and _changes(q, "payment") == [("failed_payment", "stopped", -30)]


def test_explain_across_the_version_with_graded_rule(snaps):
    # R, D1 (v1) -> D3 (v2): A = 10 + 25 + 8 = 43; B' (v1 points, D3 state) = 10 + 25 + 20 + 40 = 95;
    # B (v2) = 10 + 45 + 10 + 40 = 105 -> capped at 100. 20 + 32 + 20 - 10 - 5 = 57 = 100 - 43.
    res = explain("R", D1, D3, rules=V2, snapshots=snaps)
    assert _changes(res) == [("neg_tickets", "started", 20), ("shortfall", "changed", 32),
                             ("champion_left", "rule_set", 20), ("neg_tickets", "rule_set", -10), (None, "cap", -5)]
    shortfall = res["dimensions"]["churn"]["changes"][1]
    assert (shortfall["degree_from"], shortfall["degree_to"]) == (pytest.approx(0.2), 1.0)
    assert res["dimensions"]["churn"]["changes"][0]["seen"] == D3.isoformat()
    text = format_explain(res)
    assert "+20 Negative tickets, seen 20 Jan 2025" in text and "not the customer" in text
    assert "-5 capped at 100" in text


def test_explain_dates_between_snapshots_use_the_latest_before(snaps):
    res = explain("S", date(2025, 1, 10), date(2025, 1, 25), rules=V2, snapshots=snaps)
    assert (res["from_date"], res["to_date"]) == (D1.isoformat(), D3.isoformat())
    with pytest.raises(HistoryError, match="no snapshot on or before 2025-01-01"):
        explain("S", date(2025, 1, 1), D3, rules=V2, snapshots=snaps)


def test_explain_unknown_account_is_a_clear_error(snaps):
    with pytest.raises(HistoryError, match="account 'ZZZ' not found"):
        explain("ZZZ", D1, D3, rules=V2, snapshots=snaps)


def test_weights_only_edit_is_a_rule_set_change_not_a_customer_event(tmp_path):
    """Same customers (D2's signals) scored with v1, then a week later with v2: only the version moved."""
    path = tmp_path / "w.duckdb"
    store = Store()
    store.register_df("sig", history_signals_frames()[D2])
    write_snapshot(path, snapshot_frame(store, V1, D2, signals="sig"), ruleset_toml(V1))
    write_snapshot(path, snapshot_frame(store, V2, D3, signals="sig"), ruleset_toml(V2))
    found = alerts(V2, D2, snapshots=path)
    # R 75 -> 95 (+20), T 55 -> 75 (+20, medium -> high, Expand -> Save): all from the new weights
    assert sorted((a["account_id"], a["alert"]) for a in found) == [
        ("R", "score_jump"), ("T", "new_save"), ("T", "score_jump"), ("T", "tier_worse")]
    assert {a["cause"] for a in found} == {"rule_set"}
    assert "rule-set change" in format_alerts(found)
    for acc in "PQRST":
        res = explain(acc, D2, D3, rules=V2, snapshots=path)
        assert {c["reason"] for d in res["dimensions"].values() for c in d["changes"]} <= {"rule_set", "cap"}


def test_explain_rescored_from_activity_tables():
    """Without snapshots: re-score the activity tables as of each date with one rule set."""
    from riskcore.fixtures import ACTIVITY_AS_OF
    from riskcore.rules import DEFAULT_RULESET_PATH
    rs = load_ruleset(DEFAULT_RULESET_PATH)
    store = activity_store()
    res = explain("A1", date(2025, 5, 15), ACTIVITY_AS_OF, rules=rs, store=store)
    assert res["source"] == "rescored" and not res["rule_set_changed"]
    hist = score_history(store, rs, "A1", [date(2025, 5, 15), ACTIVITY_AS_OF])
    for d, v in res["dimensions"].items():
        assert v["from"] == pytest.approx(hist[f"{d}_score"].iloc[0])
        assert v["to"] == pytest.approx(hist[f"{d}_score"].iloc[1])
        assert sum(Decimal(str(c["points"])) for c in v["changes"]) == Decimal(str(v["to"])) - Decimal(str(v["from"]))
        assert all(c["reason"] != "rule_set" for c in v["changes"])
    # A1 at D: champion event at D-90 is outside the window; it has negative tickets in the last 30 days
    churn = {c["rule"]: c["reason"] for c in res["dimensions"]["churn"]["changes"]}
    assert churn.get("negative_tickets") == "started"


# ---- the exact sum, for every account (property) -----------------------------------------

_RULES = ["r0", "r1", "r2", "r3"]


def _ruleset(points: list[int], thresholds: list[int], enabled: list[bool], dims: list[str], name: str):
    text = f'name = "{name}"\ndimensions = ["churn", "payment"]\n'
    for rid, p, t, e, d in zip(_RULES, points, thresholds, enabled, dims):
        text += (f'[[rules]]\nid = "{rid}"\nlabel = "{rid}"\ndimension = "{d}"\nsignal = "x_{rid}"\n'
                 f'op = "scale"\nthreshold = [0, {t}]\npoints = {p}\ngroup = "usage"\nenabled = {str(e).lower()}\n')
    text += '[[overrides]]\nsegment = "Enterprise"\nrule = "r0"\npoints = 7\n'
    return load_ruleset(text)


def _state(rs, d: date, seg: str, degrees: list[float]) -> State:
    fired = [{"rule_id": r.id, "dimension": r.dimension, "grp": r.group, "value": None, "degree": g,
              "points": float(effective_points(rs, r.id, seg, "adopted"))}
             for r, g in zip(rs.rules, degrees) if g > 0]
    rows = pd.DataFrame({"account_id": ["X"], "segment": [seg], "stage": ["adopted"], "fired": [fired]})
    return State(d, rs, content_hash(rs), rows.set_index("account_id", drop=False), "snapshot")


_pts = st.lists(st.integers(0, 100), min_size=4, max_size=4)
_deg = st.lists(st.sampled_from([0.0, 0.1, 0.25, 1 / 3, 0.5, 0.7, 1.0]), min_size=4, max_size=4)


@settings(max_examples=150, deadline=None)
@given(pa=_pts, pb=_pts, ta=st.lists(st.integers(1, 3), min_size=4, max_size=4),
       tb=st.lists(st.integers(1, 3), min_size=4, max_size=4), ea=st.lists(st.booleans(), min_size=4, max_size=4),
       eb=st.lists(st.booleans(), min_size=4, max_size=4),
       da=st.lists(st.sampled_from(["churn", "payment"]), min_size=4, max_size=4),
       db=st.lists(st.sampled_from(["churn", "payment"]), min_size=4, max_size=4),
       ga=_deg, gb=_deg, sa=st.sampled_from(["SMB", "Enterprise"]), sb=st.sampled_from(["SMB", "Enterprise"]))
def test_parts_sum_exactly_to_the_change(pa, pb, ta, tb, ea, eb, da, db, ga, gb, sa, sb):
    ra, rb = _ruleset(pa, ta, ea, da, "a"), _ruleset(pb, tb, eb, db, "b")
    a, b = _state(ra, D1, sa, ga), _state(rb, D2, sb, gb)
    totals, parts = decompose(a, b, "X")
    for dim, (f, t) in totals.items():
        mine = [p for p in parts if p.dimension == dim]
        assert sum((p.points for p in mine), Fraction(0)) == t - f
        # the scores are min(100, sum of points x degree) of each side
        u_b = sum(Fraction(x["points"]) * Fraction(x["degree"]) for x in b.rows.loc["X", "fired"] if x["dimension"] == dim)
        assert t == min(Fraction(100), u_b)
        # displayed (rounded) parts still add up to the displayed change
        fd, td, shown = display_parts((f, t), mine)
        assert sum(shown, Decimal(0)) == td - fd
    if content_hash(ra) == content_hash(rb):
        assert all(p.reason != "rule_set" for p in parts)
    if ga == gb and sa == sb:  # same customer: nothing may be attributed to the customer
        assert all(p.reason in ("rule_set", "cap") for p in parts)


# ---- alerts -------------------------------------------------------------------------

EXPECTED_ALERTS = [  # (date, account, alert, from, to, from_date, cause)
    (D2, "P", "score_jump", 0, 82, D1, "customer"),
    (D2, "P", "tier_worse", "low", "high", D1, "customer"),
    (D2, "R", "new_save", "Expand", "Save", D1, "customer"),
    (D2, "R", "score_jump", 43, 75, D1, "customer"),
    (D2, "R", "segment_change", "steady", "dormant", D1, "customer"),
    (D2, "R", "tier_worse", "medium", "high", D1, "customer"),
    # D3: R's rise from D1 (14 days) is the largest; under v1 it would be 95 - 43: customer
    (D3, "R", "score_jump", 43, 100, D1, "customer"),
    # S: champion left (+25 under v1 >= 20): customer; but under v1 it stays low: the tier move is the version
    (D3, "S", "score_jump", 0, 45, D2, "customer"),
    (D3, "S", "tier_worse", "low", "medium", D2, "rule_set"),
    # T: nothing changed at the customer; v2's champion weight moves it
    (D3, "T", "new_save", "Expand", "Save", D2, "rule_set"),
    (D3, "T", "score_jump", 55, 75, D2, "rule_set"),
    (D3, "T", "tier_worse", "medium", "high", D2, "rule_set"),
]


def test_alerts_by_hand(snaps):
    found = alerts(V2, D1, snapshots=snaps)
    got = [(date.fromisoformat(a["date"]), a["account_id"], a["alert"], a["from"], a["to"],
            date.fromisoformat(a["from_date"]), a["cause"]) for a in found]
    assert got == EXPECTED_ALERTS
    # P fell 82 -> 72 at D3: no score_rise although 72 - 0 >= 20 within 14 days
    assert ("P", "score_jump", D3.isoformat()) not in {(a["account_id"], a["alert"], a["date"]) for a in found}
    # since D3: only D3's alerts (D2 is still the baseline)
    assert [a for a in alerts(V2, D3, snapshots=snaps)] == [a for a in found if a["date"] == D3.isoformat()]
    assert alerts(V2, date(2025, 3, 1), snapshots=snaps) == []


def test_alerts_json_shape(snaps):
    import json
    found = json.loads(json.dumps(alerts(V2, D1, snapshots=snaps)))
    assert all({"account_id", "alert", "date", "from", "to", "cause"} <= set(a) for a in found)


# ---- account view and hierarchy -------------------------------------------------------

def test_account_history_marks_rule_set_change(snaps):
    h = account_history("R", V2, snapshots=snaps)
    assert list(h["date"]) == [D1, D2, D3]
    assert list(h["churn_score"]) == [43, 75, 100]
    assert list(h["rule_set_changed"]) == [False, False, True]
    res = explain("S", D2, D3, rules=V2, snapshots=snaps)
    assert change_sentences(res, "churn") == [
        "+25 Champion left, seen 20 Jan 2025",
        f"+20 Champion left: rule set changed (hist {content_hash(V1)[:7]} -> hist_v2 {content_hash(V2)[:7]}), "
        "not the customer"]


def test_rollup_by_hand():
    store = Store()
    frame = pd.DataFrame({
        "account_id": ["H", "C1", "C2", "C3", "K1", "K2"],
        "account_name": ["Holding", "c1", "c2", "c3", "k1", "k2"],
        "value": [0.0, 100.0, 300.0, None, 0.0, 0.0],
        "risk_score": [0.0, 80.0, 20.0, 50.0, 10.0, 30.0],
        "tier": ["low", "high", "low", "medium", "low", "low"],
        "parent_id": [None, "H", "H", "H", "K", "K"],
    })
    store.register_df("scored", frame)
    got = rollup(store, "scored", "parent_id").set_index("parent_id")
    # H: value 400; weighted (100*80 + 300*20) / 400 = 35 (C3 has no value: no weight); worst tier high
    assert got.loc["H", "children"] == 3 and got.loc["H", "value"] == 400.0
    assert got.loc["H", "risk_score"] == pytest.approx(35.0) and got.loc["H", "tier"] == "high"
    assert got.loc["H", "parent_name"] == "Holding"
    # K: no child has value -> plain mean 20; parent not an account -> no name
    assert got.loc["K", "risk_score"] == pytest.approx(20.0) and pd.isna(got.loc["K", "parent_name"])
    with pytest.raises(HistoryError, match="parent column 'nope' not found"):
        rollup(store, "scored", "nope")


def test_alerts_over_rescored_activity_history():
    """Without snapshots: weekly re-scored history of the activity tables, one rule set, all customer events."""
    from riskcore.rules import DEFAULT_RULESET_PATH
    rs = load_ruleset(DEFAULT_RULESET_PATH)
    store = activity_store()
    found = alerts(rs, date(2025, 6, 1), store=store)
    assert found and all(a["cause"] == "customer" and a["date"] >= "2025-06-01" for a in found)
    # every reported rise is real: re-score A6 at the two dates and compare
    a6 = [a for a in found if a["account_id"] == "A6" and a["alert"] == "score_jump"][0]
    h = score_history(store, rs, "A6", [date.fromisoformat(a6["from_date"]), date.fromisoformat(a6["date"])])
    assert list(h["churn_score"]) == [a6["from"], a6["to"]] and a6["to"] - a6["from"] >= 20


def test_account_table_has_no_dates_to_rescore():
    from riskcore.db import Dataset
    store = Store()
    store.dataset = Dataset(kind="account_table", source="x.csv", tables=("account_table",))
    with pytest.raises(HistoryError, match="snapshot --as-of"):
        explain("A", D1, D2, rules=V1, store=store)
    with pytest.raises(HistoryError, match="--store"):
        alerts(V1, D1)


def test_parquet_reader_ignores_leftover_temp_files(tmp_path):
    path = history_snapshots(tmp_path / "dir")
    (tmp_path / "dir" / ".snapshot_2025-02-01_x.parquet.abc.tmp").write_bytes(b"half a file")
    assert list(SnapshotStore(path).index()["accounts"]) == [5, 5, 5]


# ---- opening a DuckDB store: busy (wait with backoff), damaged (clear message, untouched) -----------------

def _fixture_rows(store: Store, d: date):
    frame = history_signals_frames()[d]
    store.register_df("sig", frame)
    return snapshot_frame(store, V1 if d != D3 else V2, d, signals="sig")


def _held(path, seconds: float) -> subprocess.Popen:
    code = ("import duckdb, sys, time\ncon = duckdb.connect(sys.argv[1])\nprint('locked', flush=True)\n"
            "time.sleep(float(sys.argv[2]))\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_busy_store_is_waited_for_and_said(tmp_path):
    from riskcore.history import StoreBusyWarning
    path = tmp_path / "h.duckdb"
    history_snapshots(path)
    holder = _held(path, 1.5)
    rows = _fixture_rows(Store(), D2)
    t0 = time.monotonic()
    with pytest.warns(StoreBusyWarning, match=r"store is busy \(another snapshot is writing\); waited \d+\.\d s"):
        assert write_snapshot(path, rows, ruleset_toml(V1)) == rows.num_rows
    assert time.monotonic() - t0 >= 0.5
    holder.communicate(timeout=30)
    assert len(SnapshotStore(path).index()) == 3  # D2 replaced in place, D1 and D3 kept


def test_busy_store_wait_is_bounded_and_configurable(tmp_path, monkeypatch):
    path = tmp_path / "h.duckdb"
    history_snapshots(path)
    holder = _held(path, 20)
    try:
        monkeypatch.setenv("RISKCORE_STORE_WAIT", "0.3")
        t0 = time.monotonic()
        with pytest.raises(HistoryError, match=r"store is busy \(another process is using it\); gave up after 0\.\d s"):
            SnapshotStore(path).index()  # readers wait the same way
        assert time.monotonic() - t0 < 5
        monkeypatch.setenv("RISKCORE_STORE_WAIT", "soon")
        with pytest.raises(HistoryError, match="RISKCORE_STORE_WAIT: expected a number of seconds, found 'soon'"):
            SnapshotStore(path).index()
    finally:
        holder.terminate()
        holder.communicate(timeout=30)


@pytest.mark.parametrize("damage, message", [
    ("text", "is not a DuckDB database file"),
    ("empty", "is an empty file, not a DuckDB database"),
    ("half", "is damaged: the file has"),
    ("headers_only", "is damaged: the file has"),
    ("zeroed_blocks", "cannot be opened as a snapshot store (a damaged or foreign DuckDB file?)"),
])
def test_damaged_store_is_refused_untouched(tmp_path, damage, message):
    real = tmp_path / "real.duckdb"
    history_snapshots(real)
    data = real.read_bytes()
    path = tmp_path / "h.duckdb"
    path.write_bytes({"text": b"not a database\n", "empty": b"", "half": data[:len(data) // 2],
                      "headers_only": data[:5000], "zeroed_blocks": data[:12288] + bytes(len(data) - 12288)}[damage])
    before = path.read_bytes()
    for attempt in (lambda: write_snapshot(path, _fixture_rows(Store(), D1), ruleset_toml(V1)),
                    lambda: SnapshotStore(path).index(), lambda: SnapshotStore(path).ruleset(content_hash(V1))):
        with pytest.raises(HistoryError) as err:
            attempt()
        assert str(err.value).startswith(f"{path}: ") and message in str(err.value)
        assert "IOException" not in str(err.value) and "IO Error" not in str(err.value)
        assert err.value.__cause__ is None and (err.value.__context__ is None or err.value.__suppress_context__)
    assert path.read_bytes() == before and not (tmp_path / "h.duckdb.wal").exists()


def test_a_store_missing_only_trailing_free_blocks_still_opens(tmp_path):
    """The size check is a hint: a file shorter than its header declares is scanned, and accepted when every
    table reads to the end (the fixture store's last 256 KiB block is free space)."""
    from riskcore.duckfile import _declared_size, duckdb_file_problem
    path = tmp_path / "h.duckdb"
    history_snapshots(path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - 262144])
    assert _declared_size(data[:12288]) == len(data) > path.stat().st_size  # the scan path is taken
    assert duckdb_file_problem(path) is None
    assert len(SnapshotStore(path).index()) == 3
