"""Rule-set files (PRODUCT.md §3.1): load, check, round-trip, edit, validate against columns."""

import pytest

from riskcore.fixtures import SCENARIO_RULES
from riskcore.rules import (DEFAULT_RULESET_PATH, Percentile, RuleSetError, content_hash, load_ruleset,
                            ruleset_to_toml, unavailable_rules, validate_ruleset, with_enabled, with_fusion,
                            with_points, with_thresholds, with_tiers)

SIGNALS = {"account_id", "account_name", "segment", "csm_owner", "arr", "renewal_date", "marketing_consent",
           "stage", "usage_change_30d", "logins_30d", "days_since_last_login", "seat_utilization", "tickets_30d",
           "negative_tickets_30d", "escalations_90d", "failed_payments_30d", "late_invoices_90d",
           "chargebacks_180d", "days_since_qbr", "days_since_last_touch", "last_nps", "champion_left_90d",
           "days_to_renewal", "tenure_days", "downgrades_180d"}

RULE = """
name = "t"
[[rules]]
id = "r1"
label = "R1"
dimension = "churn"
signal = "usage_change_30d"
op = "<"
threshold = -0.3
points = 20
group = "usage"
"""


def test_default_ruleset_loads_and_covers_the_spec():
    rs = load_ruleset(DEFAULT_RULESET_PATH)
    assert rs.name == "default" and rs.primary_dimension == "churn"
    assert rs.dimensions == ("churn", "payment", "fraud", "reputation", "expansion")
    assert (rs.tiers.medium, rs.tiers.high) == (31, 61)
    assert rs.tiers.cuts("payment") == (15, 30, "points")
    assert (rs.quadrant.value_column, rs.quadrant.value_cutoff, rs.quadrant.risk_cutoff) == ("arr", "median", "high_tier")
    assert rs.quadrant.unit == "annual" and rs.quadrant.tied_to_tier
    assert rs.fusion.enabled and rs.fusion.min_groups == 2
    usage = rs.rule("usage_drop")
    assert (usage.op, usage.threshold, usage.points, usage.group) == ("<", -0.3, 20, "usage")
    assert rs.rule("no_qbr").null_fires and rs.rule("renewal_no_touch").points == 30
    assert {r.dimension for r in rs.rules} == set(rs.dimensions)
    assert [s.id for s in rs.behavior_segments] == ["dormant", "at_risk", "high_engager"]
    assert rs.behavior_segments[2].threshold == Percentile(80)
    # alerts tuned on the sample (README "History, what changed and why, alerts"; tests/test_alertstats.py)
    assert [(a.id, a.kind) for a in rs.alerts] == [("score_jump", "score_rise"), ("new_save", "entered_quadrant"),
                                                   ("new_triage", "entered_quadrant")]
    assert validate_ruleset(rs, SIGNALS) == []  # every rule is available on the §2.3 signals


@pytest.mark.parametrize("source", [DEFAULT_RULESET_PATH, SCENARIO_RULES])
def test_round_trip_toml_objects_toml_is_unchanged(source):
    rs = load_ruleset(source)
    text = ruleset_to_toml(rs)
    again = load_ruleset(text)
    assert again == rs
    assert ruleset_to_toml(again) == text
    assert "[[rules]]" in text and "[tiers.payment]" in text


def test_round_trip_keeps_percentile_data_and_lists():
    rs = load_ruleset(RULE.replace("threshold = -0.3", "threshold = { percentile = 20 }") + """
[data]
id_column = "customerID"
outcome_column = "Churn"
outcome_positive = ["Yes", "1"]
parent_column = "parent"
[[behavior_segments]]
id = "mid"
signal = "logins_30d"
op = "between"
threshold = [1, 5]
""")
    assert rs.rules[0].threshold == Percentile(20)
    assert rs.data.outcome_positive == ("Yes", "1") and rs.data.parent_column == "parent"
    assert rs.behavior_segments[0].threshold == (1, 5)
    text = ruleset_to_toml(rs)
    assert "threshold = { percentile = 20 }" in text and "threshold = [1, 5]" in text
    assert load_ruleset(text) == rs


