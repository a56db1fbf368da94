"""`Engine(store)`: everything the app derives from one loaded dataset, each built once and kept in the
store's one bounded LRU (riskcore.derived), keyed by what it depends on (the data generation, a rule
set's content or firing key, the as-of date, the horizon). Pages ask the engine and draw; they hold no
lock, build no cache key and run no SQL.

The scorecard frontier is fitted once per data, date, horizon and value column (it reads no rule),
then built on each rule set that asks (`scorecard_frontier`).

A slider move: page -> `Engine.tuning` -> the cached pattern index -> numpy re-weight (riskcore.tuning).
Modules that load scikit-learn (accuracy, starter) are imported when first asked: a session that never
needs them does not pay their memory (about 85 MB).
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from . import aggregates as agg
from . import alertstats
from . import backtest as bt
from . import scoring
from . import timeline as tl
from .coverage import Coverage, rule_coverage
from .datachecks import ruleset_problems
from .db import Store
from .derived import Derived, derived_of
from .history import HistoryError, rollup
from .keys import firing_signature, firings_key, index_key, ruleset_key
from .playbooks import Catalog, catalog_frame, load_catalog
from .rules import RuleSet, unavailable_rules
from .scoring import PatternIndex, column_facts, pattern_index
from .signals import active_dates, signals_table
from .tuning import LiveNumbers, ScoredNumbers, tuning_numbers


class Engine:
    """The derived tables and results of one store (shared by every session that opens the dataset).

    Every method takes the store's lock for its whole run, so another session never evicts or rebuilds
    a table half-way; a table name it returns is valid until it is evicted (beyond `derived.MAX_TABLES`)."""

    def __init__(self, store: Store, catalog: Catalog | None = None):
        self.store = store
        self.cache: Derived = derived_of(store)
        self.catalog = catalog if catalog is not None else load_catalog()
        self._playbooks = catalog_frame(self.catalog)

    # ---- what is loaded ------------------------------------------------------------------
    @property
    def generation(self) -> int:
        return self.store.generation

    @property
    def is_activity(self) -> bool:
        return self.store.dataset is not None and self.store.dataset.kind == "activity"

    def active_range(self) -> tuple[date, date]:
        """First and last activity date (signals.active_dates, once per load)."""
        return active_dates(self.store)

    def description(self) -> str:
        """The dataset in one line, with counts ('account table (7,043 rows, 21 columns)')."""
        return self.cache.get(("description",), self._description)

    def _description(self) -> str:
        ds = self.store.dataset
        if ds is None:
            return "nothing loaded"
        if ds.kind == "activity":
            n = self.store.one("SELECT count(*) FROM accounts")
            return f"activity tables ({n:,} accounts): {', '.join(ds.tables)}"
        n = self.store.one("SELECT count(*) FROM account_table")
        return f"account table ({n:,} rows, {len(ds.columns)} columns)"

    def kind(self) -> str:
        """What kind of data is loaded, without counts (for a user who sees only their book)."""
        ds = self.store.dataset
        if ds is None:
            return "nothing loaded"
        return f"activity tables: {', '.join(ds.tables)}" if ds.kind == "activity" else "account table"

    # ---- signals and scores ----------------------------------------------------------------
    def signals(self, as_of: date) -> str:
        """The signals table as of a date (the account table itself for an account table)."""
        return signals_table(self.store, as_of)

    def signal_columns(self, as_of: date) -> list[str]:
        with self.store.lock:
            return self.store.columns(self.signals(as_of))

    def firings(self, rs: RuleSet, as_of: date) -> str:
        """Stage 1 of scoring: shared by every rule set that differs only in points, tiers or fusion,
        so a slider drag re-weights without rescanning the signals."""
        fkey = firings_key(rs)
        with self.store.lock:
            return self.cache.table(("firings", fkey, as_of), f"app_f_{fkey}_{as_of:%Y%m%d}",
                                    lambda name: scoring.firings(self.store, rs, self.signals(as_of), out_table=name))

    def scored(self, rs: RuleSet, as_of: date) -> str:
        """The per-account scored table of a rule set as of a date (with the playbook of each account)."""
        name = f"app_{ruleset_key(rs)}_{as_of:%Y%m%d}"
        with self.store.lock:
            return self.cache.table(
                ("scored", ruleset_key(rs), as_of), name,
                lambda n: scoring.score(self.store, rs, "", playbooks=self._playbooks, out_table=n,
                                        firings_table=self.firings(rs, as_of)),
                extra=(f"{name}_playbooks",))

    def index(self, rs: RuleSet, as_of: date | None) -> PatternIndex:
        """The pattern index of a rule set's primary dimension (built once per threshold set, date
        and value cut-off; a points / tier / fusion change reuses it)."""
        with self.store.lock:
            sig = self.signals(as_of or date.today())
            key = index_key(rs, as_of, sig, self.generation)
            name = "app_pi_" + hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:12]
            return self.cache.get(("index", key), lambda: pattern_index(self.store, rs, sig, out_table=name),
                                  tables=lambda idx: (idx.table,))

    def tuning(self, published: RuleSet, draft: RuleSet, as_of: date, book: agg.Filters | None = None,
               bins: int = 20) -> LiveNumbers:
        """The Tuning page's live numbers (riskcore.tuning): from firing patterns when the draft fires
        like the published rule set, else (or for a user restricted to a book) from the scored tables."""
        book = book if book is not None else agg.Filters()
        with self.store.lock:
            if not book.owner:
                found = tuning_numbers(self.store, published, draft, lambda r: self.index(r, as_of), bins=bins)
                if found is not None:
                    return found
            return ScoredNumbers(self.store, self.scored(draft, as_of), self.scored(published, as_of), book, bins)

    # ---- backtests ---------------------------------------------------------------------------
    def backtest(self, rs: RuleSet, as_of: date | None = None, horizon: int = 90) -> dict:
        """riskcore.backtest.run_backtest, once per rule set, date and horizon (do not modify the result)."""
        with self.store.lock:
            return self.cache.get(("backtest", ruleset_key(rs), as_of, horizon),
                                  lambda: bt.run_backtest(self.store, rs, as_of=as_of, horizon_days=horizon))

    def accuracy(self, rs: RuleSet, horizon: int = 90) -> dict:
        """AUC / Brier of `rs` on the backtest (as `backtest`) from the backtest windows' firing patterns
        (riskcore.accuracy): built once per threshold set, then a points / tier change costs milliseconds;
        remembered per rule set, so the published one is not refitted on every rerun."""
        from .accuracy import backtest_patterns, quick_accuracy  # scikit-learn: loaded when first asked

        def patterns():  # shared by every rule set that fires alike (keys.firing_signature)
            return self.cache.get(("backtest_patterns", firing_signature(rs), horizon),
                                  lambda: backtest_patterns(self.store, rs, horizon_days=horizon))
        key = ("accuracy", horizon, hashlib.sha256(repr(rs).encode("utf-8")).hexdigest())
        with self.store.lock:
            return self.cache.get(key, lambda: quick_accuracy(patterns(), rs))

    def fit(self, rs: RuleSet) -> tuple[RuleSet, dict]:
        """Suggested weights (riskcore.backtest.fit_rules); not cached: the button asks for a fresh fit."""
        with self.store.lock:
            return bt.fit_rules(self.store, rs)

    def starter(self) -> tuple[RuleSet, list[str]]:
        """Starter rules from the account table's columns, and why columns were left out."""
        from .starter import starter_ruleset, starter_warnings  # scikit-learn: loaded when first asked
        with self.store.lock:
            return starter_ruleset(self.store), starter_warnings(self.store)

    def alert_report(self, rs: RuleSet, as_of: date, horizon: int = 90,
                     weeks: int = alertstats.ALERT_WEEKS) -> alertstats.AlertReport:
        """Each alert's precision, lift and volume over the `weeks` weekly dates ending at `as_of`
        (riskcore.alertstats: it re-scores those weeks, seconds), once per rule set, date and horizon."""
        with self.store.lock:
            return self.cache.get(("alert_report", ruleset_key(rs), as_of, horizon, weeks),
                                  lambda: alertstats.alert_report(self.store, rs, as_of, horizon, weeks))

    def alert_report_ready(self, rs: RuleSet, as_of: date, horizon: int = 90,
                           weeks: int = alertstats.ALERT_WEEKS) -> bool:
        """Is `alert_report` at hand (no re-scoring)?"""
        return self.cache.has(("alert_report", ruleset_key(rs), as_of, horizon, weeks))

    # ---- the scorecard frontier (riskcore.scorecard) ---------------------------------------------
    @staticmethod
    def _scorecard_key(rs: RuleSet, as_of: date | None, horizon: int) -> tuple:
        # the fit reads no rule: only the value column it must leave out (so a draft loaded from
        # the frontier, or a points or threshold change, reuses the fit)
        return ("scorecard_fit", rs.quadrant.value_column, as_of, horizon)

    def scorecard_fitted(self, rs: RuleSet, as_of: date | None, horizon: int = 90) -> bool:
        """Is the frontier's fit for this data, date, horizon and value column at hand (no wait)?"""
        return self.cache.has(self._scorecard_key(rs, as_of, horizon))

    def scorecard_frontier(self, rs: RuleSet, as_of: date | None, horizon: int = 90):
        """The accuracy/readability frontier (riskcore.scorecard): the slow fit (seconds) once per data,
        date, horizon and value column; its rule sets built on `rs` and `rs`'s own AUC once per rule set."""
        from .scorecard import fit_frontier, with_rules  # scipy / scikit-learn: loaded when first asked

        def fit():
            return fit_frontier(self.store, as_of, horizon, skip={rs.quadrant.value_column})
        with self.store.lock:
            return self.cache.get(("scorecard_frontier", ruleset_key(rs), as_of, horizon), lambda: with_rules(
                self.store, self.cache.get(self._scorecard_key(rs, as_of, horizon), fit), rs, horizon))

    # ---- does a rule set fit the data ----------------------------------------------------------
    def coverage(self, rs: RuleSet, as_of: date) -> Coverage:
        """Which rules of `rs` cannot run on the data (riskcore.coverage)."""
        with self.store.lock:
            return self.cache.get(("coverage", ruleset_key(rs), as_of),
                                  lambda: rule_coverage(self.store, rs, self.signals(as_of)))

    def unavailable(self, rs: RuleSet, as_of: date) -> list[str]:
        """Ids of the rules that cannot run on the signals (they depend on what rules read only)."""
        with self.store.lock:
            return self.cache.get(("unavailable", rs.firing_key(), as_of), lambda: unavailable_rules(
                rs, column_facts(self.store, self.signals(as_of), rs)))

    def data_problems(self, rs: RuleSet, as_of: date) -> list:
        """Overrides of segments the data lacks, a missing or text value column (riskcore.datachecks)."""
        with self.store.lock:
            return self.cache.get(("data_problems", as_of, rs.quadrant.value_column, rs.overrides),
                                  lambda: ruleset_problems(self.store, rs, self.signals(as_of), source="draft"))

    # ---- history: alerts, behavioural segments, an account's timeline (riskcore.timeline) ---------
    def alerts(self, rs: RuleSet, since: date, until: date, snapshots: str | Path | None = None) -> list[dict]:
        """Alerts raised in [since, until] (from snapshots when a store is given; do not modify)."""
        ver = tl.snapshots_version(snapshots)
        with self.store.lock:
            return self.cache.get(("alerts", ruleset_key(rs), since, until, ver), lambda: tl.alerts_until(
                rs, since, until, store=self.store, snapshots=snapshots if ver else None))

    def alerts_table(self, rs: RuleSet, since: date, until: date, snapshots: str | Path | None = None) -> str:
        """`alerts` as a table (account_id, date) for aggregates' `alerted_since` filter."""
        ver = tl.snapshots_version(snapshots)
        key = ("alerts_table", ruleset_key(rs), since, until, ver)
        with self.store.lock:
            return self.cache.table(key, "app_alerts_" + _digest(key),
                                    lambda n: tl.alerts_table(self.store, self.alerts(rs, since, until, snapshots), n))

    def listed(self, rs: RuleSet, as_of: date, keep: tuple[str, ...] = ()) -> str:
        """The scored table with each account's behavioural segment (only those in `keep`, if given)."""
        with self.store.lock:
            scored = self.scored(rs, as_of)
            key = ("segments", scored, as_of)
            base = self.cache.table(key, "app_bs_" + _digest(key),
                                    lambda n: tl.with_segments(self.store, scored, rs, as_of, n))
            if not keep:
                return base
            kept = ("segments", scored, as_of, tuple(keep))
            return self.cache.table(kept, "app_bsk_" + _digest(kept),
                                    lambda n: tl.only_segments(self.store, self.listed(rs, as_of), tuple(keep), n))

    def segments(self, rs: RuleSet, as_of: date, before: date, snapshots: str | Path | None = None
                 ) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        """(segments at `as_of`, segments at `before`): account_id, behavior_segment, value; None when
        unknown (an account table without snapshots has one date)."""
        ver = tl.snapshots_version(snapshots)
        snaps = snapshots if ver else None

        def build():
            if snaps is None and not self.is_activity:
                return tl.segments_at(self.store, rs, as_of), None
            return tl.segments_at(self.store, rs, as_of, snaps), tl.segments_at(self.store, rs, before, snaps)
        with self.store.lock:
            return self.cache.get(("segments_at", ruleset_key(rs), as_of, before, ver), build)

    def timeline(self, rs: RuleSet, account_id: str, dates: list[date], snapshots: str | Path | None = None
                 ) -> tl.Timeline:
        """An account's score history and what changed between its points (riskcore.timeline)."""
        ver = tl.snapshots_version(snapshots)
        with self.store.lock:
            return self.cache.get(("timeline", ruleset_key(rs), str(account_id), tuple(dates), ver),
                                  lambda: tl.account_timeline(account_id, rs, dates, store=self.store,
                                                              snapshots=snapshots if ver else None))

    def parents(self, listed: str, parent_column: str, as_of: date) -> pd.DataFrame:
        """Parents rolled up from their children (riskcore.history.rollup); HistoryError without one."""
        with self.store.lock:
            return rollup(self.store, listed, parent_column, accounts_table=self.signals(as_of))

    def account_names(self, table: str, ids: list[str]) -> dict[str, str]:
        return tl.account_names(self.store, table, ids)


def _digest(key: Any) -> str:
    return hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:16]


__all__ = ["Engine", "HistoryError"]
