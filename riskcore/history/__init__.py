"""Account history (PRODUCT.md §9): snapshots, what changed and why, alerts, hierarchy roll-up.

A *snapshot* is every account's scores, tiers, quadrant, behavioural segment and fired rules
(rule, dimension, effective points, degree, signal value) as of a date, under one rule set
(name and content hash; its TOML is stored once per hash). Snapshots live in a DuckDB file
(one transaction per snapshot) or a folder of Parquet files (one file per (date, hash), written
to a temp file and renamed): a crash leaves the previous snapshots intact, and re-running the
same (date, hash) replaces, never duplicates.

*What changed and why* walks A (rule set RA) -> B' (B's customer state scored with RA) -> B (RB):
the customer part (A -> B') is split per rule into started / stopped / changed (graded degree or
segment/stage override points), the rule-set part (B' -> B) is attributed to the version, and the
cap at 100 is what remains. All in exact fractions, so the parts always sum to the change; values
are rounded to DISPLAY_DECIMALS only for display, with the rounding residue put on the largest
part so the displayed parts still add up. From snapshots, a rule whose *definition* (signal, op,
threshold, null_fires, threshold overrides) changed between versions cannot be re-evaluated at B
with the old definition: its customer state is then taken as unchanged, so its whole move is
attributed to the rule set (a rule change never looks like a customer change). Re-scored history
uses one rule set, so it has no rule-set part.

`storefile` opens a DuckDB snapshot store (busy: bounded wait; damaged: refused), `snapshots` builds,
writes and reads snapshots, `states` holds accounts' states at dates (from snapshots or re-scored)
and what a rule contributes in one, `changes` explains a change, `alerting` raises alerts,
`account` is the account view's history, `hierarchy` the parent roll-up.
Everything is importable from `riskcore.history`.
"""

from .account import account_history, history_frame, score_history
from .alerting import (EXPAND, HIGH, LOW, MAINTAIN, MEDIUM, SAVE, TIER_RANK, TRIAGE, alerts, evaluate_alerts,
                       format_alerts)
from .changes import (DISPLAY_DECIMALS, Part, change_sentences, decompose, display_parts, explain, explain_states,
                      format_explain)
from .hierarchy import rollup
from .snapshots import (FIRED_TYPE, RULESETS, SNAPSHOTS, SnapshotStore, choose_snapshots, ruleset_toml, snapshot,
                        snapshot_frame, snapshot_sql, write_snapshot)
from .states import (RESCORE_STEP_DAYS, State, account_context, counterfactual_degrees, effective_points, fired_rules,
                     history_source, make_state, rescore_dates, rescored_state, rule_definition, rule_dimension,
                     states_from_snapshots)
from .storefile import HistoryError, StoreBusyWarning, check_store_file, open_store_file, store_wait_seconds

_definition = rule_definition  # the name tests/test_firing_key.py imports

__all__ = [
    "DISPLAY_DECIMALS", "EXPAND", "FIRED_TYPE", "HIGH", "LOW", "MAINTAIN", "MEDIUM", "RESCORE_STEP_DAYS", "RULESETS",
    "SAVE", "SNAPSHOTS", "TIER_RANK", "TRIAGE", "HistoryError", "Part", "SnapshotStore", "State", "StoreBusyWarning",
    "_definition", "account_context", "account_history", "alerts", "change_sentences", "check_store_file",
    "choose_snapshots", "counterfactual_degrees", "decompose", "display_parts", "effective_points", "evaluate_alerts",
    "explain", "explain_states", "fired_rules", "format_alerts", "format_explain", "history_frame", "history_source",
    "make_state", "open_store_file", "rescore_dates", "rescored_state", "rollup", "rule_definition", "rule_dimension",
    "ruleset_toml", "score_history", "snapshot", "snapshot_frame", "snapshot_sql", "states_from_snapshots",
    "store_wait_seconds", "write_snapshot",
]
