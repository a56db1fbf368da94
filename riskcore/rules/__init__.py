"""Rule sets: the TOML file of PRODUCT.md §3.1 (a public contract) as frozen dataclasses.

`model` holds the dataclasses and the names (TIERS, QUADRANTS...), `parse` reads and checks a file
(`load_ruleset`), `write` writes canonical TOML and makes checked edits (`with_points`...),
`labels` fills label templates, `availability` says which rules can run on a table's columns.
Everything is importable from `riskcore.rules`.

>>> rs = load_ruleset('name = "x"\\n[[rules]]\\nid = "a"\\nlabel = "A"\\ndimension = "churn"\\n'
...                   'signal = "logins_30d"\\nop = "<"\\nthreshold = 3\\npoints = 20\\ngroup = "usage"\\n')
>>> rs.rules[0].points, unavailable_rules(rs, {"account_id"})
(20, ['a'])
"""

from .availability import (NO_RULES, NUMBER_OPS, Unavailable, rule_problems, segment_problems, signal_columns,
                           unavailable_rules, validate_ruleset)
from .labels import (CutValue, Part, condition_parts, is_template, join_parts, label_parts, label_problem,
                     number_text, reason_parts, rule_label, signal_text)
from .model import (ALERT_KINDS, COMPARISONS, DIMENSIONS, GROUPS, HIGH_TIER, ID_PATTERN, OPS, QUADRANTS,
                    RESERVED_DIMENSIONS, STAGES, TIER_MODES, TIERS, VALUE_UNITS, Alert, BehaviorSegment, DataSection,
                    Fusion, Override, Percentile, Quadrant, Rule, RuleSet, RuleSetError, Scalar, Threshold, TierCuts,
                    Tiers)
from .parse import DEFAULT_RULESET_PATH, load_ruleset, ruleset_from_dict
from .write import (content_hash, ruleset_to_dict, ruleset_to_toml, with_enabled, with_fusion, with_points,
                    with_thresholds, with_tiers)

__all__ = [
    "ALERT_KINDS", "COMPARISONS", "DEFAULT_RULESET_PATH", "DIMENSIONS", "GROUPS", "HIGH_TIER", "ID_PATTERN", "NO_RULES",
    "NUMBER_OPS", "OPS", "QUADRANTS", "RESERVED_DIMENSIONS", "STAGES", "TIERS", "TIER_MODES", "VALUE_UNITS", "Alert",
    "BehaviorSegment", "CutValue", "DataSection", "Fusion", "Override", "Part", "Percentile", "Quadrant", "Rule",
    "RuleSet", "RuleSetError", "Scalar", "Threshold", "TierCuts", "Tiers", "Unavailable", "condition_parts",
    "content_hash", "is_template", "join_parts", "label_parts", "label_problem", "load_ruleset", "number_text",
    "reason_parts", "rule_label", "rule_problems", "ruleset_from_dict", "ruleset_to_dict", "ruleset_to_toml",
    "segment_problems", "signal_columns", "signal_text", "unavailable_rules", "validate_ruleset", "with_enabled",
    "with_fusion", "with_points", "with_thresholds", "with_tiers",
]
