"""Scoring: hand-computed fixtures, every operator, golden SQL, and an independent pandas check."""

import functools
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskcore.db import Store
from riskcore.fixtures import (SCENARIO_RULES, churn_table_frame, random_signals_frame, scenario_signals_frame,
                               signals_store)
from riskcore.rules import DEFAULT_RULESET_PATH, load_ruleset, with_fusion, with_points, with_tiers
from riskcore.scoring import (compile_firings, compile_scores, firings, pattern_table, score, score_df,
                              score_firings, scoring_notes, tier_counts_from_patterns)

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("RISKCORE_REGEN_GOLDEN") == "1"


@pytest.fixture
def scenario():
    store = signals_store()
    return store, load_ruleset(SCENARIO_RULES)


def test_scenario_scores_tiers_quadrants_by_hand(scenario):
    store, rs = scenario
    out = score_df(store, rs, "signals").set_index("account_id")
    # see fixtures.scenario_signals_frame for the fired rules of each account
    assert out["churn_score"].to_dict() == {"A": 100, "B": 45, "C": 56, "D": 65, "E": 81, "F": 61, "G": 31, "H": 0}
    assert out["churn_tier"].to_dict() == {"A": "high", "B": "medium", "C": "medium", "D": "medium",  # D: fusion
                                           "E": "high", "F": "high", "G": "medium", "H": "low"}  # F, G: ties
    # payment: A failed 20 -> medium; E failed 20 + late 15 = 35 >= 30 but one group (billing) -> medium
    assert out["payment_score"].to_dict() == {"A": 20, "B": 0, "C": 0, "D": 0, "E": 35, "F": 0, "G": 0, "H": 0}
    assert out["payment_tier"].to_dict() == {"A": "medium", "B": "low", "C": "low", "D": "low", "E": "medium",
                                             "F": "low", "G": "low", "H": "low"}
    assert (out["risk_score"] == out["churn_score"]).all() and (out["tier"] == out["churn_tier"]).all()
    # median arr of 50,100,150,200,300,400,500,1000 = 250; high risk: A, E, F (D fails fusion)
    assert out["quadrant"].to_dict() == {"A": "Triage", "B": "Expand", "C": "Expand", "D": "Maintain",
                                         "E": "Save", "F": "Triage", "G": "Expand", "H": "Maintain"}
    assert list(out.columns) == ["account_name", "segment", "csm_owner", "stage", "value", "renewal_date",
                                 "marketing_consent", "churn_score", "churn_tier", "payment_score",
                                 "payment_tier", "risk_score", "tier", "quadrant", "reasons", "playbook"]
    assert out.loc["E", "value"] == 1000 and out.loc["A", "csm_owner"] == "ann"


def test_reasons_by_points_desc_then_file_order(scenario):
    store, rs = scenario
    out = score_df(store, rs, "signals").set_index("account_id")
    a = list(out.loc["A", "reasons"])
    assert [(r["rule_id"], r["points"]) for r in a] == [
        ("no_qbr", 35), ("renewal_no_touch", 30), ("champion_left", 25), ("usage_drop", 20),
        ("failed_payment", 20), ("inactive", 16), ("neg_tickets", 15)]
    # the fixture's labels do not name their thresholds: each reason states its condition beside it
    assert a[3] == {"rule_id": "usage_drop", "label": "Usage down more than 30% (usage_change_30d < -0.3)",
                    "dimension": "churn", "grp": "usage", "points": 20.0, "value": "-0.5",
                    "condition": "usage_change_30d < -0.3"}
    b = list(out.loc["B", "reasons"])
    assert [(r["rule_id"], r["points"], r["value"]) for r in b] == [("no_qbr", 35, None), ("usage_drop", 10, "-0.4")]
    # B never had a QBR (null_fires): the condition says the rule fired on no value
    assert b[0]["condition"] == "days_since_qbr is empty (the rule fires on no value)"
    assert list(out.loc["H", "reasons"]) == []
    types = store.column_types("scores")
    assert types["reasons"] == ('STRUCT(rule_id VARCHAR, "label" VARCHAR, dimension VARCHAR, grp VARCHAR, '
                                'points DOUBLE, "value" VARCHAR, condition VARCHAR)[]')


def test_firings_table_has_degrees_values_and_attributes(scenario):
    store, rs = scenario
    f = store.df(f"SELECT * FROM {firings(store, rs, 'signals')} ORDER BY account_id").set_index("account_id")
    assert f.loc["C", "f_inactive"] == 1.0  # 4 days, onboarding override threshold 3
    assert f.loc["A", "f_inactive"] == 1.0 and f.loc["D", "f_inactive"] == 0.0
    assert f.loc["G", "f_inactive"] == 1.0 and pd.isna(f.loc["G", "v_inactive"])  # NULL fires (null_fires)
    assert f.loc["H", "f_usage_drop"] == 0.0  # NULL does not fire
    assert f.loc["E", "f_renewal_no_touch"] == 1.0 and f.loc["C", "f_renewal_no_touch"] == 0.0
    assert f.loc["B", "value"] == 500 and f.loc["B", "segment"] == "Enterprise"
    assert {"account_name", "csm_owner", "stage", "renewal_date", "marketing_consent"} <= set(f.columns)


