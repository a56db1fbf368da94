"""The frontier as the Calibration page shows it: one headline line, a table of text cells (a dash
for a blank, never nan or None) and how it was measured (point in time or cross-validated)."""

from __future__ import annotations

from ..display import DASH, is_blank
from .frontier import Frontier, Point

HEADLINE_RULES = 20  # the budget the headline names ("a 20-rule scorecard"), when it was fitted


def _metric(x, digits: int = 3) -> str:
    return DASH if is_blank(x) else f"{float(x):.{digits}f}"


def _a(n: int) -> str:
    """The article before a spoken number: 'an 8', 'an 11', 'an 18', 'an 80', else 'a'."""
    return "an" if str(n).startswith("8") or n in (11, 18) else "a"


def headline_point(front: Frontier) -> Point | None:
    """The scorecard the headline names: the 20-rule budget if fitted, else the largest one; None
    when no scorecard has a rule."""
    points = [p for p in front.points if p.card.n_rules > 0]
    if not points:
        return None
    return next((p for p in points if p.max_rules == HEADLINE_RULES), max(points, key=lambda p: p.max_rules))


def frontier_headline(front: Frontier) -> str:
    """'your rules: AUC 0.735; a 20-rule scorecard: 0.918; gradient boosting: 0.921' (AUC to 3 decimals,
    as the tables show it; a part is left out when it has no figure)."""
    parts = []
    if front.current and not is_blank(front.current.get("auc")):
        parts.append(f"your rules: AUC {_metric(front.current['auc'])}")
    p = headline_point(front)
    if p is not None and not is_blank(p.metrics.get("auc")):
        parts.append(f"{_a(p.card.n_rules)} {p.card.n_rules}-rule scorecard: {_metric(p.metrics['auc'])}")
    name, auc = front.best_baseline()
    if name is not None:
        parts.append(f"{name.replace('_', ' ')}: {_metric(auc)}")
    return "; ".join(parts)


def frontier_table(front: Frontier) -> list[dict[str, str]]:
    """One row per model, every cell text: your rules (AUC only: nothing is fitted for them), each
    scorecard (budget, rules used, signals, largest possible score, AUC, Brier, log loss), the baselines."""
    rows = []
    if front.current:
        rows.append({"model": f"your rules ({front.current['rule_set']})", "rules": f"{front.current['rules']:,}",
                     "signals": DASH, "largest score": DASH, "AUC": _metric(front.current.get("auc")),
                     "Brier": DASH, "log loss": DASH})
    for p in front.points:
        rows.append({"model": f"scorecard, at most {p.max_rules} rules", "rules": f"{p.card.n_rules:,}",
                     "signals": f"{len(p.card.signals):,}", "largest score": f"{p.card.max_total:,}",
                     **{k: _metric(p.metrics.get(m)) for k, m in (("AUC", "auc"), ("Brier", "brier"),
                                                                  ("log loss", "log_loss"))}})
    for name, m in front.baselines.items():
        label = name.replace("_", " ") + (f" (unavailable: {m['unavailable']})" if m.get("unavailable") else "")
        rows.append({"model": label, "rules": DASH, "signals": DASH, "largest score": DASH,
                     **{k: _metric(m.get(key)) for k, key in (("AUC", "auc"), ("Brier", "brier"),
                                                               ("log loss", "log_loss"))}})
    return rows


def measured_how(front: Frontier) -> str:
    """How the figures were measured, from the frontier itself: 'Point in time: ...' (activity
    tables, out of time) or 'Cross-validated (5 folds): ...' (an account table)."""
    if front.mode == "point_in_time":
        return f"Point in time (out of time): {front.note}"
    how = f"Cross-validated ({front.folds} folds)" if front.folds else "Cross-validated"
    return f"{how}: {front.note}"
