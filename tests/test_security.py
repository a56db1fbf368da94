"""Security: lock-down of the rule-SQL connection, and property tests that no user text reaches SQL.

Hypothesis drives random owner / segment / search values, column names and rule labels, thresholds
and override segments through the real compilers and a real DuckDB store, and checks that each is
matched literally (compared with plain Python), bound (absent from the SQL text) or refused.
"""

from __future__ import annotations

import re

import csv
import string

import duckdb
import pandas as pd
import pytest
import tomli_w
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from riskcore import fixtures
from riskcore.aggregates import Filters, account_list, compile_filters, count_accounts
from riskcore.db import Mapping, Store, quote_ident
from riskcore.loading import load_account_table, load_data
from riskcore.mapping import find_column
from riskcore.report import LoadError
from riskcore.rules import RuleSetError, load_ruleset
from riskcore.rules import number_text
from riskcore.scoring import compile_firings, compile_scores, firings, score_df
from riskcore.security import check_loadable, is_locked, lock_down, open_locked_store

from pathlib import Path

GOOD = Path(__file__).parent / "data" / "good"

# Text a user could type: printable ASCII (quotes, %, _, \, ;, --) plus a few non-ASCII letters.
# (Lower-casing of exotic scripts differs between DuckDB and Python, so `search` sticks to these.)
USER_CHARS = string.printable.replace("\x0b", "").replace("\x0c", "") + "éüßÆøñ漢字😀’"
user_text = st.text(alphabet=USER_CHARS, min_size=1, max_size=24)
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                   min_size=1, max_size=24)
PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# ---- lock-down -------------------------------------------------------------------------------

ATTACKS = {
    "read_csv": "SELECT * FROM read_csv('/etc/passwd')",
    "read_text": "SELECT * FROM read_text('/etc/passwd')",
    "replacement scan": "SELECT * FROM '/etc/passwd'",
    "glob": "SELECT * FROM glob('/etc/*')",
    "copy to": "COPY signals TO '{out}' (HEADER)",
    "copy from": "COPY signals FROM '/etc/passwd'",
    "export database": "EXPORT DATABASE '{outdir}'",
    "attach": "ATTACH '{db}' AS other",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "switch back": "SET enable_external_access = true",
    "reset": "RESET enable_external_access",
    "unlock": "SET lock_configuration = false",
    "secret": "CREATE SECRET (TYPE s3, KEY_ID 'a', SECRET 'b')",
}


@pytest.fixture()
def scenario():
    store = fixtures.signals_store()
    rs = load_ruleset(fixtures.SCENARIO_RULES)
    return store, rs


def test_lock_down_refuses_every_file_and_extension_path(scenario, tmp_path):
    store, rs = scenario
    before = score_df(store, rs, "signals")
    assert not is_locked(store)
    assert lock_down(store) is store and is_locked(store)
    lock_down(store)  # idempotent: a second call must not try to change the locked setting
    out, outdir, db = tmp_path / "out.csv", tmp_path / "export", tmp_path / "other.duckdb"
    for name, sql in ATTACKS.items():
        with pytest.raises(duckdb.Error):
            store.execute(sql.format(out=out, outdir=outdir, db=db))
    assert not out.exists() and not outdir.exists() and not db.exists()
    assert is_locked(store), "no statement may switch external access back on"
    # scoring (which creates tables and binds values) still works and gives the same result
    after = score_df(store, rs, "signals", out_table="scores_locked")
    pd.testing.assert_frame_equal(before, after)


def test_locked_store_still_accepts_frames_but_not_files(tmp_path):
    store = open_locked_store(GOOD / "accounts.csv")
    assert is_locked(store) and store.dataset.kind == "account_table"
    gen, n = store.generation, store.one("SELECT count(*) FROM account_table")
    with pytest.raises(LoadError) as err:
        load_data(store, GOOD / "accounts_v2.csv")
    assert "accounts_v2.csv" in str(err.value) and "disabled by configuration" in str(err.value)
    assert store.generation == gen and store.one("SELECT count(*) FROM account_table") == n  # old data stays
    with pytest.raises(LoadError, match="locked down"):
        check_loadable(store, "x.csv")
    store.register_df("frame_in", pd.DataFrame({"a": [1, 2, 3]}))  # not file access: allowed
    assert store.one("SELECT sum(a) FROM frame_in") == 6
    fresh = open_locked_store(GOOD / "accounts_v2.csv")  # new data: a fresh store, locked in turn
    assert is_locked(fresh) and fresh.one("SELECT count(*) FROM account_table") >= 1