# ---- every operator ------------------------------------------------------------------

OP_FRAME = pd.DataFrame({
    "account_id": ["a", "b", "c", "d"],
    "x": [1.0, 5.0, 10.0, None],
    "s": ["a", "b", None, "c"],
    "flag": pd.Series([True, False, None, True], dtype="boolean"),
})


def _one_rule(op: str, threshold: str | None, signal: str = "x", null_fires: bool = False) -> str:
    thr = f"threshold = {threshold}\n" if threshold is not None else ""
    return (f'name = "op"\n[[rules]]\nid = "r"\nlabel = "r"\ndimension = "churn"\nsignal = "{signal}"\n'
            f'op = "{op}"\n{thr}points = 40\ngroup = "usage"\nnull_fires = {str(null_fires).lower()}\n')


@pytest.mark.parametrize("op, threshold, signal, expected", [
    ("<", "5", "x", [1, 0, 0, 0]),
    ("<=", "5", "x", [1, 1, 0, 0]),
    (">", "5", "x", [0, 0, 1, 0]),
    (">=", "5", "x", [0, 1, 1, 0]),
    ("==", "5", "x", [0, 1, 0, 0]),
    ("!=", "5", "x", [1, 0, 1, 0]),
    ("==", '"a"', "s", [1, 0, 0, 0]),
    ("!=", '"a"', "s", [0, 1, 0, 1]),
    ("between", "[1, 5]", "x", [1, 1, 0, 0]),
    ("in", "[1, 10]", "x", [1, 0, 1, 0]),
    ("in", '["a", "c"]', "s", [1, 0, 0, 1]),
    ("is_true", None, "flag", [1, 0, 0, 1]),
    ("is_null", None, "x", [0, 0, 0, 1]),
    ("scale", "[0, 10]", "x", [0.1, 0.5, 1.0, 0]),
    ("scale", "[10, 0]", "x", [0.9, 0.5, 0.0, 0]),
    ("is_true", None, "x > 2 AND s IS NOT NULL", [0, 1, 0, 0]),
])
@pytest.mark.parametrize("null_fires", [False, True])
def test_each_operator_degree_and_points(op, threshold, signal, expected, null_fires):
    store = signals_store(OP_FRAME)
    rs = load_ruleset(_one_rule(op, threshold, signal, null_fires))
    out = score_df(store, rs, "signals")
    f = store.df("SELECT f_r FROM scores_firings ORDER BY account_id")["f_r"].tolist()
    want = list(expected)
    if null_fires and op != "is_null":
        # the NULL signal: x is NULL for d, s and flag for c; the expression is NULL only for d (FALSE for c)
        want[{"s": 2, "flag": 2}.get(signal, 3)] = 1
    assert f == pytest.approx(want)
    assert out["churn_score"].tolist() == pytest.approx([round(40 * w, 4) for w in want])


def test_scale_counts_as_fired_only_with_points():
    store = signals_store(OP_FRAME)
    out = score_df(store, load_ruleset(_one_rule("scale", "[10, 0]", "x")), "signals")
    # c gives 0 points: no reason
    assert [len(r) for r in out["reasons"]] == [1, 1, 0, 0]
    assert out["reasons"][0][0]["points"] == pytest.approx(36.0)


# ---- tiers, fusion, cut-offs ---------------------------------------------------------

def _x_frame(values, arr=None):
    n = len(values)
    return pd.DataFrame({"account_id": [f"a{i}" for i in range(n)], "x": values,
                         "arr": arr if arr is not None else [100.0] * n})


def test_percentile_threshold_over_scored_accounts():
    store = signals_store(_x_frame([1, 2, 3, 4, 5, 6, 7, 8, None]))
    rs = load_ruleset(_one_rule(">=", "{ percentile = 75 }"))
    out = score_df(store, rs, "signals")
    # quantile_cont of 1..8 at 0.75: position 5.25 -> 6.25; fires for 7 and 8
    assert out["churn_score"].tolist() == [0, 0, 0, 0, 0, 0, 40, 40, 0]


