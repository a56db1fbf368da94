import re
from datetime import date
from pathlib import Path

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
                                      "relationship_events", "outcomes", "plays"}
        assert store.one("SELECT min(contract_start) FROM accounts") < date(2024, 11, 1)


# ---- generated activity cases: expectations from the README table --------------------------------

ROOT = Path(__file__).resolve().parent.parent
ACTIVITY_HEADING = "### Activity tables (generated in tests)"
ENGINE_WORDS = ("Traceback", "IOException", "IO Error", "BinderException", "ConversionException",
                "OutOfRangeException", "InvalidInputException")


def readme_cases(heading: str) -> dict[str, dict]:
    """case -> {what, file, row, column, quote, outcome} from the README table under `heading`.

    The 'what the user sees' cell is `` `file`, row N, column C: "quote" ... `` (file, row and column
    optional); the first double-quoted text is the quote the test looks for."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(heading)
    ends = [i for i in (text.find("\n### ", start + 1), text.find("\n## ", start + 1)) if i != -1]
    out = {}
    for line in text[start:min(ends)].splitlines():
        m = re.match(r"^\| `(\w+)` \| (.*) \| (.*) \| ([^|]+) \|$", line)
        if not m:
            continue
        name, what, seen, outcome = m.groups()
        loc = re.match(r"`([^`]+)`(?:, row (\d+))?(?:, column (\w+))?:", seen)
        quote = re.search(r'"([^"]+)"', seen)
        out[name] = {"what": what, "file": loc.group(1) if loc else None,
                     "row": int(loc.group(2)) if loc and loc.group(2) else None,
                     "column": loc.group(3) if loc else None, "quote": quote.group(1) if quote else None,
                     "outcome": outcome.strip()}
    return out


CASE_ACCOUNTS = """account_id,account_name,segment,csm_owner,arr,seats,contract_start,renewal_date,plan
A1,Alpha Logistics,Enterprise,Ana,120000,50,2024-01-15,2026-01-15,Gold
A2,Bravo Foods,SMB,Ben,8000,5,2024-03-01,2026-03-01,Basic
A3,Charlie Labs,Mid-Market,Cy,30000,20,2024-06-01,2026-06-01,Gold
A4,Delta Retail,SMB,Ana,5000,3,2024-09-01,2025-09-01,Basic
"""
CASE_USAGE = "account_id,date,active_users,logins\n" + "".join(  # one row per account and month, Jan-Jun 2025
    f"{a},2025-{m:02d}-{28 - 3 * i:02d},{10 - 2 * i},{40 - 7 * i - m}\n" for m in range(1, 7)
    for i, a in enumerate(("A1", "A2", "A3", "A4")))
CASE_TICKETS = """account_id,ticket_id,opened_at,priority,sentiment,escalated
A1,T1,2025-02-03,high,-0.6,true
A2,T2,2025-03-10,low,0.2,false
A3,T3,2025-04-21,medium,-0.4,false
A1,T4,2025-05-30,high,-0.8,true
"""
CASE_TOUCHPOINTS = """account_id,date,kind,nps
A1,2025-01-20,qbr,
A2,2025-02-14,nps_survey,6
A3,2025-04-02,csm_call,
A1,2025-05-12,nps_survey,9
"""
CASE_OUTCOMES = "account_id,date,outcome\nA4,2025-06-15,churned\n"
CASE_END = date(2025, 6, 28)  # the latest activity date of the base folder
CASE_RULES = """name = "activity cases"
primary_dimension = "churn"
[quadrant]
value_column = "{value}"
value_cutoff = "median"
risk_cutoff = 61
[[rules]]
id = "low_logins"
label = "Few logins"
dimension = "churn"
signal = "logins_30d"
op = "<"
threshold = 20
points = 40
group = "engagement"
{overrides}"""


def _override(segment: str) -> str:
    return f'[[overrides]]\nrule = "low_logins"\nsegment = "{segment}"\npoints = 10\n'


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def _as_duckdb(folder: Path, db: Path) -> Path:
    import duckdb
    con = duckdb.connect(str(db))
    for f in sorted(folder.glob("*.csv")):
        con.execute(f"CREATE TABLE {f.stem} AS SELECT * FROM read_csv(?)", [str(f)])
    con.close()
    return db


PLAYS_HEADER = "account_id,play,started_at,holdout\n"  # the optional plays table (uplift.py)
# case -> (lines appended to tables, [quadrant] value column, overrides TOML, extra CLI args, post-step)
CASES = {
    "usage_2099": ({"usage.csv": "A1,2099-01-01,3,10\n"}, "arr", "", [], None),
    "invoice_due_ahead": ({"invoices.csv": "account_id,invoice_id,due_date,paid_at,amount,status\n"
                                           "A1,I1,2025-05-31,2025-06-02,1000,paid\nA1,I2,2025-09-30,,1000,open\n"},
                          "arr", "", [], None),
    "as_of_past_data": ({}, "arr", "", ["--as-of", "2030-01-01"], None),
    "negative_counts": ({"usage.csv": "A2,2025-06-20,2,-5\n"}, "arr", "", [], None),
    "fractional_counts": ({"usage.csv": "A2,2025-06-20,2.5,4\n"}, "arr", "", [], None),
    "nps_out_of_range": ({"touchpoints.csv": "A3,2025-05-20,nps_survey,45\n"}, "arr", "", [], None),
    "duplicated_rows": ({"tickets.csv": "A2,T2,2025-03-10,low,0.2,false\n"}, "arr", "", [], None),
    "churn_before_start": ({"outcomes.csv": "A3,2024-02-01,churned\n"}, "arr", "", [], None),
    "override_unknown_segment": ({}, "arr", _override("Enterprize"), [], None),
    "override_segment_case": ({}, "arr", _override("enterprise"), [], None),
    "value_column_missing": ({}, "mrr", "", [], None),
    "value_column_text": ({}, "plan", "", [], None),
    "duckdb_data_truncated": ({}, "arr", "", [], "duckdb_truncated"),
    "plays_holdout_text": ({"plays.csv": PLAYS_HEADER + "A1,save_call,2025-03-01,false\nA2,save_call,2025-03-02,maybe\n"},
                           "arr", "", [], None),
    "plays_started_unparsable": ({"plays.csv": PLAYS_HEADER + "A1,save_call,2025-03-01,\nA2,save_call,next week,\n"},
                                 "arr", "", [], None),
    "plays_duplicated": ({"plays.csv": PLAYS_HEADER + "A1,save_call,2025-03-01,true\nA1,save_call,2025-03-01,true\n"},
                         "arr", "", [], None),
    "plays_unknown_account": ({"plays.csv": PLAYS_HEADER + "A1,save_call,2025-03-01,\nA9,save_call,2025-03-01,\n"},
                              "arr", "", [], None),
}
STORE_CASES = ("store_not_duckdb", "store_truncated", "store_empty", "store_busy", "store_busy_timeout")
ACTIVITY_CASES = readme_cases(ACTIVITY_HEADING)


def base_folder(path: Path) -> Path:
    """The base activity folder of the generated cases (4 accounts, January-June 2025)."""
    path.mkdir(parents=True)
    for name, text in (("accounts.csv", CASE_ACCOUNTS), ("usage.csv", CASE_USAGE), ("tickets.csv", CASE_TICKETS),
                       ("touchpoints.csv", CASE_TOUCHPOINTS), ("outcomes.csv", CASE_OUTCOMES)):
        (path / name).write_text(text)
    return path


def build_case(name: str, tmp: Path) -> tuple[Path, Path, list[str]]:
    """Write case `name` under `tmp`: (the --data path, the rules file, extra CLI args)."""
    appended, value, overrides, args, post = CASES[name]
    data = base_folder(tmp / "data")
    for file, text in appended.items():
        with open(data / file, "a") as f:
            f.write(text)
    rules = tmp / "rules.toml"
    rules.write_text(CASE_RULES.format(value=value, overrides=overrides))
    if post == "duckdb_truncated":
        data = _as_duckdb(data, tmp / "data.duckdb")
        _truncated(data)
    return data, rules, args


def _matching(problems, exp: dict) -> list:
    return [p for p in problems if exp["quote"] in str(p)]


def test_readme_lists_every_generated_case():
    assert set(ACTIVITY_CASES) == set(CASES) | set(STORE_CASES)
    assert all(c["quote"] for n, c in ACTIVITY_CASES.items() if c["outcome"] != "loads")


@pytest.mark.parametrize("name", [n for n in CASES if not n.startswith(("override_", "value_column_", "as_of_"))])
def test_generated_case_through_the_library(name, tmp_path):
    """Load the case; the README's quote is a problem naming its file, row and column; the severity
    matches the outcome; an error leaves the store empty and the files as they were."""
    from riskcore.loading import load_data
    exp = ACTIVITY_CASES[name]
    data, _, _ = build_case(name, tmp_path)
    before = data.read_bytes() if data.is_file() else None
    store = Store()
    if exp["outcome"] == "error":
        with pytest.raises(LoadError) as err:
            load_data(store, data)
        problems = err.value.report.problems
        assert store.dataset is None and (before is None or data.read_bytes() == before)
    else:
        problems = load_data(store, data).problems
    if exp["outcome"] == "loads":
        assert problems == []
        return
    [p] = _matching(problems, exp)
    assert (Path(p.file).name, p.row, p.column) == (exp["file"], exp["row"], exp["column"])
    assert p.severity == ("error" if exp["outcome"] == "error" else "warning")
    assert not any(w in str(p) for w in ENGINE_WORDS)


def test_usage_2099_keeps_the_default_as_of_and_every_score(tmp_path):
    from riskcore.signals import active_dates, signals_table
    from riskcore.workspace import default_as_of
    base, bad = Store(), Store()
    load_activity(base, base_folder(tmp_path / "base"))
    load_activity(bad, build_case("usage_2099", tmp_path / "case")[0])
    assert default_as_of(bad) == default_as_of(base) == CASE_END
    assert active_dates(bad) == active_dates(base)
    assert bad.one("SELECT max(date) FROM usage") == date(2099, 1, 1)  # kept
    cols = "account_id, logins_30d, days_since_last_login, usage_change_30d"
    assert (bad.rows(f"SELECT {cols} FROM {signals_table(bad, CASE_END)} ORDER BY 1")
            == base.rows(f"SELECT {cols} FROM {signals_table(base, CASE_END)} ORDER BY 1"))


def test_invoice_due_ahead_is_not_past_the_end_but_a_far_one_is(tmp_path):
    from riskcore.signals import active_dates
    store = Store()
    report = load_activity(store, build_case("invoice_due_ahead", tmp_path / "a")[0])
    assert report.problems == [] and active_dates(store)[1] == CASE_END
    data = build_case("invoice_due_ahead", tmp_path / "b")[0]
    with open(data / "invoices.csv", "a") as f:
        f.write("A2,I3,2026-08-01,,500,open\n")  # more than a year after the data's end
    [w] = load_activity(Store(), data).warnings
    assert (w.file, w.row, w.column, w.found) == ("invoices.csv", 3, "due_date", "2026-08-01")
    assert w.expected == f"a due date within a year of {CASE_END}"


def test_as_of_past_the_data_warns_in_the_library(tmp_path):
    from riskcore.signals import AsOfWarning, signals_table
    exp = ACTIVITY_CASES["as_of_past_data"]
    store = Store()
    load_activity(store, build_case("as_of_past_data", tmp_path)[0])
    with pytest.warns(AsOfWarning, match=re.escape(exp["quote"])):
        signals_table(store, date(2030, 1, 1))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        signals_table(store, CASE_END)  # within the data: no warning


def test_bad_counts_and_nps_are_read_as_the_warnings_say(tmp_path):
    values = {}
    for name, sql in (("negative_counts", "SELECT logins FROM usage WHERE date = DATE '2025-06-20'"),
                      ("fractional_counts", "SELECT active_users FROM usage WHERE date = DATE '2025-06-20'"),
                      ("nps_out_of_range", "SELECT count(nps) FROM touchpoints"),
                      ("duplicated_rows", "SELECT count(*) FROM tickets")):
        store = Store()
        report = load_activity(store, build_case(name, tmp_path / name)[0])
        values[name] = (store.one(sql), report.rows_skipped)
    assert values == {"negative_counts": (None, 0), "fractional_counts": (3, 0), "nps_out_of_range": (2, 0),
                      "duplicated_rows": (4, 1)}


def test_churn_before_start_no_longer_hides_the_account(tmp_path):
    from riskcore.signals import outcomes, signals_table
    store = Store()
    load_activity(store, build_case("churn_before_start", tmp_path)[0])
    active = [r[0] for r in store.rows(f"SELECT account_id FROM {signals_table(store, CASE_END)} ORDER BY 1")]
    assert active == ["A1", "A2", "A3"]  # A4 churned 2025-06-15; A3 stays
    assert "A3" in set(outcomes(store, date(2025, 1, 1), 90)["account_id"])


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith(("override_", "value_column_"))])
def test_rule_set_cases_through_the_library(name, tmp_path):
    from riskcore.datachecks import ruleset_problems
    from riskcore.rules import load_ruleset
    from riskcore.signals import signals_table
    exp = ACTIVITY_CASES[name]
    data, rules, _ = build_case(name, tmp_path)
    store = Store()
    assert load_activity(store, data).problems == []
    problems = ruleset_problems(store, load_ruleset(rules), signals_table(store, CASE_END), source=rules.name)
    [p] = _matching(problems, exp)
    assert (p.file, p.severity, p.column) == (exp["file"], "warning", exp["column"] or "segment")


def test_value_column_partly_text_names_the_bad_values():
    from riskcore.datachecks import ruleset_problems
    from riskcore.rules import load_ruleset
    store = Store()
    store.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('a', '100'), ('b', 'n/a'), ('c', ' ')) v(account_id, mrr)")
    rs = load_ruleset(CASE_RULES.format(value="mrr", overrides=""))
    [p] = ruleset_problems(store, rs, "t")
    assert "has 1 value(s) that are not numbers (e.g. 'n/a')" in p.message
    store.execute("CREATE TABLE u AS SELECT 'a' AS account_id, 12.5 AS mrr")
    assert ruleset_problems(store, rs, "u") == []


def test_duplicates_and_sanity_checks_leave_no_helper_tables(tmp_path):
    store = Store()
    load_activity(store, build_case("duplicated_rows", tmp_path)[0])
    assert not [t for t in store.tables() if t.startswith(("_stage_", "_raw_", "_dups_"))]
