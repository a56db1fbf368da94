from datetime import date

import pytest

from riskcore.activity import load_activity
from riskcore.db import Dataset, Store
from riskcore.report import LoadError

ACCOUNTS = """account_id,account_name,arr,seats,contract_start,marketing_consent
a1,Alpha,1200.5,10,2024-01-01,yes
a2,"Bravo, Inc.",0,5,2024-02-01,false
a3,Charlie,300,,2024-03-01,
"""
USAGE = """account_id,date,active_users,logins
a1,2024-05-01,3,10
a2,2024-05-02,1,0
a3,2024-05-03,2,4
"""


def _folder(tmp_path, name="data", **files) -> str:
    d = tmp_path / name
    d.mkdir()
    for stem, text in files.items():
        (d / stem).write_text(text) if isinstance(text, str) else (d / stem).write_bytes(text)
    return str(d)


def _errors(path) -> list:
    with pytest.raises(LoadError) as e:
        load_activity(Store(), path)
    return e.value.report.errors


def test_good_folder_loads_with_canonical_types(tmp_path):
    store = Store()
    report = load_activity(store, _folder(tmp_path, **{"accounts.csv": ACCOUNTS, "usage.csv": USAGE}))
    assert report.ok and report.tables == {"accounts": 3, "usage": 3} and report.rows_loaded == 6
    assert store.dataset.kind == "activity" and store.dataset.tables == ("accounts", "usage")
    types = store.column_types("accounts")
    assert (types["account_id"], types["arr"], types["seats"], types["contract_start"], types["marketing_consent"]) \
        == ("VARCHAR", "DOUBLE", "BIGINT", "DATE", "BOOLEAN")
    assert store.rows("SELECT account_name, arr, seats, marketing_consent FROM accounts ORDER BY account_id") == [
        ("Alpha", 1200.5, 10, True), ("Bravo, Inc.", 0.0, 5, False), ("Charlie", 300.0, None, None)]
    assert store.rows("SELECT logins FROM usage ORDER BY date") == [(10,), (0,), (4,)]
    assert store.column_types("usage")["date"] == "DATE"
    assert not [t for t in store.tables() if t.startswith(("_stage_", "_raw_"))]


def test_missing_required_value_is_an_error(tmp_path):
    usage = USAGE.replace("a2,2024-05-02,1,0", "a2,2024-05-02,1,  ")  # blank logins: a required column
    [e] = _errors(_folder(tmp_path, **{"accounts.csv": ACCOUNTS, "usage.csv": usage}))
    assert (e.file, e.row, e.column, e.message) == ("usage.csv", 2, "logins", "missing value in a required column")


def test_missing_required_column(tmp_path):
    text = "account_id,contract_start\na1,2024-01-01\n"
    [e] = _errors(_folder(tmp_path, **{"accounts.csv": text}))
    assert (e.file, e.column, e.message) == ("accounts.csv", "arr", "missing required column")
    assert "account_id, contract_start" in e.found


def test_bad_date_names_file_row_column(tmp_path):
    usage = USAGE.replace("2024-05-03", "03/05/24x")
    [e] = _errors(_folder(tmp_path, **{"accounts.csv": ACCOUNTS, "usage.csv": usage}))
    assert (e.file, e.row, e.column, e.found) == ("usage.csv", 3, "date", "03/05/24x")
    assert "date" in e.expected


def test_unparsable_number_and_many_bad_rows_are_counted(tmp_path):
    rows = "".join(f"b{i},x,abc{i},1,2024-01-01,\n" for i in range(10))
    text = "account_id,account_name,arr,seats,contract_start,marketing_consent\n" + rows
    errors = _errors(_folder(tmp_path, **{"accounts.csv": text}))
    assert [(e.row, e.found) for e in errors[:3]] == [(1, "abc0"), (2, "abc1"), (3, "abc2")]
    assert errors[3].message.startswith("10 rows in all")


def test_duplicate_account_id(tmp_path):
    text = ACCOUNTS + "a2,Again,5,1,2024-01-01,no\n"
    [e] = _errors(_folder(tmp_path, **{"accounts.csv": text}))
    assert (e.file, e.row, e.column, e.found) == ("accounts.csv", 4, "account_id", "a2")
    assert "first on row 2" in e.message


def test_negative_arr(tmp_path):
    [e] = _errors(_folder(tmp_path, **{"accounts.csv": ACCOUNTS.replace("300", "-300")}))
    assert (e.file, e.row, e.column, e.found, e.message) == ("accounts.csv", 3, "arr", "-300.0", "negative ARR")


def test_empty_file_and_header_only(tmp_path):
    [e] = _errors(_folder(tmp_path, "one", **{"accounts.csv": ACCOUNTS, "tickets.csv": ""}))
    assert (e.file, e.message) == ("tickets.csv", "file is empty")
    [e] = _errors(_folder(tmp_path, "two", **{"accounts.csv": "account_id,arr,contract_start\n"}))
    assert (e.file, e.message) == ("accounts.csv", "no data rows")
    # a header-only activity table is a warning: no tickets at all is possible
    store = Store()
    report = load_activity(store, _folder(tmp_path, "three", **{
        "accounts.csv": ACCOUNTS, "tickets.csv": "account_id,opened_at\n"}))
    assert report.tables["tickets"] == 0 and [w.file for w in report.warnings] == ["tickets.csv"]


