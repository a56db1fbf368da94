"""Scorecard fit: rules *and* points proposed from history (issue 16).

Signals are binned (`binning`), a sparse non-negative logistic regression over the bins keeps at
most N of them (`model`), the bins become readable rules with whole points (`writing`), and the
frontier measures scorecards of several sizes next to the baselines on the same rows (`fit`,
`frontier`). `python -m riskcore fit --scorecard` calls `fit_scorecard`; a page calls
`scorecard_frontier` (or `fit_frontier` once, then `with_rules` per rule set: the engine), shows
`figures`, and loads `frontier.point(n).ruleset` as the draft.
"""

from .fit import FRONTIER, candidate_kinds, evidence
from .figures import frontier_headline, frontier_table, measured_how
from .frontier import Frontier, Point, fit_frontier, fit_scorecard, scorecard_frontier, scorecard_ruleset, with_rules
from .model import Card, fit_card, fit_cards, learn_bins

__all__ = ["FRONTIER", "Card", "Frontier", "Point", "candidate_kinds", "evidence", "fit_card", "fit_cards",
           "fit_frontier", "fit_scorecard", "frontier_headline", "frontier_table", "learn_bins", "measured_how",
           "scorecard_frontier", "scorecard_ruleset", "with_rules"]