def test_percentile_tiers_top_20_percent_is_high():
    vals = [0, 0, 10, 20, 30, 40, 50, 60, 70, 80]
    store = signals_store(_x_frame(vals))
    rs = load_ruleset(_one_rule("scale", "[0, 100]").replace('name = "op"', 'name = "op"\n[tiers]\nmode = "percentile"\n'
                                                                                'medium = 50\nhigh = 80'))
    out = score_df(store, rs, "signals")
    # scores = 0.4 * x: 0,0,4,8,12,16,20,24,28,32; q50 = 14, q80 = 24.8
    assert out["churn_score"].tolist() == pytest.approx([0, 0, 4, 8, 12, 16, 20, 24, 28, 32])
    assert out["tier"].tolist() == ["low"] * 5 + ["medium"] * 3 + ["high"] * 2


def test_percentile_tiers_never_promote_zero_scores():
    store = signals_store(_x_frame([0] * 9 + [50]))
    rs = load_ruleset(_one_rule(">", "10").replace('name = "op"', 'name = "op"\n[tiers]\nmode = "percentile"\n'
                                                                  'medium = 50\nhigh = 80'))
    assert score_df(store, rs, "signals")["tier"].tolist() == ["low"] * 9 + ["high"]


def test_numeric_value_cutoff_fusion_off_and_weight_change_from_firings(scenario):
    store, rs = scenario
    rs = with_fusion(rs, enabled=False)
    out = score_df(store, rs, "signals").set_index("account_id")
    assert out.loc["D", "tier"] == "high" and out.loc["E", "payment_tier"] == "high"
    from dataclasses import replace
    rs2 = replace(rs, quadrant=replace(rs.quadrant, value_cutoff=1000))
    fired = firings(store, rs2, "signals", out_table="keep_firings")
    store.execute("DROP TABLE signals")  # stage 2 must not need the signals any more
    out2 = store.df(f"SELECT * FROM {score_firings(store, with_points(rs2, {'no_qbr': 0}), fired)} "
                    "ORDER BY account_id").set_index("account_id")
    assert out2.loc["D", "churn_score"] == 30 and out2.loc["B", "churn_score"] == 10
    # only E has value >= 1000
    assert out2["quadrant"].to_dict() == {"A": "Triage", "B": "Maintain", "C": "Maintain", "D": "Maintain",
                                          "E": "Save", "F": "Triage", "G": "Maintain", "H": "Maintain"}


def test_cap_at_100_and_tier_cutoff_edits(scenario):
    store, rs = scenario
    out = score_df(store, with_tiers(rs, medium=56, high=100), "signals").set_index("account_id")
    assert out.loc["A", "churn_score"] == 100 and out.loc["A", "tier"] == "high"
    assert out.loc["C", "tier"] == "medium" and out.loc["B", "tier"] == "low" and out.loc["E", "tier"] == "medium"


def test_unavailable_rules_are_skipped_and_reported():
    frame = scenario_signals_frame().drop(columns=["champion_left_90d", "days_since_last_touch"])
    store = signals_store(frame)
    rs = load_ruleset(SCENARIO_RULES)
    out = score_df(store, rs, "signals").set_index("account_id")
    assert "f_champion_left" not in store.columns("scores_firings")
    assert "f_renewal_no_touch" not in store.columns("scores_firings")
    assert out.loc["A", "churn_score"] == 20 + 16 + 15 + 35
    notes = scoring_notes(rs, store.columns("signals"))
    assert any("champion_left" in n and "unavailable" in n for n in notes)
    assert any("renewal_no_touch" in n for n in notes)


def test_playbook_first_match_by_priority(scenario):
    store, rs = scenario
    catalog = pd.DataFrame([
        {"dimension": None, "tier": None, "quadrant": None, "playbook_id": "monitor", "priority": 99},
        {"dimension": "payment", "tier": "medium", "quadrant": None, "playbook_id": "payment_cure", "priority": 5},
        {"dimension": None, "tier": None, "quadrant": "save", "playbook_id": "save_plan", "priority": 1},
        {"dimension": "churn", "tier": "high", "quadrant": None, "playbook_id": "outreach", "priority": 2},
        {"dimension": None, "tier": "medium", "quadrant": None, "playbook_id": "review", "priority": 10},
    ])
    out = score_df(store, rs, "signals", playbooks=catalog).set_index("account_id")
    assert out["playbook"].to_dict() == {"A": "outreach", "B": "review", "C": "review", "D": "review",
                                         "E": "save_plan", "F": "outreach", "G": "review", "H": "monitor"}
    # a tier without a dimension matches any dimension's tier (riskcore.playbooks.match_account)
    catalog.loc[4, "tier"] = "high"
    out = score_df(store, rs, "signals", playbooks=catalog).set_index("account_id")
    assert out["playbook"].to_dict() == {"A": "outreach", "B": "monitor", "C": "monitor", "D": "monitor",
                                         "E": "save_plan", "F": "outreach", "G": "monitor", "H": "monitor"}
    with pytest.raises(ValueError, match="priority"):
        score(store, rs, "signals", playbooks=catalog.drop(columns=["priority"]))


