"""Playbook catalog: shipped content, validation messages, matching, and the SQL join frame."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest

from riskcore.db import Store

DEFAULT_RULES = Path(__file__).resolve().parent.parent / "data" / "rules" / "default.toml"
from riskcore.playbooks import (CONSENT_NOTE, DIMENSIONS, QUADRANTS, TIERS, Catalog, Playbook,
                                PlaybookError, Step, catalog_frame, load_catalog, match,
                                match_account, parse_catalog)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _pb(id: str, priority: int, **keys) -> Playbook:
    return Playbook(id=id, name=id, steps=(Step("x", "task"),), owner="CSM", sla_hours=1,
                    priority=priority, **keys)


def test_shipped_catalog_has_the_expected_playbooks(catalog):
    assert {"churn_high", "churn_medium", "churn_low", "save", "triage", "expand", "maintain",
            "payment_cure", "reputation_recovery", "fraud_review"} <= set(catalog.ids())


def test_tier_responses(catalog):
    high = match(catalog, "churn", "high", None, True)
    assert high.id == "churn_high"
    assert [s.owner for s in high.steps] == ["CSM", "CS leadership"]  # outreach + escalation
    assert high.steps[0].due_hours <= 24
    assert match(catalog, "churn", "medium", None, True).id == "churn_medium"
    assert match(catalog, "churn", "low", None, True).id == "churn_low"


def test_save_and_triage(catalog):
    save = match(catalog, "churn", "high", "Save", True)
    assert save.id == "save"
    assert save.steps[0].due_hours == 48 and "escalation" in save.steps[0].text.lower()
    assert save.steps[-1].due_hours == 60 * 24
    triage = match(catalog, "churn", "high", "Triage", True)
    assert triage.id == "triage"
    assert triage.steps[0].kind == "automated_email"
    assert any(s.due_hours == 30 * 24 and "stop" in s.text.lower() for s in triage.steps)
    assert any("reason" in s.text.lower() for s in triage.steps)


def test_payment_cure(catalog):
    cure = match(catalog, "payment", "high", "Expand", True)
    assert cure.id == "payment_cure"
    assert [s.kind for s in cure.steps[:3]] == ["task", "automated_email", "human"]
    assert cure.steps[1].due_hours == 24
    assert "second failed" in cure.steps[2].text


def test_priority_beats_specificity_and_specificity_breaks_ties():
    cat = Catalog((_pb("general", 50, quadrant="Save"),
                   _pb("specific", 10, dimension="churn", tier="high", quadrant="Save"),
                   _pb("same_prio_specific", 50, dimension="churn", quadrant="Save"),
                   _pb("b_tie", 5), _pb("a_tie", 5)))
    assert cat.ids() == ["same_prio_specific", "general", "specific", "a_tie", "b_tie"]
    assert match(cat, "churn", "high", "Save", True).id == "same_prio_specific"
    assert match(cat, "payment", "high", "Save", True).id == "general"
    assert match(cat, "payment", "high", "Expand", True).id == "a_tie"


def test_no_match_returns_none(catalog):
    assert match(catalog, "expansion", "low", None, True) is None
    assert match(Catalog((_pb("only", 1, tier="high"),)), "churn", None, None, True) is None


def test_consent_drops_automated_email_steps_with_a_note(catalog):
    with_consent = match(catalog, "churn", "high", "Triage", True)
    without = match(catalog, "churn", "high", "Triage", False)
    unknown = match(catalog, "churn", "high", "Triage", None)
    assert with_consent.note is None
    assert [s for s in with_consent.steps if s.kind != "automated_email"] == list(without.steps)
    assert len(without.steps) == len(with_consent.steps) - 1
    assert without.note == CONSENT_NOTE and unknown.note == CONSENT_NOTE
    # a playbook without email steps is unchanged, and gets no note
    assert match(catalog, "churn", "high", None, False) == match(catalog, "churn", "high", None, True)


def test_match_account_takes_best_rank_over_dimensions(catalog):
    tiers = {"churn": "low", "payment": "high", "fraud": "low"}
    assert match_account(catalog, tiers, "Maintain", True).id == "payment_cure"
    assert match_account(catalog, {"churn": "low", "payment": "low"}, "Maintain", True).id == "maintain"
    assert match_account(catalog, {"churn": "low"}, None, True).id == "churn_low"
    assert match_account(catalog, {}, "Save", True).id == "save"


def _first_frame_match(frame: pd.DataFrame, pairs, quadrant):
    def ok(v, x):
        return pd.isna(v) or v == x
    for row in frame.itertuples():
        if ok(row.quadrant, quadrant) and any(ok(row.dimension, d) and ok(row.tier, t) for d, t in pairs):
            return row.playbook_id
    return None


def test_frame_first_match_equals_match_for_every_combination(catalog):
    frame = catalog_frame(catalog)
    assert list(frame.columns)[:5] == ["dimension", "tier", "quadrant", "playbook_id", "priority"]
    assert list(frame["priority"]) == list(range(1, len(frame) + 1))  # smallest wins
    # order equals the catalog rule: catalog priority DESC, specificity DESC, id
    assert frame.equals(frame.sort_values(["catalog_priority", "specificity", "playbook_id"],
                                          ascending=[False, False, True]))
    for d, t, q in itertools.product(DIMENSIONS, TIERS, QUADRANTS + (None,)):
        expected = match(catalog, d, t, q, True)
        assert _first_frame_match(frame, [(d, t)], q) == (expected.id if expected else None), (d, t, q)


def test_sql_join_over_frame_equals_match_account(catalog):
    """A join over the frame: per account, the matching row with the smallest priority."""
    accounts = pd.DataFrame(
        [{"account_id": f"a{i}", "quadrant": q, "churn_tier": c, "payment_tier": p, "fraud_tier": "low"}
         for i, (q, c, p) in enumerate(itertools.product(QUADRANTS, TIERS, TIERS))])
    store = Store()
    store.register_df("acc", accounts)
    store.register_df("pb", catalog_frame(catalog))
    got = dict(store.rows("""
        WITH pairs AS (
            UNPIVOT acc ON churn_tier, payment_tier, fraud_tier INTO NAME dim_col VALUE tier)
        SELECT p.account_id, arg_min(pb.playbook_id, pb.priority)
        FROM pairs p JOIN pb
          ON (pb.dimension IS NULL OR pb.dimension || '_tier' = p.dim_col)
         AND (pb.tier IS NULL OR pb.tier = p.tier)
         AND (pb.quadrant IS NULL OR pb.quadrant = p.quadrant)
        GROUP BY p.account_id"""))
    assert len(got) == len(accounts)
    for r in accounts.itertuples():
        tiers = {"churn": r.churn_tier, "payment": r.payment_tier, "fraud": r.fraud_tier}
        expected = match_account(catalog, tiers, r.quadrant, True)
        assert got.get(r.account_id) == (expected.id if expected else None)


def test_scoring_picks_the_playbook_match_account_picks(catalog):
    """Contract with riskcore.scoring: its join over catalog_frame agrees with match_account."""
    scoring = pytest.importorskip("riskcore.scoring")
    from riskcore.fixtures import random_signals_frame, signals_store
    from riskcore.rules import load_ruleset

    rs = load_ruleset(DEFAULT_RULES)
    store = signals_store(random_signals_frame(600, seed=3))
    table = scoring.score(store, rs, "signals", playbooks=catalog_frame(catalog))
    scored = store.df(f"SELECT * FROM {table}")
    assert scored["playbook"].notna().any()
    for r in scored.to_dict("records"):
        tiers = {d: r[f"{d}_tier"] for d in rs.dimensions}
        expected = match_account(catalog, tiers, r["quadrant"], True)
        assert r["playbook"] == (expected.id if expected else None), r["account_id"]


VALID = """
[[playbooks]]
id = "x"
name = "X"
owner = "CSM"
sla_hours = 24
priority = 1
quadrant = "save"
[[playbooks.steps]]
text = "do it"
kind = "human"
"""


def test_parse_minimal_and_quadrant_case():
    cat = parse_catalog(VALID)
    assert cat.get("x").quadrant == "Save"
    assert cat.get("x").steps == (Step("do it", "human"),)


@pytest.mark.parametrize("edit, expected", [
    (("sla_hours = 24", "sla_hours = -1"), "playbook #1 'x': field 'sla_hours': expected a positive number"),
    (("priority = 1", 'priority = "high"'), "playbook #1 'x': field 'priority': expected an integer"),
    (('quadrant = "save"', 'quadrant = "Rescue"'), "field 'quadrant': expected Save | Expand | Maintain | Triage, found 'Rescue'"),
    (('quadrant = "save"', 'dimension = "churn"\ntier = "critical"'), "field 'tier': expected low | medium | high, found 'critical'"),
    (('quadrant = "save"', 'dimension = "mood"'), "field 'dimension'"),
    (('quadrant = "save"', 'tier = "high"'), "field 'tier': expected a 'dimension' set alongside the tier"),
    (('kind = "human"', 'kind = "sms"'), "playbook #1 'x': step 1: field 'kind': expected human | automated_email | task, found 'sms'"),
    (('kind = "human"', 'kind = "human"\ndue_hours = -2'), "step 1: field 'due_hours': expected a number >= 0"),
    (('name = "X"', 'name = ""'), "field 'name': expected a non-empty text"),
    (('id = "x"', 'id = "Bad Id"'), "playbook #1 'Bad Id': field 'id'"),
    (('owner = "CSM"', 'owner = "CSM"\nsla = 3'), "field 'sla': expected one of"),
])
def test_validation_names_entry_and_field(edit, expected):
    with pytest.raises(PlaybookError) as e:
        parse_catalog(VALID.replace(*edit), source="pb.toml")
    assert expected in str(e.value)
    assert str(e.value).startswith("pb.toml: ")


def test_validation_reports_every_problem_and_duplicates():
    text = VALID + VALID.replace("sla_hours = 24", "sla_hours = 0")
    with pytest.raises(PlaybookError) as e:
        parse_catalog(text)
    assert len(e.value.problems) == 1 and "#2 'x': field 'sla_hours'" in e.value.problems[0]
    with pytest.raises(PlaybookError, match="#2 'x': field 'id': duplicated id"):
        parse_catalog(VALID + VALID)


def test_bad_files(tmp_path):
    with pytest.raises(PlaybookError, match="file not found"):
        load_catalog(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("[[playbooks]\n", encoding="utf-8")
    with pytest.raises(PlaybookError, match="bad.toml: not valid TOML"):
        load_catalog(tmp_path / "bad.toml")
    (tmp_path / "empty.toml").write_text("", encoding="utf-8")
    with pytest.raises(PlaybookError, match="at least one"):
        load_catalog(tmp_path / "empty.toml")
    (tmp_path / "nosteps.toml").write_text(VALID.split("[[playbooks.steps]]")[0], encoding="utf-8")
    with pytest.raises(PlaybookError, match="field 'steps'"):
        load_catalog(tmp_path / "nosteps.toml")