def test_locked_file_store_keeps_writing_its_own_database(tmp_path):
    path = str(tmp_path / "app.duckdb")
    store = fixtures.signals_store(store=Store(path))
    lock_down(store)
    store.execute("CREATE TABLE kept AS SELECT count(*) AS n FROM signals")
    store.execute("CHECKPOINT")
    store.close()
    again = Store(path, read_only=True)
    assert again.one("SELECT n FROM kept") == len(fixtures.scenario_signals_frame())
    assert not is_locked(again)  # the setting is per connection: every new store must be locked again


# ---- filters: random values are bound and matched literally ----------------------------------

def _scored(store: Store, owners: list, names: list) -> None:
    n = len(owners)
    store.register_df("sc", pd.DataFrame({
        "account_id": [f"id{i}" for i in range(n)], "account_name": names, "csm_owner": owners,
        "segment": owners, "tier": ["low"] * n, "quadrant": ["Save"] * n,
        "risk_score": [float(i) for i in range(n)], "value": [1.0] * n}))


@pytest.fixture(scope="module")
def fstore():
    return Store()


@PROPS
@given(value=any_text, other=any_text)
def test_owner_and_segment_values_match_literally(fstore, value, other):
    near = [value, value + "x", "x" + value, value.upper(), value.lower(), value.strip(), other, "%", "_",
            "' OR '1'='1", None]
    _scored(fstore, near, ["n"] * len(near))
    for field in ("owner", "segment"):
        f = Filters(**{field: (value,)})
        where, params = compile_filters(f)
        assert where == compile_filters(Filters(**{field: ("x",)}))[0]  # the SQL text does not depend on it
        assert params == [value]
        expected = sum(o == value for o in near)
        assert count_accounts(fstore, "sc", f) == expected
        got = account_list(fstore, "sc", f, limit=100)
        assert set(got["csm_owner"]) <= {value}
    two = Filters(owner=(value, other))
    assert count_accounts(fstore, "sc", two) == sum(o in (value, other) for o in near)


@PROPS
@given(search=user_text, name=user_text)
def test_search_is_a_literal_case_insensitive_substring(fstore, search, name):
    names = [name, search, "pre" + search + "post", search.upper(), "100%", "a_b", "O'Brien", None]
    _scored(fstore, ["o"] * len(names), names)
    f = Filters(search=search)
    where, params = compile_filters(f)
    if search.strip() == "":
        assert (where, params) == ("TRUE", [])
        expected = len(names)
    else:
        assert params == [search, search] and where == compile_filters(Filters(search="x"))[0]
        ids = [f"id{i}" for i in range(len(names))]
        expected = sum(search.lower() in (n or "").lower() or search.lower() in i for n, i in zip(names, ids))
    assert count_accounts(fstore, "sc", f) == expected


@PROPS
@given(value=any_text)
def test_tier_and_quadrant_values_are_checked_not_passed(value):
    assume(value not in ("low", "medium", "high"))
    with pytest.raises(ValueError, match="filter 'tier'"):
        Filters(tier=value)
    assume(value.lower() not in ("save", "expand", "maintain", "triage"))
    with pytest.raises(ValueError, match="filter 'quadrant'"):
        Filters(quadrant=value)


# ---- column names: refused, or quoted and round-tripped --------------------------------------

@PROPS
@given(name=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_random_column_names_are_refused_or_round_trip(fstore, name):
    if name == "" or "\x00" in name:
        with pytest.raises(ValueError, match="invalid identifier"):
            quote_ident(name)
        return
    assume(name.lower() != "account_id")
    q = quote_ident(name)
    fstore.execute(f"CREATE OR REPLACE TABLE colt AS SELECT 'a1' AS account_id, ? AS {q}", ["v"])
    assert fstore.columns("colt") == ["account_id", name]
    assert fstore.one(f"SELECT {q} FROM colt") == "v"
    real = find_column(name, ["account_id", name])
    assert real == name
    assert find_column(name + "\x01zz", ["account_id", name]) in (None, name)  # never an unlisted column


@settings(max_examples=20, deadline=None)
@given(name=st.text(alphabet=USER_CHARS.replace("\r", "").replace("\n", ""), min_size=1, max_size=20))
def test_random_value_column_through_the_loader(tmp_path_factory, name):
    """An account table whose value column has a random name: it loads with arr from that column
    (the name quoted, never pasted) or fails with a LoadError; never another exception."""
    assume(name.strip() and name.strip().lower() not in ("id", "account_id"))
    path = tmp_path_factory.mktemp("col") / "t.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", name])
        w.writerows([["a", "1"], ["b", "2"]])
    store = Store()
    try:
        load_account_table(store, path, Mapping(id_column="id", value_column=name))
    except LoadError as e:
        assert str(e).strip()  # a message, naming something
        return
    assert store.df("SELECT arr FROM account_table ORDER BY account_id")["arr"].tolist() == [1.0, 2.0]


