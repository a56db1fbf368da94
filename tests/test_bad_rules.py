"""The bad rule-set corpus (tests/data/bad_rules): every file's expectation is read from the project
README's table "Rule sets (`tests/data/bad_rules/`)" (file, what is wrong, what the user sees, outcome)
and checked through `riskcore.rules`, `python -m riskcore score / backtest / snapshot` and the app's
pattern paths. Type checks run against tests/data/good/typed_export.csv, a small CRM-style export."""

from __future__ import annotations

import re

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from riskcore.cli import main
from riskcore.db import Store
from riskcore.loading import load_data
from riskcore.rules import (NO_RULES, RuleSetError, content_hash, load_ruleset, rule_problems, ruleset_to_toml,
                            validate_ruleset)
from riskcore.scoring import available_rules, column_facts, firings

HERE = Path(__file__).parent
BAD_RULES = HERE / "data" / "bad_rules"
ACCOUNTS = HERE / "data" / "good" / "accounts.csv"
TYPED = HERE / "data" / "good" / "typed_export.csv"
REPO = HERE.parent
OUTCOMES = ("error", "unavailable", "scores", "no rules")
# what must never reach the user: engine exception names and messages, Python internals
ENGINE = ("BinderException", "ConversionException", "OutOfRangeException", "InvalidInputException", "IOException",
          "CatalogException", "ParserException", "Binder Error", "Conversion Error", "Out of Range Error",
          "Invalid Input Error", "RecursionError", "AssertionError", "Traceback")


