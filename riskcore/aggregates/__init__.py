"""Small summaries of a scored table for the pages: tiers, quadrants, movement, lists, points.

Every function takes a Store and the name of a scored table (columns as in
docs/ARCHITECTURE.md "Rules and scoring"). Table and column names are checked against the
table's real columns and quoted; every value is bound. Tiers always come back in the order
low, medium, high and quadrants as Save, Expand, Maintain, Triage, present even when empty.

`filters` compiles `Filters` to one WHERE clause, `queries` holds the fixed report SQL, `tables`
checks names, `counts` (tier / quadrant / segment counts, KPIs, histogram), `movement` (tier
movement, movers), `lists` (account lists), `quadrant` (the quadrant chart, value cut-off, risk
line) and `from_patterns` (the same numbers from firing patterns) compute.
Everything is importable from `riskcore.aggregates`.
"""

from ..rules.model import QUADRANTS, TIERS
from .counts import NO_SEGMENT, kpis, quadrant_summary, score_histogram, tier_summary, tiers_by_segment
from .filters import Filters, compile_filters, describe
from .from_patterns import (quadrant_summary_from_patterns, score_histogram_from_patterns, tier_movement_from_index,
                            tier_movement_from_patterns, tier_summary_from_patterns)
from .lists import account_list, count_accounts, distinct_values, sortable_columns, top_accounts
from .movement import movement_matrix, movers, tier_movement
from .quadrant import QuadrantPoints, RiskLine, has_values, quadrant_points, risk_line, value_cutoff
from .queries import (KPIS, MOVERS, QUADRANT_GRID, QUADRANT_LIST, QUADRANT_SUMMARY, SCORE_HISTOGRAM, TIER_LIST,
                      TIER_MOVEMENT, TIER_SUMMARY, TIERS_BY_SEGMENT)
from .tables import check_limit, dimension_column, table_columns

__all__ = [
    "KPIS", "MOVERS", "NO_SEGMENT", "QUADRANTS", "QUADRANT_GRID", "QUADRANT_LIST", "QUADRANT_SUMMARY",
    "SCORE_HISTOGRAM", "TIERS", "TIERS_BY_SEGMENT", "TIER_LIST", "TIER_MOVEMENT", "TIER_SUMMARY", "Filters",
    "QuadrantPoints", "RiskLine", "account_list", "check_limit", "compile_filters", "count_accounts", "describe",
    "dimension_column", "distinct_values", "has_values", "kpis", "movement_matrix", "movers",
    "quadrant_summary", "quadrant_summary_from_patterns", "quadrant_points", "risk_line", "score_histogram",
    "score_histogram_from_patterns", "sortable_columns", "table_columns", "tier_movement", "tier_movement_from_index",
    "tier_movement_from_patterns", "tier_summary", "tier_summary_from_patterns", "tiers_by_segment", "top_accounts",
    "value_cutoff",
]

# doctest.testmod(riskcore.aggregates) runs only this module's own examples: name the sub-modules' here
__test__ = {"compile_filters": compile_filters}