def test_content_hash_ignores_formatting_but_not_content():
    rs = load_ruleset(RULE)
    reformatted = load_ruleset("# a comment\n" + RULE.replace('points = 20', 'points    =   20   # w'))
    assert content_hash(rs) == content_hash(reformatted)
    assert len(content_hash(rs)) == 64
    assert content_hash(with_points(rs, {"r1": 21})) != content_hash(rs)


def _err(text: str) -> str:
    with pytest.raises(RuleSetError) as e:
        load_ruleset(text)
    return str(e.value)


@pytest.mark.parametrize("change, fragments", [
    (('op = "<"', 'op = "~"'), ["rule 'r1'", "'op'", "'~'"]),
    (("points = 20", "points = 120"), ["rule 'r1'", "'points'", "0..100", "120"]),
    (("points = 20", "points = -1"), ["'points'", "-1"]),
    (("points = 20", 'points = "lots"'), ["'points'", "expected a number"]),
    (('id = "r1"', 'id = "R-1"'), ["rule #1", "'id'", "[a-z0-9_]+", "R-1"]),
    (('dimension = "churn"', 'dimension = "mood"'), ["rule 'r1'", "'dimension'", "mood"]),
    (('group = "usage"', 'group = "vibes"'), ["rule 'r1'", "'group'", "vibes"]),
    (('op = "<"', 'op = "between"'), ["'threshold'", "between", "two numbers"]),
    (('op = "<"\nthreshold = -0.3', 'op = "between"\nthreshold = [5, 1]'), ["low <= high"]),
    (('op = "<"\nthreshold = -0.3', 'op = "scale"\nthreshold = [1, 1]'), ["scale", "different"]),
    (('op = "<"', 'op = "scale"'), ["'threshold'", "scale"]),
    (('op = "<"', 'op = "in"'), ["'threshold'", "'in'", "list"]),
    (('op = "<"\nthreshold = -0.3', 'op = "in"\nthreshold = [1, "a"]'), ["'in'", "numbers or a list of strings"]),
    (('op = "<"', 'op = "is_true"'), ["'threshold'", "no threshold"]),
    (('op = "<"\nthreshold = -0.3', 'op = "<"'), ["'threshold'", "missing"]),
    (('op = "<"\nthreshold = -0.3', 'op = "<"\nthreshold = "x"'), ["'threshold'", "number"]),
    (('op = "<"\nthreshold = -0.3', 'op = "=="\nthreshold = { percentile = 50 }'), ["percentile", "=="]),
    (("threshold = -0.3", "threshold = { percentile = 150 }"), ["percentile = 0..100"]),
    (('signal = "usage_change_30d"', 'signal = "usage_change_30d; DROP TABLE x"'), ["'signal'", "multiple statements"]),
    (('signal = "usage_change_30d"', "signal = \"read_csv('/etc/passwd')\""), ["'signal'", "READ_CSV()"]),
    (('label = "R1"', 'label = ""'), ["'label'", "non-empty"]),
    (('label = "R1"', 'lable = "R1"'), ["'lable'", "unknown field"]),
    (("points = 20", "points = 20\nnull_fires = \"yes\""), ["'null_fires'", "true or false"]),
])
def test_broken_rules_name_the_rule_and_field(change, fragments):
    msg = _err(RULE.replace(*change))
    assert msg.startswith("<rule set>: ")
    for f in fragments:
        assert f in msg, (f, msg)


