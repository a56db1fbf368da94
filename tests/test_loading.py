"""Loading wide account tables: the bad-input corpus, formats, typing, canonical columns, atomicity."""

from __future__ import annotations

import re
import time
import tracemalloc
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from riskcore import fixtures
from riskcore.io import columns, readers
from riskcore.db import Mapping, Store
from riskcore.loading import load_account_table, load_data, validate_many, validate_path
from riskcore.report import LoadError

DATA = Path(__file__).parent / "data"
BAD = DATA / "bad"
GOOD = DATA / "good"
ORANGE = Path("/work/shared/data/orange_telecom_churn.csv")


def E(row, column, text):
    return ("error", row, column, text)


def W(row, column, text):
    return ("warning", row, column, text)


NO_VALUE = W(None, None, "no value (ARR) column found")

# file -> (explicit mapping or None, every problem expected, in order). ok == no error expected.
CORPUS = {
    "empty.csv": (None, [E(None, None, "the file is empty")]),
    "blank_lines.csv": (None, [E(None, None, "empty (only blank lines)")]),
    "header_only.csv": (None, [E(None, None, "only a header")]),
    "bom.csv": (None, []),
    "semicolon.csv": (None, [W(None, None, "separated by semicolons")]),
    "tab.tsv": (None, [W(None, None, "separated by tabs")]),
    "pipe.txt": (None, [W(None, None, "separated by pipes")]),
    "quoted_newlines.csv": (None, []),
    "latin1.csv": (None, [W(None, None, "line 3 is not UTF-8 text ('C2,Müller Gmbh")]),
    "utf16.csv": (None, [E(None, None, "UTF-16")]),
    "binary_xlsx_renamed.csv": (None, [E(None, None, "looks like an Excel workbook")]),
    "duplicate_ids.csv": (None, [E(4, "customerID", "account id 'C2' appears in rows 2, 4")]),
    "blank_ids.csv": (None, [E(2, "customerID", "2 row(s) have no account id: rows 2, 4")]),
    "missing_mapped_column.csv": (Mapping(value_column="ARR"), [
        E(None, "ARR", "the value column 'ARR' is not in the file; available columns: 'account_id', "
                       "'account_name', 'annual_value'")]),
    "arr_currency_text.csv": (None, [W(1, "ARR", "2 value(s) written as currency text were read as numbers "
                                                 "(e.g. '$1,200.50' -> 1200.5): rows 1, 3"),
                                     W(4, "ARR", "1 account(s) have no value")]),
    "arr_unparsable.csv": (None, [E(2, "ARR", "2 value(s) are not numbers: rows 2, 3")]),
    "arr_negative.csv": (None, [E(2, "ARR", "1 negative value(s): rows 2")]),
    "blank_numbers.csv": (None, [NO_VALUE, W(2, "TotalCharges", "2 blank or space-only cells in a numeric column "
                                                                "read as empty (NULL): rows 2, 4")]),
    "dates_us.csv": (None, [NO_VALUE]),
    "dates_dotted.csv": (None, [NO_VALUE]),
    "dates_day_first_slash.csv": (None, [W(1, "renewal_date", "read as DD/MM/YYYY"), NO_VALUE]),
    "dates_mixed_iso_dotted.csv": (None, [W(None, "renewal_date", "mixes date formats (ISO, DD.MM.YYYY)"), NO_VALUE]),
    "dates_ambiguous_mix.csv": (None, [E(3, "renewal_date", "row 1 ('01/13/2026') only works as MM/DD/YYYY, "
                                                            "row 3 ('13/01/2026') only as DD/MM/YYYY")]),
    "dates_invalid.csv": (None, [E(2, "renewal_date", "2 date(s) could not be read: rows 2, 3")]),
    "outcome_unexpected.csv": (None, [E(2, "Churn", "'Maybe' (row 2), 'unknown' (row 4)")]),
    "outcome_exited_1_0.csv": (None, [NO_VALUE]),
    "outcome_churned_active.csv": (None, [NO_VALUE]),
    "ragged_rows.csv": (None, [E(2, None, "row has 6 fields but the header has 5 (line 3)")]),
    "unclosed_quote.csv": (None, [E(2, None, "a quoted field is never closed: the row starts on line 3")]),
    "duplicate_headers.csv": (None, [W(None, "segment_2", "'segment' appears more than once"),
                                     W(None, "column_4", "column 4 has no name")]),
    "blank_rows.csv": (None, [W(2, None, "2 empty row(s) skipped (rows 2, 4)")]),
    "leading_zeros.csv": (None, [NO_VALUE]),
    "canonical_clash.csv": (Mapping(id_column="customerID"), [
        W(None, "account_id", "clashes with the canonical column 'account_id' (which comes from 'customerID'); "
                              "it is kept as 'account_id_orig'")]),
    "unknown_extension.json": (None, [E(None, None, "unknown kind of file")]),
    "not_parquet.parquet": (None, [E(None, None, "not a readable Parquet file")]),
    "not_excel.xlsx": (None, [E(None, None, "not a readable Excel workbook")]),
    "several_sheets.xlsx": (None, [W(None, None, "3 sheets; read the first, 'Accounts', and ignored 'Notes', "
                                                 "'Old export'")]),
    "wrong_types.parquet": (None, [E(2, "arr", "1 value(s) are not numbers: rows 2")]),
    "blank_numeric_cells.csv": (None, [W(1, "Logins", "2 empty cells in a numeric column read as empty (NULL): "
                                                      "rows 1, 3")]),
    "all_blank_column.csv": (None, [W(None, "Discount", "column 'Discount' is blank in every row: read as an empty "
                                                        "numeric column (all NULL)"),
                                    W(None, "NPS", "column 'NPS' is blank in every row")]),
    "bank_age_blanks.csv": (None, [NO_VALUE, W(2, "Age", "2 empty cells in a numeric column read as empty (NULL): "
                                                         "rows 2, 6")]),
    "thousands_separators.csv": (None, [W(1, "api_calls", "3 value(s) written with thousands separators were read "
                                                          "as numbers (e.g. '1,234' -> 1234): rows 1, 3, 4")]),
    "percent_values.csv": (None, [W(1, "discount", "3 value(s) written with a percent sign were read as numbers in "
                                                   "percent (e.g. '45%' -> 45, not divided by 100): rows 1, 2, 4")]),
    "mixed_separator_text.csv": (None, []),
    "arr_infinity.csv": (None, [E(2, "ARR", "3 value(s) are not finite numbers (infinity, NaN or too large): "
                                            "rows 2, 3, 4")]),
    "arr_nan.csv": (None, [E(2, "ARR", "1 value(s) are not finite numbers (infinity, NaN or too large): rows 2"),
                           W(3, "ARR", "1 account(s) have no value (arr is empty): rows 3")]),
    "arr_1e309.csv": (None, [E(2, "ARR", "1 value(s) are not finite numbers (infinity, NaN or too large): rows 2")]),
    "arr_nonfinite.parquet": (None, [E(2, "arr", "2 value(s) are not finite numbers (infinity, NaN or too large): "
                                                 "rows 2, 3")]),
    "numeric_inf_other_column.csv": (None, [W(2, "usage_ratio", "3 value(s) are not finite numbers (infinity, NaN "
                                                                "or too large) and were read as empty (NULL): "
                                                                "rows 2, 3, 4")]),
    "nonfinite.parquet": (None, [W(2, "usage_ratio", "2 value(s) are not finite numbers (infinity, NaN or too large) "
                                                     "and were read as empty (NULL): rows 2, 3")]),
    "parquet_blank_columns.parquet": (None, [W(None, "nps", "column 'nps' is blank in every row"),
                                             W(2, "tenure", "2 blank or space-only cells in a numeric column read as "
                                                            "empty (NULL): rows 2, 3")]),
    "excel_blank_column.xlsx": (None, [W(2, "Age", "1 empty cells in a numeric column read as empty (NULL): rows 2"),
                                       W(None, "NPS", "column 'NPS' is blank in every row")]),
    "trailing_separators.csv": (None, [W(None, None, "2 column(s) with no name and no value ignored (columns 4, 5)")]),
    "excel_far_cell.xlsx": (None, []),
    "excel_far_value.xlsx": (None, [E(None, None, "sheet 'Accounts' reaches cell XFD1048576 (1,048,576 rows x 16,384 "
                                                  "columns) but only 13 cells hold values")]),
    "excel_hidden_first_sheet.xlsx": (None, [W(None, None, "the workbook's first sheet, 'Lookup', is hidden; read the "
                                                           "first visible sheet, 'Accounts'")]),
}


