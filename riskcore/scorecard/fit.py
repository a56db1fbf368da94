"""Fit a scorecard against the loaded data and measure it next to the baselines.

Activity tables: candidate signals as of monthly dates whose outcome window ends on or before the
evaluation date D (`backtest.training_dates`, as `fit` pools them), the scorecard and the
baselines learnt on those rows and evaluated on the accounts active at D (out of time). An account
table (no dates): every column but ids, the outcome and its disguised copies; the scorecard and
the baselines cross-fitted over stratified folds, the written rule set fitted on every row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from ..db import Store
from .binning import CATEGORY, FLAG, MAX_CATEGORIES, NUMBER

FRONTIER = (5, 10, 20, 40)
MAX_TRAIN_ROWS = 200_000  # rows to fit on beyond this are sampled (fixed seed): the fit's time stays bounded
NUMERIC = ("DOUBLE", "FLOAT", "REAL", "INTEGER", "BIGINT", "DECIMAL", "SMALLINT", "HUGEINT", "TINYINT",
           "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT")
# never candidates: ids, names, owners, dates, the value axis (risk and value stay two axes) and the
# derived lifecycle stage; an account table's canonical copies of its mapped columns too
NOT_SIGNALS = {"account_id", "account_name", "csm_owner", "parent_id", "arr", "value", "seats", "churned",
               "contract_start", "renewal_date", "stage"}
ACCOUNT_CANONICAL = {"segment"}
ID_NAME = re.compile(r"(^|[^a-z])(id|number|no|num|index|key|code)$|^row|^index|(?<=[a-z])(Id|Number|Num|No|Index|Key)$",
                     re.I)


@dataclass
class Evidence:
    """What the fit learns from and is checked on: candidate columns and their kinds, training rows,
    evaluation rows (None: cross-validated), and how they were chosen."""

    kinds: dict[str, str]
    train: pd.DataFrame
    test: pd.DataFrame | None
    baseline_columns: list[str]
    mode: str
    note: str
    as_of: date | None = None
    train_dates: list[date] = field(default_factory=list)
    sampled_from: int | None = None


def _is_activity(store: Store) -> bool:
    return store.dataset is not None and store.dataset.kind == "activity"


def candidate_kinds(store: Store, table: str, skip: set[str] = frozenset()) -> dict[str, str]:
    """Columns of `table` a scorecard may use, each `number`, `category` (text) or `flag` (yes/no):
    not ids, names, dates, the value axis, the outcome or a column that is the outcome in disguise."""
    from ..leakage import leak_columns
    mapping = store.dataset.mapping if store.dataset is not None else None
    banned = {c.lower() for c in NOT_SIGNALS | set(skip) | leak_columns(store, table)}
    if mapping is not None:
        banned |= {c.lower() for c in (mapping.id_column, mapping.name_column, mapping.value_column,
                                        mapping.owner_column, mapping.outcome_column, mapping.renewal_column,
                                        mapping.parent_column) if c}
    if not _is_activity(store):
        banned |= ACCOUNT_CANONICAL
    out = {}
    for col, typ in store.column_types(table).items():
        if col.lower() in banned or col.endswith("_orig"):
            continue
        if typ == "BOOLEAN":
            out[col] = FLAG
        elif typ.startswith(NUMERIC):
            out[col] = NUMBER
        elif typ == "VARCHAR":
            out[col] = CATEGORY
    return out


def _rows(store: Store, table: str, kinds: dict[str, str], baseline: list[str]) -> pd.DataFrame:
    """account_id, the candidates (numbers as floats, yes/no as 'true'/'false', text as text) and
    the baselines' features `x_<name>` (as DOUBLE, as the backtest reads them) of every row of `table`."""
    from ..db import quote_ident
    cols = [f"{quote_ident(c)}" for c in kinds]
    cols += [f"CAST({quote_ident(c)} AS DOUBLE) AS {quote_ident('x_' + c)}" for c in baseline]
    frame = store.df(f"SELECT account_id, {', '.join(cols)} FROM {quote_ident(table)}")
    for c, k in kinds.items():
        if k == NUMBER:
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
        elif k == FLAG:
            frame[c] = frame[c].map({True: "true", False: "false"}).astype("object")
        else:
            frame[c] = frame[c].astype("object")
    return frame


