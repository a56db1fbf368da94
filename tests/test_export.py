"""Safe CSV export: formula injection neutralised, numbers numeric, reasons readable, BOM."""

from __future__ import annotations

import csv
import doctest
import io

import numpy as np
import pandas as pd
import pytest

import riskcore.export as export
from riskcore.aggregates import account_list
from riskcore.export import DANGEROUS_PREFIXES, export_frame, format_reasons, neutralise, to_csv_bytes
from riskcore.fixtures import scored_store


def _read(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


@pytest.mark.parametrize("prefix", DANGEROUS_PREFIXES)
def test_each_dangerous_prefix_is_neutralised(prefix):
    cell = prefix + "HYPERLINK(\"http://evil\",\"x\")"
    rows = _read(to_csv_bytes(pd.DataFrame({"name": [cell], "n": [1]})))
    assert rows[1] == ["'" + cell, "1"]


def test_neutralise_rules():
    assert neutralise("=1+2") == "'=1+2"
    assert neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise("+33 1 23") == "'+33 1 23"
    assert neutralise("-2+3") == "'-2+3"
    assert neutralise("-5") == "-5" and neutralise("-0.25") == "-0.25"  # plain numbers stay
    assert neutralise("-5\n=1") == "'-5\n=1"  # fullmatch, not a trailing-newline $ match
    assert neutralise("a=1") == "a=1" and neutralise("") == ""
    assert doctest.testmod(export).failed == 0


def test_safe_cells_round_trip():
    safe = ["Acme", "O'Brien & Co", 'He said "hi"', "line1\nline2", "100% Tools_x", "Zoë 日本", "a,b;c", " =x"]
    df = pd.DataFrame({"name": safe})
    rows = _read(to_csv_bytes(df))
    assert [r[0] for r in rows[1:]] == safe


def test_numbers_stay_numeric_and_missing_is_empty():
    df = pd.DataFrame({"value": [120000.0, -5.5, np.nan], "count": pd.array([3, -2, None], dtype="Int64"),
                       "flag": [True, False, True], "text": ["-5", "-1+1", None]})
    rows = _read(to_csv_bytes(df))
    assert rows[0] == ["value", "count", "flag", "text"]
    assert rows[1] == ["120000.0", "3", "True", "-5"]
    assert rows[2] == ["-5.5", "-2", "False", "'-1+1"]
    assert rows[3] == ["", "", "True", ""]
    parsed = pd.read_csv(io.BytesIO(to_csv_bytes(df)), encoding="utf-8-sig")
    assert parsed["value"].tolist()[:2] == [120000.0, -5.5]
    assert parsed["count"].tolist()[:2] == [3, -2]


def test_headers_are_neutralised_too():
    assert _read(to_csv_bytes(pd.DataFrame({"=cmd": ["x"]})))[0] == ["'=cmd"]


def test_reasons_flattened_largest_first():
    reasons = [{"rule_id": "usage", "label": "Usage down", "points": 20.0},
               {"rule_id": "champ", "label": "Champion left", "points": 25.0},
               {"rule_id": "graded", "label": "Logins below", "points": 12.5}]
    assert format_reasons(reasons) == "Champion left (+25); Usage down (+20); Logins below (+12.5)"
    assert format_reasons(reasons, limit=1) == "Champion left (+25)"
    assert format_reasons(np.array(reasons, dtype=object)) == format_reasons(reasons)
    assert format_reasons(None) == "" and format_reasons([]) == ""


def test_format_reasons_keeps_dimensions_apart():
    reasons = [
        {"rule_id": "seats_full", "label": "Seats full", "dimension": "expansion", "points": 40},
        {"rule_id": "champion_left", "label": "Champion left", "dimension": "churn", "points": 25},
    ]
    assert format_reasons(reasons, dimension="churn") == "Champion left (+25); [expansion] Seats full (+40)"
    assert format_reasons(reasons, dimension="churn", only=True) == "Champion left (+25)"
    assert format_reasons(reasons, limit=1, dimension="expansion", only=True) == "Seats full (+40)"


def test_export_of_the_scored_fixture():
    store = scored_store()
    rows = account_list(store, "scored", sort="account_id", descending=False)
    frame = export_frame(rows)
    assert list(frame.columns)[:12] == ["account_id", "account_name", "segment", "csm_owner", "stage", "value",
                                        "renewal_date", "risk_score", "tier", "quadrant", "playbook",
                                        "churn_score"]
    assert frame.columns[-1] == "reasons"
    out = _read(to_csv_bytes(frame))
    header, body = out[0], {r[0]: dict(zip(out[0], r)) for r in out[1:]}
    assert len(body) == 8
    assert body["id01"]["reasons"] == "No QBR in 180 days (+40); Champion left (+25); Usage down (+20)"
    assert body["id01"]["renewal_date"] == "2024-07-15" and body["id06"]["renewal_date"] == ""
    assert body["id01"]["value"] == "120000.0" and body["id08"]["value"] == ""
    # hostile data is neutralised where it starts a cell
    assert body["id07"]["account_name"] == "'=HYPERLINK(\"x\")"
    assert body["id06"]["csm_owner"] == "'; DROP TABLE x; --"  # starts with a quote: unchanged
    # a formula inside the cell (not at its start) is inert: only the first character counts
    assert body["id05"]["reasons"] == "Champion left (+100); =cmd|' /C calc'!A0 (+70)"
    assert body["id06"]["reasons"] == ""
    store.close()


def test_reasons_cell_starting_with_a_formula_is_neutralised():
    df = pd.DataFrame({"reasons": [[{"rule_id": "x", "label": "=2+5", "points": 10.0}]]})
    assert _read(to_csv_bytes(df))[1] == ["'=2+5 (+10)"]


def test_export_frame_uses_rule_set_dimensions():
    class RS:
        dimensions = ("payment",)
    rows = pd.DataFrame({"account_id": ["a"], "value": [1.0], "churn_score": [1.0], "payment_score": [2.0],
                         "payment_tier": ["low"], "reasons": [[]]})
    assert list(export_frame(rows, RS()).columns) == ["account_id", "value", "payment_score", "payment_tier", "reasons"]


# ---- exports state the condition that applied (issue 14, item 5) ------------------------------------

def test_export_reasons_state_the_condition_after_a_threshold_change(tmp_path):
    """Telco: a rule labelled "Month-to-month contract" moved to threshold "Two year" exported
    "Month-to-month contract (+30)" for Two-year accounts. The export now says what fired."""
    from pathlib import Path

    from riskcore.db import Store
    from riskcore.loading import load_data
    from riskcore.rules import load_ruleset, with_thresholds
    from riskcore.scoring import score
    rules = """
name = "telco"
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
label = "Tenure under {threshold} months"
dimension = "churn"
signal = "tenure"
op = "<"
threshold = 12
points = 30
group = "relationship"
"""
    store = Store()
    load_data(store, Path(__file__).parent / "data" / "exports" / "telco_leaky.csv")
    rs = with_thresholds(load_ruleset(rules), {"month_to_month": "Two year", "short_tenure": 6})
    table = score(store, rs, "account_table")
    rows = account_list(store, table, limit=1000)
    data = to_csv_bytes(export_frame(rows, rs))
    got = _read(data)
    head = got[0]
    by_id = {r[head.index("account_id")]: r[head.index("reasons")] for r in got[1:]}
    facts = store.df("SELECT account_id, Contract, tenure FROM account_table").set_index("account_id")
    seen = 0
    for acc, text in by_id.items():
        if "Month-to-month contract" in text:
            assert facts.loc[acc, "Contract"] == "Two year"
            assert "Month-to-month contract (Contract = 'Two year') (+30)" in text
            seen += 1
        if "Tenure under" in text:
            assert facts.loc[acc, "tenure"] < 6 and "Tenure under 6 months (+30)" in text
    assert seen > 10