def test_duplicate_ids_and_sections():
    assert "duplicate rule id" in _err(RULE + RULE.split("\n", 2)[2]) and "rule 'r1'" in _err(RULE + RULE.split("\n", 2)[2])
    assert "override of an unknown rule 'nope'" in _err(RULE + '[[overrides]]\nsegment = "SMB"\nrule = "nope"\npoints = 1\n')
    assert "exactly one of segment" in _err(RULE + '[[overrides]]\nrule = "r1"\npoints = 1\n')
    assert "'stage'" in _err(RULE + '[[overrides]]\nstage = "teen"\nrule = "r1"\npoints = 1\n')
    assert "points and/or threshold" in _err(RULE + '[[overrides]]\nsegment = "SMB"\nrule = "r1"\n')
    msg = _err(RULE + '[[overrides]]\nsegment = "SMB"\nrule = "r1"\nthreshold = [1, 2]\n')
    assert "override #1 of rule 'r1', field 'threshold'" in msg
    assert "[tiers]" in _err(RULE + "[tiers]\nmedium = 70\nhigh = 60\n")
    assert "[tiers.mood]" in _err(RULE + "[tiers.mood]\nmedium = 1\n")
    assert "'value_cutoff'" in _err(RULE + '[quadrant]\nvalue_cutoff = "mean"\n')
    assert "'min_groups'" in _err(RULE + "[fusion]\nenabled = true\nmin_groups = 0\n")
    assert "'primary_dimension'" in _err(RULE.replace('name = "t"', 'name = "t"\nprimary_dimension = "payment"\n'
                                                                      'dimensions = ["churn"]'))
    assert "alert 'a', field 'quadrant'" in _err(RULE + '[[alerts]]\nid = "a"\nkind = "entered_quadrant"\n')
    assert "alert 'a', field 'points'" in _err(RULE + '[[alerts]]\nid = "a"\nkind = "score_rise"\n')
    assert "'kind'" in _err(RULE + '[[alerts]]\nid = "a"\nkind = "boom"\n')
    assert "behavior segment 'b', field 'op'" in _err(
        RULE + '[[behavior_segments]]\nid = "b"\nsignal = "x"\nop = "scale"\nthreshold = [1, 2]\n')
    assert "not valid TOML" in _err("name = ")
    assert "[data], field 'id_col'" in _err(RULE + '[data]\nid_col = "x"\n')


def test_custom_dimensions_when_declared():
    rs = load_ruleset(RULE.replace('name = "t"', 'name = "t"\ndimensions = ["churn", "health"]')
                      .replace('dimension = "churn"', 'dimension = "health"'))
    assert rs.dimensions == ("churn", "health") and rs.rules[0].dimension == "health"


def test_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(RULE.replace("points = 20", "points = 500"))
    with pytest.raises(RuleSetError, match=r"bad\.toml: rule 'r1', field 'points'"):
        load_ruleset(bad)
    with pytest.raises(RuleSetError, match="not found"):
        load_ruleset(tmp_path / "missing.toml")


def test_edits_return_checked_copies():
    rs = load_ruleset(SCENARIO_RULES)
    rs2 = with_points(rs, {"usage_drop": 33})
    assert rs2.rule("usage_drop").points == 33 and rs.rule("usage_drop").points == 20
    assert with_thresholds(rs, {"usage_drop": -0.5}).rule("usage_drop").threshold == -0.5
    assert with_thresholds(rs, {"usage_drop": {"percentile": 10}}).rule("usage_drop").threshold == Percentile(10)
    with pytest.raises(RuleSetError, match="'points'"):
        with_points(rs, {"usage_drop": 101})
    with pytest.raises(KeyError, match="nope"):
        with_points(rs, {"nope": 1})
    with pytest.raises(RuleSetError, match="between"):
        with_thresholds(load_ruleset(RULE.replace('op = "<"\nthreshold = -0.3', 'op = "between"\nthreshold = [1, 2]')),
                        {"r1": 5})
    t = with_tiers(rs, medium=20, high=50)
    assert t.tiers.cuts("churn") == (20, 50, "points") and t.tiers.cuts("payment") == (15, 30, "points")
    t = with_tiers(rs, high=40, dimension="payment", mode="percentile")
    assert t.tiers.cuts("payment") == (15, 40, "percentile") and t.tiers.cuts("churn") == (31, 61, "points")
    with pytest.raises(RuleSetError, match="medium <= high"):
        with_tiers(rs, medium=70)
    assert not with_enabled(rs, {"no_qbr": False}).rule("no_qbr").enabled
    assert with_fusion(rs, enabled=False).fusion.enabled is False


def test_unavailable_rules_and_validation_against_columns():
    rs = load_ruleset(SCENARIO_RULES)
    cols = {"account_id", "arr", "segment", "usage_change_30d", "days_to_renewal"}
    missing = unavailable_rules(rs, cols)
    # the expression rule needs days_since_last_touch too
    assert missing == ["inactive", "champion_left", "neg_tickets", "no_qbr", "renewal_no_touch",
                       "failed_payment", "late_invoices"]
    problems = validate_ruleset(rs, cols)
    assert "rule 'renewal_no_touch', field 'signal': column(s) 'days_since_last_touch' not in the data " \
           "(rule unavailable)" in problems
    assert any("field 'stage'" in p for p in problems)  # the stage override never applies
    assert unavailable_rules(rs, cols | {"days_since_last_login", "champion_left_90d", "negative_tickets_30d",
                                         "days_since_qbr", "days_since_last_touch", "failed_payments_30d",
                                         "late_invoices_90d"}) == []