# ---- rule sets: labels, thresholds, points, override segments are bound ----------------------

def _ruleset(label: str, threshold: float, points: float, segment: str, opoints: float):
    doc = {"name": "prop", "primary_dimension": "churn",
           "rules": [{"id": "r1", "label": label, "dimension": "churn", "signal": "sig", "op": "<",
                      "threshold": threshold, "points": points, "group": "usage"}],
           "overrides": [{"segment": segment, "rule": "r1", "points": opoints}]}
    return load_ruleset(tomli_w.dumps(doc))


@PROPS
@given(label=any_text, threshold=st.floats(-1e6, 1e6, allow_nan=False), points=st.integers(0, 100),
       segment=any_text, opoints=st.integers(0, 100), sigs=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=6))
def test_rule_values_never_appear_in_sql_and_score_like_python(fstore, label, threshold, points, segment, opoints,
                                                              sigs):
    label, segment = "LBL" + label, "SEG" + segment  # markers that no SQL template contains
    rs = _ruleset(label, threshold, points, segment, opoints)
    segs = [segment if i % 2 == 0 else segment + " " for i in range(len(sigs))]
    frame = pd.DataFrame({"account_id": [f"a{i}" for i in range(len(sigs))], "segment": segs,
                          "stage": "adopted", "arr": 1.0, "sig": sigs})
    fstore.register_df("psig", frame)
    sql1, p1 = compile_firings(rs, frame.columns, source="psig")
    assert "SEG" not in sql1 and "LBL" not in sql1 and threshold in p1
    firings(fstore, rs, "psig", out_table="pfire")
    sql2, p2 = compile_scores(rs, fstore.columns("pfire"), source="pfire")
    # the label is bound with its condition beside it ("LBL... (sig < 0)": rules.reason_parts)
    assert "LBL" not in sql2 and "SEG" not in sql2 and segment in p2
    assert any(isinstance(x, str) and x.startswith(label + " (sig < ") for x in p2)
    got = score_df(fstore, rs, "psig", out_table="pscores").set_index("account_id")["churn_score"]
    for i, (seg, v) in enumerate(zip(segs, sigs)):
        pts = (opoints if seg == segment else points) if v < threshold else 0
        assert got[f"a{i}"] == pytest.approx(min(100.0, pts))
    fired = score_df(fstore, rs, "psig", out_table="pscores")
    for reasons in fired["reasons"]:
        for r in reasons:
            assert r["label"] == f"{label} (sig < {number_text(threshold, 'up')})"  # as data, unchanged
            assert r["condition"] == f"sig < {number_text(threshold, 'up')}"


@pytest.mark.parametrize("signal", [
    "usage_change_30d; DROP TABLE accounts",
    "(SELECT count(*) FROM accounts)",
    "read_csv('/etc/passwd') IS NULL",
    "sig /* c */ + 1",
    "getenv('HOME') = 'x'",
    "sig IN (SELECT 1)",
])
def test_injection_in_a_signal_is_refused_at_load(signal):
    doc = {"name": "x", "rules": [{"id": "bad", "label": "x", "dimension": "churn", "signal": signal, "op": ">",
                                   "threshold": 0, "points": 10, "group": "usage"}]}
    with pytest.raises(RuleSetError, match=r"rule 'bad', field 'signal'"):
        load_ruleset(tomli_w.dumps(doc))


def test_a_name_like_signal_is_only_ever_a_quoted_column_name():
    """`sig -- c` is not an expression (comment) but could be a column name with spaces: it is
    looked up as a column, quoted if it exists, and otherwise makes the rule unavailable."""
    doc = {"name": "x", "rules": [{"id": "odd", "label": "x", "dimension": "churn", "signal": "sig -- c",
                                   "op": ">", "threshold": 0, "points": 10, "group": "usage"}]}
    rs = load_ruleset(tomli_w.dumps(doc))
    sql, _ = compile_firings(rs, ["account_id", "sig"], source="t")
    assert "--" not in sql  # unavailable: not compiled at all
    sql, _ = compile_firings(rs, ["account_id", "sig -- c"], source="t")
    assert '"sig -- c" AS "v_odd"' in sql and sql.count("--") == 1


# ---- what a load may read: links out of the data folder, DuckDB views that read files ---------------
# (issue 13, security findings 1 and 2; docs/SECURITY.md section 5). The "secret" is a valid accounts
# table outside the data folder: if a check were missing it would load, and its line would show.