def _load(path: Path, mapping=None, store=None, **kw):
    """(report, store): the report of a successful load or of the LoadError, never another exception."""
    store = store or Store()
    try:
        return load_data(store, path, mapping=mapping, **kw), store
    except LoadError as exc:
        return exc.report, store


def test_every_corpus_file_has_an_expectation():
    files = {p.name for p in BAD.iterdir() if p.name != "README.md"}
    assert files == set(CORPUS)
    assert len(files) >= 25


def test_readme_lists_every_corpus_file():
    text = (BAD.parents[2] / "README.md").read_text(encoding="utf-8")  # the project README's table
    missing = [name for name in CORPUS if f"`{name}`" not in text]
    assert missing == []


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_file(name):
    mapping, expected = CORPUS[name]
    path = BAD / name
    report, store = _load(path, mapping)
    got = [(p.severity, p.row, p.column, p.message) for p in report.problems]
    assert len(got) == len(expected), got
    for (sev, row, col, msg), (esev, erow, ecol, etext) in zip(got, expected):
        assert (sev, row, col) == (esev, erow, ecol), got
        assert etext in msg, got
    assert all(p.file == str(path) for p in report.problems)
    should_load = not any(e[0] == "error" for e in expected)
    assert report.ok is should_load
    assert (store.dataset is not None) is should_load
    assert [t for t in store.tables() if t.startswith("_stage")] == []
    if should_load:
        assert report.rows_loaded == store.one("SELECT count(*) FROM account_table") > 0


