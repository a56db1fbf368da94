"""Draft vs published accuracy without re-running the backtest: the backtest windows (or, for an
account table, every account with its cross-validation fold) as firing patterns with outcomes, and
the AUC / Brier of any rule set that fires like them (`quick_accuracy`), as run_backtest computes them."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from .backtest import default_windows
from .calibration import fit_mapping
from .db import Store, safe_table_name
from .fitting import cv_folds
from .scoring import Patterns, column_facts, compile_firings, pattern_rules, pattern_scores
from .signals import outcomes, signals_table


@dataclass(frozen=True)
class BacktestPatterns:
    """The backtest windows as firing patterns with outcomes: (fired degrees, segment, stage,
    churned) -> accounts. A points / tier / fusion change re-weights them; the Platt mapping is
    refitted on the train window, AUC and Brier measured on the test window (as run_backtest).
    An account table: train is test, and `fold` (per pattern row) cross-fits the mapping."""

    train: Any          # scoring.Patterns (n = accounts), one row per pattern and outcome
    train_y: np.ndarray  # 0/1 per row of train
    test: Any
    test_y: np.ndarray
    rs: Any             # the rule set whose firings these are
    horizon_days: int
    as_of: str | None
    fold: np.ndarray | None = None  # account table: the cross-validation fold of each pattern row
    folds: int | None = None


def _window_patterns(store: Store, rs, sig: str, churn: pd.DataFrame, folds: int | None) -> tuple:
    """(Patterns, y, fold) of one window: firings of the primary dimension's rules joined with
    outcomes; with `folds` (account table) each row also carries its cross-validation fold."""
    cols = column_facts(store, sig, rs)  # type-checked: a rule that cannot run is left out
    rules = pattern_rules(rs, cols, (rs.primary_dimension,))
    ids = [r.id for r in rules]
    part = replace(rs, rules=tuple(rules), overrides=tuple(o for o in rs.overrides if o.rule in set(ids)))
    fsql, params = compile_firings(part, cols, source=sig)
    keys = ", ".join(["f_" + r for r in ids] + ["segment", "stage"])
    tmp = safe_table_name(f"app_bt_y_{os.getpid()}_{id(churn) % 10**8}")
    store.register_df(tmp, churn[["account_id", "churned"]])
    try:
        if folds is None:
            sql = (f"SELECT {keys}, COALESCE(o.churned, false) AS churned, count(*) AS n, "
                   f"sum(f.value) AS value FROM ({fsql}) AS f LEFT JOIN {tmp} AS o USING (account_id) GROUP BY ALL")
            t = store.df(sql, params)
        else:  # account table: run_backtest's folds (rows with an outcome, by account_id)
            per = store.df(f"SELECT f.account_id, {keys}, o.churned, f.value FROM ({fsql}) AS f "
                           f"JOIN {tmp} AS o USING (account_id) WHERE o.churned IS NOT NULL "
                           "ORDER BY f.account_id", params)
            y = per["churned"].astype(bool).to_numpy(dtype=int)
            fold = np.full(len(per), -1)  # -1: too few of one outcome to cross-fit (no Brier)
            try:
                for k, (_, held) in enumerate(cv_folds(y, folds).split(np.zeros(len(y)), y)):
                    fold[held] = k
            except ValueError:
                pass
            per = per.assign(n=1, fold=fold)
            t = per.groupby([*(f"f_{r}" for r in ids), "segment", "stage", "churned", "fold"], dropna=False,
                            as_index=False).agg(n=("n", "sum"), value=("value", "sum"))
    finally:
        store.execute(f"DROP TABLE IF EXISTS {tmp}")
    deg = t[[f"f_{r}" for r in ids]].to_numpy(dtype=float) if ids else np.zeros((len(t), 0))
    pat = Patterns(rule_ids=tuple(ids), dimensions=(rs.primary_dimension,), degrees=deg,
                   segment=t["segment"].astype(object).where(t["segment"].notna(), None).to_numpy(),
                   stage=t["stage"].astype(object).where(t["stage"].notna(), None).to_numpy(),
                   value_high=np.zeros(len(t), dtype=bool), n=t["n"].to_numpy(dtype=np.int64),
                   value=np.nan_to_num(t["value"].to_numpy(dtype=float)), value_cut=None,
                   value_cutoff=rs.quadrant.value_cutoff)
    return pat, t["churned"].astype(bool).to_numpy(dtype=int), (t["fold"].to_numpy() if folds else None)


def backtest_patterns(store: Store, rs, horizon_days: int = 90, as_of: date | None = None,
                      folds: int = 5) -> BacktestPatterns:
    """The one-off part of a draft's backtest (signals and firings of both windows, or of every
    account with its cross-validation fold for an account table), as patterns."""
    with store.lock:
        if store.dataset is not None and store.dataset.kind == "activity":
            train_w, test_w = default_windows(store, horizon_days, as_of)
            parts = []
            for w in (train_w, test_w):
                parts.append(_window_patterns(store, rs, signals_table(store, w.as_of),
                                              outcomes(store, w.as_of, horizon_days), None))
            (train, ty, _), (test, sy, _) = parts
            if test.accounts == 0:
                raise ValueError("no accounts to evaluate in the backtest window")
            return BacktestPatterns(train, ty, test, sy, rs, horizon_days, str(test_w.as_of))
        sig = signals_table(store, date.today())
        if "churned" not in store.columns(sig):
            raise ValueError("the account table has no outcome column mapped: a backtest needs one "
                             "(map it on the Data page or with --outcome-column)")
        churn = store.df(f"SELECT account_id, churned FROM {sig}")
        pat, y, fold = _window_patterns(store, rs, sig, churn, folds)
    if pat.accounts == 0:
        raise ValueError("no accounts with an outcome to evaluate (the outcome column is empty)")
    return BacktestPatterns(pat, y, pat, y, rs, horizon_days, None, fold=fold, folds=int(fold.max(initial=-1)) + 1)


def quick_accuracy(bp: BacktestPatterns, rs) -> dict:
    """AUC of the score and Brier of the Platt-mapped probability on the test window for `rs`
    (which must fire like `bp.rs`: points / tiers / fusion / enabled may differ), as run_backtest
    computes them, from weighted patterns (scikit-learn, sample_weight = accounts)."""
    ids = bp.train.rule_ids
    if (rs.firing_key(ids), rs.quadrant.value_column) != (bp.rs.firing_key(ids), bp.rs.quadrant.value_column):
        raise ValueError("the rule set fires differently from these backtest patterns: build them for it")
    s_tr, _ = pattern_scores(bp.train, rs)
    s_te, _ = pattern_scores(bp.test, rs)
    out: dict[str, Any] = {"auc": None, "brier": None, "horizon_days": bp.horizon_days, "as_of": bp.as_of,
                           "n": bp.test.accounts, "folds": bp.folds,
                           "method": (f"out-of-time backtest, {bp.horizon_days}-day horizon" if bp.fold is None
                                      else f"cross-validated ({bp.folds} folds)" if bp.folds
                                      else "every account, too few of one outcome to cross-validate")}
    if 0 < bp.test_y.max() and bp.test_y.min() == 0 and len(set(bp.test_y[bp.test.n > 0])) == 2:
        out["auc"] = float(roc_auc_score(bp.test_y, s_te, sample_weight=bp.test.n))

    def platt(fit: np.ndarray, predict: np.ndarray) -> np.ndarray:
        """The backtest's Platt mapping (calibration.fit_mapping), fitted on the `fit` rows weighted by
        their accounts, applied to the `predict` rows."""
        mapping = fit_mapping(s_tr[fit], bp.train_y[fit], sample_weight=bp.train.n[fit])
        return mapping.predict(s_te[predict])

    if bp.fold is not None:  # cross-fitted as run_backtest: each fold mapped by a fit on the others
        if bp.folds:
            prob = np.zeros(len(s_te))
            for k in range(bp.folds):
                prob[bp.fold == k] = platt(bp.fold != k, bp.fold == k)
            out["brier"] = float(brier_score_loss(bp.test_y, prob, sample_weight=bp.test.n, labels=[0, 1]))
    elif len(set(bp.train_y[bp.train.n > 0])) == 2:
        prob = platt(np.ones(len(s_tr), dtype=bool), np.ones(len(s_te), dtype=bool))
        out["brier"] = float(brier_score_loss(bp.test_y, prob, sample_weight=bp.test.n, labels=[0, 1]))
    return out