SECRET = "s3cret-acct-77"
ACTIVITY_ACCOUNTS = "account_id,account_name,arr,contract_start\na1,Alpha,1200,2024-01-01\na2,Bravo,300,2024-02-01\n"


@pytest.fixture()
def secret(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    path = outside / "secret.csv"
    path.write_text(f"account_id,account_name,arr,contract_start\n{SECRET},{SECRET}-name,1,2024-01-01\n")
    return path


def _linked_folder(tmp_path, secret):
    folder = tmp_path / "root" / "acme"
    folder.mkdir(parents=True)
    (folder / "accounts.csv").symlink_to(secret)
    (folder / "usage.csv").symlink_to("/etc/passwd")
    return folder


def _evil_duckdb(path, secret) -> str:
    """A DuckDB file whose `accounts` is a view reading a file outside it (the test writes the path
    into its own DDL: the attack under test); `usage` is an ordinary table."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE usage AS SELECT 'a1' AS account_id, DATE '2024-05-01' AS date, 3 AS logins")
    con.execute(f"CREATE VIEW accounts AS SELECT * FROM read_csv('{secret}')")
    assert SECRET in str(con.execute("SELECT account_id FROM accounts").fetchall())  # the attack works unlocked
    con.close()
    return str(path)


def _load_problems(path) -> list:
    with pytest.raises(LoadError) as info:
        load_data(Store(), path)
    return info.value.report.problems


def test_a_table_file_linked_out_of_the_folder_is_refused_unread(tmp_path, secret):
    problems = _load_problems(_linked_folder(tmp_path, secret))
    by_file = {p.file: p for p in problems}
    assert set(by_file) == {"accounts.csv", "usage.csv"}
    for p in by_file.values():
        assert p.severity == "error" and "symbolic link to a file outside" in p.message and "not read" in p.message
    shown = "\n".join(map(str, problems))
    assert SECRET not in shown and "root:" not in shown and "/bin/" not in shown and str(secret) not in shown


def test_links_inside_the_folder_still_load(tmp_path):
    folder = tmp_path / "exports"
    (folder / "2026").mkdir(parents=True)
    (folder / "2026" / "accounts-jan.csv").write_text(ACTIVITY_ACCOUNTS)
    (folder / "accounts.csv").symlink_to(folder / "2026" / "accounts-jan.csv")
    store = Store()
    assert load_data(store, folder).tables == {"accounts": 2}
    assert [r[0] for r in store.rows("SELECT account_id FROM accounts ORDER BY 1")] == ["a1", "a2"]


def test_a_link_into_a_configured_data_root_loads(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "accounts.csv").write_text(ACTIVITY_ACCOUNTS)
    folder = tmp_path / "acme"
    folder.mkdir()
    (folder / "accounts.csv").symlink_to(shared / "accounts.csv")
    assert _load_problems(folder)[0].file == "accounts.csv"  # outside the folder and every root
    monkeypatch.setenv("RISKCORE_DATA_ROOT", str(shared))
    assert load_data(Store(), folder).tables == {"accounts": 2}


def test_pattern_characters_in_a_path_are_refused(tmp_path):
    """DuckDB reads `exp[12]/accounts.csv` as a glob: exp1/ and exp2/, not the folder named."""
    from riskcore.security import readable_file
    for name in ("exp1", "exp[12]"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "accounts.csv").write_text(ACTIVITY_ACCOUNTS.replace("Alpha", name))
    real, why = readable_file(tmp_path / "exp[12]" / "accounts.csv", [tmp_path.resolve()])
    assert real is None and "*, ? or [" in why
    (problem,) = _load_problems(tmp_path / "exp[12]")
    assert problem.file == "accounts.csv" and "pattern" in problem.message


def test_a_duckdb_view_reading_a_file_fails_named(tmp_path, secret):
    problems = _load_problems(_evil_duckdb(tmp_path / "evil.duckdb", secret))
    (p,) = [p for p in problems if p.severity == "error"]
    assert p.file == "evil.duckdb:accounts"
    assert p.message.startswith("the view 'accounts' reads files outside the DuckDB file")
    shown = "\n".join(map(str, problems))
    assert SECRET not in shown and str(secret) not in shown
    assert "Permission" not in shown and "Exception" not in shown


def test_a_duckdb_view_over_its_own_tables_loads(tmp_path):
    db = tmp_path / "ok.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE accounts_raw AS SELECT * FROM read_csv(?)", [str(GOOD / "accounts.csv")])
    con.execute("CREATE VIEW accounts AS SELECT account_id, account_name, arr, DATE '2024-01-01' AS contract_start "
                "FROM accounts_raw")
    n = con.execute("SELECT count(*) FROM accounts_raw").fetchone()[0]
    con.close()
    report = load_data(Store(), db)
    assert report.tables == {"accounts": n}
    assert [p.file for p in report.warnings] == ["ok.duckdb:accounts_raw"]  # unknown table, ignored


def test_a_duckdb_write_ahead_log_linked_outside_is_refused(tmp_path, secret):
    db = tmp_path / "data" / "x.duckdb"
    db.parent.mkdir()
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE accounts AS SELECT * FROM read_csv(?)", [str(GOOD / "accounts.csv")])
    con.close()
    Path(f"{db}.wal").symlink_to(secret)
    (p,) = _load_problems(db)
    assert p.file == "x.duckdb" and "write-ahead log x.duckdb.wal" in p.message and "outside" in p.message


def test_a_damaged_duckdb_file_gets_a_plain_message(tmp_path):
    db = tmp_path / "t.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE accounts AS SELECT 1 AS a")
    con.close()
    cut = tmp_path / "cut.duckdb"
    cut.write_bytes(db.read_bytes()[:5000])  # the header (with its DUCK magic) and nothing else
    (p,) = _load_problems(cut)  # found damaged before any connection opens it (duckfile.duckdb_file_problem)
    assert Path(p.file).name == "cut.duckdb" and p.message.startswith("the DuckDB file ")
    assert "truncated" in p.message
    assert not re.search(r"\w+(Exception|Error)\b|Traceback", str(p))


def test_user_duckdb_connection_cannot_switch_file_access_back_on(tmp_path, secret):
    from riskcore.security import open_user_database
    con = open_user_database(_evil_duckdb(tmp_path / "evil.duckdb", secret))
    try:
        for sql in ("SET enable_external_access = true", "SET lock_configuration = false",
                    f"SELECT * FROM read_csv('{secret}')", f"ATTACH '{tmp_path / 'o.duckdb'}' AS o"):
            with pytest.raises(duckdb.Error):
                con.execute(sql)
        with pytest.raises(duckdb.PermissionException):
            con.execute("SELECT * FROM accounts")
        assert con.execute("SELECT count(*) FROM usage").fetchone() == (1,)
    finally:
        con.close()


@pytest.mark.parametrize("kind", ["linked folder", "duckdb view"])
def test_cli_names_the_file_and_never_shows_its_content(kind, tmp_path, secret, capsys):
    from riskcore.cli import main
    if kind == "linked folder":
        path, names = str(_linked_folder(tmp_path, secret)), ("accounts.csv", "symbolic link")
    else:
        path, names = _evil_duckdb(tmp_path / "evil.duckdb", secret), ("evil.duckdb:accounts", "view 'accounts'")
    out_file = tmp_path / "scores.csv"
    for argv in (["validate", path], ["score", "--data", path, "--out", str(out_file)]):
        rc = main(argv)
        out, err = capsys.readouterr()
        assert rc == 1, (argv, out, err)
        shown = out + err
        assert all(n in shown for n in names), shown
        for leak in (SECRET, "root:", "Traceback", "Exception", "Permission Error"):
            assert leak not in shown, (leak, shown)
    assert not out_file.exists()


# ---- a CSM's book: the movement matrix and the movers narrow like every other aggregate -------------

def test_tier_movement_and_movers_narrow_to_the_book():
    """Hand-computed on riskcore.fixtures.scored_frames: Ann owns id01 (high -> medium), id03 (high ->
    high) and id08 (medium -> low) in both tables; every other mover belongs to Cy."""
    from riskcore.aggregates import movement_matrix, movers, tier_movement
    from riskcore.fixtures import scored_store
    store = scored_store()
    ann = Filters(owner=("Ann",))
    m = movement_matrix(tier_movement(store, "scored", "scored_b", filters=ann))
    assert m.loc["high"].tolist() == [0, 1, 1] and m.loc["medium"].tolist() == [1, 0, 0]
    assert int(m.to_numpy().sum()) == 3
    assert list(movers(store, "scored", "scored_b", filters=ann)["account_id"]) == ["id01", "id08"]
    assert list(movers(store, "scored", "scored_b", "low", "high", filters=ann)["account_id"]) == []
    assert list(movers(store, "scored", "scored_b", "low", "high")["account_id"]) == ["id04"]  # Cy's, unfiltered
    assert int(movement_matrix(tier_movement(store, "scored", "scored_b")).to_numpy().sum()) == 7