def table(store: Store, columns: str = "*") -> pd.DataFrame:
    return store.df(f"SELECT {columns} FROM account_table")


def test_error_messages_name_file_row_column_expected_found():
    report, _ = _load(BAD / "duplicate_ids.csv")
    assert str(report.errors[0]).startswith(
        f"error: {BAD / 'duplicate_ids.csv'}, row 4, column 'customerID': account id 'C2' appears in rows 2, 4")
    assert "(expected each account id once, found 'C2')" in str(report.errors[0])


# ---- formats ----------------------------------------------------------------------------------------

def test_bom_is_not_part_of_the_first_column_name():
    report, store = _load(BAD / "bom.csv")
    assert store.dataset.columns[0] == "customerID"
    assert store.dataset.mapping.id_column == "customerID"
    assert table(store, "account_id, arr, segment, churned").values.tolist() == [
        ["C1", 1000.0, "SMB", False], ["C2", 2000.0, "Enterprise", True]]


def test_semicolons_keep_commas_inside_values():
    _, store = _load(BAD / "semicolon.csv")
    assert table(store, "\"Company\", arr").values.tolist() == [["Acme, Inc.", 1000.5], ["Beta", 2000.0]]


@pytest.mark.parametrize("name", ["tab.tsv", "pipe.txt"])
def test_tab_and_pipe(name):
    _, store = _load(BAD / name)
    assert table(store, "account_id, arr, churned").values.tolist() == [["C1", 1000.0, False], ["C2", 2000.0, True]]


def test_quoted_newlines_and_doubled_quotes():
    _, store = _load(BAD / "quoted_newlines.csv")
    assert table(store, "account_id, \"Company\"").values.tolist() == [
        ["C1", "Acme\nNorth, Inc."], ["C2", 'Beta "B" Ltd'], ["C3", "Gamma"]]


def test_latin1_is_decoded_with_a_warning():
    report, store = _load(BAD / "latin1.csv")
    assert report.warnings[0].expected == "UTF-8"
    assert table(store, "\"Company\"")["Company"].tolist() == ["Acme", "Müller Gmbh", "Señor Café"]


def test_excel_first_sheet_with_dates_and_numbers():
    _, store = _load(BAD / "several_sheets.xlsx")
    frame = table(store, "account_id, \"Company\", arr, renewal_date, churned")
    assert frame.values.tolist() == [
        ["C1", "Acme", 1200.5, pd.Timestamp(2026, 3, 31), False],
        ["C2", "Beta", 800.0, pd.Timestamp(2026, 1, 15), True],
        ["C3", "Gamma", 3000.0, pd.NaT, False]]
    assert store.column_types("account_table")["renewal_date"] == "DATE"


def test_excel_chosen_sheet_and_missing_sheet():
    report, store = _load(BAD / "several_sheets.xlsx", sheet="Old export")
    assert report.problems == []
    assert table(store, "account_id, arr").values.tolist() == [["X9", 5.0]]
    report, store = _load(BAD / "several_sheets.xlsx", sheet="Nope")
    assert not report.ok and store.dataset is None
    assert "no sheet named 'Nope'; the workbook has: 'Accounts', 'Notes', 'Old export'" in report.errors[0].message


def test_typed_parquet_keeps_its_types():
    report, store = _load(GOOD / "typed.parquet")
    assert report.ok and report.problems == []
    types_ = store.column_types("account_table")
    assert (types_["renewal_date"], types_["churned"], types_["seats"], types_["arr"]) == (
        "DATE", "BOOLEAN", "BIGINT", "DOUBLE")
    assert table(store, "account_id, churned").values.tolist() == [["A1", False], ["A2", True], ["A3", False]]


def test_parquet_float_ids_become_plain_text(tmp_path):
    path = tmp_path / "ids.parquet"
    pq.write_table(pa.table({"id": [1.0, 2.0], "churn": [1, 0]}), path)
    _, store = _load(path)
    assert table(store, "account_id, churned").values.tolist() == [["1", True], ["2", False]]


# ---- typing and canonical columns -----------------------------------------------------------------------

def test_currency_text_parsed():
    _, store = _load(BAD / "arr_currency_text.csv")
    assert table(store, "arr")["arr"].tolist()[:3] == [1200.5, 800.0, 1000.0]
    assert pd.isna(table(store, "arr")["arr"].iloc[3])


