import pandas as pd
import pytest

from riskcore.backtest import run_backtest
from riskcore.db import Store
from riskcore.loading import load_data
from riskcore.rules import load_ruleset, ruleset_to_toml
from riskcore.scoring import score_df
from riskcore.starter import starter_ruleset


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
