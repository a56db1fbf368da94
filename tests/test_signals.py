import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from riskcore.activity import load_frames
from riskcore.db import Dataset, Store
from riskcore.fixtures import ACTIVITY_AS_OF, ACTIVITY_EXPECTED, activity_frames, activity_store
from riskcore.signals import SIGNALS, active_dates, available_signals, outcomes, signals_table

# Many tests compute signals at D past a one-row table on purpose; the as-of warning is tested on its own.
pytestmark = pytest.mark.filterwarnings("ignore::riskcore.signals.AsOfWarning")

D = ACTIVITY_AS_OF


def _signals(store: Store, as_of: date) -> pd.DataFrame:
    return store.df(f"SELECT * FROM {signals_table(store, as_of)} ORDER BY account_id").set_index("account_id")


def _same(actual, expected) -> bool:
    if expected is None:
        return actual is None or pd.isna(actual)
    if actual is None or pd.isna(actual):
        return False
    if isinstance(expected, float):
        return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12)
    return actual == expected


# ---- an independent pandas computation of every signal --------------------------------

def _yearly_on_or_after(anchor: date, day: date) -> date:
    """First anchor + k years (k integer, Feb 29 -> Feb 28) on or after day."""
    k = day.year - anchor.year
    for j in (k - 1, k, k + 1):
        c = (pd.Timestamp(anchor) + pd.DateOffset(years=j)).date()
        if c >= day:
            return c
    raise AssertionError("unreachable")


def pandas_signals(frames: dict[str, pd.DataFrame], as_of: date) -> pd.DataFrame:
    """PRODUCT.md §2.3 written out in pandas, row by row where that is clearer."""
    ts = pd.Timestamp(as_of)

    def dated(table, col):
        f = frames[table].copy()
        f[col] = pd.to_datetime(f[col])
        return f[f[col] <= ts]

    def in_window(f, col, k):
        return f[f[col] > ts - pd.Timedelta(days=k)]

    acc = frames["accounts"].copy()
    acc["contract_start"] = pd.to_datetime(acc["contract_start"])
    churned = dated("outcomes", "date")
    churned_ids = set(churned.loc[churned["outcome"] == "churned", "account_id"])
    acc = acc[(acc["contract_start"] <= ts) & ~acc["account_id"].isin(churned_ids)].set_index("account_id")
    out = pd.DataFrame(index=acc.index)

    u = dated("usage", "date")
    recent = in_window(u, "date", 30)
    earlier = u[(u["date"] <= ts - pd.Timedelta(days=30)) & (u["date"] > ts - pd.Timedelta(days=60))]
    l30 = recent.groupby("account_id")["logins"].sum().reindex(out.index).fillna(0)
    lprev = earlier.groupby("account_id")["logins"].sum().reindex(out.index).fillna(0)
    out["logins_30d"] = l30
    out["usage_change_30d"] = np.where(lprev == 0, np.nan, l30 / lprev.replace(0, np.nan) - 1)
    last_login = u[u["logins"] > 0].groupby("account_id")["date"].max().reindex(out.index)
    out["days_since_last_login"] = (ts - last_login).dt.days
    au = recent.groupby("account_id")["active_users"].mean().reindex(out.index)
    out["active_users_30d"] = au
    out["seat_utilization"] = au / acc["seats"].astype(float).replace(0, np.nan)

    t = dated("tickets", "opened_at")
    t30 = in_window(t, "opened_at", 30)
    out["tickets_30d"] = t30.groupby("account_id").size().reindex(out.index).fillna(0)
    out["negative_tickets_30d"] = (t30[t30["sentiment"] < -0.3].groupby("account_id").size()
                                   .reindex(out.index).fillna(0))
    t90 = in_window(t, "opened_at", 90)
    out["escalations_90d"] = (t90[t90["escalated"].fillna(False).astype(bool)].groupby("account_id").size()
                              .reindex(out.index).fillna(0))

    inv = dated("invoices", "due_date")
    inv["paid_at"] = pd.to_datetime(inv["paid_at"])
    i30, i90, i180 = (in_window(inv, "due_date", k) for k in (30, 90, 180))
    out["failed_payments_30d"] = (i30[i30["status"] == "failed"].groupby("account_id").size()
                                  .reindex(out.index).fillna(0))
    late = i90[i90["paid_at"].isna() | (i90["paid_at"] > i90["due_date"])]
    out["late_invoices_90d"] = late.groupby("account_id").size().reindex(out.index).fillna(0)
    out["chargebacks_180d"] = (i180[i180["status"] == "chargeback"].groupby("account_id").size()
                               .reindex(out.index).fillna(0))

    tp = dated("touchpoints", "date")
    out["days_since_qbr"] = (ts - tp[tp["kind"] == "qbr"].groupby("account_id")["date"].max()
                             .reindex(out.index)).dt.days
    out["days_since_last_touch"] = (ts - tp.groupby("account_id")["date"].max().reindex(out.index)).dt.days
    answered = tp[tp["nps"].notna()].sort_values(["account_id", "date", "nps"])
    out["last_nps"] = answered.groupby("account_id")["nps"].last().reindex(out.index)

    rel = in_window(dated("relationship_events", "date"), "date", 90)
    left = set(rel.loc[rel["event"] == "champion_left", "account_id"])
    out["champion_left_90d"] = out.index.isin(left)

    o180 = in_window(dated("outcomes", "date"), "date", 180)
    out["downgrades_180d"] = (o180[o180["outcome"] == "downgraded"].groupby("account_id").size()
                              .reindex(out.index).fillna(0))

    out["tenure_days"] = (ts - acc["contract_start"]).dt.days
    nxt = []
    for aid, row in acc.iterrows():
        start = row["contract_start"].date()
        renewal = row.get("renewal_date")
        renewal = None if renewal is None or pd.isna(renewal) else pd.Timestamp(renewal).date()
        if renewal is not None and renewal >= as_of:
            nxt.append(_yearly_on_or_after(renewal, as_of))
        else:
            nxt.append(_yearly_on_or_after(start, max(as_of, start + timedelta(days=1))))
    out["days_to_renewal"] = [(n - as_of).days for n in nxt]
    out["stage"] = np.where(out["tenure_days"] < 90, "onboarding",
                            np.where(out["days_to_renewal"] <= 60, "renewal", "adopted"))
    return out.sort_index()


