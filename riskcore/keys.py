"""Cache keys of what the engine derives from a rule set: its content, and what its firings depend on
(`RuleSet.firing_key`: signals, ops, thresholds and threshold overrides; not points, labels, groups,
enabled flags, tiers or fusion). Equal keys mean equal tables, so the engine reuses them."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date

from .rules import RuleSet, ruleset_to_toml


def _short(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def ruleset_key(rs: RuleSet) -> str:
    """A short content hash of a rule set (its canonical TOML): cache key and table-name suffix."""
    return _short(ruleset_to_toml(rs))


def firings_key(rs) -> str:
    """A hash of what stage 1 of scoring (rule firings) depends on: rules and overrides without
    their points, and the value column. Equal keys: a weight/tier/fusion change reuses the firings.
    """
    rules = tuple(replace(r, points=0) for r in rs.rules)
    overrides = tuple(replace(o, points=None) for o in rs.overrides)
    text = repr((rules, overrides, rs.quadrant.value_column))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def firing_signature(rs) -> str:
    """A hash of what the primary dimension's firings depend on (not points, enabled flags, tiers,
    fusion or the quadrant): equal signatures share backtest firing patterns."""
    rules = tuple(replace(r, points=0, enabled=True) for r in rs.rules)
    overrides = tuple(replace(o, points=None) for o in rs.overrides)
    text = repr((rules, overrides, rs.quadrant.value_column, rs.primary_dimension))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def index_key(rs, as_of: date | None, signals_table: str, generation: int) -> tuple:
    """What a pattern index depends on: data generation, as-of date, the primary dimension, the
    rules' firing definitions (not points / enabled / tiers / fusion), the value column and cut-off."""
    rules = tuple(replace(r, points=0, enabled=True) for r in rs.rules)
    overrides = tuple(replace(o, points=None) for o in rs.overrides)
    return (generation, as_of, signals_table, rs.primary_dimension, rules, overrides, rs.quadrant.value_column,
            rs.quadrant.value_cutoff)