def test_blank_numbers_become_null_doubles():
    _, store = _load(BAD / "blank_numbers.csv")
    assert store.column_types("account_table")["TotalCharges"] == "DOUBLE"
    got = table(store, "\"TotalCharges\"")["TotalCharges"].tolist()
    assert got[0] == 29.85 and got[2] == 108.15 and pd.isna(got[1]) and pd.isna(got[3])


def test_blank_rows_skipped_and_counted():
    report, store = _load(BAD / "blank_rows.csv")
    assert report.rows_skipped == 2 and report.rows_loaded == 2
    assert table(store, "account_id")["account_id"].tolist() == ["C1", "C2"]


@pytest.mark.parametrize("name, dates", [
    ("dates_us.csv", [date(2026, 1, 31), date(2026, 2, 1), date(2025, 12, 15)]),
    ("dates_dotted.csv", [date(2026, 1, 31), date(2026, 2, 1), date(2025, 12, 15)]),
    ("dates_day_first_slash.csv", [date(2026, 1, 31), date(2026, 2, 1), date(2025, 12, 15)]),
    ("dates_mixed_iso_dotted.csv", [date(2026, 1, 31), date(2026, 2, 1), date(2025, 12, 15)]),
])
def test_date_formats(name, dates):
    _, store = _load(BAD / name)
    assert [r[0] for r in store.rows("SELECT renewal_date FROM account_table")] == dates


def test_ambiguous_slash_dates_read_as_us_with_warning(tmp_path):
    path = tmp_path / "ambiguous.csv"
    path.write_text("account_id,renewal_date\nA1,03/04/2026\nA2,05/06/2026\n")
    report, store = _load(path)
    assert any("month-first or day-first; read as MM/DD/YYYY" in w.message for w in report.warnings)
    assert [r[0] for r in store.rows("SELECT renewal_date FROM account_table")] == [date(2026, 3, 4), date(2026, 5, 6)]


def test_outcome_vocabularies():
    _, store = _load(BAD / "outcome_exited_1_0.csv")
    assert table(store, "account_id, churned").values.tolist() == [
        ["15634602", True], ["15647311", False], ["15619304", True]]
    assert store.dataset.mapping.outcome_positive == ("1",)
    _, store = _load(BAD / "outcome_churned_active.csv")
    assert table(store, "account_id, churned").values.tolist() == [["1", True], ["2", False], ["3", False]]
    assert store.column_types("account_table")["churned"] == "BOOLEAN"


def test_explicit_outcome_positive_accepts_other_values():
    report, store = _load(BAD / "outcome_unexpected.csv", Mapping(outcome_positive=("Yes", "maybe")))
    assert report.ok
    assert table(store, "churned")["churned"].tolist() == [False, True, True, False]


def test_explicit_outcome_positive_matching_nothing_is_an_error():
    report, _ = _load(BAD / "bom.csv", Mapping(outcome_positive=("Churned",)))
    assert not report.ok
    assert "no value of the outcome column matches outcome_positive Churned" in report.errors[0].message
    report, _ = _load(BAD / "leading_zeros.csv", Mapping(outcome_positive=("Yes",)))
    assert "there is no outcome column" in report.errors[0].message


def test_leading_zero_codes_stay_text():
    _, store = _load(BAD / "leading_zeros.csv")
    assert store.column_types("account_table")["zip"] == "VARCHAR"
    assert store.column_types("account_table")["seats"] == "DOUBLE"
    assert table(store, "account_id, zip").values.tolist() == [["00123", "02139"], ["00456", "10001"]]


def test_canonical_clash_renamed():
    _, store = _load(BAD / "canonical_clash.csv", Mapping(id_column="customerID"))
    assert table(store, "account_id, account_id_orig, arr").values.tolist() == [
        ["C1", "legacy-9", 100.0], ["C2", "legacy-8", 200.0]]


def test_duplicate_header_names_get_suffixes():
    _, store = _load(BAD / "duplicate_headers.csv")
    assert store.dataset.columns == ("customerID", "Segment", "segment_2", "column_4", "ARR")
    assert table(store, "segment, segment_2, column_4").values.tolist() == [["SMB", "Mid", "x"], ["Ent", "Large", "y"]]


def test_good_account_table_all_roles():
    report, store = _load(GOOD / "accounts.csv")
    assert report.problems == []
    m = store.dataset.mapping
    assert (m.id_column, m.name_column, m.value_column, m.owner_column, m.segment_column, m.renewal_column,
            m.outcome_column, m.outcome_positive) == ("account_id", "account_name", "arr", "csm_owner", "segment",
                                                      "renewal_date", "churned", ("Yes",))
    assert store.column_types("account_table") == {
        "logins_30d": "DOUBLE", "account_id": "VARCHAR", "account_name": "VARCHAR", "arr": "DOUBLE",
        "csm_owner": "VARCHAR", "segment": "VARCHAR", "renewal_date": "DATE", "churned": "BOOLEAN"}
    assert store.dataset.kind == "account_table" and store.dataset.tables == ("account_table",)
    assert report.tables == {"account_table": 3}