def test_column_with_spaces_is_a_signal():
    rs = load_ruleset(RULE.replace('signal = "usage_change_30d"', 'signal = "Customer service calls"'))
    assert unavailable_rules(rs, {"Customer service calls"}) == []
    assert unavailable_rules(rs, {"calls"}) == ["r1"]


# ---- names match fully; dimensions may not shadow the score output ---------------------------------

@pytest.mark.parametrize("old, new, field, fragment", [
    ('id = "r1"', 'id = "r1\\n"', "id", "expected lowercase letters, digits and _ ([a-z0-9_]+), found 'r1\\n'"),
    ('id = "r1"', 'id = "r1\\n\\n"', "id", "expected lowercase letters, digits and _ ([a-z0-9_]+), found 'r1\\n\\n'"),
    ('name = "t"', 'name = "t"\ndimensions = ["churn\\n"]', "dimensions",
     "expected a list of distinct names ([a-z0-9_]+), found ['churn\\n']"),
    ('name = "t"', 'name = "t"\ndimensions = ["churn", "risk"]', "dimensions",
     "'risk' cannot be a dimension name: the score output already has a column 'risk_score'"),
    ('name = "t"', 'name = "t"\nprimary_dimension = "quadrant"', "primary_dimension",
     "'quadrant' cannot be a dimension name: the score output already has a column 'quadrant'"),
    ('name = "t"', 'name = "t"\nprimary_dimension = "churn\\n"', "primary_dimension",
     "expected a name of lowercase letters, digits and _ ([a-z0-9_]+), found 'churn\\n'"),
    ("threshold = -0.3", "threshold = 99999999999999999999", "threshold",
     "the number 99999999999999999999 is out of range"),
    ("points = 20", "points = 99999999999999999999", "points", "the number 99999999999999999999 is out of range"),
])
def test_names_match_fully_and_numbers_fit(old, new, field, fragment):
    with pytest.raises(RuleSetError) as e:
        load_ruleset(RULE.replace(old, new))
    assert f"field {field!r}: {fragment}" in str(e.value)


@pytest.mark.parametrize("dim", ["risk", "tier", "quadrant", "playbook", "reasons", "account_id", "value"])
def test_reserved_dimension_names(dim):
    with pytest.raises(RuleSetError, match="cannot be a dimension name"):
        load_ruleset(RULE.replace('name = "t"', f'name = "t"\ndimensions = ["churn", "{dim}"]'))


def test_a_rule_set_without_rules_writes_and_says_so():
    rs = load_ruleset('name = "empty"\n')
    text = ruleset_to_toml(rs)  # was AssertionError: canonical TOML writer lost data
    assert "[[rules]]" not in text and load_ruleset(text) == rs
    assert validate_ruleset(rs, SIGNALS)[0].startswith("top level, field 'rules': the rule set has no rules")
    assert validate_ruleset(load_ruleset(RULE), SIGNALS) == []


# ---- against column types (ColumnFacts): unavailable with a note, like a missing column -------------

def _rules(*rules: tuple[str, str, str, str]) -> str:
    out = 'name = "t"\n'
    for rid, signal, op, thr in rules:
        out += (f'[[rules]]\nid = "{rid}"\nlabel = "{rid}"\ndimension = "churn"\nsignal = {signal}\nop = "{op}"\n'
                + (f"threshold = {thr}\n" if thr else "") + 'points = 10\ngroup = "usage"\n')
    return out


