"""riskcore.display: what a value looks like on screen (blanks, counts, money, durations, thresholds)."""

from __future__ import annotations

import doctest
from datetime import date

import numpy as np
import pandas as pd
import pytest

from riskcore import display
from riskcore.edits import format_threshold, parse_threshold

RAW = {"None", "nan", "NaN", "NaT", "<NA>", "null", "inf"}


def test_doctests():
    assert doctest.testmod(display).failed == 0


@pytest.mark.parametrize("blank", [None, float("nan"), np.nan, pd.NA, pd.NaT, np.datetime64("NaT"), "", "   "])
def test_every_kind_of_blank_is_a_dash_never_a_raw_word(blank):
    for shown in (display.text(blank), display.count(blank), display.number(blank), display.money(blank),
                  display.signal_value(blank), display.day(blank), display.duration(blank)):
        assert shown == display.DASH
        assert shown not in RAW


def test_blank_can_be_empty_instead_of_a_dash():
    assert display.text(None, blank="") == "" and display.money(float("nan"), blank="n/a") == "n/a"


def test_values_that_are_not_blank():
    assert not any(display.is_blank(v) for v in (0, 0.0, "0", False, "None of them", date(2026, 1, 1)))
    assert display.text(0) == "0" and display.text("Acme") == "Acme"


@pytest.mark.parametrize("n, shown", [(0, "0"), (999, "999"), (7043, "7,043"), (1_000_000, "1,000,000"),
                                      (-2300, "-2,300"), (np.int64(7043), "7,043"), (2300.0, "2,300")])
def test_counts_have_thousands_separators(n, shown):
    assert display.count(n) == shown


def test_counted_nouns():
    assert display.counted(7043, "account") == "7,043 accounts"
    assert display.counted(1, "account") == "1 account"
    assert display.counted(0, "rule") == "0 rules"


@pytest.mark.parametrize("x, shown", [(14.0, "14"), (7, "7"), (-0.30612, "-0.306"), (0.5, "0.5"), (2.25, "2.25"),
                                      (123.4, "123"), (1234.6, "1,235"), (2_300_000.0, "2,300,000"),
                                      (0.000123, "0.000123"), (float("inf"), "infinite"), (True, "true")])
def test_numbers(x, shown):
    assert display.number(x) == shown


@pytest.mark.parametrize("x, shown", [(0, "$0"), (950, "$950"), (14_230, "$14.2k"), (1_700_000, "$1.7M"),
                                      (18_450_000, "$18.4M"), (2e9, "$2.0B"), (-34_200, "-$34.2k")])
def test_money_is_compact(x, shown):
    assert display.money(x) == shown


@pytest.mark.parametrize("hours, shown", [(720, "30 days"), (72, "3 days"), (48, "2 days"), (24, "1 day"),
                                          (168, "7 days"), (60, "2.5 days"), (36, "36 hours"), (4, "4 hours"),
                                          (1, "1 hour"), (0.25, "15 minutes")])
def test_service_levels_read_in_days(hours, shown):
    assert display.duration(hours) == shown
    assert not display.duration(hours).endswith(" h")


@pytest.mark.parametrize("value, shown", [(14.0, "14"), (14, "14"), (0.5, "0.5"), (-0.3, "-0.3"), ("Yes", "Yes"),
                                          ((10.0, 0.0), "10, 0"), (["a", "b"], "a, b")])
def test_thresholds_have_no_spurious_decimal(value, shown):
    assert display.threshold(value) == shown


def test_whole_numbers_stay_whole():
    assert display.whole(14.0) == 14 and isinstance(display.whole(14.0), int)
    assert isinstance(display.whole(0.5), float)
    assert display.whole([1.0, 2.5]) == [1, 2.5] and isinstance(display.whole([1.0, 2.5])[0], int)
    assert display.whole(True) is True and display.whole(1e300) == 1e300


def test_a_typed_integer_threshold_is_saved_as_an_integer():
    """'threshold = 14.0' in the saved TOML and the diff for a box that said 14 (issue 14, item 10)."""
    from riskcore.rules import DEFAULT_RULESET_PATH, load_ruleset, ruleset_to_toml, with_thresholds
    assert parse_threshold("14", ">=") == 14 and isinstance(parse_threshold("14", ">="), int)
    assert isinstance(parse_threshold("-0.3", "<"), float)
    assert parse_threshold("10, 0", "between") == (10, 0)
    rs = load_ruleset(DEFAULT_RULESET_PATH)
    rid = next(r.id for r in rs.rules if r.op == ">=")
    text = ruleset_to_toml(with_thresholds(rs, {rid: parse_threshold("14", ">=")}))
    block = text.split(f'id = "{rid}"', 1)[1].split("[[", 1)[0]
    assert "threshold = 14\n" in block and "14.0" not in block
    assert format_threshold(14.0) == "14"


@pytest.mark.parametrize("value, shown", [(-0.30612, "-0.306"), (1.0, "1"), (7, "7"), (np.float64(3.14159), "3.14"),
                                          (True, "true"), (np.bool_(False), "false"), ("Two year", "Two year"),
                                          (date(2026, 3, 1), "2026-03-01"), (None, "—"), (np.nan, "—"),
                                          # as scoring stores them: CAST(value AS VARCHAR)
                                          ("-0.306451612903225", "-0.306"), ("5.0", "5"), ("1234567.0", "1,234,567"),
                                          ("nan", "—"), ("true", "true"), ("02139", "02139"), ("2026-03-01", "2026-03-01")])
def test_signal_values(value, shown):
    assert display.signal_value(value) == shown


@pytest.mark.parametrize("path, shown", [
    ("/srv/.cache/uploads/telco-88be4b93fbe0cc83.csv", "telco.csv"),
    (".cache/uploads/Bank_Churn-0123456789abcdef.xlsx", "Bank_Churn.xlsx"),
    ("/data/export 1.csv", "export 1.csv"),
    ("/data/telco-2026.csv", "telco-2026.csv"),          # not a 16-hex content hash: the file's own name
    ("/data/activity", "activity"),
])
def test_file_labels_never_show_the_upload_cache_hash(path, shown):
    assert display.file_label(path) == shown


def test_file_label_of_a_real_upload_path(tmp_path):
    from riskcore.uploads import upload_path
    path = upload_path("telco.csv", b"customerID,Churn\nA,Yes\n", folder=tmp_path)
    assert path.name != "telco.csv" and display.file_label(path) == "telco.csv"


def test_backtest_by_segment_names_a_blank_segment_none_not_nan(tmp_path):
    """An account table without a segment column: By segment on Calibration (and `backtest --json`)
    said 'nan'; a blank segment is NO_SEGMENT, '(none)', as in the Overview's tier-by-segment chart."""
    from test_backtest import ACCOUNTS, H, _account_store
    from riskcore.aggregates import NO_SEGMENT
    from riskcore.backtest import run_backtest
    from riskcore.rules import load_ruleset
    res = run_backtest(_account_store(tmp_path), load_ruleset(ACCOUNTS), horizon_days=H)
    assert list(res["by_segment"]) == [NO_SEGMENT] and res["by_segment"][NO_SEGMENT]["n"] == res["n"]
