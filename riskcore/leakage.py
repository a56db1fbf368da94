"""The outcome in disguise: columns of an account table that copy the outcome under another name
(`Churn Label` next to `Churn Value`) or predict it almost alone (`Churn Score`, `Churn Reason`).
Starter rules and the baselines leave them out; `fit` and backtests flag rules that use them."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import TargetEncoder

from .db import Store, quote_ident
from .derived import derived_of
from .fitting import cv_folds
from .mapping import NEGATIVE, POSITIVE, norm_value

AUC_LIMIT = 0.97        # one column alone this good is the outcome, not a predictor
NAMED_AUC_LIMIT = 0.90  # ... or this good when its name says it is about the outcome (`Churn Score`)
MIN_CLASS_FOR_AUC = 20  # fewer churned (or retained) accounts: a perfect column may be luck, flag copies only
OUTCOME_WORDS = frozenset({"churn", "churned", "exited", "attrition", "attrited", "cancelled", "canceled"})
GENERIC_WORDS = frozenset({"label", "value", "flag", "status", "is", "has", "yn", "customer", "the", "of"})
MAX_ROWS = 200_000      # a larger table is checked on a fixed random sample of this many rows
NUMERIC = ("DOUBLE", "FLOAT", "REAL", "INTEGER", "BIGINT", "DECIMAL", "SMALLINT", "HUGEINT", "TINYINT",
           "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT")


@dataclass(frozen=True)
class Leak:
    """A column that is the outcome in disguise, and why (`copy`: yes/no values equal to it)."""

    column: str
    auc: float
    copy: str | None = None   # e.g. "'Yes' = churned on 100.0% of rows"
    named: bool = False       # caught by the lower bar for columns named like the outcome

    @property
    def message(self) -> str:
        """What was found: "column 'Churn Label' is a copy of the outcome under another name (...)"."""
        if self.copy:
            return f"column {self.column!r} is a copy of the outcome under another name ({self.copy})"
        why = ", and is named like it" if self.named else ""
        return f"column {self.column!r} predicts the outcome almost alone (AUC {self.auc:.3f} on its own{why})"

    def warning(self, consequence: str) -> str:
        """The message with what it means here, e.g. warning("not used for starter rules")."""
        return f"{self.message}: the outcome in disguise, {consequence}"


def _words(name: str) -> set[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name))
    return set(re.findall(r"[a-z]+", spaced.lower()))


def outcome_words(outcome_column: str | None) -> frozenset[str]:
    """Words that mark a column as being about the outcome: the outcome column's own name words
    (without `label`, `value`, `flag`...) and the usual churn words."""
    return OUTCOME_WORDS | frozenset(_words(outcome_column or "") - GENERIC_WORDS)


def _sql_value(column: str, typ: str) -> tuple[str, bool] | None:
    """(SELECT expression, is text) for a checkable column: numbers, text, booleans as TRUE/FALSE
    text, dates as epoch seconds; None for anything else."""
    q = quote_ident(column)
    if typ == "BOOLEAN":
        return f"upper(CAST({q} AS VARCHAR))", True
    if typ.startswith(NUMERIC):
        return f"CAST({q} AS DOUBLE)", False
    if typ == "VARCHAR":
        return q, True
    if typ.startswith(("DATE", "TIMESTAMP")):
        return f"CAST(epoch({q}) AS DOUBLE)", False
    return None


def _auc_alone(x: pd.Series, y: np.ndarray, folds) -> float:
    """How well one column separates the outcome on its own, as max(AUC, 1 - AUC). `x` is text
    (object dtype) or numbers.

    Numbers: ranked, an empty cell placed below and then above every value (the better wins, so a
    column filled only for churners counts). Text: each value replaced by the churn rate of that
    value in the other folds (scikit-learn TargetEncoder, cross-fitted: an id column scores 0.5)."""
    if x.dtype == object:
        codes = x.fillna("\x00blank").astype(str).to_numpy().reshape(-1, 1)
        if len(np.unique(codes)) < 2:
            return 0.5
        enc = TargetEncoder(target_type="binary", cv=folds)
        candidates = [enc.fit_transform(codes, y)[:, 0]]
    else:
        r = x.astype(float).rank().to_numpy()
        if np.isnan(r).all() or (np.nanmin(r) == np.nanmax(r) and not np.isnan(r).any()):
            return 0.5
        candidates = [np.where(np.isnan(r), 0.0, r), np.where(np.isnan(r), len(r) + 1.0, r)]
    best = 0.5
    for c in candidates:
        auc = float(roc_auc_score(y, c))
        best = max(best, auc, 1.0 - auc)
    return best


def _copy_of(x: pd.Series, y: np.ndarray) -> str | None:
    """For a column of yes/no values only: how it agrees with the outcome ('Yes' = churned on 99.8% of rows)."""
    present = x.notna().to_numpy()
    if present.sum() == 0:
        return None
    values = x[present].map(norm_value)
    if not values.isin(POSITIVE | NEGATIVE).all():
        return None
    pred = values.isin(POSITIVE).to_numpy().astype(int)
    agree = float((pred == y[present]).mean())
    raw = sorted({_shown(v) for v, p in zip(x[present], pred) if p == (1 if agree >= 0.5 else 0)})
    shown = ", ".join(repr(v) for v in raw[:3]) or "?"
    return f"{shown} = churned on {max(agree, 1 - agree):.1%} of rows"


def _shown(value) -> str:
    """A cell as the user typed it: 1.0 -> '1'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def outcome_leaks(store: Store, table: str = "account_table") -> list[Leak]:
    """Columns of an account table that are the outcome in disguise (none for activity data or a
    table without an outcome). Remembered per table and load."""
    ds = store.dataset
    if ds is None or ds.kind != "account_table" or not store.has_table(table):
        return []
    types = store.column_types(table)
    if "churned" not in types:
        return []
    outcome = ds.mapping.outcome_column if ds.mapping else None
    return list(derived_of(store).get(("outcome_leaks", table),
                                      lambda: tuple(_find_leaks(store, table, types, outcome))))