def test_explicit_mapping_overrides_detection(tmp_path):
    path = fixtures.write_account_table(tmp_path)
    _, store = _load(path, Mapping(id_column="account_name", value_column="logins_30d", outcome_column="churned",
                                   outcome_positive=("No",)))
    assert table(store, "account_id, arr, churned").values.tolist() == [
        ["Acme", 40.0, True], ["Beta", 3.0, False], ["Gamma", 25.0, True]]
    # the file's own id column is kept under another name
    assert table(store, "account_id_orig")["account_id_orig"].tolist() == ["A1", "A2", "A3"]


# ---- atomicity and dispatch ---------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["duplicate_ids.csv", "arr_negative.csv", "empty.csv", "ragged_rows.csv",
                                 "dates_invalid.csv", "not_excel.xlsx"])
def test_failed_load_keeps_the_previous_data(bad):
    store = Store()
    load_data(store, GOOD / "accounts.csv")
    before = (store.dataset, store.generation, table(store).to_dict("list"), store.tables())
    with pytest.raises(LoadError):
        load_data(store, BAD / bad)
    assert (store.dataset, store.generation, table(store).to_dict("list"), store.tables()) == before


def test_second_good_load_replaces_and_bumps_generation():
    store = Store()
    load_data(store, GOOD / "accounts.csv")
    load_data(store, GOOD / "accounts_v2.csv")
    assert store.generation == 2
    assert table(store, "account_id")["account_id"].tolist() == ["B1", "B2"]
    assert "logins_30d" not in store.columns("account_table")


def test_account_table_drops_activity_tables():
    store = Store()
    store.execute("CREATE TABLE accounts AS SELECT 'x' AS account_id")
    store.execute("CREATE TABLE usage AS SELECT 'x' AS account_id")
    store.execute("CREATE TABLE unrelated AS SELECT 1 AS a")
    load_data(store, GOOD / "accounts.csv")
    assert store.tables() == ["account_table", "unrelated"]


