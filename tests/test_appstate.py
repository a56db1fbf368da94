"""The app's Streamlit-free helpers (once riskcore.appstate): versions folder and diff (versions), draft
edits (edits), periods, score history (history), filter choices (aggregates), uploads, Markdown escaping."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from riskcore import aggregates, display, edits, keys, periods, uploads, versions
from riskcore.history import score_history
from riskcore.fixtures import ACTIVITY_AS_OF, activity_store
from riskcore.rules import load_ruleset, ruleset_to_toml
from riskcore.workspace import DEFAULT_RULES


@pytest.fixture(scope="module")
def rs():
    return load_ruleset(DEFAULT_RULES)


def test_ensure_versions_starts_with_default_published(tmp_path):
    vs = versions.ensure_versions(tmp_path / "rs")
    assert [v.number for v in vs.versions()] == [1] and vs.published() == 1
    assert vs.text(1) == DEFAULT_RULES.read_text(encoding="utf-8")
    vs.save("name = 'x'\n", note="second")
    again = versions.ensure_versions(tmp_path / "rs")  # an existing folder is left alone
    assert [v.number for v in again.versions()] == [1, 2] and again.published() == 1


def test_rules_home_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("RISKCORE_HOME", str(tmp_path))
    assert versions.rules_home() == tmp_path
    monkeypatch.delenv("RISKCORE_HOME")
    assert versions.rules_home().parts[-2:] == (".cache", "rulesets")


def test_apply_widgets_changes_only_what_moved(rs):
    same = edits.apply_widgets(rs, points={r.id: r.points for r in rs.rules},
                                  thresholds={r.id: r.threshold for r in rs.rules}, fusion=rs.fusion.enabled,
                                  value_cutoff=rs.quadrant.value_cutoff)
    assert same == rs and keys.ruleset_key(same) == keys.ruleset_key(rs)
    new = edits.apply_widgets(rs, points={"usage_drop": 55}, thresholds={"inactive_7d": 14.0},
                                 tiers=(20, 50), fusion=False, value_cutoff=10000.0)
    assert new.rule("usage_drop").points == 55 and new.rule("inactive_7d").threshold == 14.0
    assert new.tiers.cuts("churn")[:2] == (20, 50)
    assert new.tiers.cuts("payment") == rs.tiers.cuts("payment")
    assert new.fusion.enabled is False and new.quadrant.value_cutoff == 10000.0
    assert keys.ruleset_key(new) != keys.ruleset_key(rs)
    # the draft still round-trips through TOML (it is what gets saved as a version)
    assert load_ruleset(ruleset_to_toml(new)) == new


def test_tier_cuts_of_a_dimension_with_its_own_section(rs):
    new = edits.apply_widgets(rs, tiers=(10, 20), dimension="payment")
    assert new.tiers.cuts("payment")[:2] == (10, 20)
    assert new.tiers.cuts("churn") == rs.tiers.cuts("churn")


def test_firings_key_ignores_points_and_tiers_not_thresholds(rs):
    k = keys.firings_key(rs)
    assert keys.firings_key(edits.apply_widgets(rs, points={"usage_drop": 90}, tiers=(5, 10),
                                                       fusion=False)) == k
    assert keys.firings_key(edits.apply_widgets(rs, thresholds={"usage_drop": -0.5})) != k


@pytest.mark.parametrize("text, op, expected", [
    ("-0.3", "<", -0.3), (" 7 ", ">=", 7.0), ("0, -0.5", "scale", (0.0, -0.5)), ("[1, 5]", "between", (1.0, 5.0)),
    ("Enterprise, SMB", "in", ("Enterprise", "SMB")), ("", "is_true", None),
])
def test_parse_threshold(text, op, expected):
    assert edits.parse_threshold(text, op) == expected


@pytest.mark.parametrize("text, op", [("", "<"), ("1", "between"), ("a, b", "scale")])
def test_parse_threshold_rejects(text, op):
    with pytest.raises(ValueError, match="expected"):
        edits.parse_threshold(text, op)


def test_format_threshold_round_trips():
    for value, op in ((-0.3, "<"), (7, ">="), ((6, 0), "scale"), (0.9, ">")):
        back = edits.parse_threshold(edits.format_threshold(value), op)
        assert back == (tuple(float(v) for v in value) if isinstance(value, tuple) else float(value))


def test_month_ends_and_previous_period():
    assert periods.month_ends(date(2025, 1, 10), 2) == [date(2024, 11, 30), date(2024, 12, 31), date(2025, 1, 10)]
    assert periods.previous_period(date(2025, 3, 31)) == date(2025, 2, 28)
    assert periods.previous_period(date(2025, 1, 15)) == date(2024, 12, 15)


def test_md_escape_neutralises_markdown():
    wj = "\u2060"  # the invisible word joiner that stops GFM's autolinks
    assert display.md_escape("[click](http://x) **b** <i>") == "\\[click\\]\\(http\\:" + wj + "//x\\) \\*\\*b\\*\\* \\<i\\>"
    assert display.md_escape("www.e.com a@b.org") == "www" + wj + "\\.e\\.com a@b\\.org"
    assert display.md_escape(None) == ""


def test_score_history_matches_scoring_at_each_date(rs):
    """history.score_history (appstate's copy is gone): one row per date the account is active at."""
    from riskcore.scoring import score_df
    from riskcore.signals import signals_table

    store = activity_store()
    dates = [date(2025, 4, 30), ACTIVITY_AS_OF]
    hist = score_history(store, rs, "A1", dates)
    assert list(hist["date"]) == dates and set(hist["source"]) == {"rescored"}
    for d, row in zip(dates, hist.itertuples()):
        expected = score_df(store, rs, signals_table(store, d), out_table="t_expected")
        exp = expected.set_index("account_id").loc["A1"]
        for dim in rs.dimensions:
            assert getattr(row, f"{dim}_score") == pytest.approx(exp[f"{dim}_score"])
            assert getattr(row, f"{dim}_tier") == exp[f"{dim}_tier"]
    # A4 starts after D: not active, no row
    assert score_history(store, rs, "A4", [ACTIVITY_AS_OF]).empty


def test_distinct_values_and_value_cutoff(rs):
    from riskcore.scoring import score
    from riskcore.signals import signals_table

    store = activity_store()
    table = score(store, rs, signals_table(store, ACTIVITY_AS_OF), out_table="t_scored")
    frame = store.df(f"SELECT * FROM {table}")
    assert aggregates.distinct_values(store, table, "csm_owner") == sorted(frame["csm_owner"].dropna().unique())
    assert aggregates.distinct_values(store, table, "no_such_column") == []
    assert aggregates.value_cutoff(store, table, rs) == pytest.approx(frame["value"].median())
    from dataclasses import replace
    fixed = replace(rs, quadrant=replace(rs.quadrant, value_cutoff=5000.0))
    assert aggregates.value_cutoff(store, table, fixed) == 5000.0


def test_upload_path_is_content_addressed_and_checked(tmp_path):
    a = uploads.upload_path("My file.csv", b"a,b\n1,2\n", tmp_path)
    b = uploads.upload_path("My file.csv", b"a,b\n1,2\n", tmp_path)
    c = uploads.upload_path("My file.csv", b"a,b\n1,3\n", tmp_path)
    assert a == b != c and a.read_bytes() == b"a,b\n1,2\n" and a.parent == tmp_path and " " not in a.name
    with pytest.raises(ValueError, match="unsupported file type"):
        uploads.upload_path("x.exe", b"MZ", tmp_path)


def test_peek_table_reads_columns_and_rows(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes("\ufeffcustomerID;Churn;MonthlyCharges\n1;Yes;10\n2;No;20\n".encode("utf-8"))
    cols, sample = uploads.peek_table(p)
    assert cols == ["customerID", "Churn", "MonthlyCharges"] and len(sample) == 2
    pq = tmp_path / "t.parquet"
    pd.DataFrame({"id": ["a", "b"], "arr": [1.0, 2.0]}).to_parquet(pq)
    cols, sample = uploads.peek_table(pq)
    assert cols == ["id", "arr"] and list(sample["arr"]) == [1.0, 2.0]


def test_content_diff_ignores_comments_and_formatting(tmp_path, rs):
    from riskcore.rules import with_points
    vs = versions.ensure_versions(tmp_path / "rs")
    vs.save(ruleset_to_toml(with_points(rs, {"usage_drop": 33})), note="more")
    d = versions.content_diff(vs, 1, 2)
    changed = [line for line in d.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed == ["-points = 20", "+points = 33"]
    assert len(vs.diff(1, 2).splitlines()) > len(d.splitlines())  # the raw text diff is noisier
