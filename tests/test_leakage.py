"""The outcome in disguise (riskcore.leakage): copies under another name, columns that predict the
outcome almost alone, and the lower bar for columns named like the outcome."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from riskcore.db import Store
from riskcore.leakage import AUC_LIMIT, NAMED_AUC_LIMIT, leak_columns, leaky_rules, outcome_leaks
from riskcore.loading import load_data
from riskcore.rules import load_ruleset


def _store(tmp_path, frame: pd.DataFrame, name: str = "t.csv") -> Store:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    store = Store()
    load_data(store, path)
    return store


def _accounts(n: int = 1000, seed: int = 2) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    churn = rng.random(n) < 0.25
    return pd.DataFrame({"customerID": [f"C{i:05d}" for i in range(n)],
                         "tenure": rng.integers(0, 72, n) - 10 * churn,
                         "Plan": rng.choice(["Basic", "Pro", "Team"], n),
                         "Churn": np.where(churn, "Yes", "No")}), churn


def _score_with_auc(churn: np.ndarray, target: float, seed: int = 0) -> np.ndarray:
    """A 0-100 score whose AUC against churn is about `target` (normal scores, shifted for churners)."""
    from scipy.stats import norm
    shift = np.sqrt(2) * norm.ppf(target)
    rng = np.random.default_rng(seed)
    return np.round(50 + 10 * (rng.normal(0, 1, len(churn)) + shift * churn), 1)


def test_an_honest_table_has_no_leak(tmp_path):
    frame, _ = _accounts()
    store = _store(tmp_path, frame)
    assert outcome_leaks(store) == []  # the id (unique text) scores 0.5 cross-fitted, not 1.0


def test_copies_and_near_copies_are_named(tmp_path):
    frame, churn = _accounts()
    rng = np.random.default_rng(5)
    frame["Status"] = np.where(churn, "Churned", "Active")                      # the outcome, other words
    frame["Cancelled"] = np.where(rng.random(len(churn)) < 0.005, ~churn, churn)  # 99.5% the same, TRUE/FALSE
    frame["Retained"] = np.where(churn, 0, 1)                                   # the outcome inverted
    frame["Days since cancellation"] = np.where(churn, rng.integers(1, 300, len(churn)), np.nan)  # only churners
    store = _store(tmp_path, frame)
    leaks = {leak.column: leak for leak in outcome_leaks(store)}
    assert set(leaks) == {"Status", "Cancelled", "Retained", "Days since cancellation"}
    assert leaks["Status"].message == ("column 'Status' is a copy of the outcome under another name "
                                       "('Churned' = churned on 100.0% of rows)")
    agree = (frame["Cancelled"] == churn).mean()
    assert f"('TRUE' = churned on {agree:.1%} of rows)" in leaks["Cancelled"].message and agree < 1
    assert "'0' = churned on 100.0% of rows" in leaks["Retained"].message
    assert leaks["Days since cancellation"].copy is None and leaks["Days since cancellation"].auc == 1.0
    assert "predicts the outcome almost alone (AUC 1.000 on its own)" in leaks["Days since cancellation"].message
    assert leak_columns(store) == {"status", "cancelled", "retained", "days since cancellation"}


def test_a_strong_score_is_flagged_only_when_named_like_the_outcome(tmp_path):
    frame, churn = _accounts()
    score = _score_with_auc(churn, 0.935)
    auc = roc_auc_score(churn, score)
    assert NAMED_AUC_LIMIT < auc < AUC_LIMIT, auc
    store = _store(tmp_path, frame.assign(**{"Churn Risk": score, "Health index": score}))
    leaks = outcome_leaks(store)
    assert [leak.column for leak in leaks] == ["Churn Risk"]
    assert leaks[0].named and "and is named like it" in leaks[0].message
    # above AUC_LIMIT any name is flagged
    strong = _score_with_auc(churn, 0.99, seed=1)
    store = _store(tmp_path, frame.assign(**{"Health index": strong}), "strong.csv")
    assert [leak.column for leak in outcome_leaks(store)] == ["Health index"]


def test_rules_on_a_leak_are_named(tmp_path):
    frame, churn = _accounts()
    store = _store(tmp_path, frame.assign(**{"Churn Label": np.where(churn, "Yes", "No")}))
    rs = load_ruleset('''
name = "x"
[[rules]]
id = "label"
label = "label"
dimension = "churn"
signal = '"churn label"'
op = "=="
threshold = "Yes"
points = 50
group = "external"

[[rules]]
id = "short"
label = "short"
dimension = "churn"
signal = "tenure"
op = "<"
threshold = 6
points = 20
group = "external"
''')
    warned = leaky_rules(store, rs.rules)
    assert list(warned) == ["label"]
    assert warned["label"].startswith("rule 'label' uses the outcome in disguise: column 'Churn Label' is a copy")


def test_activity_data_and_a_table_without_outcome_have_no_leaks(tmp_path):
    from riskcore.activity import load_activity
    from riskcore.sample import ensure_sample
    store = Store()
    load_activity(store, ensure_sample(400))
    assert outcome_leaks(store) == []
    frame, _ = _accounts(50)
    assert outcome_leaks(_store(tmp_path, frame.drop(columns="Churn"))) == []


def test_leaks_are_remembered_per_load(tmp_path):
    frame, churn = _accounts(300)
    store = _store(tmp_path, frame.assign(Exited=churn.astype(int)), "a.csv")
    first = outcome_leaks(store)
    assert outcome_leaks(store) == first
    load_data(store, _path(tmp_path, frame, "b.csv"))  # a new load: checked again
    assert outcome_leaks(store) == []


def _path(tmp_path, frame, name):
    frame.to_csv(tmp_path / name, index=False)
    return tmp_path / name


EXPORTS = Path(__file__).resolve().parent / "data" / "exports"
README = Path(__file__).resolve().parents[1] / "README.md"


def _export_rows() -> dict[str, list[str]]:
    """file -> quoted texts of its row in the README's "Real-export shapes" table."""
    text = README.read_text(encoding="utf-8")
    start = text.index("### Real-export shapes")
    rows = {}
    for line in text[start:text.index("\n## ", start)].splitlines():
        m = re.match(r"^\| `([^`]+)` \| (.*) \| [^|]+ \|$", line)
        if m:
            rows[m.group(1)] = re.findall(r'"([^"]+)"', m.group(2))
    return rows


def test_readme_lists_every_export():
    files = {p.name for p in EXPORTS.iterdir() if p.suffix in (".csv", ".xlsx", ".parquet")}
    assert set(_export_rows()) == files


@pytest.mark.parametrize("name", sorted(_export_rows()))
def test_export_through_the_cli_prints_its_readme_row(name, tmp_path, capsys):
    """starter then backtest on the export, as a new user would: every quoted text is printed, and no
    engine name, traceback, nan or None."""
    from riskcore.cli import main
    rules = tmp_path / "rules.toml"
    assert main(["starter", "--data", str(EXPORTS / name), "--out", str(rules)]) == 0
    assert main(["backtest", "--data", str(EXPORTS / name), "--rules", str(rules)]) == 0
    out, err = capsys.readouterr()
    shown = out + err
    quotes = _export_rows()[name]
    assert quotes
    for quote in quotes:
        assert quote in shown, (quote, shown)
    assert not re.search(r"Traceback|\w+(Exception|Error)\b|\bnan\b|\bNone\b", shown), shown
    used = " ".join(r.signal for r in load_ruleset(rules.read_text()).rules)
    assert not re.search(r"Churn (Label|Score|Reason|Value)|Complain", used)