def test_rule_set_text_never_reaches_sql_unescaped():
    evil = "x'); DROP TABLE signals; --"
    text = _one_rule(">", "1").replace('label = "r"', f'label = "{evil}"') + (
        '[[overrides]]\nsegment = "O\'Brien\\"; DROP TABLE signals; --"\nrule = "r"\npoints = 5\n')
    rs = load_ruleset(text)
    frame = _x_frame([0, 2]).assign(segment=["O'Brien\"; DROP TABLE signals; --", "SMB"])
    store = signals_store(frame)
    out = score_df(store, rs, "signals")
    assert store.has_table("signals")
    assert out["churn_score"].tolist() == [0, 40]
    # a label without {threshold} gets the condition beside it (rules.reason_parts)
    assert out["reasons"][1][0]["label"] == evil + " (x > 1)"
    for sql, params in (compile_firings(rs, store.columns("signals")),
                        compile_scores(rs, store.columns("scores_firings"))):
        assert "DROP" not in sql and "O'Brien" not in sql
    assert evil + " (x > 1)" in params and "O'Brien\"; DROP TABLE signals; --" in params


# ---- golden SQL -----------------------------------------------------------------------

DEFAULT_SIGNAL_COLUMNS = list(random_signals_frame(5).columns)


def _golden(name: str, sql: str, params: list) -> None:
    text = sql + "\n-- params: " + json.dumps(params, default=str) + "\n"
    path = GOLDEN / name
    if REGEN or not path.exists():
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not REGEN:
            pytest.fail(f"golden file {path} was missing and has been written: check it in")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed: rerun with RISKCORE_REGEN_GOLDEN=1 if intended"


def test_golden_default_firings_sql():
    rs = load_ruleset(DEFAULT_RULESET_PATH)
    _golden("default_firings.sql", *compile_firings(rs, DEFAULT_SIGNAL_COLUMNS, source="signals"))


def test_golden_default_scores_sql():
    rs = load_ruleset(DEFAULT_RULESET_PATH)
    store = signals_store(random_signals_frame(5))
    cols = store.columns(firings(store, rs, "signals"))
    _golden("default_scores.sql", *compile_scores(rs, cols, source="firings", playbooks_table="playbooks"))


# ---- default rules vs an independent pandas computation ---------------------------------

def _pandas_default(df: pd.DataFrame, rs) -> pd.DataFrame:
    """The default rule set, written out by hand in pandas (NULL: fires only with null_fires)."""
    def fire(cond, null_fires=False):
        return cond.astype("boolean").fillna(null_fires).astype(float)

    ent = df["segment"] == "Enterprise"
    onb = df["stage"] == "onboarding"
    touch = df["days_since_last_touch"].astype("Float64").fillna(9999)
    f = pd.DataFrame(index=df.index)
    f["usage_drop"] = fire(df["usage_change_30d"] < -0.3)
    f["inactive_7d"] = fire(df["days_since_last_login"] >= np.where(onb, 3, 7), True)
    f["champion_left"] = fire(df["champion_left_90d"])
    f["negative_tickets"] = fire(df["negative_tickets_30d"] >= 1)
    f["escalations"] = fire(df["escalations_90d"] >= 1)
    f["payment_trouble"] = fire(df["failed_payments_30d"] >= 1)
    f["no_qbr"] = fire(df["days_since_qbr"] > np.where(ent, 100, 180), True)
    f["renewal_no_touch"] = fire((df["days_to_renewal"] <= 60) & (touch > 30))
    f["low_nps"] = fire(df["last_nps"] <= 6)
    f["failed_payment"] = fire(df["failed_payments_30d"] >= 1)
    f["late_invoices"] = fire(df["late_invoices_90d"] >= 1)
    f["unreachable_payer"] = fire((df["failed_payments_30d"] + df["late_invoices_90d"] >= 1) & (touch > 60))
    f["chargeback"] = fire(df["chargebacks_180d"] >= 1)
    f["new_account_chargeback"] = fire((df["tenure_days"] < 90) & (df["chargebacks_180d"] >= 1))
    f["detractor"] = ((6 - df["last_nps"].astype("Float64")) / 6).clip(0, 1).fillna(0).astype(float)
    f["negative_ticket_burst"] = fire(df["negative_tickets_30d"] >= 2)
    f["repeat_escalations"] = fire(df["escalations_90d"] >= 2)
    f["seats_full"] = fire(df["seat_utilization"] > 0.9)
    f["usage_growth"] = fire(df["usage_change_30d"] > 0.2)
    f["promoter"] = fire(df["last_nps"] >= 9)
    f["no_downgrade"] = fire(df["downgrades_180d"] == 0)
    rules = rs.rules
    out = pd.DataFrame({"account_id": df["account_id"]})
    for dim, (med, high) in {"churn": (31, 61), "payment": (15, 30), "fraud": (30, 60),
                             "reputation": (31, 61), "expansion": (31, 61)}.items():
        mine = [r for r in rules if r.dimension == dim]
        pts = pd.DataFrame({r.id: f[r.id] * np.where((r.id == "usage_drop") & ent, 10, r.points) for r in mine})
        s = pts.sum(axis=1).round(4).clip(upper=100)
        groups = sum(((pts[[r.id for r in mine if r.group == g]] > 0).any(axis=1)).astype(int)
                     for g in dict.fromkeys(r.group for r in mine))
        out[f"{dim}_score"] = s
        out[f"{dim}_groups"] = groups
        out[f"{dim}_tier"] = np.where((s >= high) & (groups >= 2), "high", np.where(s >= med, "medium", "low"))
    high_value = df["arr"] >= df["arr"].median()
    high_risk = (out["churn_score"] >= 61) & (out["churn_groups"] >= 2)
    out["quadrant"] = np.select([high_value & high_risk, high_value, high_risk], ["Save", "Expand", "Triage"],
                                "Maintain")
    out["n_reasons"] = (f.mul([r.points for r in rules]) > 0).sum(axis=1)  # Enterprise 10 still > 0
    return out