def _find_leaks(store: Store, table: str, types: dict[str, str], outcome_column: str | None) -> list[Leak]:
    skip = {"account_id", "churned", (outcome_column or "").lower()}  # the mapped outcome is not in disguise
    exprs = {c: _sql_value(c, t) for c, t in types.items() if c.lower() not in skip}
    exprs = {c: e for c, e in exprs.items() if e is not None}
    if not exprs:
        return []
    select = ", ".join(f"{e} AS {quote_ident(c)}" for c, (e, _) in exprs.items())
    frame = store.df(f"SELECT CAST(churned AS INTEGER) AS churned, {select} FROM {quote_ident(table)} "
                     "WHERE churned IS NOT NULL ORDER BY account_id")
    if len(frame) > MAX_ROWS:
        frame = frame.sample(n=MAX_ROWS, random_state=0)
    y = frame["churned"].to_numpy(dtype=int)
    try:
        folds = cv_folds(y)
    except ValueError:
        return []  # (almost) one outcome class: nothing to separate
    named_words = outcome_words(outcome_column)
    by_auc = min(int(y.sum()), int(len(y) - y.sum())) >= MIN_CLASS_FOR_AUC
    found = []
    for col in exprs:
        x = frame[col]
        if exprs[col][1]:  # text: one category per value, blank its own
            x = x.astype(object).where(x.notna(), None)
        auc = _auc_alone(x, y, folds)
        named = bool(_words(col) & named_words)
        copy = _copy_of(x, y)
        if (copy or by_auc) and (auc > AUC_LIMIT or (named and auc > NAMED_AUC_LIMIT)):
            found.append(Leak(col, auc, copy=copy, named=named and auc <= AUC_LIMIT))
    return found


def leak_columns(store: Store, table: str = "account_table") -> set[str]:
    """Names (lower case) of the columns that are the outcome in disguise."""
    return {leak.column.lower() for leak in outcome_leaks(store, table)}


def leaky_rules(store: Store, rules, table: str = "account_table") -> dict[str, str]:
    """{rule id: warning} for each enabled rule whose signal uses a column that is the outcome in disguise."""
    from .expressions import expression_columns, parse_expression
    leaks = {leak.column.lower(): leak for leak in outcome_leaks(store, table)}
    if not leaks:
        return {}
    out = {}
    for rule in rules:
        if not rule.enabled:
            continue
        try:
            cols = expression_columns(parse_expression(rule.signal, None))
        except ValueError:
            continue  # a bad signal is reported where the rule set is checked
        hit = next((leaks[c.lower()] for c in cols if c.lower() in leaks), None)
        if hit is not None:
            out[rule.id] = f"rule {rule.id!r} uses the outcome in disguise: {hit.message}"
    return out