def test_accounts_required_and_unknown_tables_ignored(tmp_path):
    [e] = _errors(_folder(tmp_path, "one", **{"usage.csv": USAGE}))
    assert "accounts table is required" in e.message
    report = load_activity(Store(), _folder(tmp_path, "two", **{"accounts.csv": ACCOUNTS, "notes.csv": "a\n1\n"}))
    [w] = report.warnings
    assert w.file == "notes.csv" and "unknown table" in w.message


def test_orphan_rows_are_skipped_with_a_warning(tmp_path):
    store = Store()
    usage = USAGE.replace("a2,2024-05-02", "zz,2024-05-02") + "zz,2024-05-04,1,1\n"
    report = load_activity(store, _folder(tmp_path, **{"accounts.csv": ACCOUNTS, "usage.csv": usage}))
    [w] = report.warnings
    assert (w.file, w.column) == ("usage.csv", "account_id") and w.message.startswith("2 rows skipped")
    assert report.rows_skipped == 2 and store.one("SELECT count(*) FROM usage") == 2


def test_unknown_codes_warn_and_codes_are_normalised(tmp_path):
    store = Store()
    inv = "account_id,due_date,status\na1,2024-05-01, Failed \na1,2024-06-01,refunded\n"
    report = load_activity(store, _folder(tmp_path, **{"accounts.csv": ACCOUNTS, "invoices.csv": inv}))
    [w] = report.warnings
    assert (w.row, w.column, w.found) == (2, "status", "refunded")
    assert store.rows("SELECT status FROM invoices ORDER BY due_date") == [("failed",), ("refunded",)]


def test_column_names_case_insensitive_and_extra_columns_kept(tmp_path):
    store = Store()
    text = "Account_ID,ARR,Contract_Start,Health Score\nq1,10,2024-01-01,77\n"
    load_activity(store, _folder(tmp_path, **{"accounts.csv": text}))
    assert store.columns("accounts") == ["account_id", "arr", "contract_start", "Health Score"]


def test_latin1_file_is_read_with_a_warning(tmp_path):
    text = "account_id,account_name,arr,contract_start\nc1,Caf\xe9 Ltd,10,2024-01-01\n".encode("latin-1")
    store = Store()
    report = load_activity(store, _folder(tmp_path, **{"accounts.csv": text}))
    assert store.one("SELECT account_name FROM accounts") == "Café Ltd"
    assert "Latin-1" in report.warnings[0].message


def test_parquet_and_duckdb_sources(tmp_path):
    import duckdb
    src = _folder(tmp_path, **{"accounts.csv": ACCOUNTS})
    pq = tmp_path / "pq"
    pq.mkdir()
    db = tmp_path / "export.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE accounts AS SELECT * FROM read_csv(?)", [src + "/accounts.csv"])
    con.execute("CREATE TABLE usage AS SELECT 'a1' AS account_id, DATE '2024-05-01' AS date, 3 AS logins")
    con.execute("COPY accounts TO ? (FORMAT parquet)", [str(pq / "accounts.parquet")])
    con.close()
    for path in (db, pq):
        store = Store()
        report = load_activity(store, path)
        assert report.tables["accounts"] == 3
        assert store.column_types("accounts")["contract_start"] == "DATE"
    assert report.tables == {"accounts": 3}
    assert load_activity(Store(), db).tables == {"accounts": 3, "usage": 1}


def test_failed_load_leaves_previous_data_untouched(tmp_path):
    store = Store()
    load_activity(store, _folder(tmp_path, "good", **{"accounts.csv": ACCOUNTS, "usage.csv": USAGE}))
    before = (store.dataset, store.generation, store.tables(), store.rows("SELECT * FROM accounts ORDER BY 1"))
    bad = _folder(tmp_path, "bad", **{"accounts.csv": ACCOUNTS.replace("300", "-300"), "tickets.csv": ""})
    with pytest.raises(LoadError) as e:
        load_activity(store, bad)
    assert {p.file for p in e.value.report.errors} == {"accounts.csv", "tickets.csv"}
    after = (store.dataset, store.generation, store.tables(), store.rows("SELECT * FROM accounts ORDER BY 1"))
    assert before == after


def test_new_load_replaces_account_table_and_stale_tables(tmp_path):
    store = Store()
    store.execute("CREATE TABLE _stage_x AS SELECT 1 AS account_id")
    store.swap_in({"_stage_x": "account_table"}, Dataset(kind="account_table", source="x", tables=("account_table",)))
    load_activity(store, _folder(tmp_path, "one", **{"accounts.csv": ACCOUNTS, "usage.csv": USAGE}))
    assert "account_table" not in store.tables() and "usage" in store.tables()
    load_activity(store, _folder(tmp_path, "two", **{"accounts.csv": ACCOUNTS}))
    assert "usage" not in store.tables() and store.dataset.tables == ("accounts",)


def test_sample_loads_cleanly(tmp_path):
    from riskcore.sample import generate_sample
    for fmt in ("parquet", "csv"):
        out = generate_sample(tmp_path / fmt, n_accounts=150, seed=3, fmt=fmt)
        store = Store()
        report = load_activity(store, out)
        assert report.ok and not report.problems, [str(p) for p in report.problems]
        assert set(report.tables) == {"accounts", "usage", "tickets", "invoices", "touchpoints",
                                      "relationship_events", "outcomes"}
        assert store.one("SELECT min(contract_start) FROM accounts") < date(2024, 11, 1)
