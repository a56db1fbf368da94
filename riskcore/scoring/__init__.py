"""Compile a rule set to DuckDB SQL and score accounts, in two stages (ARCHITECTURE.md).

1. firings (`firings`): per account and rule, the fired degree `f_<id>` (0..1) and the signal value
   `v_<id>`. Depends on thresholds only, so a weight change never rescans the signals.
2. scores (`scores`, `reasons`): points x degree per dimension, tiers, fusion, quadrant, reasons, playbook.

`columns` checks a rule set against a table's typed columns first; `patterns` and `index` hold the
interactive path (firing patterns re-weighted in numpy, regrouped after a threshold change).
Every value from a rule set is a bound parameter (`$n`), every identifier goes through
`quote_ident`, and expressions are whitelisted sqlglot trees rendered by sqlglot.
Everything is importable from `riskcore.scoring`.
"""

from ..rules import QUADRANTS
from .columns import ATTRIBUTES, available_rules, column_facts, scoring_notes
from .firings import comparison_sql, compile_firings, firings
from .index import (IN_MEMORY_MAX_ACCOUNTS, PatternIndex, _regroup_in_memory, _regroup_in_sql, _regroup_one_rule_sql,
                    index_firings_sql, pattern_index, patterns_for)
from .patterns import (Patterns, firing_patterns, pattern_quadrant_codes, pattern_quadrants, pattern_rules,
                       pattern_scores, pattern_table, pattern_tier_codes, pattern_tiers, patterns_from_signals,
                       tier_counts_from_patterns)
from .reasons import number_text_sql
from .rounding import SCORE_DECIMALS, round_score, round_sql
from .scores import PLAYBOOK_COLUMNS, compile_scores, score, score_df, score_firings

__all__ = [
    "ATTRIBUTES", "IN_MEMORY_MAX_ACCOUNTS", "PLAYBOOK_COLUMNS", "QUADRANTS", "SCORE_DECIMALS", "PatternIndex",
    "Patterns", "_regroup_in_memory", "_regroup_in_sql", "_regroup_one_rule_sql", "available_rules",
    "column_facts", "comparison_sql", "compile_firings", "compile_scores", "firing_patterns", "firings",
    "index_firings_sql", "number_text_sql", "pattern_index", "pattern_quadrant_codes", "pattern_quadrants",
    "pattern_rules", "pattern_scores", "pattern_table", "pattern_tier_codes", "pattern_tiers", "patterns_for",
    "patterns_from_signals", "round_score", "round_sql", "score", "score_df", "score_firings", "scoring_notes",
    "tier_counts_from_patterns",
]