# with default weights no single evidence group reaches 61; the second set makes fusion bite
@pytest.mark.parametrize("points", [{}, {"renewal_no_touch": 45, "no_qbr": 25, "inactive_7d": 50}])
def test_default_rules_match_pandas_on_random_signals(points):
    df = random_signals_frame(2000, seed=11)
    store = signals_store(df)
    rs = with_points(load_ruleset(DEFAULT_RULESET_PATH), points)
    got = score_df(store, rs, "signals").set_index("account_id")
    want = _pandas_default(df, rs).set_index("account_id").loc[got.index]
    for dim in rs.dimensions:
        np.testing.assert_allclose(got[f"{dim}_score"].to_numpy(float), want[f"{dim}_score"].to_numpy(float),
                                   atol=1e-9, err_msg=dim)
        assert (got[f"{dim}_tier"] == want[f"{dim}_tier"]).all(), dim
    assert (got["quadrant"] == want["quadrant"]).all()
    assert (got["reasons"].map(len) == want["n_reasons"]).all()
    # the data exercises every branch
    assert set(got["tier"]) == {"low", "medium", "high"} and set(got["quadrant"]) == {"Save", "Expand", "Maintain",
                                                                                     "Triage"}
    if points:
        assert (want["churn_tier"].eq("medium") & want["churn_score"].ge(61)).any()  # fusion demoted some


@pytest.mark.parametrize("mode", ["points", "percentile"])
def test_pattern_table_gives_the_same_tier_counts(mode):
    df = random_signals_frame(2000, seed=3)
    store = signals_store(df)
    rs = load_ruleset(DEFAULT_RULESET_PATH)
    if mode == "percentile":
        rs = with_tiers(rs, medium=60, high=85, mode="percentile", dimension="churn")
    rs = with_points(rs, {"usage_drop": 35, "no_qbr": 5})
    table = score(store, rs, "signals")
    full = store.df(f"SELECT tier, count(*) AS n, sum(value) AS value FROM {table} GROUP BY tier")
    pats = pattern_table(store, rs, "scores_firings")
    n_pat = store.one(f"SELECT count(*) FROM {pats}")
    assert n_pat < 2000  # scale rules keep it from collapsing fully; still fewer rows
    got = tier_counts_from_patterns(store, rs, pats).set_index("tier")
    full = full.set_index("tier").reindex(["low", "medium", "high"], fill_value=0)
    assert got["n"].tolist() == full["n"].tolist()
    np.testing.assert_allclose(got["value"].to_numpy(float), full["value"].to_numpy(float))


# ---- a wide churn table, straight from DuckDB -------------------------------------------

