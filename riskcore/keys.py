"""Cache keys of what the engine derives from a rule set: its content, and what its firings depend on
(`RuleSet.firing_key`: signals, ops, thresholds and threshold overrides; not points, labels, groups,
enabled flags, tiers or fusion). Equal keys mean equal tables, so the engine reuses them."""

from __future__ import annotations

import hashlib
from datetime import date

from .rules import RuleSet, ruleset_to_toml


def _short(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def ruleset_key(rs: RuleSet) -> str:
    """A short content hash of a rule set (its canonical TOML): cache key and table-name suffix."""
    return _short(ruleset_to_toml(rs))


def firings_key(rs: RuleSet) -> str:
    """What stage 1 of scoring (the firings table: every rule's degree and signal value, enabled or not)
    depends on: the rules' firing definitions and the value column. Equal keys: a points, tier, fusion,
    enabled, label or group change reuses the firings.

    >>> from riskcore.rules import DEFAULT_RULESET_PATH, load_ruleset, with_enabled, with_points
    >>> rs = load_ruleset(DEFAULT_RULESET_PATH)
    >>> firings_key(with_enabled(with_points(rs, {"usage_drop": 1}), {"usage_drop": False})) == firings_key(rs)
    True
    """
    return _short(repr((rs.firing_key(), rs.quadrant.value_column)))


def firing_signature(rs: RuleSet) -> str:
    """What the backtest windows' firing patterns (riskcore.accuracy) depend on: the firings and the
    primary dimension whose rules they hold. Equal signatures share backtest patterns."""
    return _short(repr((rs.firing_key(), rs.quadrant.value_column, rs.primary_dimension)))


def index_key(rs: RuleSet, as_of: date | None, signals_table: str, generation: int) -> tuple:
    """What a pattern index depends on: data generation, as-of date, signals table, the primary
    dimension, the rules' firing definitions, the value column and its cut-off (value_high)."""
    return (generation, as_of, signals_table, rs.primary_dimension, rs.firing_key(), rs.quadrant.value_column,
            rs.quadrant.value_cutoff)