def _baseline_columns(store: Store, table: str) -> list[str]:
    """The features `fitting.baselines` gets in a backtest (backtest's numeric signal matrix)."""
    from ..backtest import _signal_matrix
    return [c[2:] for c in _signal_matrix(store, table).columns if c.startswith("x_")]


def _signal_columns(frame: pd.DataFrame, kinds: dict[str, str]) -> dict[str, str]:
    """Columns that cannot be a signal are left out: text with too many distinct values (ids, free
    text), and numbers that number the rows (every value distinct and whole, named like an id:
    `RowNumber`, `CustomerId`)."""
    keep = {}
    for c, k in kinds.items():
        distinct = frame[c].nunique(dropna=True)
        if k == CATEGORY and (distinct > MAX_CATEGORIES or distinct > 0.5 * len(frame)):
            continue
        if k == NUMBER and distinct == frame[c].notna().sum() and ID_NAME.search(c) and \
                bool((frame[c].dropna() % 1 == 0).all()):
            continue
        keep[c] = k
    return keep


def evidence(store: Store, as_of: date | None = None, horizon_days: int = 90, windows: int = 12,
             skip: set[str] = frozenset()) -> Evidence:
    """The rows to fit and check on (module doc). `skip`: columns never to use (e.g. the value column)."""
    from ..backtest import default_windows, training_dates
    from ..signals import active_dates, outcomes, signals_table
    if not _is_activity(store):
        kinds = candidate_kinds(store, "account_table", skip)
        if "churned" not in store.columns("account_table"):
            raise ValueError("the account table has no outcome column mapped: a scorecard needs one "
                             "(map it on the Data page or with --outcome-column)")
        base = _baseline_columns(store, "account_table")
        frame = _rows(store, "account_table", kinds, base)
        y = store.df("SELECT account_id, churned FROM account_table")
        frame = frame.merge(y, on="account_id")
        frame = frame[frame["churned"].notna()].reset_index(drop=True)
        frame["churned"] = frame["churned"].astype(bool)
        return Evidence(_signal_columns(frame, kinds), frame, None, base, "cross_validated",
                        f"the account table has no dates: every one of its {len(frame):,} accounts with an "
                        "outcome is used; the frontier is cross-validated" + (
                            f" (each scorecard fitted on a fixed random {MAX_TRAIN_ROWS:,} of its rows)"
                            if len(frame) > MAX_TRAIN_ROWS else ""))
    _, test_w = default_windows(store, horizon_days, as_of)
    first, _ = active_dates(store)
    dates = [d for d in training_dates(test_w.as_of, horizon_days, windows) if d > first]

    def at(d: date) -> pd.DataFrame:
        table = signals_table(store, d)
        kinds = candidate_kinds(store, table, skip)
        base = _baseline_columns(store, table)
        rows = _rows(store, table, kinds, base).merge(outcomes(store, d, horizon_days), on="account_id")
        rows["churned"] = rows["churned"].fillna(False).astype(bool)
        rows.insert(1, "as_of", d)
        return rows, kinds, base

    test, kinds, base = at(test_w.as_of)
    parts = [at(d)[0] for d in dates]
    if not parts:
        raise ValueError(f"no history before {test_w.as_of} to learn from")
    train = pd.concat(parts, ignore_index=True)
    sampled = None
    if len(train) > MAX_TRAIN_ROWS:
        sampled = len(train)
        train = train.sample(MAX_TRAIN_ROWS, random_state=0).reset_index(drop=True)
    note = (f"fitted on {len(train):,} account-dates as of {dates[0]} to {dates[-1]} (outcomes known by "
            f"{test_w.as_of})" + (f", sampled from {sampled:,}" if sampled else "") +
            f"; evaluated on the {len(test):,} accounts active at {test_w.as_of}, churn in the next "
            f"{horizon_days} days (out of time)")
    return Evidence(_signal_columns(train, kinds), train, test, base, "point_in_time", note,
                    as_of=test_w.as_of, train_dates=dates, sampled_from=sampled)
