from pathlib import Path

import pandas as pd
import pytest

from riskcore.backtest import run_backtest
from riskcore.db import Mapping, Store
from riskcore.loading import load_data
from riskcore.rules import load_ruleset, ruleset_to_toml
from riskcore.scoring import score_df
from riskcore.starter import starter_ruleset, starter_warnings


def _table(tmp_path, n=200):
    # churn is ~60% when calls >= 8 (the top 20%) or plan == "Pro", 5% otherwise
    rows = []
    for i in range(n):
        calls = i % 10
        plan = "Pro" if i % 7 == 0 else "Basic"
        churn = (calls >= 8 and (i // 10) % 5 < 3) or (plan == "Pro" and (i // 7) % 5 < 3) or (i % 23 == 0)
        rows.append({"customerID": f"C{i}", "Service calls": calls, "Plan": plan,
                     "Monthly charge": 10 + i % 13, "Churn": "Yes" if churn else "No"})
    path = tmp_path / "t.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    store = Store()
    load_data(store, path)
    return store, pd.DataFrame(rows)


def test_starter_rules_find_the_churn_drivers(tmp_path):
    store, frame = _table(tmp_path)
    rs = starter_ruleset(store)
    ids = [r.id for r in rs.rules]
    assert "service_calls_high" in ids and "plan_is_pro" in ids
    assert "Churn" not in " ".join(r.signal for r in rs.rules)  # the outcome is never a rule
    assert rs.quadrant.value_column == "Monthly charge"
    # the file round-trips and scores: a Pro account with 9 calls fires both rules
    rs2 = load_ruleset(ruleset_to_toml(rs))
    scored = score_df(store, rs2, "account_table").set_index("account_id")
    both = {r.id: r.points for r in rs2.rules}
    expected = min(100, both["service_calls_high"] + both["plan_is_pro"])
    assert scored.loc["C119", "risk_score"] == expected  # 119 % 10 = 9 calls, 119 % 7 = 0 -> Pro


def test_outcome_column_is_not_a_baseline_feature(tmp_path):
    store, _ = _table(tmp_path, n=400)
    result = run_backtest(store, starter_ruleset(store))
    assert result["baselines"]["logistic_regression"]["auc"] < 0.99


def test_starter_needs_an_outcome(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("customerID,calls\nA,1\nB,2\n")
    store = Store()
    load_data(store, path)
    with pytest.raises(ValueError, match="outcome"):
        starter_ruleset(store)


EXPORTS = Path(__file__).resolve().parent / "data" / "exports"
DISGUISED = {"Churn Label", "Churn Value", "Churn Score", "Churn Reason"}


def _load(name: str, mapping: Mapping | None = None) -> Store:
    store = Store()
    load_data(store, EXPORTS / name, mapping=mapping)
    return store


def _columns_used(rs) -> set[str]:
    from riskcore.expressions import expression_columns, parse_expression
    return {c for r in rs.rules for c in expression_columns(parse_expression(r.signal, None))}


@pytest.mark.parametrize("name, outcome", [("telco_leaky.csv", None), ("telco_leaky.csv", "Churn Label"),
                                           ("telco_leaky.xlsx", "Churn Value")])
def test_telco_starter_never_uses_the_outcome_in_disguise(name, outcome):
    """IBM's Telco export repeats the outcome as `Churn Label`, `Churn Value`, `Churn Score` and
    `Churn Reason`: starter rules used to pick two of them (+48, +41) and report AUC 0.93."""
    store = _load(name, Mapping(id_column="customerID", outcome_column=outcome) if outcome else None)
    mapped = store.dataset.mapping.outcome_column
    rs = starter_ruleset(store)
    used = _columns_used(rs)
    assert not used & DISGUISED, used
    assert {"tenure", "Contract"} <= used  # the real drivers are still found
    warned = starter_warnings(store)
    for col in DISGUISED - {mapped}:
        assert any(w.startswith(f"column {col!r} ") and w.endswith("not used for starter rules")
                   for w in warned), warned
    assert not any(f"column {mapped!r}" in w for w in warned)  # the mapped outcome is not "in disguise"
    copy = next(w for w in warned if w.startswith("column 'Churn Label'" if mapped != "Churn Label"
                                                   else "column 'Churn Value'"))
    assert "is a copy of the outcome under another name" in copy and "churned on 100.0% of rows" in copy
    result = run_backtest(store, rs)
    assert result["auc"] < 0.9  # honest: no copy of the outcome in the rules
    assert {leak["column"] for leak in result["leaks"]} == DISGUISED - {mapped}
    types = store.column_types("account_table")
    honest = [c for c in ("SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges") if types[c] == "DOUBLE"]
    for b in result["baselines"].values():
        assert b["unavailable"] is None and b["auc"] < 0.9  # not 1.0: Churn Score is no feature
        assert b["n_features"] == len(honest) >= 3  # (TotalCharges is text until blank cells type as numbers)


def test_bank_starter_leaves_out_a_near_copy():
    store = _load("bank_leaky.csv")  # Exited is the outcome; Complain agrees with it on ~99.6% of rows
    rs = starter_ruleset(store)
    used = _columns_used(rs)
    assert "Age" in used and "Complain" not in used and "Exited" not in used
    [warning] = starter_warnings(store)
    assert warning.startswith("column 'Complain' is a copy of the outcome under another name ('1' = churned on 99.")
    result = run_backtest(store, rs)
    assert result["baselines"]["logistic_regression"]["auc"] < 0.9  # with Complain it would be ~0.99


def test_cli_starter_prints_what_it_left_out(tmp_path, capsys):
    from riskcore.cli import main
    out = tmp_path / "rules.toml"
    assert main(["starter", "--data", str(EXPORTS / "telco_leaky.csv"), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    for col in ("Churn Label", "Churn Score", "Churn Reason"):
        assert f"warning: {EXPORTS / 'telco_leaky.csv'}: column {col!r}" in err, err
    assert "Churn" not in " ".join(r.signal for r in load_ruleset(out.read_text()).rules)


LEAKY_RULES = """
name = "leaky"
[[rules]]
id = "label_yes"
label = "Churn Label is Yes"
dimension = "churn"
signal = '"Churn Label"'
op = "=="
threshold = "Yes"
points = 48
group = "external"

[[rules]]
id = "month_to_month"
label = "Month-to-month contract"
dimension = "churn"
signal = "Contract"
op = "=="
threshold = "Month-to-month"
points = 30
group = "external"

[[rules]]
id = "short_tenure"
label = "Tenure under a year"
dimension = "churn"
signal = "tenure"
op = "<"
threshold = 12
points = 30
group = "external"
"""


def test_fit_and_backtest_flag_a_rule_on_the_outcome_in_disguise(tmp_path, capsys):
    from riskcore.backtest import fit_rules
    from riskcore.cli import main
    store = _load("telco_leaky.csv")
    rs = load_ruleset(LEAKY_RULES)
    fitted, info = fit_rules(store, rs)
    assert info["flagged_rules"] == ["label_yes"] and fitted.rule("label_yes").points == 48
    assert "label_yes" not in info["points"]  # left out of the fit
    assert "warning: rule 'label_yes' uses the outcome in disguise: column 'Churn Label' is a copy" in info["summary"]
    assert info["summary"].startswith("cross-validated (5 folds) AUC on 600 accounts")
    result = run_backtest(store, rs)
    assert any(w.startswith("rule 'label_yes' uses the outcome in disguise") for w in result["warnings"])
    rules = tmp_path / "leaky.toml"
    rules.write_text(LEAKY_RULES)
    assert main(["fit", "--data", str(EXPORTS / "telco_leaky.csv"), "--rules", str(rules),
                 "--out", str(tmp_path / "fitted.toml")]) == 0
    assert "warning: rule 'label_yes' uses the outcome in disguise" in capsys.readouterr().out


def test_data_page_starter_shows_what_it_left_out(tmp_path_factory):
    from conftest import app_env
    from streamlit.testing.v1 import AppTest
    with app_env(tmp_path_factory):
        at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120).run()
        at.switch_page("ui/data.py").run()
        data = (EXPORTS / "telco_leaky.csv").read_bytes()
        at.file_uploader(key="upload").set_value(("telco.csv", data, "text/csv")).run()
        at.button(key="load_upload").click().run()
        said = [m.value for m in (*at.success, *at.error, *at.warning, *at.exception)]
        assert any(b.key == "starter_rules" for b in at.button), said  # the upload is active
        at.button(key="starter_rules").click().run()
        assert not at.exception, [e.message for e in at.exception]
        shown = " ".join([s.value for s in at.success] + [w.value for w in at.warning])
        assert "starter rules" in shown and "Left out" in shown
        for col in ("Churn Label", "Churn Score", "Churn Reason"):
            assert f"column '{col}'" in shown.replace("\\", ""), shown
        assert not _columns_used(at.session_state["draft"]) & DISGUISED


def test_the_exports_are_generated_deterministically(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_exports", EXPORTS.parent / "make_exports.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for f in EXPORTS.glob("*.csv"):
        assert (tmp_path / f.name).read_bytes() == f.read_bytes(), f.name


def test_no_qualifying_column_is_a_clear_message_library_and_cli(tmp_path, capsys):
    """Columns that do not separate churners give no rules: a message, not a rule set that scores 0
    (the CLI used to die in the TOML writer's AssertionError)."""
    from riskcore.cli import main
    path = tmp_path / "flat.csv"
    rows = [f"C{i},{i % 5},{'Yes' if i % 4 == 0 else 'No'}" for i in range(40)]  # churn independent of calls
    path.write_text("customerID,calls,Churn\n" + "\n".join(rows) + "\n")
    store = Store()
    load_data(store, path)
    with pytest.raises(ValueError, match="no column qualifies for a starter rule"):
        starter_ruleset(store)
    out = tmp_path / "rules.toml"
    assert main(["starter", "--data", str(path), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"\nerror: {path}: no column qualifies for a starter rule" in "\n" + err and not out.exists()
    assert "Error" not in err.replace("error: ", "")


# ---- tiers that mean something, a value that says what it is (issue 14, items 6 and 7) --------------

@pytest.mark.parametrize("name", ["telco_leaky.csv", "bank_leaky.csv"])
def test_starter_tiers_come_from_the_data(name, tmp_path):
    """Starter points were not scaled to the fixed cut-offs 31/61: on Telco 57% of accounts were high, on the
    bank export 3 rules could never reach 61. The cut-offs now come from the data: the high tier is neither
    empty nor the majority and churns at least twice the base rate; medium churns at least 1.25x."""
    store = _load(name)
    rs = starter_ruleset(store)
    assert (rs.tiers.medium, rs.tiers.high) != (31, 61) and rs.tiers.mode == "points"
    again = load_ruleset(ruleset_to_toml(rs))  # written into the TOML
    scored = score_df(store, again, "account_table").set_index("account_id")
    churned = store.df("SELECT account_id, churned FROM account_table").set_index("account_id")["churned"]
    frame = scored.join(churned)
    base = frame["churned"].mean()
    high = frame[frame["tier"] == "high"]
    assert 0 < len(high) < len(frame) / 2
    assert high["churned"].mean() >= 2 * base
    medium = frame[frame["tier"] == "medium"]
    assert medium.empty or medium["churned"].mean() >= 1.25 * base
    assert "Tier cut-offs from the data: high >= " in again.description
    # one risk line: the quadrant's high-risk half is the high tier
    assert again.quadrant.risk_cutoff == "high_tier"
    assert len(high) == int(frame["quadrant"].isin(["Save", "Triage"]).sum())


def test_tier_choice_rule_on_hand_made_scores():
    import numpy as np

    from riskcore.tiercuts import choose_tiers
    # 100 accounts, base rate 20%: score 40 churns 60% (10 accts), 20 churns 32% (25), 0 churns 8.6% (65)
    scores = np.array([40] * 10 + [20] * 25 + [0] * 65)
    churned = np.array([1] * 6 + [0] * 4 + [1] * 8 + [0] * 17 + [1] * 6 + [0] * 59)
    c = choose_tiers(scores, churned)
    assert abs(c.base_rate - 0.20) < 1e-9
    # score >= 20 churns 14/35 = 40% = 2.0x: the smallest cut reaching 2x is 20, so no medium tier is left
    assert (c.high, c.medium, c.high_n, c.reached) == (20, 20, 35, True)
    c2 = choose_tiers(scores, np.array([1] * 6 + [0] * 4 + [1] * 6 + [0] * 19 + [1] * 8 + [0] * 57))
    # now score >= 20 churns 12/35 = 34% < 2 x 20%: high = 40 (60%), medium = 20 (band 24% = 1.2x < 1.25x: none)
    assert (c2.high, c2.medium) == (40, 40) and "no medium tier" in c2.summary()


def _value_columns_used(rs) -> set[str]:
    return _columns_used(rs) & {rs.quadrant.value_column}


def test_starter_never_makes_a_rule_column_the_value(tmp_path):
    """Telco's MonthlyCharges is a starter rule (top 20% churns more): it used to become the value axis too,
    and the pages summed it as "Total ARR". Now the value is a money column no rule uses, with its unit."""
    store = _load("telco_leaky.csv")
    rs = starter_ruleset(store)
    assert "MonthlyCharges" in _columns_used(rs) and rs.quadrant.value_column != "MonthlyCharges"
    assert not _value_columns_used(rs)
    store2, _ = _table(tmp_path)  # "Monthly charge" separates nobody: it is the value, monthly
    rs2 = starter_ruleset(store2)
    assert rs2.quadrant.value_column == "Monthly charge" and rs2.quadrant.value_unit == "monthly"
    assert not _value_columns_used(rs2)
    from riskcore.valueaxis import value_name
    assert value_name(rs2.quadrant).kpi == "Value (Monthly charge, monthly)" and value_name(rs2.quadrant).short != "ARR"


def test_starter_labels_follow_a_threshold_change(tmp_path):
    """Telco: "Contract is Month-to-month" was shown for a Two-year account once the threshold changed."""
    from riskcore.rules import with_thresholds
    store = _load("telco_leaky.csv")
    rs = starter_ruleset(store)
    rid = next(r.id for r in rs.rules if r.signal == '"Contract"')
    moved = with_thresholds(rs, {rid: "Two year"})
    scored = score_df(store, moved, "account_table").set_index("account_id")
    contract = store.df("SELECT account_id, Contract FROM account_table").set_index("account_id")["Contract"]
    for acc, reasons in scored["reasons"].items():
        for r in reasons:
            if r["rule_id"] == rid:
                assert contract[acc] == "Two year" and r["label"] == "Contract is Two year", (acc, r)
    tenure = next(r for r in moved.rules if r.signal == "tenure")
    said = {r["label"] for rr in scored["reasons"] for r in rr if r["rule_id"] == tenure.id}
    assert len(said) == 1 and next(iter(said)).startswith("tenure in the bottom 20% (<= ")


def test_cli_starter_states_tiers_and_value(tmp_path, capsys):
    from riskcore.cli import main
    out = tmp_path / "rules.toml"
    assert main(["starter", "--data", str(EXPORTS / "telco_leaky.csv"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    rs = load_ruleset(out.read_text())
    assert f"tiers from the data: high >= {rs.tiers.high:g} (" in printed and "the base rate" in printed
    assert "value: none (column 'arr' has no values" in printed  # every money column is a rule: no value axis
    assert "{" not in printed  # labels filled in
    path = tmp_path / "monthly.csv"
    _table(tmp_path)[1].to_csv(path, index=False)
    assert main(["starter", "--data", str(path), "--out", str(tmp_path / "m.toml")]) == 0
    printed = capsys.readouterr().out
    assert "value: Monthly charge (monthly)" in printed and "ARR" not in printed
