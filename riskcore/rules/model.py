"""The rule set's data model (PRODUCT.md §3.1) as frozen dataclasses, and the names it allows.

Tier names (TIERS) and quadrant names (QUADRANTS) are defined here once; the rest of riskcore
imports them. Parsing is in `parse`, writing and edits in `write`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Union

from ..expressions import INT64_MAX

DIMENSIONS = ("churn", "payment", "fraud", "reputation", "expansion")
GROUPS = ("usage", "support", "billing", "relationship", "engagement", "external")
COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
OPS = COMPARISONS + ("between", "in", "is_true", "is_null", "scale")
STAGES = ("onboarding", "adopted", "renewal")
# tier and quadrant names, as the score output, exports and pages spell them (defined here only)
TIERS = ("low", "medium", "high")
QUADRANTS = ("Save", "Expand", "Maintain", "Triage")  # high value x high risk, high x low, low x low, low x high
# each quadrant's corner of the risk x value chart: (high value, high risk)
QUADRANT_CORNERS = dict(zip(QUADRANTS, ((True, True), (True, False), (False, False), (False, True))))
SAVE = QUADRANTS[0]  # the quadrant save plays and hold-outs are about
ALERT_KINDS = ("score_rise", "tier_worse", "entered_quadrant", "segment_change")
TIER_MODES = ("points", "percentile")
ID_PATTERN = re.compile(r"[a-z0-9_]+")  # always with fullmatch: `$` would let "r1\n" through
# names the score output already uses (scoring.ATTRIBUTES, risk_score, tier, quadrant, playbook,
# reasons) and snapshots add: a dimension of that name would replace or shadow a column
RESERVED_DIMENSIONS = ("risk", "tier", "quadrant", "playbook", "reasons", "account_id", "account_name", "segment",
                       "csm_owner", "stage", "value", "renewal_date", "marketing_consent", "behavior_segment",
                       "fired", "parent_id")


class RuleSetError(ValueError):
    """A rule set is malformed; the message names the file, the rule (or section) and the field."""


@dataclass(frozen=True)
class Percentile:
    """`threshold = { percentile = 80 }`: the signal's 80th percentile over the scored accounts."""

    percentile: float


Scalar = Union[int, float, str, bool]
Threshold = Union[Scalar, tuple, Percentile, None]


@dataclass(frozen=True)
class Rule:
    id: str
    label: str
    dimension: str
    signal: str
    op: str
    threshold: Threshold
    points: float
    group: str
    null_fires: bool = False
    enabled: bool = True

    def firing_key(self) -> tuple:
        """What decides this rule's degree for an account: signal, op, threshold and null_fires, not
        its label, points, group, dimension or enabled flag. `RuleSet.firing_key` adds the overrides.

        >>> from dataclasses import replace
        >>> r = Rule("a", "A", "churn", "logins", "<", 3, 20, "usage")
        >>> r.firing_key() == replace(r, points=5, label="B", enabled=False).firing_key()
        True
        """
        return (self.signal, self.op, self.threshold, self.null_fires)


@dataclass(frozen=True)
class TierCuts:
    """Cut-offs of one dimension: score >= medium -> medium, >= high -> high (points or percentiles)."""

    medium: float
    high: float
    mode: str | None = None  # None: the rule set's global mode


@dataclass(frozen=True)
class Tiers:
    medium: float = 31
    high: float = 61
    mode: str = "points"
    per_dimension: tuple[tuple[str, TierCuts], ...] = ()

    def cuts(self, dimension: str) -> tuple[float, float, str]:
        """(medium, high, mode) for a dimension."""
        for dim, c in self.per_dimension:
            if dim == dimension:
                return c.medium, c.high, c.mode or self.mode
        return self.medium, self.high, self.mode


VALUE_UNITS = ("annual", "monthly", "other")
HIGH_TIER = "high_tier"  # `risk_cutoff = "high_tier"`: high risk is the primary dimension's high tier