def test_wide_churn_table_scores():
    store = Store()
    store.register_df("raw", churn_table_frame())
    store.execute('CREATE TABLE account_table AS SELECT *, "customerID" AS account_id, '
                  '"MonthlyCharges" * 12 AS arr, "Churn" = \'Yes\' AS churned FROM raw')
    rs = load_ruleset("""
name = "telco"
[quadrant]
value_column = "arr"
value_cutoff = 600
risk_cutoff = 50
[[rules]]
id = "calls"
label = "Four or more service calls"
dimension = "churn"
signal = "Customer service calls"
op = ">="
threshold = 4
points = 40
group = "support"
null_fires = true
[[rules]]
id = "new_monthly"
label = "New month-to-month customer"
dimension = "churn"
signal = "tenure < 12 AND \\"Contract\\" = 'Month-to-month'"
op = "is_true"
points = 30
group = "billing"
""")
    out = score_df(store, rs, "account_table").set_index("account_id")
    # 7590: new m2m 30; 5575: 0; 3668: calls 4 + new m2m = 70; 7795: calls 5 = 40; 9237: NULL calls 40 + 30 = 70
    assert out["risk_score"].to_dict() == {"7590-VHVEG": 30, "5575-GNVDE": 0, "3668-QPYBK": 70,
                                           "7795-CFOCW": 40, "9237-HQITU": 70}
    assert out["tier"].to_dict() == {"7590-VHVEG": "low", "5575-GNVDE": "low", "3668-QPYBK": "high",
                                     "7795-CFOCW": "medium", "9237-HQITU": "high"}
    # value = 12 x monthly: 358.2, 683.4, 646.2, 507.6, 848.4; cut-off 600
    assert out["quadrant"].to_dict() == {"7590-VHVEG": "Maintain", "5575-GNVDE": "Expand", "3668-QPYBK": "Save",
                                         "7795-CFOCW": "Maintain", "9237-HQITU": "Save"}
    assert out.loc["3668-QPYBK", "reasons"][0]["value"] == "4.0"
    assert len(out) == 5


# ---- rules checked against the data's column types --------------------------------------------

def _typed_store() -> Store:
    frame = pd.DataFrame({"account_id": ["a0", "a1", "a2"], "x": [1.0, 6.0, 9.0], "plan": ["Basic", "1,234", "Pro"],
                          "promo": [True, False, True], "arr": [100.0, 200.0, 300.0]})
    return signals_store(frame)


def test_a_rule_of_the_wrong_type_is_left_out_and_the_rest_scores():
    store = _typed_store()
    rs = load_ruleset(_one_rule(">", "5") + _one_rule(">", "5", signal="plan").split("\n", 1)[1].replace(
        'id = "r"', 'id = "plan_big"') + _one_rule("between", "[0, 1]", signal="promo").split("\n", 1)[1].replace(
        'id = "r"', 'id = "promo_mid"'))
    out = score_df(store, rs, "signals")  # raw DuckDB: Conversion Error: Could not convert string '1,234'
    assert out["churn_score"].tolist() == [0, 40, 40]
    assert not {"f_plan_big", "f_promo_mid"} & set(store.columns("scores_firings"))
    from riskcore.scoring import column_facts
    facts = column_facts(store, "signals", rs)
    assert facts.examples == {"plan": "1,234"} and facts.empty == frozenset()  # a value that is not a number
    notes = scoring_notes(rs, facts)
    assert "rule 'plan_big', field 'signal': column 'plan' is text (e.g. '1,234'); op '>' needs a number " \
           "(rule unavailable)" in notes
    assert "rule 'promo_mid', field 'signal': column 'promo' is true/false; op 'between' needs a number " \
           "(rule unavailable)" in notes


def test_empty_columns_count_only_in_account_tables(tmp_path):
    """A blank export column makes its rules unavailable; an all-NULL activity signal is a real NULL
    (no NPS answer yet) and null_fires decides."""
    from riskcore.loading import load_data
    from riskcore.scoring import column_facts
    rs = load_ruleset(_one_rule(">", "40", signal="Age", null_fires=True))
    path = tmp_path / "export.csv"
    path.write_text("customerID,Age,Churn\nA,,Yes\nB,,No\nC,,No\n")
    store = Store()
    load_data(store, path)
    assert column_facts(store, "account_table", rs).empty == {"Age"}
    out = score_df(store, rs, "account_table")
    assert out["churn_score"].tolist() == [0, 0, 0]  # unavailable, not fired by null_fires
    signals = signals_store(pd.DataFrame({"account_id": ["a", "b"], "Age": [None, None]}).astype({"Age": float}))
    assert column_facts(signals, "signals", rs).empty == frozenset()
    assert score_df(signals, rs, "signals")["churn_score"].tolist() == [40, 40]


def test_a_threshold_change_to_a_wrong_type_rebuilds_instead_of_failing():
    from riskcore.rules import with_thresholds
    from riskcore.scoring import pattern_index, patterns_for
    from riskcore.tuning import tuning_numbers
    store = _typed_store()
    rs = load_ruleset(_one_rule("==", '"Basic"', signal="plan"))
    idx = pattern_index(store, rs, "signals")
    bad = with_thresholds(rs, {"r": 5})  # the file's shape allows a number for ==; the column is text
    with pytest.raises(ValueError, match="does not fit its signal's type"):
        patterns_for(store, idx, bad)
    assert tuning_numbers(store, rs, bad, lambda r: idx) is None  # the page falls back to full scoring
    assert score_df(store, bad, "signals")["churn_score"].tolist() == [0, 0, 0]


