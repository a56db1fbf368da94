"""The accuracy/readability frontier: scorecards of 5, 10, 20, 40 rules next to the baselines on
the same rows, each with the rule set it would write (tier cut-offs and probability mapping set
from its training rows), so a page can show the list and load any point as the draft."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import pandas as pd

from ..db import Store
from ..rules import Fusion, Quadrant, RuleSet, Tiers
from .fit import FRONTIER, MAX_TRAIN_ROWS, Evidence, evidence
from .model import Card, fit_cards, learn_bins
from .writing import card_rules


@dataclass(frozen=True)
class Point:
    """One point of the frontier: a rule budget, its scorecard and rule set, its held-out metrics."""

    max_rules: int
    card: Card
    ruleset: RuleSet | None  # None until `with_rules` builds it on a rule set
    metrics: dict
    tiering: Tiering | None = field(default=None, repr=False, compare=False)  # for `with_rules`

    def row(self) -> dict:
        """JSON-ready: budget, rules and signals used, AUC / Brier / log loss, largest total."""
        return {"max_rules": self.max_rules, "rules": self.card.n_rules, "signals": len(self.card.signals),
                "max_score": self.card.max_total, "points_to_double_odds": round(self.card.pdo, 2),
                **{k: self.metrics.get(k) for k in ("auc", "brier", "log_loss", "n")}}


@dataclass(frozen=True)
class Frontier:
    """Scorecards per budget and the baselines, measured the same way (`mode`, `note` say how)."""

    mode: str
    note: str
    folds: int | None
    points: tuple[Point, ...]
    baselines: dict
    current: dict | None
    as_of: date | None
    fitted: str = ""  # how the scorecards were fitted, for their rule sets' descriptions
    eval_keys: np.ndarray | None = field(default=None, repr=False, compare=False)  # hashed evaluation ids

    def rows(self) -> list[dict]:
        return [p.row() for p in self.points]

    def point(self, max_rules: int) -> Point:
        for p in self.points:
            if p.max_rules == max_rules:
                return p
        raise KeyError(f"no frontier point with max_rules={max_rules}")

    def best_baseline(self) -> tuple[str | None, float | None]:
        avail = {k: v["auc"] for k, v in self.baselines.items() if v.get("auc") is not None}
        if not avail:
            return None, None
        name = max(avail, key=avail.get)
        return name, avail[name]

    def to_dict(self) -> dict:
        name, auc = self.best_baseline()
        return {"mode": self.mode, "note": self.note, "folds": self.folds,
                "as_of": str(self.as_of) if self.as_of else None, "frontier": self.rows(),
                "baselines": self.baselines, "best_baseline": {"model": name, "auc": auc},
                "current_rules": self.current}


def _at_most(rows: np.ndarray) -> np.ndarray:
    """The rows to fit on: all, or a fixed random MAX_TRAIN_ROWS of them (a large account table)."""
    if len(rows) <= MAX_TRAIN_ROWS:
        return rows
    return np.sort(np.random.default_rng(0).choice(rows, MAX_TRAIN_ROWS, replace=False))


def _held_out_prob(s_train: np.ndarray, y_train: np.ndarray, s_eval: np.ndarray) -> np.ndarray:
    """Probabilities of the held-out scores from a Platt mapping fitted on the training scores."""
    from ..calibration import fit_mapping
    return fit_mapping(s_train, y_train).predict(s_eval)


def _summary(scores: np.ndarray, y: np.ndarray, prob: np.ndarray) -> dict:
    from ..metrics import summary_metrics
    m = summary_metrics(scores, y, prob=prob)
    return {k: m[k] for k in ("n", "auc", "brier", "log_loss")}


def base_ruleset(rs: RuleSet | None) -> RuleSet:
    """What the scorecard keeps of `rs` (dimensions, quadrant, fusion, other dimensions' rules,
    alerts); without one, a churn-only set with fusion off (an account table's columns)."""
    if rs is None:
        return RuleSet(name="scorecard", primary_dimension="churn", dimensions=("churn",), tiers=Tiers(),
                       quadrant=Quadrant(), fusion=Fusion(enabled=False, min_groups=2))
    return rs


def _id_keys(ids) -> np.ndarray:
    """Account ids as 64-bit hashes (8 bytes an id, whatever their length), for `isin` checks."""
    return pd.util.hash_array(np.asarray(ids, dtype=object).astype(str))


@dataclass(frozen=True)
class Tiering:
    """What a scorecard's rule set takes from its training scores whatever rule set it is built on:
    the tier cut-offs (None when none could be chosen), their summary, the probability mapping."""

    choice: object | None  # tiercuts.TierChoice
    tiers: str
    mapping: object        # calibration.Mapping


def tiering(train_scores: np.ndarray, y_train: np.ndarray) -> Tiering:
    """Tier cut-offs (`tiercuts`) and the Platt mapping fitted on a scorecard's training scores."""
    from ..calibration import fit_mapping
    from ..tiercuts import choose_tiers
    try:
        choice = choose_tiers(train_scores, y_train)
        tiers = choice.summary()
    except ValueError as e:
        choice, tiers = None, f"unchanged ({e})"
    return Tiering(choice, tiers, fit_mapping(train_scores, y_train))


def scorecard_ruleset(card: Card, base: RuleSet, train_scores: np.ndarray | None, y_train: np.ndarray | None,
                      what: str, fitted: Tiering | None = None) -> RuleSet:
    """The rule set of a scorecard: `base` with its primary dimension's rules replaced by the
    card's, tier cut-offs chosen from the training scores (`tiercuts`), and a description stating
    the scaling, the tiers and the probability mapping fitted on the training rows (`fitted`: those
    already computed by `tiering`, else computed here from the training scores)."""
    from ..tiercuts import with_data_tiers
    fitted = fitted if fitted is not None else tiering(train_scores, y_train)
    dim = base.primary_dimension
    others = [r for r in base.rules if r.dimension != dim]
    rules = card_rules(card, dim, taken={r.id for r in others})
    kept = {r.id for r in others}
    rs = replace(base, name="scorecard", rules=tuple(others + rules),
                 overrides=tuple(o for o in base.overrides if o.rule in kept))
    if fitted.choice is not None:
        rs = with_data_tiers(rs, fitted.choice)
    mapping = fitted.mapping
    text = (f"Scorecard of {len(rules)} rules over {len(card.signals)} signals, fitted by the scorecard fit "
            f"(`python -m riskcore fit --scorecard` or the Calibration page) {what}. Points: whole numbers "
            f"from a logistic regression on binned signals, the lowest-risk bin of each signal 0, the largest "
            f"possible total {card.max_total}; "
            f"{card.pdo:.1f} points double the odds of churn. Tier cut-offs from the training rows: {fitted.tiers}. "
            f"Churn probability from the score (Platt, fitted on the training rows): "
            f"1 / (1 + exp(-({mapping.coef:.5g} x score {'-' if mapping.intercept < 0 else '+'} "
            f"{abs(mapping.intercept):.5g}))).")
    return replace(rs, description=text)


def measure(ev: Evidence, base: RuleSet | None, budgets: tuple[int, ...], folds: int = 5) -> Frontier:
    """Scorecards for each budget and the baselines, on the evidence's rows (module doc); each
    point's rule set built on `base` (none without one: `with_rules` builds them later)."""
    from threadpoolctl import threadpool_limits
    # BLAS threads cost far more than they save on small data (as in fitting.baselines)
    with threadpool_limits(limits=1 if len(ev.train) < 50_000 else None):
        return _measure(ev, base, budgets, folds)


def _measure(ev: Evidence, base: RuleSet | None, budgets: tuple[int, ...], folds: int) -> Frontier:
    from ..fitting import baselines, baselines_cv, cv_folds
    train, kinds = ev.train, ev.kinds
    y = train["churned"].to_numpy(int)
    x_cols = ["x_" + c for c in ev.baseline_columns]
    bare = lambda f: f[x_cols].rename(columns=lambda c: c[2:])  # noqa: E731 - features named as in the data
    fit_rows = _at_most(np.arange(len(y)))
    bins = learn_bins(train.iloc[fit_rows], y[fit_rows], kinds)
    cards = fit_cards(train.iloc[fit_rows], y[fit_rows], bins, list(budgets))
    if ev.test is not None:
        y_test = ev.test["churned"].to_numpy(int)
        bases = baselines(bare(train), y, bare(ev.test), y_test)
        evals = {}
        for n, card in cards.items():
            s_tr, s_te = card.score(train), card.score(ev.test)
            evals[n] = _summary(s_te, y_test, _held_out_prob(s_tr, y, s_te))
        k, what = None, f"as of {ev.as_of} from outcomes known by then"
    else:
        cv = cv_folds(y, folds)
        k = cv.get_n_splits()
        bases = baselines_cv(bare(train), y, cv)
        held = {n: np.zeros(len(y)) for n in budgets}
        prob = {n: np.zeros(len(y)) for n in budgets}
        for fit_idx, held_idx in cv.split(np.zeros(len(y)), y):
            fit_idx = _at_most(fit_idx)
            part = train.iloc[fit_idx]
            fold_cards = fit_cards(part, y[fit_idx], learn_bins(part, y[fit_idx], kinds), list(budgets))
            for n, card in fold_cards.items():
                s_fit, s_held = card.score(part), card.score(train.iloc[held_idx])
                held[n][held_idx] = s_held
                prob[n][held_idx] = _held_out_prob(s_fit, y[fit_idx], s_held)
        evals = {n: _summary(held[n], y, prob[n]) for n in budgets}
        what = f"on every account of the table (the frontier is cross-validated over {k} folds)"
    tiers = {n: tiering(cards[n].score(train), y) for n in budgets}
    points = tuple(Point(n, cards[n], None if base is None else
                         scorecard_ruleset(cards[n], base, None, None, what, tiers[n]), evals[n], tiering=tiers[n])
                   for n in budgets)
    evaluated = ev.test if ev.test is not None else train
    return Frontier(ev.mode, ev.note, k, points, bases, None, ev.as_of, fitted=what,
                    eval_keys=_id_keys(evaluated["account_id"]))


def fit_frontier(store: Store, as_of: date | None = None, horizon_days: int = 90,
                 budgets: tuple[int, ...] = FRONTIER, folds: int = 5, skip: set[str] = frozenset()) -> Frontier:
    """The slow part of the frontier (seconds): the evidence, a scorecard per budget with its metrics,
    the baselines; no rule set yet (`with_rules`). `skip`: columns never to use (the value column).
    It depends on no rule set, so a page keeps one fit per data, date, horizon and value column."""
    ev = evidence(store, as_of, horizon_days, skip=set(skip))
    return measure(ev, None, tuple(sorted(set(budgets))), folds)


def with_rules(store: Store, front: Frontier, rs: RuleSet | None, horizon_days: int = 90) -> Frontier:
    """`front` for the rule set `rs`: each point's rule set is `rs` with its primary dimension's rules
    replaced by the scorecard's (base_ruleset), and `current` is `rs`'s own AUC on the same rows."""
    if any(p.tiering is None for p in front.points):
        raise ValueError("this frontier keeps no tier cut-offs or mapping: fit it with fit_frontier")
    base = base_ruleset(rs)
    points = tuple(replace(p, ruleset=scorecard_ruleset(p.card, base, None, None, front.fitted, p.tiering))
                   for p in front.points)
    current = None
    if rs is not None and any(r.dimension == rs.primary_dimension and r.enabled for r in rs.rules):
        current = _current(store, rs, front, horizon_days)
    return replace(front, points=points, current=current)


def scorecard_frontier(store: Store, rs: RuleSet | None = None, as_of: date | None = None,
                       horizon_days: int = 90, budgets: tuple[int, ...] = FRONTIER, folds: int = 5) -> Frontier:
    """The frontier on the loaded data: for each budget N the scorecard with at most N rules, its
    rule set and its out-of-time (activity tables) or cross-validated (account table) AUC, Brier and
    log loss, next to the baselines and, with `rs`, that rule set's own AUC on the same rows."""
    skip = {rs.quadrant.value_column} if rs is not None else set()
    return with_rules(store, fit_frontier(store, as_of, horizon_days, budgets, folds, skip), rs, horizon_days)


def _current(store: Store, rs: RuleSet, front: Frontier, horizon_days: int) -> dict | None:
    """AUC of the given rule set's scores on the frontier's evaluation rows (nothing is fitted)."""
    from ..backtest import Window, scored_frame
    from ..metrics import summary_metrics
    frame = scored_frame(store, rs, Window(front.as_of, horizon_days), "sc_current")
    frame = frame[np.isin(_id_keys(frame["account_id"]), front.eval_keys)]
    m = summary_metrics(frame["risk_score"].to_numpy(float), frame["churned"].to_numpy(int))
    return {"rule_set": rs.name, "rules": sum(1 for r in rs.rules if r.dimension == rs.primary_dimension
                                              and r.enabled), "auc": m["auc"], "n": m["n"]}


def fit_scorecard(store: Store, rs: RuleSet | None = None, as_of: date | None = None, horizon_days: int = 90,
                  max_rules: int = 40, budgets: tuple[int, ...] = FRONTIER, folds: int = 5) -> tuple[RuleSet, dict]:
    """(the rule set of the scorecard with at most `max_rules` rules, the frontier as JSON-ready
    dict with a `summary` for the CLI)."""
    if max_rules < 1:
        raise ValueError(f"--max-rules: expected a positive number of rules, found {max_rules}")
    front = scorecard_frontier(store, rs, as_of, horizon_days, tuple(sorted(set(budgets) | {max_rules})), folds)
    chosen = front.point(max_rules)
    if chosen.card.n_rules == 0:
        raise ValueError("no signal separates churners from the others in this history: there is nothing to "
                         "build a scorecard from (check the outcome column, or load more history)")
    info = front.to_dict()
    info["rules"] = chosen.card.n_rules
    info["chosen"] = chosen.row()
    info["summary"] = summary(front, chosen)
    return chosen.ruleset, info


def summary(front: Frontier, chosen: Point) -> str:
    """The CLI's lines: how it was measured, each frontier point, the baselines, what was written."""
    f = lambda x: "n/a" if x is None else f"{x:.3f}"  # noqa: E731
    how = "out-of-time" if front.mode == "point_in_time" else f"cross-validated ({front.folds} folds)"
    lines = [f"Scorecard frontier, {how}: {front.note}"]
    if front.current:
        lines.append(f"your rules ({front.current['rules']}): AUC {f(front.current['auc'])}")
    for p in front.points:
        r = p.row()
        lines.append(f"scorecard, at most {r['max_rules']} rules ({r['rules']} used): AUC {f(r['auc'])}, "
                     f"Brier {f(r['brier'])}, log loss {f(r['log_loss'])}")
    for name, m in front.baselines.items():
        label = name.replace("_", " ")
        lines.append(f"{label}: unavailable ({m['unavailable']})" if m.get("unavailable") else
                     f"{label}: AUC {f(m['auc'])}, Brier {f(m['brier'])}, log loss {f(m['log_loss'])}")
    lines.append(f"written: {chosen.card.n_rules} rules, largest possible score {chosen.card.max_total}, "
                 f"{chosen.card.pdo:.1f} points double the odds")
    return "\n".join(lines)