def test_unexpected_failure_is_a_problem_not_a_traceback(monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("disk on fire\nsecond line")
    monkeypatch.setattr(readers, "read_csv", boom)  # where read_table looks it up
    with pytest.raises(LoadError) as info:
        load_account_table(Store(), GOOD / "accounts.csv")
    assert str(info.value) == f"error: {GOOD / 'accounts.csv'}: could not load: disk on fire"


@pytest.mark.parametrize("exc, reason", [
    (duckdb.IOException("IO Error: No files found that match the pattern \"x.csv\""),
     'No files found that match the pattern "x.csv"'),
    (duckdb.InvalidInputException("Invalid Input Error: File 'x' too small to be a Parquet file\nLINE 1: ..."),
     "File 'x' too small to be a Parquet file"),
    (RuntimeError("duckdb.ConversionException: Conversion Error: Could not convert string 'a' to INT32"),
     "Could not convert string 'a' to INT32"),
    (RuntimeError("failed inside OutOfRangeException handling"), "failed inside handling"),
    (RuntimeError(""), "an unexpected problem while reading it"),
])
def test_unexpected_engine_failure_is_a_plain_sentence(monkeypatch, exc, reason):
    """No engine exception name or label ('IOException', 'IO Error:') reaches the user, at any load entry."""
    def boom(*a, **k):
        raise exc
    monkeypatch.setattr(readers, "read_csv", boom)  # where read_table looks it up
    report = validate_path(GOOD / "accounts.csv")
    assert len(report.problems) == 1 and report.problems[0].message.startswith(f"could not load: {reason}")
    assert not re.search(r"Exception|Error\b|Traceback", str(report.problems[0]))


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_messages_have_no_engine_names_or_empty_values(name):
    report, _ = _load(BAD / name, CORPUS[name][0])
    for p in report.problems:
        assert not re.search(r"[A-Z]\w*(Exception|Error)\b|Traceback|\bNone\b", str(p)), str(p)
        assert not re.search(r"\bnan\b", re.sub(r"'[^']*'", "", str(p))), str(p)  # Python's nan, outside quotes


def test_dispatch_to_activity_loader(monkeypatch, tmp_path):
    from riskcore.io import load as io_load
    calls = []
    monkeypatch.setattr(io_load, "load_activity", lambda store, path: calls.append(Path(path)) or "activity report")
    db = tmp_path / "warehouse.duckdb"
    db.write_bytes(b"")
    assert load_data(Store(), tmp_path) == "activity report"
    assert load_data(Store(), db) == "activity report"
    assert calls == [tmp_path, db]


@pytest.mark.parametrize("name, text", [
    ("missing.csv", "no such file or folder"),
    ("old.xls", "old Excel format: save it as .xlsx or CSV"),
    ("notes.json", "unknown kind of file"),
])
def test_dispatch_errors(tmp_path, name, text):
    if name != "missing.csv":
        (tmp_path / name).write_bytes(b"x")
    with pytest.raises(LoadError, match=text.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        load_data(Store(), tmp_path / name)


def test_validate_path_and_many_never_raise():
    reports = validate_many([GOOD / "accounts.csv", BAD / "duplicate_ids.csv", BAD / "empty.csv"])
    assert [r.ok for r in reports] == [True, False, False]
    assert validate_path(BAD / "latin1.csv").rows_loaded == 3


# ---- public data sets ----------------------------------------------------------------------------------

@pytest.mark.skipif(not ORANGE.exists(), reason="public Orange Telecom export not present")
def test_orange_telecom_export_auto_detected():
    report, store = _load(ORANGE)
    assert report.ok
    expected = pd.read_csv(ORANGE)
    got = table(store)
    assert len(got) == len(expected) == report.rows_loaded
    assert got["account_id"].tolist() == [str(i) for i in range(1, len(expected) + 1)]
    assert got["churned"].tolist() == expected["Churn"].astype(bool).tolist()
    assert [p.message.split(":")[0] for p in report.warnings] == [
        "no id column found", "no value (ARR) column found"]
    mean = store.one('SELECT avg("Total day minutes") FROM account_table WHERE "International plan" = ?', ["Yes"])
    assert mean == pytest.approx(expected.loc[expected["International plan"] == "Yes", "Total day minutes"].mean(),
                                 rel=1e-12)
    assert store.column_types("account_table")["Customer service calls"] == "DOUBLE"


def test_telco_style_export(tmp_path):
    path = fixtures.write_account_table(tmp_path, "telco.csv", fixtures.TELCO_CSV)
    report, store = _load(path)
    assert report.ok
    expected = pd.read_csv(path)
    got = table(store)
    assert store.dataset.mapping.id_column == "customerID"
    assert got["account_id"].tolist() == expected["customerID"].tolist()
    assert got["churned"].tolist() == (expected["Churn"] == "Yes").tolist()
    assert got["arr"].isna().all()  # MonthlyCharges is not ARR
    assert store.column_types("account_table")["TotalCharges"] == "DOUBLE"
    assert got["TotalCharges"].isna().tolist() == [False, False, False, True, False, True]
    blank = [w for w in report.warnings if w.column == "TotalCharges"]
    assert len(blank) == 1 and "2 blank or space-only cells" in blank[0].message and "rows 4, 6" in blank[0].message


def _wide_load(tmp_path, n: int) -> float:
    """Load a 3-row export with `n` feature columns; check every column arrived; the seconds it took."""
    path = tmp_path / "wide.csv"
    with open(path, "w") as fh:
        fh.write("customerID," + ",".join(f"feature {i}" for i in range(n)) + ",Churn\n")
        for r in range(3):
            fh.write(f"C{r}," + ",".join(str(r * i) for i in range(n)) + f",{'Yes' if r == 1 else 'No'}\n")
    start = time.perf_counter()
    report, store = _load(path)
    seconds = time.perf_counter() - start
    assert report.ok and report.rows_loaded == 3
    # customerID, the features and Churn, plus canonical account_id, arr and churned
    assert len(store.columns("account_table")) == n + 5
    last = f"feature {n - 1}"
    assert store.rows(f'SELECT account_id, churned, "{last}" FROM account_table') == [
        ("C0", False, 0.0), ("C1", True, float(n - 1)), ("C2", False, 2.0 * (n - 1))]
    return seconds


def test_a_wide_export_loads_every_column(tmp_path):
    _wide_load(tmp_path, 1_000)


@pytest.mark.slow
def test_ten_thousand_columns_load_quickly(tmp_path):
    assert _wide_load(tmp_path, 10_000) < 30


# ---- README table agrees with the library -----------------------------------------------------------

def test_readme_table_agrees_with_the_library():
    """The README's account-table rows (outcome, row, column, quoted message) hold for the library itself."""
    from test_pages_data import readme_expectations
    readme = readme_expectations()
    for name, (mapping, _) in CORPUS.items():
        exp = readme[name]
        report, _ = _load(BAD / name, mapping)
        assert exp["error"] is not report.ok, name
        if exp["quote"]:
            assert any(exp["quote"] in str(p) for p in report.problems), (name, exp["quote"])
        if exp["row"] is not None:
            assert any(p.row == exp["row"] and (exp["column"] in (None, p.column)) for p in report.problems), name


# ---- blank cells, thousands, percent, non-finite (issue 13) ----------------------------------------

def column_values(store: Store, column: str) -> list:
    return [r[0] for r in store.rows(f'SELECT "{column}" FROM account_table ORDER BY account_id')]


def test_truly_empty_cells_keep_a_column_numeric():
    _, store = _load(BAD / "blank_numeric_cells.csv")
    assert store.column_types("account_table")["Logins"] == "DOUBLE"
    assert column_values(store, "Logins") == [None, 12.0, None, 7.0]
    assert store.one('SELECT count(*) FROM account_table WHERE "Logins" > 5') == 2  # no type error


def test_bank_export_age_with_empty_cells_is_numeric():
    report, store = _load(BAD / "bank_age_blanks.csv")
    assert report.ok and store.dataset.mapping.id_column == "CustomerId"
    types_ = store.column_types("account_table")
    assert (types_["Age"], types_["Balance"], types_["Geography"]) == ("DOUBLE", "DOUBLE", "VARCHAR")
    ages = dict(store.rows('SELECT account_id, "Age" FROM account_table'))
    assert ages["15647311"] is None and ages["15574012"] is None and ages["15634602"] == 42.0
    assert store.one('SELECT count(*) FROM account_table WHERE "Age" >= 42') == 4


@pytest.mark.parametrize("name, columns", [
    ("all_blank_column.csv", ["Discount", "NPS"]),
    ("excel_blank_column.xlsx", ["NPS"]),
    ("parquet_blank_columns.parquet", ["nps"]),
])
def test_a_column_with_no_value_is_an_all_null_number(name, columns):
    _, store = _load(BAD / name)
    for column in columns:
        assert store.column_types("account_table")[column] == "DOUBLE"
        assert store.one(f'SELECT count("{column}") FROM account_table') == 0  # no value in any row
        assert store.one(f'SELECT count(*) FROM account_table WHERE "{column}" > 1') == 0


def test_excel_and_parquet_blank_cells():
    _, store = _load(BAD / "excel_blank_column.xlsx")
    assert store.column_types("account_table")["Age"] == "DOUBLE"
    assert column_values(store, "Age") == [42.0, None, 35.0]
    _, store = _load(BAD / "parquet_blank_columns.parquet")
    assert column_values(store, "tenure") == [12.0, None, None]


def test_blank_mask_counts_null_empty_spaces_and_words():
    col = pa.chunked_array([pa.array([None, "", "  ", "NA", "n/a", "Null", "nan", "0", "x"])])
    assert columns.blank_mask(col).to_pylist() == [True] * 7 + [False, False]


def test_thousands_separators_and_percent_signs_become_numbers():
    _, store = _load(BAD / "thousands_separators.csv")
    assert column_values(store, "api_calls") == [1234.0, 87.0, 12001.0, 1000000.0]
    _, store = _load(BAD / "percent_values.csv")
    assert column_values(store, "discount") == [45.0, 12.5, 0.0, 100.0]  # percent units kept: 45% -> 45


@pytest.mark.parametrize("values", [["1,234", "unknown", "87"], ["1,5", "2,25"], ["45%", "high"], ["012,345", "1"]])
def test_separators_mixed_with_text_stay_text(tmp_path, values):
    path = tmp_path / "mixed.csv"
    path.write_text("id,calls\n" + "".join(f'A{i},"{v}"\n' for i, v in enumerate(values)))
    report, store = _load(path)
    assert store.column_types("account_table")["calls"] == "VARCHAR"
    assert column_values(store, "calls") == values
    assert [w.column for w in report.warnings if w.column == "calls"] == []


def test_non_finite_numbers_outside_arr_become_null():
    _, store = _load(BAD / "numeric_inf_other_column.csv")
    assert column_values(store, "usage_ratio") == [0.5, None, None, None, 0.25]
    _, store = _load(BAD / "nonfinite.parquet")
    assert column_values(store, "usage_ratio") == [0.5, None, None, 0.1]
    assert store.one("SELECT sum(arr) FROM account_table") == 10000.0


def test_a_column_of_only_infinity_words_stays_text(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("id,code\nA1,INF\nA2,inf\n")
    _, store = _load(path)
    assert store.column_types("account_table")["code"] == "VARCHAR"


@pytest.mark.parametrize("name", ["arr_infinity.csv", "arr_nan.csv", "arr_1e309.csv", "arr_nonfinite.parquet"])
def test_non_finite_arr_never_reaches_the_kpis(name):
    store = Store()
    load_data(store, GOOD / "accounts.csv")
    with pytest.raises(LoadError) as info:
        load_data(store, BAD / name)
    assert info.value.report.errors[0].expected == "a finite number like 1200.50"
    assert store.one("SELECT sum(arr) FROM account_table") == 70000.0  # the previous data, finite


# ---- Excel: bounded reading, hidden sheets ---------------------------------------------------------

@pytest.mark.slow
def test_stray_cell_in_the_last_excel_cell_reads_fast_in_little_memory():
    """A space in XFD1048576 (16,384 x 1,048,576 stated cells): was 6 GB and 39 s."""
    path = BAD / "excel_far_cell.xlsx"
    assert path.stat().st_size < 10_000
    tracemalloc.start()
    start = time.perf_counter()
    try:
        report, store = _load(path)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.problems == []
    assert table(store, "account_id, arr, churned").values.tolist() == [
        ["C1", 1000.0, False], ["C2", 2000.0, True], ["C3", 3000.0, False]]
    assert store.dataset.columns == ("customerID", "ARR", "Churn")
    assert seconds < 20 and peak < 200e6, (seconds, peak)  # typically ~0.4 s and ~10 MB (traced)


def test_stray_value_far_from_the_table_is_refused_quickly():
    start = time.perf_counter()
    report, store = _load(BAD / "excel_far_value.xlsx")
    assert time.perf_counter() - start < 20
    assert store.dataset is None
    assert "Ctrl+End" in report.errors[0].message and report.errors[0].found == "13 values"


def test_sheet_rows_are_cut_after_their_last_value(tmp_path):
    path = tmp_path / "wide.xlsx"
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["id", "ARR", None, "  "])
    ws.append(["A1", 10])
    ws.cell(row=2, column=5000, value="   ")
    ws.append([])
    ws.append(["A2", 20])
    book.save(path)
    report, store = _load(path)
    assert store.dataset.columns == ("id", "ARR")
    assert report.warnings[0].message == "1 empty row(s) skipped (rows 2)"


def test_hidden_first_sheet_is_skipped_and_can_be_chosen():
    report, store = _load(BAD / "excel_hidden_first_sheet.xlsx")
    assert table(store, "account_id, segment").values.tolist() == [["C1", "SMB"], ["C2", "SMB"]]
    report, store = _load(BAD / "excel_hidden_first_sheet.xlsx", sheet="Lookup")
    assert [p.message.split(":")[0] for p in report.problems] == ["no id column found", "no value (ARR) column found"]
    assert table(store, "code")["code"].tolist() == ["SMB"]


def test_hidden_sheets_are_named_among_the_ignored(tmp_path):
    path = tmp_path / "book.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "Accounts"
    book.active.append(["id", "ARR"])
    book.active.append(["A1", 5])
    book.create_sheet("Old").sheet_state = "hidden"
    book.create_sheet("Notes")
    book.save(path)
    report, _ = _load(path)
    assert report.warnings[0].message == ("the workbook has 3 sheets; read the first, 'Accounts', and ignored "
                                          "'Old' (hidden), 'Notes' (choose one with sheet / --sheet)")


def test_columns_without_name_or_value_are_dropped(tmp_path):
    """Trailing separators (Excel's CSV export) and a stray value far right in a sheet: the empty columns
    in between carry nothing and are dropped with one warning, not one 'no name' warning each."""
    path = tmp_path / "trailing.csv"
    path.write_text("id,ARR,,\nA1,10,,\nA2,20, ,\n")
    report, store = _load(path)
    assert store.dataset.columns == ("id", "ARR")
    assert [w.message for w in report.warnings] == ["2 column(s) with no name and no value ignored (columns 3, 4)"]
    path = tmp_path / "stray.xlsx"
    book = openpyxl.Workbook()
    for row in (["id", "ARR"], ["A1", 10], ["A2", 20]):
        book.active.append(row)
    book.active.cell(row=3, column=16384, value="x")
    book.save(path)
    start = time.perf_counter()
    report, store = _load(path)
    assert time.perf_counter() - start < 20
    assert store.dataset.columns == ("id", "ARR", "column_16384")
    assert [w.message for w in report.warnings] == [
        "16,381 column(s) with no name and no value ignored (columns 3, 4, 5, 6, 7, ...)",
        "column 16384 has no name in the header; it is called 'column_16384'"]


def test_a_file_name_with_pattern_characters_is_read_literally(tmp_path):
    """DuckDB reads `export [1].csv` as the pattern `export 1.csv`: the loader must read the named file."""
    (tmp_path / "export [1].csv").write_text("customerID,calls\nC1,3\nC2,4\n", encoding="utf-8")
    (tmp_path / "export 1.csv").write_text("customerID,calls\nX9,99\n", encoding="utf-8")
    for name in ("export [1].csv", "export [1].parquet"):
        path = tmp_path / name
        if name.endswith(".parquet"):
            import pyarrow.parquet as pq
            pq.write_table(pa.table({"customerID": ["C1", "C2"], "calls": [3.0, 4.0]}), path)
            pq.write_table(pa.table({"customerID": ["X9"], "calls": [99.0]}), tmp_path / "export 1.parquet")
        store = Store()
        load_data(store, path)
        assert store.rows("SELECT account_id, calls FROM account_table ORDER BY 1") == [("C1", 3.0), ("C2", 4.0)]