def test_type_checks_need_the_types_and_name_rule_field_column_and_type():
    from riskcore.expressions import ColumnFacts
    from riskcore.rules import rule_problems
    facts = ColumnFacts({"account_id": "VARCHAR", "calls": "VARCHAR", "seats": "BIGINT", "promo": "BOOLEAN",
                         "renewal": "DATE", "age": "DOUBLE"}, empty=frozenset({"age"}), examples={"calls": "1,234"})
    rs = load_ruleset(_rules(("ok", '"seats"', ">", "5"), ("r1", '"calls"', ">", "3"),
                             ("r2", '"seats"', "in", '["a", "b"]'), ("r3", '"promo"', "between", "[0, 1]"),
                             ("r4", '"seats"', "is_true", ""), ("r5", '"age"', ">", "40"),
                             ("r6", '"renewal"', "==", '"2026-01-31"'), ("r7", '"renewal"', "==", '"31.01.2026"'),
                             ("r8", "'calls IS NULL'", "is_true", ""), ("r9", '"promo"', "==", "true"),
                             ("r10", '"calls"', ">=", "{ percentile = 80 }")))
    got = {p.id: (p.message, p.column) for p in rule_problems(rs, facts)}
    assert got == {
        "r1": ("rule 'r1', field 'signal': column 'calls' is text (e.g. '1,234'); op '>' needs a number "
               "(rule unavailable)", "calls"),
        "r2": ("rule 'r2', field 'threshold': column 'seats' is a number; op 'in' compares it with text 'a' "
               "(rule unavailable)", "seats"),
        "r3": ("rule 'r3', field 'signal': column 'promo' is true/false; op 'between' needs a number "
               "(rule unavailable)", "promo"),
        "r4": ("rule 'r4', field 'signal': column 'seats' is a number; op 'is_true' needs true/false (for a 0/1 "
               "column write op = \"==\" with threshold = 1) (rule unavailable)", "seats"),
        "r5": ("rule 'r5', field 'signal': column 'age' has no values (rule unavailable)", "age"),
        "r7": ("rule 'r7', field 'threshold': column 'renewal' is a date; op '==' compares it with text "
               "'31.01.2026' (a date needs text written YYYY-MM-DD) (rule unavailable)", "renewal"),
        "r10": ("rule 'r10', field 'signal': column 'calls' is text (e.g. '1,234'); op '>=' with a percentile "
                "threshold needs a number (rule unavailable)", "calls"),
    }
    # plain names: only presence is checked (the types are not known)
    assert unavailable_rules(rs, list(facts)) == []
    assert validate_ruleset(rs, facts)[:1] == [got["r1"][0]]


def test_override_thresholds_are_type_checked_too():
    from riskcore.expressions import ColumnFacts
    facts = ColumnFacts({"account_id": "VARCHAR", "plan": "VARCHAR", "segment": "VARCHAR", "arr": "DOUBLE"})
    rs = load_ruleset(_rules(("basic", '"plan"', "==", '"Basic"'))
                      + '[[overrides]]\nsegment = "SMB"\nrule = "basic"\nthreshold = "Pro"\n'
                      + '[[overrides]]\nsegment = "Mid"\nrule = "basic"\nthreshold = 3\n')
    assert validate_ruleset(rs, facts) == [
        "override #2 of rule 'basic', field 'threshold': column 'plan' is text; op '==' compares it with the "
        "number 3 (rule unavailable)"]


# ---- labels that follow thresholds, the value's unit, the risk line (issue 14) ---------------------

import re  # noqa: E402

from riskcore.rules import (HIGH_TIER, CutValue, condition_parts, join_parts, label_parts, number_text,  # noqa: E402
                            reason_parts, rule_label)


def test_default_labels_name_their_thresholds_and_follow_a_change():
    rs = load_ruleset(DEFAULT_RULESET_PATH)
    assert rule_label(rs.rule("inactive_7d")) == "No login for 7 days or more (or never)"
    assert rule_label(rs.rule("usage_drop")) == "Usage change below -30% in 30 days"
    assert rule_label(rs.rule("detractor")) == "NPS detractor (graded: 6 -> 0 points, 0 -> full)"
    changed = with_thresholds(rs, {"inactive_7d": 14, "usage_drop": -0.45, "seats_full": 0.85, "detractor": [7, 1]})
    assert rule_label(changed.rule("inactive_7d")) == "No login for 14 days or more (or never)"
    assert rule_label(changed.rule("usage_drop")) == "Usage change below -45% in 30 days"
    assert rule_label(changed.rule("seats_full")) == "Seat utilisation above 85%"
    assert rule_label(changed.rule("detractor")) == "NPS detractor (graded: 7 -> 0 points, 1 -> full)"
    # every rule with a threshold names it: no default label can go stale
    assert all("{" in r.label for r in rs.rules if r.op not in ("is_true", "is_null"))