def test_golden_arithmetic_firings_sql():
    """Division and modulo by zero NULL, arithmetic in DOUBLE, non-finite results NULL (issue 13)."""
    text = _one_rule(">", "1", signal="x / y") + "".join(
        _one_rule(op, thr, signal=sig).split("\n", 1)[1].replace('id = "r"', f'id = "{rid}"')
        for rid, sig, op, thr in (("mod", "x % y", ">", "1"), ("big", "9223372036854775807 + x", ">", "0"),
                                  ("nested", "COALESCE(x / (y - y), 0) * 2 + -x", "<", "0")))
    rs = load_ruleset(text)
    _golden("arithmetic_firings.sql", *compile_firings(rs, ["account_id", "x", "y"], source="signals"))


# ---- reasons state the condition that applied (issue 14, item 5) ---------------------------------

import re  # noqa: E402
from decimal import Decimal  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from riskcore.rules import (Percentile, is_template, number_text, ruleset_from_dict, ruleset_to_dict,  # noqa: E402
                            signal_text, with_thresholds)
from riskcore.scoring import number_text_sql, pattern_quadrant_codes, pattern_tier_codes  # noqa: E402

_COND = re.compile(r"^(?P<sig>.+?) (?P<op><=|>=|<|>|=|!=) (?P<thr>-?[0-9.e+-]+|inf|-inf)$")
_BETWEEN = re.compile(r"^(?P<sig>.+?) between (?P<lo>\S+) and (?P<hi>\S+)$")
_SCALE = re.compile(r"^(?P<sig>.+?) (?P<op><|>) (?P<lo>\S+) \(full points at \S+\)$")
_OPS = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__, "=": float.__eq__,
        "!=": float.__ne__}
_NUMERIC_RULES = ("usage_drop", "inactive_7d", "negative_tickets", "escalations", "payment_trouble", "no_qbr",
                  "low_nps", "failed_payment", "late_invoices", "chargeback", "negative_ticket_burst",
                  "repeat_escalations", "seats_full", "usage_growth", "promoter")


def _holds(condition: str, value: str | None) -> bool:
    """Does the account's signal value satisfy the condition its reason states?"""
    if condition.endswith("is empty (the rule fires on no value)"):
        return value is None
    if value is None:
        return False
    m = _BETWEEN.match(condition)
    if m:
        return float(m["lo"]) <= float(value) <= float(m["hi"])
    m = _SCALE.match(condition)
    if m:
        return _OPS[m["op"]](float(value), float(m["lo"]))
    m = _COND.match(condition)
    assert m, f"cannot read the condition {condition!r}"
    return _OPS[m["op"]](float(value), float(m["thr"]))


def _threshold_shown(condition: str) -> str | None:
    m = _COND.match(condition)
    return m["thr"] if m else None


def _check_reasons(out: pd.DataFrame, rs) -> int:
    """Every fired reason's condition holds for its value; a templated label states the condition's
    threshold (as written, or x 100 for {threshold_percent}). Returns the number of reasons checked."""
    checked = 0
    for reasons in out["reasons"]:
        for r in reasons:
            rule = rs.rule(r["rule_id"])
            if rule.op in ("is_true",):
                continue
            assert _holds(r["condition"], r["value"]), (r, rule)
            thr = _threshold_shown(r["condition"])
            if thr is not None and is_template(rule.label) and r["value"] is not None:
                shown = thr if "{threshold}" in rule.label else number_text(float(Decimal(thr) * 100), "near")
                assert shown in r["label"], (r, rule)
            if not is_template(rule.label):
                assert r["condition"] in r["label"], r  # stated beside the label
            checked += 1
    return checked


_thresholds = st.fixed_dictionaries({
    "inactive_7d": st.one_of(st.integers(0, 60), st.builds(lambda p: Percentile(p), st.integers(5, 95))),
    "usage_drop": st.floats(-0.9, 0.5, allow_nan=False).map(lambda x: round(x, 3)),
    "no_qbr": st.one_of(st.integers(0, 400), st.builds(lambda p: Percentile(p), st.integers(5, 95))),
    "low_nps": st.integers(0, 10),
    "seats_full": st.floats(0.1, 1.2, allow_nan=False),
    "negative_tickets": st.integers(0, 3),
    "detractor": st.tuples(st.integers(3, 9), st.integers(0, 2)),
})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(thresholds=_thresholds, override=st.integers(0, 30))
def test_reasons_never_contradict_the_value_after_threshold_changes(thresholds, override):
    """Random threshold changes (numbers, percentiles, an override's threshold): for every fired reason the
    account's signal value satisfies the condition the reason states, and the label states the same threshold
    (the default label "No login for 7 days or more" used to stay after a change to 3)."""
    rs = load_ruleset(DEFAULT_RULESET_PATH)
    doc = ruleset_to_dict(with_thresholds(rs, {k: (list(v) if isinstance(v, tuple) else
                                                   {"percentile": v.percentile} if isinstance(v, Percentile) else v)
                                               for k, v in thresholds.items()}))
    for o in doc["overrides"]:
        if o["rule"] == "inactive_7d":
            o["threshold"] = override
    rs = ruleset_from_dict(doc)
    store = signals_store(random_signals_frame(600, seed=3))
    out = score_df(store, rs, "signals")
    assert _check_reasons(out, rs) > 500