def readme_table() -> dict[str, tuple[str, str, str]]:
    """file -> (what is wrong, what the user sees, outcome), from the project README."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = re.split(r"\n##+ ", text.split("### Rule sets (`tests/data/bad_rules/`)", 1)[1], maxsplit=1)[0]
    rows = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            assert len(cells) == 4, line
            rows[cells[0].strip("`")] = (cells[1], cells[2], cells[3])
    return rows


CORPUS = readme_table()


def files(outcome: str) -> list[str]:
    return sorted(f for f, (_, _, o) in CORPUS.items() if o == outcome)


def sees(name: str) -> str:
    return CORPUS[name][1]


def test_readme_table_covers_every_file():
    on_disk = {p.name for p in BAD_RULES.glob("*.toml")}
    assert set(CORPUS) == on_disk
    assert {o for _, _, o in CORPUS.values()} <= set(OUTCOMES)
    assert len(on_disk) >= 50 and len(files("unavailable")) >= 14


@pytest.fixture(scope="module")
def typed() -> Store:
    """The export the type cases run against; its column types are what the cases are about."""
    store = Store()
    load_data(store, TYPED)
    types = store.column_types("account_table")
    assert {c: types[c] for c in ("Phone", "Plan", "Company", "Autopay", "renewal_date")} == {
        "Phone": "VARCHAR", "Plan": "VARCHAR", "Company": "VARCHAR", "Autopay": "BOOLEAN", "renewal_date": "DATE"}
    assert types["Seats"] in ("DOUBLE", "BIGINT") and types["Support calls"] in ("DOUBLE", "BIGINT")
    assert store.one('SELECT count("Age") FROM account_table') == 0
    return store


# ---- error: the file does not load ---------------------------------------------------------

@pytest.mark.parametrize("name", files("error"))
def test_error_message_names_file_rule_and_field(name):
    with pytest.raises(RuleSetError) as err:
        load_ruleset(BAD_RULES / name)
    assert f"{BAD_RULES / name}: {sees(name)}" in str(err.value)


@pytest.mark.parametrize("name", files("error"))
def test_cli_score_exits_1_with_the_message(name, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    rc = main(["score", "--data", str(ACCOUNTS), "--rules", str(BAD_RULES / name), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.startswith("error: ") and f"{BAD_RULES / name}: {sees(name)}" in err
    assert not any(e in err for e in ENGINE) and not out.exists()


# ---- unavailable: loads; on this data the rule (or segment) is left out with a note --------------

@pytest.mark.parametrize("name", files("unavailable"))
def test_unavailable_is_reported_against_the_data(name, typed):
    rs = load_ruleset(BAD_RULES / name)
    facts = column_facts(typed, "account_table", rs)
    assert sees(name) in validate_ruleset(rs, facts)
    # the other rules stay available; a type problem is found only with the types (plain names: presence)
    assert available_rules(rs, facts)
    if "not in the data" not in sees(name):
        assert sees(name) not in validate_ruleset(rs, list(facts))


@pytest.mark.parametrize("name", files("unavailable") + files("scores"))
def test_score_backtest_snapshot_never_show_an_engine_error(name, typed, tmp_path, capsys):
    rules = str(BAD_RULES / name)
    runs = {"score": ["--out", str(tmp_path / "scores.csv")], "backtest": [],
            "snapshot": ["--store", str(tmp_path / "history.duckdb")]}
    err = {}
    for command, extra in runs.items():
        rc = main([command, "--data", str(TYPED), "--rules", rules, *extra])
        got = capsys.readouterr()
        assert rc == 0, (command, got.err)
        assert not any(e in got.out + got.err for e in ENGINE), (command, got.out + got.err)
        err[command] = got.err
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert len(scores) == 40 and scores["risk_score"].notna().all()
    if CORPUS[name][2] == "unavailable":  # the note names rule, field, column and type
        where = "snapshot" if sees(name).startswith("behavior segment") else "score"
        assert f"note: {sees(name)}" in err[where]
    else:
        assert "note:" not in err["score"]


@pytest.mark.parametrize("name", files("unavailable"))
def test_app_pattern_paths_leave_the_rule_out(name, typed):
    """The Tuning page (pattern index, threshold regroup) and the quick backtest compile through the
    same check: no engine error, and the unavailable rule has no firings column."""
    from dataclasses import replace

    from riskcore.accuracy import backtest_patterns
    from riskcore.engine import Engine
    rs = load_ruleset(BAD_RULES / name)
    bad = {p.id for p in rule_problems(rs, column_facts(typed, "account_table", rs))}
    engine = Engine(typed)
    idx = engine.index(rs, None)
    assert not bad & set(idx.base.rule_ids)
    moved = replace(rs, rules=tuple(replace(r, threshold=6) if r.id == "many_calls" else r for r in rs.rules))
    assert engine.tuning(rs, moved, None).__class__.__name__ == "TuningNumbers"  # the pattern path, no fallback
    bp = backtest_patterns(typed, rs)
    assert not bad & set(bp.test.rule_ids)


# ---- scores: arithmetic that used to give inf, NaN or an engine error -------------------------

def _fired(store: Store, name: str) -> pd.DataFrame:
    rs = load_ruleset(BAD_RULES / name)
    table = firings(store, rs, "account_table", out_table="test_bad_rules_firings")
    return store.df(f"SELECT * FROM {table}")


def test_division_by_zero_is_null_and_null_fires_decides(typed):
    f = _fired(typed, "div_by_zero.toml")
    assert f["v_seats_div_zero"].isna().all() and f["v_seats_div_zero_nf"].isna().all()
    assert (f["f_seats_div_zero"] == 0).all() and (f["f_seats_div_zero_nf"] == 1).all()


def test_modulo_by_zero_is_null(typed):
    f = _fired(typed, "mod_by_zero.toml")
    assert f["v_seats_mod_zero"].isna().all() and (f["f_seats_mod_zero"] == 0).all()


def test_zero_over_zero_is_null_not_nan(typed):
    rs = load_ruleset(BAD_RULES / "zero_div_zero.toml")
    table = firings(typed, rs, "account_table", out_table="test_bad_rules_nan")
    assert typed.one(f"SELECT count(*) FROM {table} WHERE v_nan_ratio IS NOT NULL") == 0  # NaN is not NULL
    assert typed.one(f"SELECT sum(f_nan_ratio) FROM {table}") == 0


def test_integer_overflow_is_computed_in_double(typed):
    f = _fired(typed, "integer_overflow.toml")
    seats = typed.df("SELECT Seats FROM account_table")["Seats"]
    assert f["v_big_sum"].tolist() == [9223372036854775807.0 + 1 + s for s in seats]
    assert (f["f_big_sum"] == 1).all()


# ---- no rules: loads and writes, but nothing scores it ----------------------------------------

def test_no_rules_loads_round_trips_and_is_reported():
    rs = load_ruleset(BAD_RULES / "no_rules.toml")
    assert rs.rules == () and sees("no_rules.toml") == NO_RULES
    assert load_ruleset(ruleset_to_toml(rs)) == rs and len(content_hash(rs)) == 64  # was an AssertionError
    assert validate_ruleset(rs, ["account_id", "arr"]) == [NO_RULES]


@pytest.mark.parametrize("command, extra", [("score", ["--out", "{tmp}/s.csv"]), ("backtest", []),
                                            ("fit", ["--out", "{tmp}/fit.toml"]),
                                            ("snapshot", ["--store", "{tmp}/h.duckdb"])])
def test_cli_refuses_a_rule_set_without_rules(command, extra, tmp_path, capsys):
    path = BAD_RULES / "no_rules.toml"
    rc = main([command, "--data", str(TYPED), "--rules", str(path), *(e.format(tmp=tmp_path) for e in extra)])
    err = capsys.readouterr().err
    assert rc == 1 and err == f"error: {path}: {NO_RULES}\n"
    assert list(tmp_path.iterdir()) == []


def test_cli_subprocess_end_to_end():
    """Three files through a real `python -m riskcore score` (run side by side): exit 1, message, no traceback."""
    names = ["injection_semicolon.toml", "read_csv_call.toml", "deep_parens.toml"]
    procs = {n: subprocess.Popen([sys.executable, "-m", "riskcore", "score", "--data", str(ACCOUNTS), "--rules",
                                  str(BAD_RULES / n), "--out", "/nonexistent/never_written.csv"],
                                 cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in names}
    for n, p in procs.items():
        out, err = p.communicate(timeout=120)
        assert p.returncode == 1, (n, out, err)
        assert f"{BAD_RULES / n}: {sees(n)}" in err and "Traceback" not in out + err


def test_app_pages_explain_a_rule_set_without_rules(tmp_path_factory):
    """no_rules.toml imported on the Tuning page as the draft: every page says so, none raises
    (they used to die in the canonical TOML writer's AssertionError)."""
    from conftest import app_env
    from streamlit.testing.v1 import AppTest

    from ui.session import NO_RULES as PAGE_NOTE
    from riskcore.versions import DRAFT
    with app_env(tmp_path_factory):
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180).run()
        at.switch_page("ui/tuning.py").run()
        toml = (BAD_RULES / "no_rules.toml").read_bytes()
        at.file_uploader(key="import_toml").set_value(("no_rules.toml", toml, "application/toml")).run()
        assert at.session_state["draft"].rules == ()
        at.selectbox(key="ruleset_choice").set_value(DRAFT).run()
        for page in ("ui/overview.py", "ui/accounts.py", "ui/tuning.py", "ui/calibration.py"):
            at.switch_page(page).run()
            assert not at.exception, (page, [e.message for e in at.exception])
            assert not at.error, (page, [e.value for e in at.error])
            assert at.session_state["_ctx"].rs.rules == ()
            assert PAGE_NOTE in [i.value for i in at.info], page


def test_a_comparison_of_a_comparison_compiles_with_parentheses(typed):
    f = _fired(typed, "chained_comparison.toml")
    seats = typed.df("SELECT Seats FROM account_table")["Seats"]
    assert f["f_many_seats_true"].tolist() == [1.0 if s > 10 else 0.0 for s in seats]