def test_a_label_without_placeholders_gets_the_condition_beside_it():
    rs = load_ruleset(RULE.replace('label = "R1"', 'label = "Contract is Month-to-month"')
                      .replace('signal = "usage_change_30d"', 'signal = \'"Contract"\'')
                      .replace('op = "<"', 'op = "=="').replace("threshold = -0.3", 'threshold = "Two year"'))
    r = rs.rule("r1")
    assert join_parts(reason_parts(r, r.threshold)) == "Contract is Month-to-month (Contract = 'Two year')"
    from dataclasses import replace
    assert join_parts(condition_parts(replace(r, op="in"), ("A", "B's"))) == "Contract in ('A', 'B''s')"


def test_percentile_labels_state_the_cut_value_rounded_to_stay_true():
    rs = load_ruleset(RULE.replace('label = "R1"', 'label = "Usage in the bottom {share}% (< {threshold})"')
                      .replace("threshold = -0.3", "threshold = { percentile = 20 }"))
    r = rs.rule("r1")
    parts = label_parts(r, r.threshold)
    assert [x for x in parts if isinstance(x, CutValue)] == [CutValue("up")]
    assert join_parts(parts, cut=-0.123456) == "Usage in the bottom 20% (< -0.1234)"  # up: v < -0.123456 < -0.1234
    assert rule_label(r) == "Usage in the bottom 20% (< the 20th percentile)"
    assert number_text(2.5e-7, "down") == "2.5e-07" and number_text(1234567.8, "down") == "1234567"
    assert number_text(0.30000000000000004, "near") == "0.3" and number_text(True is True and 14.0) == "14"


@pytest.mark.parametrize("label, message", [
    ("From {low} to {high}", "{low} and {high} need op 'between' or 'scale', found op '<'"),
    ("Top {share}%", "{percentile} and {share} need a threshold { percentile = N }, found -0.3"),
])
def test_a_placeholder_that_cannot_be_filled_is_an_error(label, message):
    with pytest.raises(RuleSetError, match=re.escape(f"rule 'r1', field 'label': {message}")):
        load_ruleset(RULE.replace('label = "R1"', f'label = "{label}"'))


def test_quadrant_risk_line_and_value_unit_are_backward_compatible():
    rs = load_ruleset(RULE)  # no [quadrant]: the risk line is the high tier, the value the mapped ARR (annual)
    assert rs.quadrant.risk_cutoff == HIGH_TIER and rs.quadrant.unit == "annual" and rs.quadrant.value_unit is None
    assert "value_unit" not in ruleset_to_toml(rs)  # not written unless set: older hashes of such sets hold
    old = load_ruleset(RULE + '[quadrant]\nvalue_column = "mrr"\nrisk_cutoff = 61\n')
    assert old.quadrant.risk_cutoff == 61 and not old.quadrant.tied_to_tier and old.quadrant.unit == "other"
    assert load_ruleset(ruleset_to_toml(old)) == old
    monthly = load_ruleset(RULE + '[quadrant]\nvalue_column = "MonthlyCharges"\nvalue_unit = "monthly"\n')
    text = ruleset_to_toml(monthly)
    assert 'value_unit = "monthly"' in text and 'risk_cutoff = "high_tier"' in text
    assert load_ruleset(text) == monthly


def test_with_points_checks_points_as_the_parser_does_without_reparsing():
    """A slider step changes points only: the copy equals a full re-parse of the edited document, and a
    bad value fails with the parser's message (rule and field named)."""
    from riskcore.rules import RuleSetError, with_points
    from riskcore.rules.write import ruleset_from_dict, ruleset_to_dict
    rs = load_ruleset(DEFAULT_RULESET_PATH)
    for r in rs.rules:
        for v in (0, 7, 33.5, 100):
            edited = with_points(rs, {r.id: v})
            assert edited == ruleset_from_dict(ruleset_to_dict(edited), "x") and edited.rule(r.id).points == v
    for bad, expected in ((101, "expected a number in 0..100, found 101"), ("5", "expected a number, found '5'"),
                          (True, "expected a number, found True")):
        with pytest.raises(RuleSetError, match=f"rule 'usage_drop', field 'points': {expected}"):
            with_points(rs, {"usage_drop": bad})
    with pytest.raises(KeyError, match="no rule 'no_such_rule'"):
        with_points(rs, {"no_such_rule": 5})