def assert_frames_agree(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(actual.index) == list(expected.index)
    for col in expected.columns:
        a = actual[col].astype(object).where(actual[col].notna(), None)
        e = expected[col].astype(object).where(expected[col].notna(), None)
        bad = [(i, x, y) for i, x, y in zip(expected.index, a, e)
               if not _same(x, float(y) if isinstance(y, (float, np.floating)) else y)]
        assert not bad, f"{col}: (account, sql, pandas) {bad[:5]}"


# ---- the hand-computed fixture ----------------------------------------------------------

def test_fixture_signals_are_the_hand_computed_values():
    sig = _signals(activity_store(), D)
    assert list(sig.index) == ["A1", "A2", "A5", "A6", "A7"]  # A3 churned at D, A4 starts after D
    for account, values in ACTIVITY_EXPECTED.items():
        for name, expected in values.items():
            assert _same(sig.loc[account, name], expected), (account, name, sig.loc[account, name], expected)


def test_fixture_signals_agree_with_pandas():
    frames = activity_frames()
    for as_of in (D, D - timedelta(days=1), date(2025, 1, 31), date(2025, 8, 15)):
        sql = _signals(activity_store(), as_of)
        assert_frames_agree(sql, pandas_signals(frames, as_of))


def test_every_declared_signal_is_computed_and_typed():
    store = activity_store()
    sig = _signals(store, D)
    for name in SIGNALS:
        assert name in sig.columns
    types = store.column_types(signals_table(store, D))
    assert types["champion_left_90d"] == "BOOLEAN" and types["usage_change_30d"] == "DOUBLE"
    assert types["stage"] == "VARCHAR"
    for col in ("account_id", "account_name", "segment", "arr", "seats", "contract_start", "marketing_consent"):
        assert col in sig.reset_index().columns


def test_active_accounts_around_start_and_churn():
    store = activity_store()
    assert "A3" in _signals(store, D - timedelta(days=1)).index     # churned on D, still active the day before
    assert "A5" not in _signals(store, D - timedelta(days=1)).index  # starts on D
    assert "A4" not in _signals(store, D).index and "A4" in _signals(store, date(2025, 7, 1)).index
    assert "A1" not in _signals(store, date(2025, 8, 15)).index


def _one_account(table: str | None = None, rows: list[dict] | None = None) -> dict[str, pd.DataFrame]:
    frames = {"accounts": pd.DataFrame([{"account_id": "X", "arr": 1.0, "seats": 2,
                                         "contract_start": date(2020, 1, 1)}])}
    if table:
        frames[table] = pd.DataFrame(rows)
    return frames


@pytest.mark.parametrize("table, signal, k, row", [
    ("usage", "logins_30d", 30, {"logins": 5, "active_users": 1}),
    ("usage", "active_users_30d", 30, {"logins": 5, "active_users": 1}),
    ("tickets", "tickets_30d", 30, {"sentiment": -0.9, "escalated": True}),
    ("tickets", "negative_tickets_30d", 30, {"sentiment": -0.9, "escalated": True}),
    ("tickets", "escalations_90d", 90, {"sentiment": -0.9, "escalated": True}),
    ("invoices", "failed_payments_30d", 30, {"status": "failed", "paid_at": None}),
    ("invoices", "late_invoices_90d", 90, {"status": "failed", "paid_at": None}),
    ("invoices", "chargebacks_180d", 180, {"status": "chargeback", "paid_at": None}),
    ("relationship_events", "champion_left_90d", 90, {"event": "champion_left"}),
    ("outcomes", "downgrades_180d", 180, {"outcome": "downgraded"}),
])
def test_window_edges(table, signal, k, row):
    """A row exactly at D-k is outside the window (D-k, D]; one day later it is inside; after D, outside."""
    date_col = {"tickets": "opened_at", "invoices": "due_date"}.get(table, "date")

    def value(day):
        store = Store()
        load_frames(store, _one_account(table, [{"account_id": "X", date_col: day, **row}]))
        v = _signals(store, D).loc["X", signal]
        return 0 if pd.isna(v) else v

    assert not value(D - timedelta(days=k))
    assert value(D - timedelta(days=k - 1))
    assert value(D)
    assert not value(D + timedelta(days=1))


def test_usage_change_window_edges():
    def change(days_before_and_logins):
        rows = [{"account_id": "X", "date": D - timedelta(days=b), "logins": n} for b, n in days_before_and_logins]
        store = Store()
        load_frames(store, _one_account("usage", rows))
        return _signals(store, D).loc["X", "usage_change_30d"]

    assert change([(0, 6), (30, 3)]) == pytest.approx(1.0)   # D-30 belongs to the earlier window
    assert change([(0, 6), (59, 3)]) == pytest.approx(1.0)   # D-59: still the earlier window
    assert pd.isna(change([(0, 6), (60, 3)]))                 # D-60: in no window -> earlier window is 0
    assert change([(29, 0), (31, 4)]) == pytest.approx(-1.0)


def test_no_look_ahead():
    """Changing or adding any row dated after D changes no signal at D."""
    base = _signals(activity_store(), D)
    frames = activity_frames()
    after = D + timedelta(days=1)
    dates = {"usage": "date", "tickets": "opened_at", "invoices": "due_date", "touchpoints": "date",
             "relationship_events": "date", "outcomes": "date"}
    extra = {
        "usage": {"active_users": 999, "logins": 999},
        "tickets": {"ticket_id": "N", "sentiment": -1.0, "escalated": True},
        "invoices": {"invoice_id": "N", "paid_at": None, "status": "chargeback"},
        "touchpoints": {"kind": "qbr", "nps": 0},
        "relationship_events": {"event": "champion_left"},
        "outcomes": {"outcome": "downgraded", "arr_change": -1.0},
    }
    for table, col in dates.items():
        f = frames[table]
        later = pd.to_datetime(f[col]) > pd.Timestamp(D)
        for c in extra[table]:  # scramble the rows already dated after D
            if c in f.columns:
                f.loc[later, c] = extra[table][c]
        new = [{"account_id": a, col: after + timedelta(days=j), **extra[table]}
               for a in ["A1", "A2", "A5", "A6", "A7"] for j in (0, 5, 60)]
        frames[table] = pd.concat([f, pd.DataFrame(new)], ignore_index=True)
    store = Store()
    load_frames(store, frames)
    changed = _signals(store, D)
    pd.testing.assert_frame_equal(base, changed)


def test_missing_tables_and_columns_make_signals_absent_not_zero():
    frames = activity_frames()
    store = Store()
    load_frames(store, {"accounts": frames["accounts"].drop(columns=["seats"]),
                        "tickets": frames["tickets"].drop(columns=["sentiment"])})
    sig = _signals(store, D)
    assert "tickets_30d" in sig.columns and "escalations_90d" in sig.columns
    for absent in ("negative_tickets_30d", "logins_30d", "usage_change_30d", "seat_utilization", "last_nps",
                   "failed_payments_30d", "champion_left_90d", "downgrades_180d"):
        assert absent not in sig.columns
    assert set(available_signals(store)) == set(sig.columns) & set(SIGNALS)
    # without outcomes nobody counts as churned: A3 is active at D
    assert "A3" in sig.index


def test_cache_per_load_and_date():
    store = activity_store()
    name = signals_table(store, D)
    assert name == "signals_20250630" and signals_table(store, D) == name
    store.execute(f"UPDATE {name} SET logins_30d = -1")  # a cached table is reused as is ...
    assert _signals(store, D).loc["A1", "logins_30d"] == -1
    other = signals_table(store, date(2025, 1, 31))
    load_frames(store, activity_frames())  # ... until the next load: then stale ones are dropped
    assert _signals(store, D).loc["A1", "logins_30d"] == 3
    assert other not in store.tables()


def test_outcomes_horizon():
    store = activity_store()
    o = outcomes(store, D, 45).set_index("account_id")["churned"]
    assert list(o.index) == ["A1", "A2", "A5", "A6", "A7"]
    assert not o.any()
    assert outcomes(store, D, 46).set_index("account_id")["churned"].to_dict() == {
        "A1": True, "A2": False, "A5": False, "A6": False, "A7": False}
    assert not outcomes(store, D, 89).set_index("account_id").loc["A6", "churned"]
    assert outcomes(store, D, 90).set_index("account_id").loc["A6", "churned"]
    # churned exactly at D: not active at D, so not in the backtest population
    assert "A3" not in set(outcomes(store, D, 365)["account_id"])


def test_active_dates():
    assert active_dates(activity_store()) == (date(2024, 8, 15), date(2025, 9, 28))


def test_account_table_mode_returns_the_table_unchanged():
    store = Store()
    store.execute("CREATE TABLE _stage_at AS SELECT 'c1' AS account_id, 3.5 AS score, TRUE AS churned")
    store.swap_in({"_stage_at": "account_table"}, Dataset(kind="account_table", source="x.csv",
                                                           tables=("account_table",)))
    assert signals_table(store, D) == "account_table"
    assert available_signals(store) == ["score", "churned"]
    assert outcomes(store, D, 90)["churned"].tolist() == [True]


def test_sample_signals_agree_with_pandas_at_three_dates(tmp_path):
    from riskcore.sample import TABLE_NAMES, generate_sample
    out = generate_sample(tmp_path, n_accounts=400, seed=9)
    frames = {t: pd.read_parquet(out / f"{t}.parquet") for t in TABLE_NAMES}
    store = Store()
    from riskcore.activity import load_activity
    load_activity(store, out)
    for as_of in (date(2025, 2, 28), date(2025, 11, 3), date(2026, 10, 31)):
        sql = _signals(store, as_of)
        assert len(sql) > 200
        assert_frames_agree(sql, pandas_signals(frames, as_of))


# ---- the data's ordinary end: rows dated past it never set the default as-of date ------------------------

def _dates_store(usage_dates, due_dates=()) -> Store:
    from riskcore.activity import load_frames
    store = Store()
    accounts = pd.DataFrame({"account_id": ["X"], "arr": [1.0], "contract_start": [date(2020, 1, 1)]})
    frames = {"accounts": accounts,
              "usage": pd.DataFrame({"account_id": "X", "date": list(usage_dates), "logins": 1})}
    if due_dates:
        frames["invoices"] = pd.DataFrame({"account_id": "X", "due_date": list(due_dates), "status": "open"})
    load_frames(store, frames)
    return store


def _days(start: date, n: int, step: int = 7) -> list[date]:
    from datetime import timedelta
    return [start + timedelta(days=step * i) for i in range(n)]


def test_data_end_rules():
    from riskcore.signals import EVENT_DATES, data_end
    cols = {k: k for k in EVENT_DATES if k[0] == "usage"}
    # rule 1 (the clock): a row after today + 1 day, when most dates are in the past
    store = _dates_store(_days(date(2025, 1, 5), 20) + [date(2025, 9, 1)])
    assert data_end(store, cols, today=date(2025, 6, 1)) == data_end(store, cols, today=date(2025, 6, 1))
    end = data_end(store, cols, today=date(2025, 6, 1))
    assert (end.cut, end.end) == (date(2025, 6, 3), max(_days(date(2025, 1, 5), 20)))
    assert data_end(store, cols, today=date(2026, 1, 1)).cut == date(2026, 1, 3)  # nothing past: 2025-09-01 is ordinary
    # rule 2 (clock-free): a jump of more than a year past the median, even for a data set in the future
    future = _dates_store(_days(date(2040, 1, 1), 30) + [date(2099, 1, 1)])
    end = data_end(future, cols, today=date(2026, 1, 1))
    assert end.cut == date(2099, 1, 1) and end.end == max(_days(date(2040, 1, 1), 30))
    # a year-long gap before the median is history, not a typo
    early = _dates_store([date(2020, 1, 1)] + _days(date(2024, 1, 1), 30))
    assert data_end(early, cols, today=date(2030, 1, 1)).cut == date(2030, 1, 3)
    # sparse dates: a jump with more than 5% of the dates after it is the data, not a typo
    sparse = _dates_store([date(2041, 2, 1), date(2041, 3, 1), date(2043, 3, 1)])
    assert data_end(sparse, cols, today=date(2026, 1, 1)) == data_end(sparse, cols, today=date(2026, 1, 1))
    assert data_end(sparse, cols, today=date(2026, 1, 1)).cut is None


def test_active_dates_ignore_rows_past_the_end_and_planned_due_dates_within_a_year():
    from riskcore.signals import active_dates
    usage = _days(date(2025, 1, 5), 20)
    assert active_dates(_dates_store(usage + [date(2099, 1, 1)]))[1] == max(usage)
    # invoice due dates alone are the data's dates; ahead of the events they never count when events exist
    assert active_dates(_dates_store(usage, due_dates=[date(2025, 9, 1)]))[1] == max(usage)


def test_as_of_note_only_past_the_data():
    from riskcore.signals import as_of_note
    store = _dates_store(_days(date(2025, 1, 5), 20))
    last = max(_days(date(2025, 1, 5), 20))
    assert as_of_note(store, last) is None
    assert as_of_note(store, date(2030, 1, 1)).startswith(f"as-of date 2030-01-01 is after the data's last activity "
                                                          f"date {last}")


def test_churn_before_the_contract_start_keeps_the_account_active():
    from riskcore.activity import load_frames
    store = Store()
    load_frames(store, {
        "accounts": pd.DataFrame({"account_id": ["X", "Y"], "arr": [1.0, 2.0],
                                  "contract_start": [date(2024, 6, 1), date(2024, 1, 1)]}),
        "outcomes": pd.DataFrame({"account_id": ["X", "Y"], "date": [date(2024, 2, 1), date(2025, 3, 1)],
                                  "outcome": ["churned", "churned"]})})
    d = date(2025, 3, 1)
    assert active_dates(store)[1] == d  # two churn dates a year apart: both ordinary
    assert [r[0] for r in store.rows(f"SELECT account_id FROM {signals_table(store, d)}")] == ["X"]  # Y churned
