"""End-to-end runs of `python -m riskcore` over a small sample and a public-style churn table."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from riskcore.cli import main
from riskcore.db import Store
from riskcore.loading import load_data
from riskcore.playbooks import catalog_frame, load_catalog
from riskcore.rules import load_ruleset
from riskcore.sample import ensure_sample
from riskcore.scoring import score
from riskcore.signals import active_dates, signals_table
from riskcore.workspace import DEFAULT_RULES

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sample_dir():
    return ensure_sample(600)


def test_sample_command_is_deterministic(tmp_path, capsys):
    assert main(["sample", "--accounts", "50", "--seed", "3", "--out", str(tmp_path / "a")]) == 0
    assert main(["sample", "--accounts", "50", "--seed", "3", "--out", str(tmp_path / "b")]) == 0
    truth = json.loads((tmp_path / "a" / "truth.json").read_text())
    assert truth["n_accounts"] == 50 and "coefficients" in truth
    for f in (tmp_path / "a").glob("*.parquet"):
        assert pd.read_parquet(f).equals(pd.read_parquet(tmp_path / "b" / f.name))


def test_score_matches_library(sample_dir, tmp_path):
    out = tmp_path / "scores.csv"
    assert main(["score", "--data", str(sample_dir), "--out", str(out)]) == 0
    cli = pd.read_csv(out, encoding="utf-8-sig")
    rs = load_ruleset(DEFAULT_RULES)
    store = Store()
    load_data(store, sample_dir)
    as_of = active_dates(store)[1]
    lib = store.df(f"SELECT * FROM {score(store, rs, signals_table(store, as_of), catalog_frame(load_catalog()))}")
    expected_cols = ["account_id", "risk_score", "tier", "quadrant", "playbook", "reasons"] + [
        f"{d}_score" for d in rs.dimensions]
    assert list(cli.columns) == expected_cols
    merged = cli.merge(lib, on="account_id", suffixes=("_cli", ""))
    assert len(merged) == len(lib) == len(cli)
    assert (merged["risk_score_cli"] == merged["risk_score"]).all()
    assert (merged["tier_cli"] == merged["tier"]).all()
    assert (merged["quadrant_cli"] == merged["quadrant"]).all()


def test_score_parquet_and_signals(sample_dir, tmp_path):
    assert main(["signals", "--data", str(sample_dir), "--as-of", "2026-03-31", "--out", str(tmp_path / "s.parquet")]) == 0
    sig = pd.read_parquet(tmp_path / "s.parquet")
    assert {"usage_change_30d", "champion_left_90d", "days_to_renewal"} <= set(sig.columns)
    assert sig["account_id"].is_unique


TELCO = """customerID,tenure,MonthlyCharges,TotalCharges,Customer service calls,Churn
7590-VHVEG,1,29.85,29.85,5,Yes
5575-GNVDE,34,56.95,1889.5,1,No
3668-QPYBK,2,53.85, ,4,Yes
7795-CFOCW,45,42.30,1840.75,0,No
"""

TELCO_RULES = """
name = "telco"
primary_dimension = "churn"
[tiers]
medium = 31
high = 61
[quadrant]
value_column = "MonthlyCharges"
value_cutoff = 50
risk_cutoff = 61
[fusion]
enabled = false
min_groups = 2
[[rules]]
id = "many_calls"
label = "4+ service calls"
dimension = "churn"
signal = '"Customer service calls"'
op = ">="
threshold = 4
points = 40
group = "support"
[[rules]]
id = "new_customer"
label = "Tenure under 6 months"
dimension = "churn"
signal = "tenure"
op = "<"
threshold = 6
points = 30
group = "engagement"
"""


def test_score_on_a_wide_churn_table(tmp_path):
    data = tmp_path / "telco.csv"
    data.write_text(TELCO)
    rules = tmp_path / "telco.toml"
    rules.write_text(TELCO_RULES)
    out = tmp_path / "out.csv"
    assert main(["score", "--data", str(data), "--rules", str(rules), "--out", str(out)]) == 0
    got = pd.read_csv(out, encoding="utf-8-sig").set_index("account_id")
    # by hand: calls >= 4 -> 40, tenure < 6 -> 30
    assert got.loc["7590-VHVEG", "risk_score"] == 70 and got.loc["7590-VHVEG", "tier"] == "high"
    assert got.loc["3668-QPYBK", "risk_score"] == 70 and got.loc["3668-QPYBK", "quadrant"] == "Save"
    assert got.loc["7590-VHVEG", "quadrant"] == "Triage"  # 29.85 < 50
    assert got.loc["5575-GNVDE", "risk_score"] == 0 and got.loc["5575-GNVDE", "quadrant"] == "Expand"
    assert got.loc["7795-CFOCW", "quadrant"] == "Maintain"


def test_backtest_json_contract_on_a_wide_table(tmp_path, capsys):
    data = tmp_path / "telco.csv"
    data.write_text(TELCO)
    rules = tmp_path / "telco.toml"
    rules.write_text(TELCO_RULES)
    assert main(["backtest", "--data", str(data), "--rules", str(rules), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["mode"] == "cross_validated" and "not point in time" in result["note"]


def test_backtest_and_fit_on_the_sample(sample_dir, tmp_path, capsys):
    assert main(["backtest", "--data", str(sample_dir), "--horizon", "90", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    for key in ("n", "churn_rate", "auc", "brier", "log_loss"):
        assert key in r
    assert [t["tier"] for t in r["tiers"]] == ["low", "medium", "high"]
    assert all({"n", "churn_rate"} <= set(t) for t in r["tiers"])
    assert sum(t["n"] for t in r["tiers"]) == r["n"]
    assert {"precision", "recall", "false_positive_rate"} <= set(r["high_tier"])
    assert r["calibration"] and all({"predicted", "observed", "n"} <= set(b) for b in r["calibration"])
    assert 0.5 < r["auc"] <= 1.0
    out = tmp_path / "fitted.toml"
    assert main(["fit", "--data", str(sample_dir), "--horizon", "90", "--out", str(out)]) == 0
    fitted = load_ruleset(out)
    default = load_ruleset(DEFAULT_RULES)
    assert [r.id for r in fitted.rules] == [r.id for r in default.rules]
    assert [r.points for r in fitted.rules] != [r.points for r in default.rules]
    said = capsys.readouterr().out
    high = fitted.tiers.cuts(fitted.primary_dimension)[1]
    assert f"tier cut-offs: high >= {high:g} (" in said  # chosen from the fitted scores, written, and said


@pytest.mark.parametrize("argv, needle", [
    (["score", "--data", "no/such/file.csv", "--out", "x.csv"], "no/such/file.csv"),
    (["score", "--data", "tests/data/bad/arr_negative.csv", "--out", "x.csv"], "row 2"),
    (["score", "--data", "tests/data/bad/bom.csv", "--rules", "no_rules.toml", "--out", "x.csv"], "no_rules.toml"),
    (["backtest", "--data", "NOOUTCOME"], "outcome"),
])
def test_bad_input_exits_1_with_a_message(argv, needle, tmp_path):
    (tmp_path / "no_outcome.csv").write_text("customerID,ARR\nC1,100\nC2,200\n")
    argv = [str(tmp_path / "no_outcome.csv") if a == "NOOUTCOME" else a for a in argv]
    proc = subprocess.run([sys.executable, "-m", "riskcore", *argv], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert needle in proc.stderr


def test_starter_then_score_on_the_public_export(tmp_path):
    data = REPO.parent / "shared" / "data" / "orange_telecom_churn.csv"
    if not data.exists():
        pytest.skip("public export not present")
    rules = tmp_path / "starter.toml"
    assert main(["starter", "--data", str(data), "--out", str(rules)]) == 0
    assert main(["score", "--data", str(data), "--rules", str(rules), "--out", str(tmp_path / "o.csv")]) == 0
    scored = pd.read_csv(tmp_path / "o.csv", encoding="utf-8-sig")
    assert len(scored) == len(pd.read_csv(data)) and scored["risk_score"].max() > 0
    # tier cut-offs from the data (riskcore.tiercuts): a high tier that churns 2x the base rate; a medium
    # tier only where a band churns 1.25x (on this export none does)
    assert {"low", "high"} <= set(scored["tier"]) <= {"low", "medium", "high"}
    assert (scored["tier"] == "high").mean() < 0.5


# ---- generated cases from the README: activity tables, and outputs that would overwrite an input --------

from test_activity import (ACTIVITY_CASES, CASES, ENGINE_WORDS, _as_duckdb, base_folder,  # noqa: E402
                           build_case, readme_cases)

COMMAND_CASES = readme_cases("### Command line (generated in tests)")


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_activity_case_through_score(name, tmp_path, capsys):
    """`score` over the case: exit 0 with the README's quote as a warning on stderr (naming the file),
    or exit 1 with it as the error; never an engine exception; nothing written on an error."""
    exp = ACTIVITY_CASES[name]
    data, rules, args = build_case(name, tmp_path)
    out = tmp_path / "scores.csv"
    rc = main(["score", "--data", str(data), "--rules", str(rules), *args, "--out", str(out)])
    captured = capsys.readouterr()
    assert not any(w in captured.out + captured.err for w in ENGINE_WORDS)
    if exp["outcome"] == "error":
        assert rc == 1 and not out.exists()
        assert captured.err.startswith("error: ") and exp["quote"] in captured.err
        return
    assert rc == 0 and out.exists() and captured.out.startswith("scored ")
    if exp["outcome"] == "loads":
        assert "warning" not in captured.err
        return
    [line] = [x for x in captured.err.splitlines() if exp["quote"] in x]
    assert line.startswith("warning: ")
    if exp["file"]:
        assert exp["file"] in line
    if exp["row"]:
        assert f"row {exp['row']}" in line
    if exp["column"]:
        assert f"column {exp['column']!r}" in line


def test_usage_2099_does_not_move_the_cli_as_of(tmp_path, capsys):
    data, rules, _ = build_case("usage_2099", tmp_path)
    assert main(["score", "--data", str(data), "--rules", str(rules), "--out", str(tmp_path / "s.csv")]) == 0
    assert "as of 2025-06-28" in capsys.readouterr().out


def _command_folder(tmp: Path) -> None:
    """accounts.csv (a wide churn table), rules.toml, data/ (activity), data.duckdb, link.csv, hard.csv."""
    import os
    (tmp / "accounts.csv").write_text(TELCO)
    (tmp / "rules.toml").write_text(TELCO_RULES)
    _as_duckdb(base_folder(tmp / "data"), tmp / "data.duckdb")
    (tmp / "link.csv").symlink_to("accounts.csv")
    os.link(tmp / "accounts.csv", tmp / "hard.csv")


def _snapshot(tmp: Path) -> dict[str, bytes]:
    return {str(p.relative_to(tmp)): p.read_bytes() for p in sorted(tmp.rglob("*")) if p.is_file()}


def test_readme_lists_the_command_cases():
    assert len(COMMAND_CASES) >= 12
    assert all(c["quote"] and c["what"].startswith("`") for c in COMMAND_CASES.values())


@pytest.mark.parametrize("name", sorted(COMMAND_CASES))
def test_command_case(name, tmp_path, monkeypatch, capsys):
    """The README's command, run in a filled folder: refused with the quoted message and every input
    byte-for-byte unchanged, or run as documented."""
    import shlex
    exp = COMMAND_CASES[name]
    _command_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = _snapshot(tmp_path)
    rc = main(shlex.split(exp["what"].strip("`")))
    captured = capsys.readouterr()
    assert not any(w in captured.out + captured.err for w in ENGINE_WORDS)
    if exp["outcome"].startswith("refused"):
        assert rc == 1 and captured.err.startswith("error: refusing to write ")
        assert exp["quote"] in captured.err and "Nothing was written and the input is untouched" in captured.err
        assert _snapshot(tmp_path) == before  # no input changed, nothing new written
    else:
        assert rc == 0 and exp["quote"] in captured.out


def test_validate_data_flag_is_the_positional_path(tmp_path, capsys):
    bad = REPO / "tests" / "data" / "bad" / "arr_negative.csv"
    assert main(["validate", str(bad)]) == 1
    positional = capsys.readouterr()
    assert main(["validate", "--data", str(bad)]) == 1
    assert capsys.readouterr() == positional and "row 2" in positional.out
    assert main(["validate"]) == 1
    assert "validate PATH ... or validate --data PATH" in capsys.readouterr().err


def test_output_guard_also_catches_an_absolute_path_and_allows_other_files(tmp_path, capsys):
    _command_folder(tmp_path)
    data = tmp_path / "accounts.csv"
    before = data.read_bytes()
    assert main(["starter", "--data", str(data), "--out", str(tmp_path / "." / "accounts.csv")]) == 1
    assert "it is the --data file" in capsys.readouterr().err and data.read_bytes() == before
    assert main(["starter", "--data", str(data), "--out", str(tmp_path / "starter.toml")]) == 0


def test_output_clash_by_case_on_a_case_insensitive_file_system(tmp_path, monkeypatch):
    """Letter case: two names of one file compare equal through the file's identity (samefile), which a
    case-insensitive file system gives both spellings; simulated here, as Linux file systems are not."""
    import os
    from riskcore.atomic import input_clash
    (tmp_path / "export.csv").write_text("x")
    real_samefile = os.path.samefile

    def samefile(a, b):
        a, b = (os.path.join(os.path.dirname(p), os.path.basename(p).lower()) for p in (a, b))
        return real_samefile(a, b)
    monkeypatch.setattr(os.path, "samefile", samefile)
    assert input_clash(tmp_path / "EXPORT.csv", {"--data": tmp_path / "export.csv"}) \
        == f"it is the --data file ({tmp_path / 'export.csv'})"
    assert input_clash(tmp_path / "other.csv", {"--data": tmp_path / "export.csv"}) is None


def test_output_guard_protects_the_default_rule_set(tmp_path, capsys):
    from riskcore.workspace import DEFAULT_RULES
    before = DEFAULT_RULES.read_bytes()
    (tmp_path / "a.csv").write_text(TELCO)
    assert main(["score", "--data", str(tmp_path / "a.csv"), "--out", str(DEFAULT_RULES)]) == 1
    assert f"it is the --rules file ({DEFAULT_RULES})" in capsys.readouterr().err
    assert DEFAULT_RULES.read_bytes() == before


def test_date_flags_on_an_account_table_are_named_not_ignored(tmp_path, capsys):
    """An account table has no dates: --horizon / --as-of change nothing, and the CLI says so."""
    from riskcore.cli import main
    csv = tmp_path / "t.csv"
    csv.write_text("customerID,calls,Churn\n" + "".join(f"C{i},{i % 9},{'Yes' if i % 4 == 0 else 'No'}\n"
                                                         for i in range(80)), encoding="utf-8")
    rules = tmp_path / "r.toml"
    rules.write_text('name = "r"\n[[rules]]\nid = "calls"\nlabel = "calls"\ndimension = "churn"\n'
                     'signal = "calls"\nop = ">="\nthreshold = 6\npoints = 40\ngroup = "engagement"\n', encoding="utf-8")
    assert main(["backtest", "--data", str(csv), "--rules", str(rules), "--json"]) == 0
    plain = capsys.readouterr()
    assert "ignored" not in plain.err
    assert main(["backtest", "--data", str(csv), "--rules", str(rules), "--json", "--horizon", "30",
                 "--as-of", "2026-01-01"]) == 0
    flagged = capsys.readouterr()
    assert "note: --as-of, --horizon ignored: an account table has no dates" in flagged.err
    assert json.loads(flagged.out)["auc"] == json.loads(plain.out)["auc"]


def test_a_rule_set_none_of_whose_rules_fit_the_data_says_every_score_is_zero(tmp_path, capsys):
    from riskcore.cli import main
    csv = tmp_path / "t.csv"
    csv.write_text("customerID,calls,Churn\nC1,3,Yes\nC2,1,No\n", encoding="utf-8")
    assert main(["score", "--data", str(csv), "--out", str(tmp_path / "s.csv")]) == 0  # the default rule set
    err = capsys.readouterr().err
    assert "warning: no rule of this rule set can run on this data, so every score is 0" in err
    assert "riskcore starter" in err