@dataclass(frozen=True)
class Quadrant:
    """`[quadrant]`: the value axis (a column, its cut-off, what unit its amounts are) and the
    risk line (a score, or "high_tier": the primary dimension's high tier, so quadrants and tiers agree)."""

    value_column: str = "arr"
    value_cutoff: Union[float, str] = "median"
    risk_cutoff: Union[float, str] = HIGH_TIER
    value_unit: str | None = None  # None: "annual" for the mapped ARR column `arr`, else "other"

    @property
    def unit(self) -> str:
        """The value's unit as stated, or its default (annual only for the mapped ARR)."""
        if self.value_unit is not None:
            return self.value_unit
        return "annual" if self.value_column == "arr" else "other"

    @property
    def tied_to_tier(self) -> bool:
        return self.risk_cutoff == HIGH_TIER


@dataclass(frozen=True)
class Fusion:
    enabled: bool = False
    min_groups: int = 2


@dataclass(frozen=True)
class Override:
    """Points and/or threshold of `rule` for accounts of a segment or a lifecycle stage."""

    rule: str
    segment: str | None = None
    stage: str | None = None
    points: float | None = None
    threshold: Threshold = None


@dataclass(frozen=True)
class Alert:
    id: str
    kind: str
    label: str | None = None
    dimension: str | None = None
    points: float | None = None
    within_days: int | None = None
    quadrant: str | None = None


@dataclass(frozen=True)
class BehaviorSegment:
    id: str
    signal: str
    op: str
    threshold: Threshold = None
    label: str | None = None
    null_fires: bool = False


@dataclass(frozen=True)
class DataSection:
    """`[data]`: the column mapping of an account table."""

    id_column: str | None = None
    name_column: str | None = None
    value_column: str | None = None
    owner_column: str | None = None
    segment_column: str | None = None
    renewal_column: str | None = None
    outcome_column: str | None = None
    outcome_positive: Union[str, tuple[str, ...], None] = None
    parent_column: str | None = None


@dataclass(frozen=True)
class RuleSet:
    name: str
    primary_dimension: str = "churn"
    dimensions: tuple[str, ...] = ("churn",)
    tiers: Tiers = field(default_factory=Tiers)
    quadrant: Quadrant = field(default_factory=Quadrant)
    fusion: Fusion = field(default_factory=Fusion)
    rules: tuple[Rule, ...] = ()
    overrides: tuple[Override, ...] = ()
    alerts: tuple[Alert, ...] = ()
    behavior_segments: tuple[BehaviorSegment, ...] = ()
    data: DataSection | None = None
    description: str | None = None

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(f"no rule {rule_id!r} in rule set {self.name!r}")

    def threshold_overrides(self, rule_id: str) -> tuple[tuple[str | None, str | None, Threshold], ...]:
        """(segment, stage, threshold) of the rule's overrides that set a threshold, in file order
        (a later one wins when several match an account)."""
        return tuple((o.segment, o.stage, o.threshold) for o in self.overrides
                     if o.rule == rule_id and o.threshold is not None)

    def firing_key(self, rule_ids: Iterable[str] | None = None) -> tuple:
        """What the firings of these rules (default: all) depend on: per rule, in file order, its id,
        dimension, `Rule.firing_key()` and threshold overrides. Equal keys give every account equal
        degrees, so a points, tier, fusion, enabled or label change reuses firings and patterns."""
        wanted = None if rule_ids is None else set(rule_ids)
        return tuple((r.id, r.dimension, r.firing_key(), self.threshold_overrides(r.id))
                     for r in self.rules if wanted is None or r.id in wanted)



def is_number(v: Any) -> bool:
    """A finite number DuckDB can bind (TOML integers may be longer than 64 bits)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    return abs(v) <= INT64_MAX if isinstance(v, int) else math.isfinite(v)


def threshold_doc(v: Threshold) -> Any:
    """A threshold as its TOML value: {percentile = N}, a list, or the value itself."""
    if isinstance(v, Percentile):
        return {"percentile": v.percentile}
    if isinstance(v, tuple):
        return list(v)
    return v
