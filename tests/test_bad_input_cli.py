"""The account-table corpus (tests/data/bad) through the command line: `validate` and `score` exit 0
for files that load (with or without warnings) and 1 otherwise, print the problems, never a traceback.
Plus a ~200 MB CSV generated in the test: it loads through the CLI with bounded memory."""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from riskcore.cli import main
from riskcore.loading import validate_path
from test_loading import CORPUS  # file -> (mapping, expected problems), asserted in detail there

HERE = Path(__file__).parent
BAD = HERE / "data" / "bad"
REPO = HERE.parent


def _flags(mapping) -> list[str]:
    if mapping is None:
        return []
    out = []
    for field, value in vars(mapping).items():
        if value is None:
            continue
        if field == "outcome_positive":
            out += ["--outcome-positive", ",".join(value)]
        else:
            out += [f"--{field.removesuffix('_column')}-column", value]
    return out


def _loads(name: str) -> bool:
    return not any(p[0] == "error" for p in CORPUS[name][1])


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_validate(name, capsys):
    rc = main(["validate", str(BAD / name), *_flags(CORPUS[name][0])])
    out, err = capsys.readouterr()
    assert rc == (0 if _loads(name) else 1)
    assert out.startswith(f"{BAD / name}: {'OK' if _loads(name) else 'FAILED'}")
    for severity, row, column, text in CORPUS[name][1]:
        assert text in out  # every expected problem is printed
    assert "Traceback" not in out + err


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_score(name, tmp_path, capsys):
    dest = tmp_path / "scores.csv"
    rc = main(["score", "--data", str(BAD / name), *_flags(CORPUS[name][0]), "--out", str(dest)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    if _loads(name):
        assert rc == 0 and dest.exists() and out.startswith("scored ")
        for severity, row, column, text in CORPUS[name][1]:
            assert text in err  # warnings go to stderr
    else:
        assert rc == 1 and not dest.exists()
        first_error = next(p for p in CORPUS[name][1] if p[0] == "error")
        assert f"error: {BAD / name}" in err and first_error[3] in err


RULE = """name = "one rule"
primary_dimension = "churn"
dimensions = ["churn"]

[tiers]
medium = 31
high = 61
mode = "points"

[[rules]]
id = "r1"
label = "the rule"
dimension = "churn"
signal = '"{signal}"'
op = ">="
threshold = {threshold}
points = 40
group = "external"
null_fires = false
"""


@pytest.mark.parametrize("name, signal, threshold, fired", [
    ("bank_age_blanks.csv", "Age", 42, {"15592531", "15619304", "15634602", "15737888"}),  # was a BinderException
    ("blank_numeric_cells.csv", "Logins", 10, {"C2"}),
    ("all_blank_column.csv", "Discount", 5, set()),
    ("excel_blank_column.xlsx", "NPS", 5, set()),
    ("thousands_separators.csv", "api_calls", 1000, {"C1", "C3", "C4"}),
    ("percent_values.csv", "discount", 40, {"C1", "C4"}),  # 45% and 100 % read as 45 and 100
    ("numeric_inf_other_column.csv", "usage_ratio", 0.3, {"C1"}),  # inf, -nan, 1e309 are NULL: do not fire
    ("nonfinite.parquet", "usage_ratio", 0.3, {"A1"}),
])
def test_rules_on_repaired_numeric_columns_score(name, signal, threshold, fired, tmp_path, capsys):
    """A rule comparing a column from the corpus with a number scores it (no engine error) and fires
    exactly where the loaded number satisfies it."""
    rules = tmp_path / "rules.toml"
    rules.write_text(RULE.format(signal=signal, threshold=threshold))
    dest = tmp_path / "scores.csv"
    rc = main(["score", "--data", str(BAD / name), "--rules", str(rules), "--out", str(dest)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert not re.search(r"Exception|Traceback|Binder", out + err)
    scores = pd.read_csv(dest, dtype={"account_id": str})
    assert set(scores.loc[scores["risk_score"] > 0, "account_id"]) == fired


def test_validate_each_in_a_real_subprocess():
    """`python -m riskcore validate tests/data/bad --each --json`: one JSON line per file, agreeing
    with the library; exit 1 (some files are bad); no traceback anywhere."""
    proc = subprocess.run([sys.executable, "-m", "riskcore", "validate", str(BAD), "--each", "--json"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {Path(d["path"]).name for d in lines} == set(CORPUS)
    for d in lines:
        lib = validate_path(Path(d["path"]))
        assert d["ok"] == lib.ok, d
        assert [p["message"] for p in d["problems"]] == [p.message for p in lib.problems]


def _write_big_csv(path: Path, rows: int) -> None:
    """A CRM-style account table streamed to disk by DuckDB (nothing held in Python)."""
    con = duckdb.connect()
    con.execute(f"""COPY (
        SELECT 'A' || lpad(range::VARCHAR, 8, '0') AS account_id, 'Customer ' || range AS account_name,
               round(1000 + (range * 7919) % 90000, 2) AS arr, 'Owner ' || (range % 40) AS csm_owner,
               CASE range % 3 WHEN 0 THEN 'SMB' WHEN 1 THEN 'Mid' ELSE 'Enterprise' END AS segment,
               DATE '2026-01-01' + CAST(range % 365 AS INTEGER) AS renewal_date,
               CASE WHEN range % 9 = 0 THEN 'Yes' ELSE 'No' END AS churned, range % 60 AS logins_30d
        FROM range({rows})) TO '{path}' (HEADER, DELIMITER ',')""").fetchall()
    con.close()


@pytest.mark.slow
def test_200_mb_csv_loads_through_the_cli_with_bounded_memory(tmp_path):
    rows = 3_200_000
    path = tmp_path / "big.csv"
    _write_big_csv(path, rows)
    size_mb = path.stat().st_size / 1e6
    assert size_mb > 200
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "riskcore", "validate", str(path), "--json"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child: this one
    assert proc.returncode == 0 and "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    result = json.loads(proc.stdout)
    assert result["ok"] and result["rows_loaded"] == rows and result["problems"] == []
    print(f"\n{size_mb:.0f} MB CSV, {rows:,} rows: validated in {seconds:.1f} s, peak RSS {peak_mb:.0f} MB "
          f"({peak_mb / size_mb:.1f}x the file)")
    # bounded: the loader holds the table (as Arrow text, then typed) but not many copies of it
    assert peak_mb < 15 * size_mb
