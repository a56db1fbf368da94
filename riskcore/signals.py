"""Point-in-time signals of every account as of a date D, computed in DuckDB from activity tables.

Every signal uses only rows dated on or before D; windows are (D-k, D]. A signal whose source table
(or column) is missing is absent from the result, never silently zero (PRODUCT.md §2.3).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from .db import Store, quote_ident, safe_table_name
from .derived import derived_of


@dataclass(frozen=True)
class Signal:
    """One signal: its one-line definition (shown in the app), source table and DuckDB type.

    `sql` is the expression over the account row `a` and the table's aggregate row; `needs` are
    the columns it requires as `table.column` (beyond the table's required ones).
    """

    name: str
    definition: str
    table: str
    dtype: str
    sql: str
    needs: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """Alias of `dtype` (the name ARCHITECTURE.md uses)."""
        return self.dtype


def _next_yearly(anchor: str, day: str) -> str:
    """SQL: the first date on or after `day` in the yearly cycle of `anchor` (anchor + k years)."""
    k = f"(year({day}) - year({anchor}))"
    return (f"CASE WHEN CAST({anchor} + to_years({k}) AS DATE) >= {day} "
            f"THEN CAST({anchor} + to_years({k}) AS DATE) "
            f"ELSE CAST({anchor} + to_years({k} + 1) AS DATE) END")


# The next renewal: the recorded renewal_date stepped back in whole years to the first one on or
# after D (an export's renewal_date is the *latest* renewal, so for a past D it is too far out);
# else the next contract anniversary after contract_start.
_NEXT_ANNIVERSARY = _next_yearly("a.contract_start", "greatest($as_of, a.contract_start + 1)")
_NEXT_RENEWAL_WITH_DATE = (f"CASE WHEN a.renewal_date >= $as_of THEN {_next_yearly('a.renewal_date', '$as_of')} "
                           f"ELSE {_NEXT_ANNIVERSARY} END")

# Per activity table: alias, the column that dates a row, and the aggregates signals draw on.
# Each aggregate is (name, SQL over rows dated on or before D, columns it needs).
_AGGREGATES: dict[str, tuple[str, str, tuple[tuple[str, str, tuple[str, ...]], ...]]] = {
    "usage": ("u", "date", (
        ("logins_30d", "sum(logins) FILTER (WHERE date > $as_of - 30)", ()),
        ("logins_prev_30d", "sum(logins) FILTER (WHERE date > $as_of - 60 AND date <= $as_of - 30)", ()),
        ("active_users_30d", "avg(active_users) FILTER (WHERE date > $as_of - 30)", ("active_users",)),
        ("last_login", "max(date) FILTER (WHERE logins > 0)", ()),
    )),
    "tickets": ("t", "opened_at", (
        ("tickets_30d", "count(*) FILTER (WHERE opened_at > $as_of - 30)", ()),
        ("negative_tickets_30d",
         "count(*) FILTER (WHERE opened_at > $as_of - 30 AND sentiment < -0.3)", ("sentiment",)),
        ("escalations_90d", "count(*) FILTER (WHERE opened_at > $as_of - 90 AND escalated)", ("escalated",)),
    )),
    "invoices": ("i", "due_date", (
        ("failed_payments_30d", "count(*) FILTER (WHERE due_date > $as_of - 30 AND status = 'failed')", ()),
        # paid after the due date, or not paid by D (paid_at > D > due_date counts as unpaid at D)
        ("late_invoices_90d",
         "count(*) FILTER (WHERE due_date > $as_of - 90 AND (paid_at IS NULL OR paid_at > due_date))",
         ("paid_at",)),
        ("chargebacks_180d", "count(*) FILTER (WHERE due_date > $as_of - 180 AND status = 'chargeback')", ()),
    )),
    "touchpoints": ("tp", "date", (
        ("last_qbr", "max(date) FILTER (WHERE kind = 'qbr')", ()),
        ("last_touch", "max(date)", ()),
        # latest response; on a tie (same date) the highest score
        ("last_nps", "arg_max(nps, (date, nps)) FILTER (WHERE nps IS NOT NULL)", ("nps",)),
    )),
    "relationship_events": ("r", "date", (
        ("champion_left_90d", "count(*) FILTER (WHERE event = 'champion_left' AND date > $as_of - 90)", ()),
    )),
    "outcomes": ("o", "date", (
        ("downgrades_180d", "count(*) FILTER (WHERE outcome = 'downgraded' AND date > $as_of - 180)", ()),
    )),
}

_S = Signal
SIGNALS: dict[str, Signal] = {s.name: s for s in (
    _S("usage_change_30d", "logins in the last 30 days vs the 30 before, minus 1 (empty when the earlier window "
       "has none)", "usage", "DOUBLE",
       "CASE WHEN coalesce(u.logins_prev_30d, 0) = 0 THEN NULL "
       "ELSE coalesce(u.logins_30d, 0) / u.logins_prev_30d - 1 END"),
    _S("logins_30d", "logins in the last 30 days", "usage", "BIGINT", "coalesce(u.logins_30d, 0)"),
    _S("days_since_last_login", "days since the last day with a login (empty when never)", "usage", "BIGINT",
       "$as_of - u.last_login"),
    _S("active_users_30d", "mean active users over the last 30 days", "usage", "DOUBLE", "u.active_users_30d",
       ("usage.active_users",)),
    _S("seat_utilization", "mean active users over the last 30 days / seats", "usage", "DOUBLE",
       "u.active_users_30d / nullif(a.seats, 0)", ("usage.active_users", "accounts.seats")),
    _S("tickets_30d", "support tickets opened in the last 30 days", "tickets", "BIGINT",
       "coalesce(t.tickets_30d, 0)"),
    _S("negative_tickets_30d", "tickets opened in the last 30 days with sentiment below -0.3", "tickets", "BIGINT",
       "coalesce(t.negative_tickets_30d, 0)", ("tickets.sentiment",)),
    _S("escalations_90d", "escalated tickets opened in the last 90 days", "tickets", "BIGINT",
       "coalesce(t.escalations_90d, 0)", ("tickets.escalated",)),
    _S("failed_payments_30d", "invoices due in the last 30 days with a failed payment", "invoices", "BIGINT",
       "coalesce(i.failed_payments_30d, 0)"),
    _S("late_invoices_90d", "invoices due in the last 90 days paid late or still unpaid", "invoices", "BIGINT",
       "coalesce(i.late_invoices_90d, 0)", ("invoices.paid_at",)),
    _S("chargebacks_180d", "invoices due in the last 180 days charged back", "invoices", "BIGINT",
       "coalesce(i.chargebacks_180d, 0)"),
    _S("days_since_qbr", "days since the last QBR (empty when never)", "touchpoints", "BIGINT",
       "$as_of - tp.last_qbr"),
    _S("days_since_last_touch", "days since the last touchpoint of any kind (empty when never)", "touchpoints",
       "BIGINT", "$as_of - tp.last_touch"),
    _S("last_nps", "the latest NPS answer (0-10; empty when none)", "touchpoints", "DOUBLE", "tp.last_nps",
       ("touchpoints.nps",)),
    _S("champion_left_90d", "the champion left in the last 90 days", "relationship_events", "BOOLEAN",
       "coalesce(r.champion_left_90d, 0) > 0"),
    _S("downgrades_180d", "downgrades in the last 180 days", "outcomes", "BIGINT", "coalesce(o.downgrades_180d, 0)"),
    _S("tenure_days", "days since the contract started", "accounts", "BIGINT", "$as_of - a.contract_start"),
    _S("days_to_renewal", "days until the next renewal (renewal date, else the contract anniversary)", "accounts",
       "BIGINT", f"{_NEXT_ANNIVERSARY} - $as_of"),
)}

# days_to_renewal uses renewal_date when the accounts table has it
_DAYS_TO_RENEWAL_WITH_DATE = f"({_NEXT_RENEWAL_WITH_DATE}) - $as_of"

ACCOUNT_COLUMNS = ("account_id", "account_name", "segment", "industry", "region", "plan", "csm_owner", "arr",
                   "seats", "contract_start", "renewal_date", "marketing_consent", "parent_id")

STAGE_SQL = ("CASE WHEN tenure_days < 90 THEN 'onboarding' WHEN days_to_renewal <= 60 THEN 'renewal' "
             "ELSE 'adopted' END")

# An account is active at D: started on or before D and not churned on or before D. A churn dated
# before the contract start (a win-back whose contract_start is the new contract, or a typo) does not
# hide the account: it is reported at load and ignored here.
_ACTIVE_WHERE = "a.contract_start <= $as_of"
_NOT_CHURNED = ("NOT EXISTS (SELECT 1 FROM outcomes c WHERE c.account_id = a.account_id "
                "AND c.outcome = 'churned' AND c.date <= $as_of AND c.date >= a.contract_start)")

_DATED = {"usage": "date", "tickets": "opened_at", "touchpoints": "date", "relationship_events": "date",
          "outcomes": "date", "plays": "started_at", "invoices": "due_date"}

# ---- the data's ordinary end ------------------------------------------------------
# A row dated past the data's ordinary end (a typo such as 2099) must not move the default as-of date.
# The data's dates are the event dates of every table together (EVENT_DATES). A date is past the end
# when it is
#   1. after today + FUTURE_GRACE_DAYS (event tables record what happened; the grace covers exports
#      stamped in a time zone ahead of this machine), unless most dates lie in the future (a generated
#      or shifted data set: then only rule 2 applies); or
#   2. after a jump of more than GAP_DAYS between consecutive dates, past the median date, with at most
#      GAP_TAIL_SHARE of the dates after the jump (nothing for over a year, then a few rows: the
#      clock-free rule; sparse data, such as a handful of churn dates, never meets it).
# Planned dates (invoice due dates: open invoices fall due after the export) are past the end only when
# more than GAP_DAYS after the ordinary end of the events.
FUTURE_GRACE_DAYS = 1
GAP_DAYS = 365
GAP_TAIL_SHARE = 0.05
EVENT_DATES = (("usage", "date"), ("tickets", "opened_at"), ("touchpoints", "date"), ("relationship_events", "date"),
               ("outcomes", "date"), ("plays", "started_at"), ("invoices", "paid_at"))
PLANNED_DATES = (("invoices", "due_date"),)


class AsOfWarning(UserWarning):
    """An as-of date after the data's last date: signals see no activity after the data ends."""


@dataclass(frozen=True)
class DataEnd:
    """The data's ordinary end: the last ordinary event date, and the first date past it for event
    columns (`cut`) and for planned columns (`planned_cut`); a None cut means no row is past the end."""

    end: date | None
    cut: date | None
    planned_cut: date | None

    def limit(self, key: tuple[str, str]) -> date | None:
        """The cut that applies to the column `key` = (table, column)."""
        return self.planned_cut if key in PLANNED_DATES else self.cut


def data_end(store: Store, columns: dict[tuple[str, str], tuple[str, str]], today: date | None = None) -> DataEnd:
    """Where the data's dates ordinarily end (rules above).

    `columns` maps (table, column) to (SQL source, SQL date expression) built by the caller from checked
    names (never user text): the loaded tables, or the raw tables being checked at load.
    """
    events = [v for k, v in columns.items() if k in EVENT_DATES]
    planned = [v for k, v in columns.items() if k in PLANNED_DATES]
    dates = " UNION ALL ".join(f"SELECT {expr} AS d FROM {src}" for src, expr in events or planned)
    if not dates:
        return DataEnd(None, None, None)
    median, gap_cut = store.rows(f"""
        WITH v AS (SELECT d FROM ({dates}) WHERE d IS NOT NULL),
             m AS (SELECT quantile_disc(d, 0.5) AS median, count(*) AS n FROM v),
             g AS (SELECT d, d - lag(d) OVER (ORDER BY d) AS gap FROM (SELECT DISTINCT d FROM v)),
             c AS (SELECT g.d FROM g, m WHERE g.gap > ? AND g.d > m.median
                   AND (SELECT count(*) FROM v WHERE v.d >= g.d) <= ? * m.n)
        SELECT (SELECT median FROM m), (SELECT min(d) FROM c)""", [GAP_DAYS, GAP_TAIL_SHARE])[0]
    cuts = [gap_cut] if gap_cut is not None else []
    today = today or date.today()
    if events and median is not None and median <= today:
        cuts.append(today + timedelta(days=FUTURE_GRACE_DAYS + 1))
    cut = min(cuts) if cuts else None
    end = store.one(f"SELECT max(d) FROM ({dates}) WHERE ? IS NULL OR d < ?", [cut, cut])
    if not events:  # only planned dates: they are the data's dates
        return DataEnd(end, None, cut)
    return DataEnd(end, cut, end + timedelta(days=GAP_DAYS + 1) if end is not None else None)


def _present(store: Store) -> dict[str, set[str]]:
    """Activity tables in the store and their columns."""
    tables = set(store.tables())
    return {t: set(store.columns(t)) for t in ["accounts", *_AGGREGATES, "plays"] if t in tables}


def _available(present: dict[str, set[str]]) -> list[Signal]:
    def has(need: str) -> bool:
        table, col = need.split(".")
        return col in present.get(table, set())
    return [s for s in SIGNALS.values() if s.table in present and all(has(n) for n in s.needs)]


def _require_activity(store: Store) -> None:
    if store.dataset is None:
        raise ValueError("no data loaded")


def available_signals(store: Store) -> list[str]:
    """Names of the signals the loaded data supports (account-table mode: the table's columns)."""
    _require_activity(store)
    if store.dataset.kind == "account_table":
        return [c for c in store.columns("account_table") if c != "account_id"]
    return [s.name for s in _available(_present(store))]


def signals_sql(store: Store) -> str:
    """The SELECT (as_of bound as `$as_of`) for the tables and columns present in the store."""
    present = _present(store)
    signals = _available(present)
    ctes, joins = [], []
    for table, (alias, dated, aggs) in _AGGREGATES.items():
        if table not in present:
            continue
        cols = [f"{sql} AS {name}" for name, sql, needs in aggs if all(n in present[table] for n in needs)]
        ctes.append(f"{alias} AS (\n  SELECT account_id,\n    " + ",\n    ".join(cols)
                    + f"\n  FROM {table} WHERE {dated} <= $as_of GROUP BY account_id)")
        joins.append(f"LEFT JOIN {alias} ON {alias}.account_id = a.account_id")
    acc_cols = present["accounts"]
    names = {s.name for s in signals} | {"stage"}
    keep = [c for c in ACCOUNT_COLUMNS if c in acc_cols]
    keep += sorted(c for c in acc_cols - set(ACCOUNT_COLUMNS) if c not in names)  # the export's own columns
    select = [f"a.{quote_ident(c)}" for c in keep]
    for s in signals:
        expr = _DAYS_TO_RENEWAL_WITH_DATE if s.name == "days_to_renewal" and "renewal_date" in acc_cols else s.sql
        select.append(f"CAST({expr} AS {s.dtype}) AS {s.name}")
    where = _ACTIVE_WHERE + (f"\n  AND {_NOT_CHURNED}" if "outcomes" in present else "")
    with_ = ("WITH " + ",\n".join(ctes) + "\n") if ctes else ""
    inner = (f"{with_}SELECT " + ",\n  ".join(select) + "\nFROM accounts a\n" + "\n".join(joins)
             + f"\nWHERE {where}")
    return f"SELECT *, {STAGE_SQL} AS stage FROM (\n{inner}\n) ORDER BY account_id"


def signals_table(store: Store, as_of: date) -> str:
    """Name of a table with one row per account active at `as_of` and its signals (kept in the store's
    one cache of derived tables, riskcore.derived, until the data is reloaded or the entry is evicted).

    In account-table mode the loaded `account_table` is returned unchanged (as_of is ignored).
    """
    _require_activity(store)
    if store.dataset.kind == "account_table":
        return "account_table"
    name = safe_table_name(f"signals_{as_of:%Y%m%d}")

    def build(table: str) -> None:
        store.execute(f"CREATE OR REPLACE TABLE {table} AS {signals_sql(store)}", {"as_of": as_of})
        note = as_of_note(store, as_of)
        if note:
            warnings.warn(note, AsOfWarning, stacklevel=6)  # the caller of signals_table
    return derived_of(store).table(("signals", as_of), name, build)


def outcomes(store: Store, as_of: date, horizon_days: int) -> pd.DataFrame:
    """account_id, churned (a churned outcome in (D, D+H]) for every account active at D."""
    _require_activity(store)
    if store.dataset.kind == "account_table":
        if "churned" not in store.columns("account_table"):
            raise ValueError("the account table has no outcome column mapped")
        return store.df("SELECT account_id, churned FROM account_table ORDER BY account_id")
    if not store.has_table("outcomes"):
        raise ValueError("no outcomes table: backtests need churn outcomes")
    if horizon_days <= 0:
        raise ValueError(f"horizon_days must be positive, got {horizon_days}")
    sql = f"""
        SELECT a.account_id,
               EXISTS (SELECT 1 FROM outcomes o WHERE o.account_id = a.account_id AND o.outcome = 'churned'
                       AND o.date > $as_of AND o.date <= $as_of + $horizon) AS churned
        FROM accounts a
        WHERE {_ACTIVE_WHERE} AND {_NOT_CHURNED}
        ORDER BY a.account_id"""
    return store.df(sql, {"as_of": as_of, "horizon": int(horizon_days)})


def active_dates(store: Store) -> tuple[date, date]:
    """First and last activity date: the range an as-of date can sensibly take.

    The earliest and latest dated row of the event tables (else contract starts), leaving out rows
    past the data's ordinary end (`data_end`); invoice due dates count only when no other event
    table exists (open invoices are often due in the future). Remembered per load.
    """
    _require_activity(store)
    return derived_of(store).get(("active_dates",), lambda: _active_dates(store))


def _active_dates(store: Store) -> tuple[date, date]:
    present = _present(store)
    ends = data_end(store, {(t, c): (t, c) for t, c in EVENT_DATES + PLANNED_DATES if c in present.get(t, ())})
    tables = [t for t in _DATED if t in present and t != "invoices"] or [t for t in _DATED if t in present]
    spans = []
    for t in tables:
        col = _DATED[t]
        limit = ends.limit((t, col))
        spans.append(store.rows(f"SELECT min({col}), max({col}) FILTER (WHERE ? IS NULL OR {col} < ?) FROM {t}",
                                [limit, limit])[0])
    spans = [s for s in spans if s[0] is not None]
    if not spans:
        spans = [store.rows("SELECT min(contract_start), max(contract_start) FROM accounts")[0]]
    return min(s[0] for s in spans), max(s[1] for s in spans)


def as_of_note(store: Store, as_of: date) -> str | None:
    """A sentence when `as_of` is after the data's last activity date (activity tables), else None."""
    if store.dataset is None or store.dataset.kind != "activity":
        return None
    last = active_dates(store)[1]
    if as_of <= last:
        return None
    return (f"as-of date {as_of} is after the data's last activity date {last}: signals see no activity "
            f"after {last}, so recent counts are low and 'days since' signals grow")