def test_an_override_threshold_is_the_one_stated():
    """inactive_7d fires at 3 days in onboarding (an override): the reason says 3, not 7."""
    rs = load_ruleset(DEFAULT_RULESET_PATH)
    out = score_df(signals_store(random_signals_frame(800)), rs, "signals")
    said = {(row.stage, r["label"]) for row in out.itertuples() for r in row.reasons if r["rule_id"] == "inactive_7d"}
    assert ("onboarding", "No login for 3 days or more (or never)") in said
    assert ("adopted", "No login for 7 days or more (or never)") in said
    assert not any(stage == "onboarding" and "7 days" in label for stage, label in said)


def test_a_percentile_reason_states_the_cut_value():
    rs = with_thresholds(load_ruleset(DEFAULT_RULESET_PATH), {"inactive_7d": {"percentile": 80}})
    frame = random_signals_frame(500)
    out = score_df(signals_store(frame), rs, "signals")
    cut = float(np.quantile(frame["days_since_last_login"].dropna().astype(float), 0.8))
    labels = {r["label"] for rr in out["reasons"] for r in rr if r["rule_id"] == "inactive_7d"}
    assert f"No login for {number_text(cut, 'down')} days or more (or never)" in labels


@functools.lru_cache(maxsize=1)
def _twin_store() -> Store:
    """One in-memory store for every example (opening one per example was most of the test's time)."""
    return Store()


@settings(max_examples=200, deadline=None)
@given(x=st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False)
       | st.floats(-10, 10, allow_nan=False) | st.integers(-10**6, 10**6).map(lambda i: i / 1000),
       direction=st.sampled_from([None, "down", "up", "near"]))
def test_number_text_sql_is_the_python_twin(x, direction):
    """A percentile's cut value is formatted in SQL, a typed threshold in Python: the same text, and the
    directed rounding keeps "value >= shown" (down) / "value <= shown" (up) true."""
    got = _twin_store().one(f"SELECT {number_text_sql('$1', direction)}", [float(x)])
    assert got == number_text(float(x), direction)
    if direction == "down":
        assert float(got) <= x
    if direction == "up":
        assert float(got) >= x
    if x != 0:
        assert abs(float(got) - x) <= 1e-3 * abs(x) + 1e-12


def test_signal_text_unquotes_a_column_name():
    assert signal_text('"Customer service calls"') == "Customer service calls"
    assert signal_text('"a"" b"') == 'a" b' and signal_text("x + y") == "x + y"
    assert signal_text('"a" + "b"') == '"a" + "b"'


# ---- one risk line (issue 14, item 8) ----------------------------------------------------------

def test_high_tier_is_save_plus_triage_by_default():
    """risk_cutoff = "high_tier" (the default): the quadrants' high-risk half is exactly the high tier,
    in SQL and in the pattern path the Tuning page uses, also after tier cut-off edits and in percentile
    mode. A numeric risk cut-off still draws its own line."""
    store = signals_store(random_signals_frame(1500))
    base = load_ruleset(DEFAULT_RULESET_PATH)
    for rs in (base, with_tiers(base, medium=20, high=45), with_tiers(base, medium=60, high=80, mode="percentile"),
               with_fusion(base, enabled=False)):
        out = score_df(store, rs, "signals")
        high = int((out["tier"] == "high").sum())
        assert 0 < high < len(out)
        assert high == int(out["quadrant"].isin(["Save", "Triage"]).sum())
        assert (out.loc[out["quadrant"].isin(["Save", "Triage"]), "tier"] == "high").all()
        from riskcore.scoring import patterns_from_signals
        pat = patterns_from_signals(store, rs, "signals")
        codes = pattern_quadrant_codes(pat, rs)
        assert int(pat.n[np.isin(codes, [0, 3])].sum()) == int(pat.n[pattern_tier_codes(pat, rs) == 2].sum()) == high
    numeric = ruleset_from_dict({**ruleset_to_dict(with_tiers(base, high=45)),
                                 "quadrant": {"value_column": "arr", "risk_cutoff": 70}})
    out = score_df(store, numeric, "signals")
    assert int(out["quadrant"].isin(["Save", "Triage"]).sum()) < int((out["tier"] == "high").sum())
