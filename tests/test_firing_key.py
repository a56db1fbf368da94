"""What a rule's firing depends on, defined once (rules.model): `Rule.firing_key()` and
`RuleSet.firing_key(rule_ids)`, and the pattern path that decides with it when to regroup."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from riskcore import aggregates as agg
from riskcore.fixtures import random_signals_frame, signals_store
from riskcore.rules import (DEFAULT_RULESET_PATH, QUADRANTS, TIERS, Percentile, load_ruleset, with_points,
                            with_thresholds)
from riskcore.scoring import pattern_index, pattern_quadrants, pattern_tiers, patterns_for, score

RS = load_ruleset(DEFAULT_RULESET_PATH)


def _relabel(rs, rule_id, **changes):
    return replace(rs, rules=tuple(replace(r, **changes) if r.id == rule_id else r for r in rs.rules))


def test_rule_key_is_signal_op_threshold_null_fires():
    r = RS.rule("no_qbr")
    assert r.firing_key() == (r.signal, r.op, r.threshold, r.null_fires)
    same = replace(r, points=r.points + 1, label="other words", group="external", dimension="payment", enabled=False)
    assert same.firing_key() == r.firing_key()
    for change in ({"threshold": 1}, {"op": "<"}, {"null_fires": not r.null_fires}, {"signal": "last_nps"},
                   {"threshold": Percentile(80)}):
        assert replace(r, **change).firing_key() != r.firing_key(), change


def test_ruleset_key_adds_id_dimension_and_threshold_overrides():
    key = dict((rid, rest) for rid, *rest in RS.firing_key(["no_qbr", "usage_drop", "inactive_7d"]))
    assert list(key) == [r.id for r in RS.rules if r.id in {"no_qbr", "usage_drop", "inactive_7d"}]  # file order
    # default.toml: no_qbr has a threshold override for Enterprise; usage_drop only a points override
    assert key["no_qbr"] == ["churn", RS.rule("no_qbr").firing_key(), (("Enterprise", None, 100),)]
    assert key["usage_drop"][2] == ()
    assert key["inactive_7d"][2] == ((None, "onboarding", 3),)
    assert RS.threshold_overrides("no_qbr") == (("Enterprise", None, 100),)
    assert RS.firing_key() == RS.firing_key([r.id for r in RS.rules])


def test_ruleset_key_ignores_points_enabled_label_and_points_overrides():
    changed = with_points(RS, {"no_qbr": 1})
    changed = _relabel(changed, "usage_drop", label="Usage fell", enabled=False, group="external")
    changed = replace(changed, overrides=tuple(replace(o, points=33) if o.points is not None else o
                                               for o in changed.overrides))
    assert changed.firing_key() == RS.firing_key()
    moved = _relabel(RS, "usage_drop", dimension="payment")
    assert moved.firing_key() != RS.firing_key()
    other = with_thresholds(RS, {"no_qbr": 45})
    assert other.firing_key(["usage_drop"]) == RS.firing_key(["usage_drop"])
    assert other.firing_key(["no_qbr"]) != RS.firing_key(["no_qbr"])
    thr_over = replace(RS, overrides=tuple(replace(o, threshold=120) if o.rule == "no_qbr" else o
                                           for o in RS.overrides))
    assert thr_over.firing_key(["no_qbr"]) != RS.firing_key(["no_qbr"])


def test_tier_and_quadrant_names():
    assert TIERS == ("low", "medium", "high")
    assert QUADRANTS == ("Save", "Expand", "Maintain", "Triage")


@pytest.fixture(scope="module")
def data():
    store = signals_store(random_signals_frame(1500, seed=5))
    return store, pattern_index(store, RS, "signals", out_table="fk_idx")


def test_label_or_group_change_reuses_base_patterns_with_the_full_score(data):
    """A label and group change never changes a degree: the index's base patterns come back (no
    regroup), and tiers / quadrants still match the per-account score of the changed rule set."""
    store, idx = data
    rs = _relabel(RS, "no_qbr", label="No business review for {threshold} days", group="external")
    pat = patterns_for(store, idx, rs)
    np.testing.assert_array_equal(pat.base_pid, np.arange(len(idx.base)))
    np.testing.assert_array_equal(pat.n, idx.base.n)
    full = store.df(f"SELECT tier, quadrant FROM {score(store, rs, 'signals', out_table='fk_full')}")
    tiers = dict(zip(*np.unique(np.repeat(pattern_tiers(pat, rs), pat.n), return_counts=True)))
    quads = dict(zip(*np.unique(np.repeat(pattern_quadrants(pat, rs), pat.n), return_counts=True)))
    assert tiers == full["tier"].value_counts().to_dict()
    assert quads == full["quadrant"].value_counts().to_dict()


def test_movement_from_patterns_accepts_a_relabelled_rule_set(data):
    """aggregates compares firing keys: a relabel is the same firing, a threshold change is not."""
    store, idx = data
    relabelled = _relabel(RS, "no_qbr", label="Quiet account", group="external")
    mv = agg.tier_movement_from_patterns(idx.base, RS, relabelled)
    assert int(mv["accounts"].sum()) == idx.base.accounts
    with pytest.raises(ValueError, match="differ in thresholds or signals"):
        agg.tier_movement_from_patterns(idx.base, RS, with_thresholds(RS, {"no_qbr": 45}))


def test_doctests_of_the_split_packages():
    import doctest
    import importlib
    for name in ("riskcore.rules", "riskcore.rules.model", "riskcore.rules.labels", "riskcore.expressions"):
        result = doctest.testmod(importlib.import_module(name))
        assert result.failed == 0 and result.attempted > 0, name
