"""riskcore.coverage: which rules of a rule set can run on the loaded data (the pages' banner and the
publish warning read it)."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

from riskcore import coverage
from riskcore.coverage import rule_coverage
from riskcore.db import Store
from riskcore.loading import load_data
from riskcore.rules import load_ruleset
from riskcore.starter import starter_ruleset
from riskcore.workspace import DEFAULT_RULES

TELCO = Path(__file__).resolve().parent / "data" / "exports" / "telco_leaky.csv"
TYPED = Path(__file__).resolve().parent / "data" / "good" / "typed_export.csv"
BAD_RULES = Path(__file__).resolve().parent / "data" / "bad_rules"


@pytest.fixture(scope="module")
def telco():
    store = Store()
    load_data(store, TELCO)
    return store


def _rules(*signals: str) -> str:
    return 'name = "t"\n' + "".join(
        f'[[rules]]\nid = "r{i}"\nlabel = "r{i}"\ndimension = "churn"\nsignal = \'{s}\'\nop = ">"\n'
        f"threshold = 1\npoints = 10\ngroup = \"usage\"\n" for i, s in enumerate(signals))


def test_doctests():
    assert doctest.testmod(coverage).failed == 0


def test_default_rules_on_an_export_mostly_cannot_run(telco):
    rs = load_ruleset(DEFAULT_RULES)
    cov = rule_coverage(telco, rs, "account_table")
    assert cov.total == len(rs.rules) == 21 and len(cov.unavailable) == 21 and cov.mostly_unavailable
    assert cov.banner() == "21 of 21 rules cannot run on this data: every account scores 0 on them"
    assert [p.id for p in cov.unavailable] == [r.id for r in rs.rules]  # file order
    assert all("not in the data" in p.message for p in cov.unavailable)
    warning = cov.publish_warning("telco.csv")
    assert warning.startswith("21 of 21 rules cannot run on telco.csv: 'usage_drop', ") and "and 16 more" in warning


def test_starter_rules_all_run(telco):
    cov = rule_coverage(telco, starter_ruleset(telco), "account_table")
    assert cov.unavailable == () and not cov.mostly_unavailable and cov.publish_warning("telco.csv") is None


@pytest.mark.parametrize("signals, n, mostly", [
    (("tenure", "nope"), 1, False),                      # half: the banner needs more than half
    (("tenure", "nope", "gone"), 2, True),
    (("tenure", "Contract", "MonthlyCharges"), 1, False),  # a text column with '>': unavailable by type
    (("tenure",), 0, False),
])
def test_more_than_half_is_mostly(telco, signals, n, mostly):
    cov = rule_coverage(telco, load_ruleset(_rules(*signals)), "account_table")
    assert (len(cov.unavailable), cov.mostly_unavailable) == (n, mostly)


def test_a_rule_set_without_rules_is_not_flagged(telco):
    cov = rule_coverage(telco, load_ruleset('name = "empty"\n'), "account_table")
    assert cov.total == 0 and not cov.mostly_unavailable  # the pages' "no rules" message covers it


def _banner_cases() -> dict[str, str | None]:
    """Rule-set corpus files whose README row says what the pages' banner shows: the quoted
    'N of M rules cannot run on this data', or None for "no banner"."""
    from test_bad_rules import CORPUS
    out: dict[str, str | None] = {}
    for name, (wrong, _, _) in CORPUS.items():
        if "no banner" in wrong:
            out[name] = None
        elif "the banner" in wrong:
            out[name] = re.search(r"'(\d+ of \d+ rules cannot run on this data)'", wrong).group(1)
    return out


BANNER_CASES = _banner_cases()


def test_the_corpus_has_banner_cases():
    assert len(BANNER_CASES) >= 3 and None in BANNER_CASES.values()


@pytest.mark.parametrize("name", sorted(BANNER_CASES))
def test_banner_of_the_corpus_files(name):
    """Against the corpus's export (typed_export.csv): the banner the README says, or none."""
    store = Store()
    load_data(store, TYPED)
    rs = load_ruleset(BAD_RULES / name)
    cov = rule_coverage(store, rs, "account_table")
    expected = BANNER_CASES[name]
    if expected is None:
        assert not cov.mostly_unavailable and cov.unavailable
    else:
        assert cov.mostly_unavailable and cov.banner().startswith(expected + ":")
    assert cov.publish_warning("export.csv").startswith(f"{len(cov.unavailable)} of {len(rs.rules)} rules cannot "
                                                        "run on export.csv: ")
