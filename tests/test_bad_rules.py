"""The bad rule-set corpus (tests/data/bad_rules): each file gives a message naming the file, the
rule (or section) and the field, through `riskcore.rules` and through `python -m riskcore score`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from riskcore.cli import main
from riskcore.rules import RuleSetError, load_ruleset, validate_ruleset

HERE = Path(__file__).parent
BAD_RULES = HERE / "data" / "bad_rules"
ACCOUNTS = HERE / "data" / "good" / "accounts.csv"
REPO = HERE.parent

# file -> (where, field, what the message says). where/field None: the file cannot name them.
CORPUS = {
    "bad_operator.toml": ("rule 'low_logins'", "op", "expected one of < <= > >= == != between in is_true "
                                                      "is_null scale, found '=~'"),
    "bad_rule_id.toml": ("rule #1", "id", "expected lowercase letters, digits and _ ([a-z0-9_]+), "
                                        "found 'Low Logins!'"),
    "between_reversed.toml": ("rule 'low_logins'", "threshold", "op 'between' needs [low, high] with low <= high, "
                                                                    "found [10, 1]"),
    "comment_in_signal.toml": ("rule 'hidden'", "signal", "comments (-- or /* */) are not allowed"),
    "duplicate_id.toml": ("rule 'low_logins'", "id", "duplicate rule id"),
    "empty.toml": ("top level", "name", "missing"),
    "enabled_not_boolean.toml": ("rule 'low_logins'", "enabled", "expected true or false, found 'yes'"),
    "function_call.toml": ("rule 'shell'", "signal", "the function call getenv() is not allowed"),
    "injection_semicolon.toml": ("rule 'usage_drop'", "signal", "multiple statements (;) are not allowed"),
    "malformed.toml": (None, None, "not valid TOML: Expected ']]' at the end of an array declaration "
                                   "(at line 3, column 8)"),
    "missing_op.toml": ("rule 'low_logins'", "op", "missing"),
    "not_utf8.toml": (None, None, "not UTF-8 text (invalid start byte at byte 60)"),
    "override_unknown_rule.toml": ("override #1", "rule", "override of an unknown rule 'no_such_rule'"),
    "percentile_out_of_range.toml": ("rule 'low_logins'", "threshold", "expected { percentile = 0..100 }"),
    "points_negative.toml": ("rule 'low_logins'", "points", "expected a number in 0..100, found -5"),
    "points_out_of_range.toml": ("rule 'low_logins'", "points", "expected a number in 0..100, found 150"),
    "read_csv_call.toml": ("rule 'file_read'", "signal", "the function call READ_CSV() is not allowed"),
    "subquery.toml": ("rule 'sneaky'", "signal", "a subquery is not allowed"),
    "threshold_list_for_comparison.toml": ("rule 'low_logins'", "threshold", "op '<' needs a single value, "
                                                                                  "found a list [1, 2]"),
    "tiers_medium_above_high.toml": ("[tiers]", "medium", "expected medium <= high, found medium 70 > high 40"),
    "unknown_dimension.toml": ("rule 'low_logins'", "dimension", "unknown dimension 'happiness'"),
    "unknown_field.toml": ("rule 'low_logins'", "point", "unknown field (allowed: id, label,"),
    "unknown_group.toml": ("rule 'low_logins'", "group", "unknown evidence group 'vibes'"),
    "wrong_type_points.toml": ("rule 'low_logins'", "points", "expected a number, found 'twenty'"),
    "wrong_type_threshold.toml": ("rule 'low_logins'", "threshold", "op '<' needs a number or "
                                                                    "{ percentile = N }, found 'five'"),
}
# loads, but the rule cannot run on data without its signal: reported, the rest is scored
UNAVAILABLE = "unknown_signal.toml"


def _expected_text(name: str) -> str:
    where, field, what = CORPUS[name]
    loc = f"{where}, field {field!r}: " if where else ""
    return f"{BAD_RULES / name}: {loc}{what}"


def test_corpus_and_readme_cover_every_file():
    files = {p.name for p in BAD_RULES.glob("*.toml")}
    assert files == set(CORPUS) | {UNAVAILABLE}
    readme = (BAD_RULES.parents[2] / "README.md").read_text(encoding="utf-8")  # the project README's table
    assert [f for f in files if f"`{f}`" not in readme] == []


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_library_message_names_file_rule_and_field(name):
    with pytest.raises(RuleSetError) as err:
        load_ruleset(BAD_RULES / name)
    assert _expected_text(name) in str(err.value)


def test_unknown_signal_is_reported_as_unavailable_not_scored():
    rs = load_ruleset(BAD_RULES / UNAVAILABLE)
    assert validate_ruleset(rs, ["account_id", "logins_30d", "arr"]) == [
        "rule 'low_logins', field 'signal': column(s) 'usage_change_30d' not in the data (rule unavailable)"]


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_cli_score_exits_1_with_the_message(name, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    rc = main(["score", "--data", str(ACCOUNTS), "--rules", str(BAD_RULES / name), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.startswith("error: ") and _expected_text(name) in err
    assert "Traceback" not in err and not out.exists()


def test_cli_unknown_signal_scores_the_rest_and_says_which_rule(tmp_path, capsys):
    out = tmp_path / "scores.csv"
    rc = main(["score", "--data", str(ACCOUNTS), "--rules", str(BAD_RULES / UNAVAILABLE), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 0 and "rules unavailable for this data (their signals are missing): low_logins" in err
    assert (pd.read_csv(out)["risk_score"] == 0).all()


def test_cli_subprocess_end_to_end():
    """Three files through a real `python -m riskcore score` (run side by side): exit 1, message, no traceback."""
    names = ["injection_semicolon.toml", "read_csv_call.toml", "malformed.toml"]
    procs = {n: subprocess.Popen([sys.executable, "-m", "riskcore", "score", "--data", str(ACCOUNTS), "--rules",
                                  str(BAD_RULES / n), "--out", "/nonexistent/never_written.csv"],
                                 cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in names}
    for n, p in procs.items():
        out, err = p.communicate(timeout=120)
        assert p.returncode == 1, (n, out, err)
        assert _expected_text(n) in err and "Traceback" not in out + err
