"""Tiny hand-computable data sets shared by unit tests, AppTests and browser tests.

Each section is owned by one module's tests; add to your own section only.
"""

from __future__ import annotations

# ---- activity tables (signals, sample) ------------------------------------

import datetime as _dt  # noqa: E402

ACTIVITY_AS_OF = _dt.date(2025, 6, 30)  # D: (D-30, D] starts 2025-06-01; D-90 = 2025-04-01; D-180 = 2025-01-01


def activity_frames() -> dict:
    """Seven accounts whose signals at ACTIVITY_AS_OF (D = 2025-06-30) are computed by hand.

    | id | contract_start | what it tests                                                     | at D       |
    |----|----------------|-------------------------------------------------------------------|------------|
    | A1 | 2023-08-15     | every signal; rows exactly at D-30/D-60/D-90/D-180 and after D     | renewal    |
    | A2 | 2025-05-01     | no seats, no logins, no touchpoints: the NULL cases; champion at D | onboarding |
    | A3 | 2023-01-01     | churned exactly at D                                              | excluded   |
    | A4 | 2025-07-01     | starts after D                                                    | excluded   |
    | A5 | 2025-06-30     | starts at D (tenure 0, renewal in 365 days)                        | onboarding |
    | A6 | 2022-03-10     | past renewal_date (falls back to anniversaries); NPS tie on a day  | adopted    |
    | A7 | 2024-02-29     | leap-day anniversary (2026-02-28)                                  | adopted    |
    """
    import pandas as pd

    d = _dt.date.fromisoformat
    accounts = pd.DataFrame([
        ("A1", "Alpha Logistics", "Enterprise", "NA", "Ana", 120000.0, 10, d("2023-08-15"), d("2026-08-15"), True),
        ("A2", "Bravo Foods", "SMB", "EMEA", "Ben", 8000.0, None, d("2025-05-01"), None, False),
        ("A3", "Charlie Labs", "SMB", "NA", "Ana", 5000.0, 3, d("2023-01-01"), d("2025-06-30"), True),
        ("A4", "Delta Retail", "Mid-Market", "APAC", "Ben", 40000.0, 50, d("2025-07-01"), None, True),
        ("A5", "Echo Health", "Mid-Market", "NA", "Cy", 30000.0, 20, d("2025-06-30"), None, None),
        ("A6", "Foxtrot Media", "SMB", "LATAM", "Cy", 9000.0, 5, d("2022-03-10"), d("2025-03-10"), True),
        ("A7", "Golf Energy", "Enterprise", "EMEA", "Ana", 250000.0, 400, d("2024-02-29"), None, False),
    ], columns=["account_id", "account_name", "segment", "region", "csm_owner", "arr", "seats",
                "contract_start", "renewal_date", "marketing_consent"])
    usage = pd.DataFrame([  # account_id, date, active_users, logins
        ("A1", d("2025-05-01"), 9, 100),  # D-60: in neither window
        ("A1", d("2025-05-02"), 5, 6),    # earlier window
        ("A1", d("2025-05-31"), 4, 10),   # D-30: earlier window
        ("A1", d("2025-06-01"), 2, 3),    # D-29: last 30 days; the last day with logins
        ("A1", d("2025-06-30"), 6, 0),    # D: last 30 days, no logins
        ("A1", d("2025-07-01"), 9, 50),   # after D
        ("A2", d("2025-05-15"), 0, 0),
        ("A3", d("2025-06-10"), 2, 5),
        ("A6", d("2025-05-10"), 1, 4),
        ("A6", d("2025-06-10"), 3, 8),
        ("A7", d("2025-06-29"), 100, 400),
    ], columns=["account_id", "date", "active_users", "logins"])
    tickets = pd.DataFrame([  # account_id, ticket_id, opened_at, sentiment, escalated
        ("A1", "T1", d("2025-06-01"), -0.5, False),  # 30d, negative
        ("A1", "T2", d("2025-05-31"), -0.9, True),   # D-30: not 30d; escalation in 90d
        ("A1", "T3", d("2025-06-15"), -0.3, False),  # 30d, -0.3 is not negative
        ("A1", "T4", d("2025-04-01"), 0.2, True),    # D-90: outside
        ("A1", "T5", d("2025-04-02"), 0.1, True),    # D-89: escalation in 90d
        ("A1", "T6", d("2025-07-02"), -1.0, True),   # after D
        ("A1", "T7", d("2025-06-20"), None, None),   # 30d, no sentiment
        ("A6", "T8", d("2025-06-25"), -0.8, False),
    ], columns=["account_id", "ticket_id", "opened_at", "sentiment", "escalated"])
    invoices = pd.DataFrame([  # account_id, invoice_id, due_date, paid_at, status
        ("A1", "I1", d("2025-06-10"), None, "failed"),               # failed 30d, unpaid
        ("A1", "I2", d("2025-05-31"), None, "failed"),               # D-30: not failed 30d; unpaid
        ("A1", "I3", d("2025-05-10"), d("2025-05-25"), "late"),      # paid late
        ("A1", "I4", d("2025-04-10"), d("2025-04-10"), "paid"),      # on time
        ("A1", "I5", d("2025-06-20"), d("2025-07-15"), "late"),      # unpaid at D
        ("A1", "I6", d("2025-01-05"), d("2025-01-03"), "chargeback"),  # chargeback in 180d
        ("A1", "I7", d("2025-01-01"), d("2025-01-01"), "chargeback"),  # D-180: outside
        ("A1", "I8", d("2025-07-10"), None, "failed"),               # after D
        ("A6", "I9", d("2025-06-01"), d("2025-05-30"), "paid"),
    ], columns=["account_id", "invoice_id", "due_date", "paid_at", "status"])
    touchpoints = pd.DataFrame([  # account_id, date, kind, nps
        ("A1", d("2025-01-10"), "qbr", None),
        ("A1", d("2025-03-01"), "nps_survey", 9),
        ("A1", d("2025-06-15"), "nps_survey", None),  # no answer
        ("A1", d("2025-06-20"), "csm_call", None),
        ("A1", d("2025-07-05"), "qbr", None),         # after D
        ("A1", d("2025-07-06"), "nps_survey", 2),      # after D
        ("A6", d("2025-06-30"), "qbr", None),
        ("A6", d("2025-06-30"), "nps_survey", 3),
        ("A6", d("2025-06-30"), "nps_survey", 5),      # same day: the highest wins
    ], columns=["account_id", "date", "kind", "nps"])
    relationship_events = pd.DataFrame([
        ("A1", d("2025-04-01"), "champion_left"),  # D-90: outside
        ("A1", d("2025-04-20"), "champion_added"),
        ("A2", d("2025-06-30"), "champion_left"),  # at D: inside
        ("A6", d("2025-07-01"), "champion_left"),  # after D
    ], columns=["account_id", "date", "event"])
    outcomes = pd.DataFrame([
        ("A1", d("2024-08-15"), "renewed", 0.0),
        ("A1", d("2025-01-01"), "downgraded", -10000.0),  # D-180: outside
        ("A1", d("2025-01-02"), "downgraded", -5000.0),   # inside 180d
        ("A1", d("2025-08-15"), "churned", -120000.0),    # D+46
        ("A3", d("2025-06-30"), "churned", -5000.0),      # at D: A3 is not active at D
        ("A6", d("2025-09-28"), "churned", -9000.0),      # D+90
    ], columns=["account_id", "date", "outcome", "arr_change"])
    return {"accounts": accounts, "usage": usage, "tickets": tickets, "invoices": invoices,
            "touchpoints": touchpoints, "relationship_events": relationship_events, "outcomes": outcomes}


# Signals of activity_frames() at ACTIVITY_AS_OF, worked out by hand (None: NULL).
ACTIVITY_EXPECTED = {
    "A1": dict(logins_30d=3, usage_change_30d=3 / 16 - 1, days_since_last_login=29, active_users_30d=4.0,
               seat_utilization=0.4, tickets_30d=3, negative_tickets_30d=1, escalations_90d=2,
               failed_payments_30d=1, late_invoices_90d=4, chargebacks_180d=1, days_since_qbr=171,
               days_since_last_touch=10, last_nps=9.0, champion_left_90d=False, downgrades_180d=1,
               tenure_days=685, days_to_renewal=46, stage="renewal"),
    "A2": dict(logins_30d=0, usage_change_30d=None, days_since_last_login=None, active_users_30d=None,
               seat_utilization=None, tickets_30d=0, negative_tickets_30d=0, escalations_90d=0,
               failed_payments_30d=0, late_invoices_90d=0, chargebacks_180d=0, days_since_qbr=None,
               days_since_last_touch=None, last_nps=None, champion_left_90d=True, downgrades_180d=0,
               tenure_days=60, days_to_renewal=305, stage="onboarding"),
    "A5": dict(logins_30d=0, usage_change_30d=None, tenure_days=0, days_to_renewal=365, stage="onboarding"),
    "A6": dict(logins_30d=8, usage_change_30d=1.0, days_since_last_login=20, seat_utilization=0.6,
               tickets_30d=1, negative_tickets_30d=1, days_since_qbr=0, days_since_last_touch=0, last_nps=5.0,
               champion_left_90d=False, days_to_renewal=253, stage="adopted"),
    "A7": dict(seat_utilization=0.25, days_since_last_login=1, days_to_renewal=243, tenure_days=487,
               stage="adopted"),
}


def activity_store(store=None):
    """A Store (new, or the one given) with activity_frames() loaded through load_frames."""
    from .activity import load_frames
    from .db import Store

    store = store or Store()
    load_frames(store, activity_frames(), source="fixture:activity")
    return store

# ---- signals tables (rules, scoring) --------------------------------------

SCENARIO_RULES = """
name = "scenario"
primary_dimension = "churn"

[tiers]
medium = 31
high = 61

[tiers.payment]
medium = 15
high = 30

[quadrant]
value_column = "arr"
value_cutoff = "median"
risk_cutoff = 61

[fusion]
enabled = true
min_groups = 2

[[rules]]
id = "usage_drop"
label = "Usage down more than 30%"
dimension = "churn"
signal = "usage_change_30d"
op = "<"
threshold = -0.3
points = 20
group = "usage"

[[rules]]
id = "inactive"
label = "No login for 7 days"
dimension = "churn"
signal = "days_since_last_login"
op = ">="
threshold = 7
points = 16
group = "usage"
null_fires = true

[[rules]]
id = "champion_left"
label = "Champion left"
dimension = "churn"
signal = "champion_left_90d"
op = "is_true"
points = 25
group = "relationship"

[[rules]]
id = "neg_tickets"
label = "Negative tickets"
dimension = "churn"
signal = "negative_tickets_30d"
op = ">="
threshold = 1
points = 15
group = "support"

[[rules]]
id = "no_qbr"
label = "No QBR in 6 months"
dimension = "churn"
signal = "days_since_qbr"
op = ">"
threshold = 180
points = 35
group = "engagement"
null_fires = true

[[rules]]
id = "renewal_no_touch"
label = "Renewal soon, no touch"
dimension = "churn"
signal = "days_to_renewal <= 60 AND COALESCE(days_since_last_touch, 9999) > 30"
op = "is_true"
points = 30
group = "engagement"

[[rules]]
id = "failed_payment"
label = "Failed payment"
dimension = "payment"
signal = "failed_payments_30d"
op = ">="
threshold = 1
points = 20
group = "billing"

[[rules]]
id = "late_invoices"
label = "Late invoices"
dimension = "payment"
signal = "late_invoices_90d"
op = ">="
threshold = 1
points = 15
group = "billing"

[[overrides]]
segment = "Enterprise"
rule = "usage_drop"
points = 10

[[overrides]]
stage = "onboarding"
rule = "inactive"
threshold = 3
"""


def scenario_signals_frame():
    """Eight accounts whose SCENARIO_RULES scores are computed by hand in tests/test_scoring.py.

    | id | segment    | stage      | arr  | fires (points)                                          | churn |
    |----|------------|------------|------|---------------------------------------------------------|-------|
    | A  | SMB        | adopted    | 100  | usage 20, inactive 16, champion 25, neg 15, qbr 35, renew 30 | 141 -> 100 |
    | B  | Enterprise | adopted    | 500  | usage 10 (override), qbr NULL 35                         | 45    |
    | C  | SMB        | onboarding | 300  | inactive 4 >= 3 (stage override) 16, champion 25, neg 15 | 56    |
    | D  | SMB        | adopted    | 200  | qbr 35, renew 30: one group only (fusion)                 | 65    |
    | E  | Enterprise | renewal    | 1000 | usage 10, inactive 16, champion 25, renew (touch NULL) 30 | 81    |
    | F  | SMB        | adopted    | 50   | usage 20, inactive 16, champion 25 (tie at high)          | 61    |
    | G  | SMB        | adopted    | 400  | neg 15, inactive NULL 16 (tie at medium)                  | 31    |
    | H  | SMB        | adopted    | 150  | nothing (NULLs with null_fires = false)                   | 0     |
    """
    import pandas as pd

    nan = float("nan")
    rows = [
        # id, segment, stage, arr, usage, login, champ, neg, qbr, renew, touch, failed, late
        ("A", "SMB", "adopted", 100.0, -0.5, 10, True, 2, 200, 30, 40, 1, 0),
        ("B", "Enterprise", "adopted", 500.0, -0.4, 2, False, 0, None, 200, 10, 0, 0),
        ("C", "SMB", "onboarding", 300.0, -0.2, 4, True, 1, 10, None, None, 0, 0),
        ("D", "SMB", "adopted", 200.0, 0.1, 1, False, 0, 365, 20, 45, 0, 0),
        ("E", "Enterprise", "renewal", 1000.0, -0.31, 8, True, 0, 90, 45, None, 1, 2),
        ("F", "SMB", "adopted", 50.0, -0.35, 7, True, 0, 180, 100, 5, 0, 0),
        ("G", "SMB", "adopted", 400.0, 0.0, None, False, 1, 30, 90, 3, 0, 0),
        ("H", "SMB", "adopted", 150.0, nan, 0, None, None, 5, 100, 1, 0, 0),
    ]
    cols = ["account_id", "segment", "stage", "arr", "usage_change_30d", "days_since_last_login",
            "champion_left_90d", "negative_tickets_30d", "days_since_qbr", "days_to_renewal",
            "days_since_last_touch", "failed_payments_30d", "late_invoices_90d"]
    df = pd.DataFrame(rows, columns=cols)
    for c in ("days_since_last_login", "negative_tickets_30d", "days_since_qbr", "days_to_renewal",
              "days_since_last_touch", "failed_payments_30d", "late_invoices_90d"):
        df[c] = df[c].astype("Int64")
    df["champion_left_90d"] = df["champion_left_90d"].astype("boolean")
    df["account_name"] = "Account " + df["account_id"]
    df["csm_owner"] = ["ann", "bob", "ann", "bob", "ann", "bob", "ann", "bob"]
    df["renewal_date"] = pd.Timestamp("2025-07-01") + pd.to_timedelta(df["days_to_renewal"].fillna(0).astype(int), "D")
    df["marketing_consent"] = [True, False, True, True, False, True, True, False]
    return df


def random_signals_frame(n: int = 2000, seed: int = 7):
    """A seeded random signals table with every signal of PRODUCT.md §2.3 (and some NULLs)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)

    def ints(lo, hi, p_null=0.0):
        s = pd.Series(rng.integers(lo, hi, n), dtype="Int64")
        return s.mask(rng.random(n) < p_null)

    df = pd.DataFrame({
        "account_id": [f"acc{i:05d}" for i in range(n)],
        "account_name": [f"Account {i}" for i in range(n)],
        "segment": rng.choice(["SMB", "Mid-Market", "Enterprise"], n, p=[0.5, 0.3, 0.2]),
        "csm_owner": rng.choice([f"csm{i}" for i in range(20)], n),
        "stage": rng.choice(["onboarding", "adopted", "renewal"], n, p=[0.15, 0.65, 0.2]),
        # ARR on a coarse grid so the median lands on ties sometimes
        "arr": rng.choice(np.arange(1, 41) * 2500.0, n),
        "usage_change_30d": pd.Series(np.round(rng.normal(-0.05, 0.35, n), 2)).mask(rng.random(n) < 0.05),
        "logins_30d": ints(0, 300),
        "days_since_last_login": ints(0, 60, 0.05),
        "seat_utilization": np.round(rng.uniform(0.1, 1.2, n), 3),
        "tickets_30d": ints(0, 8),
        "negative_tickets_30d": ints(0, 3),
        "escalations_90d": ints(0, 3),
        "failed_payments_30d": pd.Series(rng.choice([0, 0, 0, 0, 1, 2], n), dtype="Int64"),
        "late_invoices_90d": pd.Series(rng.choice([0, 0, 0, 1, 2], n), dtype="Int64"),
        "chargebacks_180d": pd.Series(rng.choice([0] * 19 + [1], n), dtype="Int64"),
        "days_since_qbr": ints(0, 400, 0.15),
        "days_since_last_touch": ints(0, 120, 0.1),
        "last_nps": ints(0, 11, 0.2),
        "champion_left_90d": pd.Series(rng.random(n) < 0.1, dtype="boolean"),
        "days_to_renewal": ints(0, 365),
        "tenure_days": ints(10, 2000),
        "downgrades_180d": pd.Series(rng.choice([0, 0, 0, 1], n), dtype="Int64"),
        "marketing_consent": rng.random(n) < 0.7,
    })
    df["renewal_date"] = pd.Timestamp("2025-06-30") + pd.to_timedelta(df["days_to_renewal"].astype(int), "D")
    return df


def churn_table_frame():
    """A wide public-churn-style account table: original column names, one with spaces."""
    import pandas as pd

    return pd.DataFrame({
        "customerID": ["7590-VHVEG", "5575-GNVDE", "3668-QPYBK", "7795-CFOCW", "9237-HQITU"],
        "tenure": [1, 34, 2, 45, 2],
        "MonthlyCharges": [29.85, 56.95, 53.85, 42.30, 70.70],
        "Contract": ["Month-to-month", "One year", "Month-to-month", "One year", "Month-to-month"],
        "Customer service calls": [1, 0, 4, 5, None],
        "Churn": ["No", "No", "Yes", "No", "Yes"],
    })


def signals_store(frame=None, table: str = "signals", store=None):
    """A Store (new, or the one given) with `frame` (default: scenario_signals_frame()) as a table."""
    from .db import Store

    store = store or Store()
    store.register_df(table, scenario_signals_frame() if frame is None else frame)
    return store


# ---- account tables (loading) ----------------------------------------------

# A wide account table as a CRM would export it: three accounts, one churned (A2).
ACCOUNT_TABLE_CSV = (
    "account_id,account_name,arr,csm_owner,segment,renewal_date,churned,logins_30d\n"
    "A1,Acme,12000,Dana,SMB,2026-03-31,No,40\n"
    "A2,Beta,50000,Lee,Enterprise,2026-01-15,Yes,3\n"
    "A3,Gamma,8000,Dana,SMB,2025-12-01,No,25\n"
)

# A public-style Telco churn export: customerID, TotalCharges blank (" ") for new customers,
# Churn Yes/No, no ARR column (MonthlyCharges is not ARR).
TELCO_CSV = (
    "customerID,gender,tenure,Contract,MonthlyCharges,TotalCharges,Churn\n"
    "7590-VHVEG,Female,1,Month-to-month,29.85,29.85,No\n"
    "5575-GNVDE,Male,34,One year,56.95,1889.5,No\n"
    "3668-QPYBK,Male,2,Month-to-month,53.85,108.15,Yes\n"
    "4472-LVYGI,Female,0,Two year,52.55, ,No\n"
    "9237-HQITU,Female,2,Month-to-month,70.70,151.65,Yes\n"
    "3115-CZMZD,Male,0,Two year,20.25, ,No\n"
)


def write_account_table(directory, name: str = "accounts.csv", text: str = ACCOUNT_TABLE_CSV):
    """Write an account-table CSV (default: ACCOUNT_TABLE_CSV) into `directory`; returns its path."""
    from pathlib import Path

    path = Path(directory) / name
    path.write_text(text, encoding="utf-8")
    return path


def account_table_store(directory):
    """A Store with ACCOUNT_TABLE_CSV loaded as an account table (auto-detected mapping)."""
    from .db import Store
    from .loading import load_account_table

    store = Store()
    load_account_table(store, write_account_table(directory))
    return store


# ---- history (snapshots, explain, alerts) ---------------------------------

HISTORY_DATES = (_dt.date(2025, 1, 6), _dt.date(2025, 1, 13), _dt.date(2025, 1, 20))  # D1, D2 (v1), D3 (v2)

HISTORY_RULES_V1 = """
name = "hist"
primary_dimension = "churn"
dimensions = ["churn", "payment"]

[tiers]
medium = 31
high = 61

[tiers.payment]
medium = 15
high = 30

[quadrant]
value_column = "arr"
value_cutoff = "median"
risk_cutoff = 61

[fusion]
enabled = true
min_groups = 2

[[rules]]
id = "usage_drop"
label = "Usage down"
dimension = "churn"
signal = "usage_change_30d"
op = "<"
threshold = -0.3
points = 30
group = "usage"

[[rules]]
id = "champion_left"
label = "Champion left"
dimension = "churn"
signal = "champion_left_90d"
op = "is_true"
points = 25
group = "relationship"

[[rules]]
id = "neg_tickets"
label = "Negative tickets"
dimension = "churn"
signal = "negative_tickets_30d"
op = ">="
threshold = 1
points = 20
group = "support"

[[rules]]
id = "shortfall"
label = "Few logins (graded)"
dimension = "churn"
signal = "logins_30d"
op = "scale"
threshold = [10, 0]
points = 40
group = "usage"

[[rules]]
id = "failed_payment"
label = "Failed payment"
dimension = "payment"
signal = "failed_payments_30d"
op = ">="
threshold = 1
points = 30
group = "billing"

[[overrides]]
segment = "Enterprise"
rule = "usage_drop"
points = 10

[[alerts]]
id = "score_jump"
kind = "score_rise"
dimension = "churn"
points = 20
within_days = 14

[[alerts]]
id = "tier_worse"
kind = "tier_worse"
dimension = "churn"

[[alerts]]
id = "new_save"
kind = "entered_quadrant"
quadrant = "save"

[[alerts]]
id = "segment_change"
kind = "segment_change"

[[behavior_segments]]
id = "dormant"
signal = "days_since_last_login"
op = ">="
threshold = 30
null_fires = true

[[behavior_segments]]
id = "high_engager"
signal = "logins_30d"
op = ">="
threshold = { percentile = 80 }
"""

# v2 edits weights only: champion_left 25 -> 45, neg_tickets 20 -> 10
HISTORY_RULES_V2 = (HISTORY_RULES_V1.replace('name = "hist"', 'name = "hist_v2"')
                    .replace("points = 25\ngroup = \"relationship\"", "points = 45\ngroup = \"relationship\"")
                    .replace("points = 20\ngroup = \"support\"", "points = 10\ngroup = \"support\""))


def history_signals_frames() -> dict:
    """Signals of five accounts at HISTORY_DATES; scores, alerts and segments worked out in tests/test_history.py.

    arr P 100, Q 200, R 300 (Enterprise), S 400, T 500: median 300, so R, S, T are high value.
    | id | D1 (v1)                          | D2 (v1)                           | D3 (v2: champion 45, neg 10)       |
    |----|----------------------------------|-----------------------------------|------------------------------------|
    | P  | 0 low Maintain                   | usage 30 neg 20 short 32 = 82 high | 30 + 10 + 32 = 72 high Triage     |
    | Q  | usage 30 neg 20 short 20 = 70, pay 30 | neg 20 short 20 = 40 medium    | 10 + 20 = 30 low                    |
    | R  | usage 10 champ 25 short 8 = 43   | 10 + 25 + 40 = 75 high Save, dormant | 10+45+10+40 = 105 -> 100 Save     |
    | S  | 0, high_engager                  | 0, high_engager                   | champion 45 medium Expand           |
    | T  | usage 30 champ 25 = 55 medium    | 55                                | 30 + 45 = 75 high Save              |
    """
    import pandas as pd

    cols = ["account_id", "segment", "arr", "usage_change_30d", "champion_left_90d", "negative_tickets_30d",
            "logins_30d", "failed_payments_30d", "days_since_last_login"]
    d1 = [("P", "SMB", 100.0, -0.1, False, 0, 20, 0, 1), ("Q", "SMB", 200.0, -0.5, False, 1, 5, 1, 2),
          ("R", "Enterprise", 300.0, -0.4, True, 0, 8, 0, 3), ("S", "Mid-Market", 400.0, 0.0, False, 0, 30, 0, 1),
          ("T", "SMB", 500.0, -0.5, True, 0, 12, 0, 2)]
    d2 = [("P", "SMB", 100.0, -0.4, False, 1, 2, 0, 1), ("Q", "SMB", 200.0, -0.2, False, 1, 5, 0, 2),
          ("R", "Enterprise", 300.0, -0.4, True, 0, 0, 0, 40), ("S", "Mid-Market", 400.0, 0.0, False, 0, 30, 0, 1),
          ("T", "SMB", 500.0, -0.5, True, 0, 12, 0, 2)]
    d3 = [d2[0], d2[1], ("R", "Enterprise", 300.0, -0.4, True, 1, 0, 0, 47),
          ("S", "Mid-Market", 400.0, 0.0, True, 0, 30, 0, 1), d2[4]]
    out = {}
    for d, rows in zip(HISTORY_DATES, (d1, d2, d3)):
        f = pd.DataFrame(rows, columns=cols)
        f["account_name"] = "Account " + f["account_id"]
        f["stage"] = "adopted"
        f["csm_owner"] = "ann"
        out[d] = f
    return out


def history_snapshots(path, store=None) -> str:
    """Write the three fixture snapshots (D1, D2 under v1; D3 under v2) to `path`; returns it."""
    from .db import Store
    from .history import ruleset_toml, snapshot_frame, write_snapshot
    from .rules import load_ruleset

    store = store or Store()
    v1, v2 = load_ruleset(HISTORY_RULES_V1), load_ruleset(HISTORY_RULES_V2)
    for d, frame in history_signals_frames().items():
        rs = v2 if d == HISTORY_DATES[2] else v1
        table = f"hist_signals_{d:%Y%m%d}"
        store.register_df(table, frame)
        write_snapshot(path, snapshot_frame(store, rs, d, signals=table), ruleset_toml(rs))
    return str(path)

# ---- scored tables (aggregates, export, pages) ----------------------------

SCORED_AS_OF = _dt.date(2024, 6, 1)
SCORED_DIMENSIONS = ("churn", "payment", "fraud", "reputation", "expansion")
REASON_TYPE = ("STRUCT(rule_id VARCHAR, label VARCHAR, dimension VARCHAR, grp VARCHAR, points DOUBLE, value VARCHAR, "
               "condition VARCHAR)[]")


def _reason(rule_id: str, label: str, points: float, value: str, dimension: str = "churn", grp: str = "usage") -> dict:
    return {"rule_id": rule_id, "label": label, "dimension": dimension, "grp": grp, "points": points, "value": value,
            "condition": None}


def scored_frames() -> tuple:
    """Two hand-made scored tables (the contract's columns), `a` then `b` a period later.

    `a` (primary dimension churn; risk_score = churn_score, tier = churn_tier):
    | id   | name             | segment    | owner                | value  | risk | tier   | quadrant | renewal    |
    |------|------------------|------------|----------------------|--------|------|--------|----------|------------|
    | id01 | Acme             | Enterprise | Ann                  | 120000 | 85   | high   | Save     | 2024-07-15 |
    | id02 | Beta             | Enterprise | Bo                   | 80000  | 45   | medium | Expand   | 2024-09-01 |
    | id03 | Gamma            | Mid-Market | Ann                  | 30000  | 70   | high   | Triage   | 2024-06-01 |
    | id04 | Delta            | Mid-Market | Cy                   | 20000  | 10   | low    | Maintain | 2024-07-31 |
    | id05 | O'Brien & Co     | SMB        | Bo                   | 5000   | 100  | high   | Triage   | 2024-05-31 |
    | id06 | 100% Tools_x     | SMB        | '; DROP TABLE x; --  | 4000   | 0    | low    | Maintain | NULL       |
    | id07 | =HYPERLINK("x")  | SMB        | Cy                   | 60000  | 30   | low    | Expand   | 2025-01-01 |
    | id08 | NULL             | NULL       | Ann                  | NULL   | 55   | medium | Maintain | 2024-08-01 |
    Other dimensions are low / 0 except payment (id05 high 70, id06 medium 20) and
    expansion (id07 high 65). `b`: id01 -> 50 medium, id04 -> 75 high, id08 -> 20 low,
    id06 gone, id09 new (low); the rest unchanged.
    """
    import pandas as pd

    d = _dt.date.fromisoformat
    rows = [
        ("id01", "Acme", "Enterprise", "Ann", 120000.0, 85.0, "high", "Save", d("2024-07-15")),
        ("id02", "Beta", "Enterprise", "Bo", 80000.0, 45.0, "medium", "Expand", d("2024-09-01")),
        ("id03", "Gamma", "Mid-Market", "Ann", 30000.0, 70.0, "high", "Triage", d("2024-06-01")),
        ("id04", "Delta", "Mid-Market", "Cy", 20000.0, 10.0, "low", "Maintain", d("2024-07-31")),
        ("id05", "O'Brien & Co", "SMB", "Bo", 5000.0, 100.0, "high", "Triage", d("2024-05-31")),
        ("id06", "100% Tools_x", "SMB", "'; DROP TABLE x; --", 4000.0, 0.0, "low", "Maintain", None),
        ("id07", '=HYPERLINK("x")', "SMB", "Cy", 60000.0, 30.0, "low", "Expand", d("2025-01-01")),
        ("id08", None, None, "Ann", None, 55.0, "medium", "Maintain", d("2024-08-01")),
    ]
    a = pd.DataFrame(rows, columns=["account_id", "account_name", "segment", "csm_owner", "value",
                                    "risk_score", "tier", "quadrant", "renewal_date"])
    a["stage"] = ["renewal", "adopted", "renewal", "adopted", "adopted", "onboarding", "adopted", "adopted"]
    a["marketing_consent"] = [True, False, True, True, False, None, True, False]
    a["renewal_date"] = pd.to_datetime(a["renewal_date"])
    for dim in SCORED_DIMENSIONS:
        a[f"{dim}_score"] = 0.0
        a[f"{dim}_tier"] = "low"
    a["churn_score"], a["churn_tier"] = a["risk_score"], a["tier"]
    a.loc[a.account_id == "id05", ["payment_score", "payment_tier"]] = [70.0, "high"]
    a.loc[a.account_id == "id06", ["payment_score", "payment_tier"]] = [20.0, "medium"]
    a.loc[a.account_id == "id07", ["expansion_score", "expansion_tier"]] = [65.0, "high"]
    a["reasons"] = [
        [_reason("champion_left", "Champion left", 25.0, "true", grp="relationship"),
         _reason("usage_drop", "Usage down", 20.0, "-0.45"), _reason("no_qbr", "No QBR in 180 days", 40.0, None, grp="engagement")],
        [_reason("usage_drop", "Usage down", 20.0, "-0.35"), _reason("neg_tickets", "Negative tickets", 25.0, "3", grp="support")],
        [_reason("usage_drop", "Usage down", 20.0, "-0.5"), _reason("usage_shortfall", "Logins below last month's (graded)", 12.5, "-0.2"),
         _reason("no_qbr", "No QBR in 180 days", 37.5, None, grp="engagement")],
        [_reason("late_invoice", "Late invoice", 10.0, "1", dimension="churn", grp="billing")],
        [_reason("failed_payment", "=cmd|' /C calc'!A0", 70.0, "2", dimension="payment", grp="billing"),
         _reason("champion_left", "Champion left", 100.0, "true", grp="relationship")],
        [],
        [_reason("seat_util", "Seats nearly full", 65.0, "0.97", dimension="expansion", grp="usage"),
         _reason("no_touch", "No touch in 90 days", 30.0, "120", grp="engagement")],
        [_reason("usage_drop", "Usage down", 20.0, "-0.6"), _reason("neg_tickets", "Negative tickets", 35.0, "4", grp="support")],
    ]
    a["playbook"] = ["save", "churn_medium", "triage", "maintain", "payment_cure", "maintain", "expand", "churn_medium"]

    b = a[a.account_id != "id06"].copy()
    for acc, score, tier in (("id01", 50.0, "medium"), ("id04", 75.0, "high"), ("id08", 20.0, "low")):
        b.loc[b.account_id == acc, ["risk_score", "tier", "churn_score", "churn_tier"]] = [score, tier, score, tier]
    new = a[a.account_id == "id04"].copy()
    new[["account_id", "account_name", "risk_score", "tier", "churn_score", "churn_tier"]] = ["id09", "Nu", 5.0, "low", 5.0, "low"]
    b = pd.concat([b, new], ignore_index=True)
    return a.reset_index(drop=True), b


def load_scored(store, name: str, frame) -> str:
    """Write a scored frame into `store` as table `name`, with `reasons` typed as the contract's LIST(STRUCT)."""
    from .db import quote_ident, safe_table_name

    safe_table_name(name)
    store.register_df(f"{name}__raw", frame)
    store.execute(f"CREATE OR REPLACE TABLE {quote_ident(name)} AS SELECT * REPLACE "
                  f"(CAST(reasons AS {REASON_TYPE}) AS reasons, CAST(marketing_consent AS BOOLEAN) AS marketing_consent, "
                  f"CAST(renewal_date AS DATE) AS renewal_date) "
                  f"FROM {quote_ident(name + '__raw')}")
    store.execute(f"DROP TABLE {quote_ident(name + '__raw')}")
    return name


def scored_store():
    """A Store holding the two hand-made scored tables as `scored` and `scored_b`."""
    from .db import Store

    store = Store()
    a, b = scored_frames()
    load_scored(store, "scored", a)
    load_scored(store, "scored_b", b)
    return store


# ---- plays and hold-outs (uplift) -------------------------------------------

PLAYS_END = _dt.date(2024, 12, 31)  # the fixtures' last activity date


def uplift_holdout_frames() -> dict:
    """Play "call" with random hold-outs, counted by hand (horizon 90: churn in (2024-06-01, 2024-08-30]).

    | id | play rows (started_at, holdout)        | churned    | counted as                            |
    |----|----------------------------------------|------------|---------------------------------------|
    | T1 | 06-01                                  | 2024-07-15 | treated, churned                      |
    | T2 | 06-01 false                            | 2024-10-15 | treated (churn after the horizon)     |
    | T3 | 06-01                                  | 2024-05-01 | not active at the start               |
    | T4 | 06-01                                  | 2024-08-31 | treated (start + 91 days: outside)    |
    | T5 | 06-01 (contract starts 2024-07-01)     |            | not active at the start               |
    | T6 | 11-01                                  |            | horizon past the data's end           |
    | T7 | 06-01, then 09-01 holdout              |            | treated (its first start counts)      |
    | H1 | 06-01 true                             | 2024-06-20 | control, churned                      |
    | H2 | 06-01 true                             | 2024-08-30 | control, churned (start + 90: inside) |
    | H3 | 06-01 true                             | 2024-06-01 | not active at the start (churned on it)|
    | H4 | 06-01 true; also play "other"          |            | control                               |
    | C1 | 06-01 true and 06-01 false             |            | both groups at once: left out         |

    treated 4 (1 churned, ARR 1000 + 2000 + 4000 + 7000), control 3 (2 churned).
    """
    import pandas as pd

    d = _dt.date.fromisoformat
    ids = ["T1", "T2", "T3", "T4", "T5", "T6", "T7", "H1", "H2", "H3", "H4", "C1"]
    arr = {"T1": 1000.0, "T2": 2000.0, "T3": 3000.0, "T4": 4000.0, "T5": 5000.0, "T6": 6000.0, "T7": 7000.0}
    accounts = pd.DataFrame({
        "account_id": ids, "segment": "SMB", "csm_owner": "Ana",
        "arr": [arr.get(i, 500.0) for i in ids],
        "contract_start": [d("2024-07-01") if i == "T5" else d("2024-01-01") for i in ids]})
    usage = pd.DataFrame({"account_id": ids + ["T1"], "date": [d("2024-01-10")] * len(ids) + [PLAYS_END],
                          "logins": 10})
    churn = {"T1": "2024-07-15", "T2": "2024-10-15", "T3": "2024-05-01", "T4": "2024-08-31", "H1": "2024-06-20",
             "H2": "2024-08-30", "H3": "2024-06-01"}
    outcomes = pd.DataFrame({"account_id": list(churn), "date": [d(v) for v in churn.values()],
                             "outcome": "churned"})
    rows = [("T1", "call", "2024-06-01", None), ("T2", "call", "2024-06-01", False),
            ("T3", "call", "2024-06-01", None), ("T4", "call", "2024-06-01", None),
            ("T5", "call", "2024-06-01", None), ("T6", "call", "2024-11-01", None),
            ("T7", "call", "2024-06-01", None), ("T7", "call", "2024-09-01", True),
            ("H1", "call", "2024-06-01", True), ("H2", "call", "2024-06-01", True),
            ("H3", "call", "2024-06-01", True), ("H4", "call", "2024-06-01", True),
            ("H4", "other", "2024-06-01", None),
            ("C1", "call", "2024-06-01", True), ("C1", "call", "2024-06-01", False)]
    plays = pd.DataFrame([(a, p, d(s), h) for a, p, s, h in rows],
                         columns=["account_id", "play", "started_at", "holdout"]).astype({"holdout": "boolean"})
    return {"accounts": accounts, "usage": usage, "outcomes": outcomes, "plays": plays}


UPLIFT_MATCH_RULES = """
name = "plays fixture"
primary_dimension = "churn"

[tiers]
medium = 31
high = 61

[[rules]]
id = "quiet"
label = "Fewer than {threshold} logins in 30 days"
dimension = "churn"
signal = "logins_30d"
op = "<"
threshold = 5
points = 100
group = "engagement"
"""


def uplift_matched_frames() -> dict:
    """Play "nudge" without hold-outs: matched 1:1 on tier and segment at Monday 2024-06-03 (the week
    the play started), under UPLIFT_MATCH_RULES (no login in the 30 days before: high, else low).

    | id | segment    | tier at 06-03 | nudge      | churned    | counted as                          |
    |----|------------|---------------|------------|------------|-------------------------------------|
    | N1 | SMB        | high          | 2024-06-05 | 2024-07-01 | treated, churned                    |
    | N2 | SMB        | high          | 2024-06-05 |            | treated                             |
    | N3 | SMB        | low           | 2024-06-06 |            | treated                             |
    | N4 | Enterprise | low           | 2024-06-06 |            | no Enterprise control: unmatched    |
    | P1-P3 | SMB     | high          |            | all, in (06-03, 09-01] | 2 of them: control, churned |
    | P4-P6 | SMB     | low           |            |            | 1 of them: control                  |
    | P7 | SMB        | (churned 05-01) |          | 2024-05-01 | not active: never a control         |

    treated 3 (1 churned), control 3 (2 churned), 1 unmatched: whichever controls the draw picks.
    """
    import pandas as pd

    d = _dt.date.fromisoformat
    quiet = {"N1", "N2", "P1", "P2", "P3", "P7"}
    ids = ["N1", "N2", "N3", "N4", "P1", "P2", "P3", "P4", "P5", "P6", "P7"]
    accounts = pd.DataFrame({
        "account_id": ids, "segment": ["Enterprise" if i == "N4" else "SMB" for i in ids], "csm_owner": "Ben",
        "arr": [1000.0 * (k + 1) for k in range(len(ids))], "contract_start": d("2024-01-01")})
    usage = pd.DataFrame({"account_id": ids + ["P4"],
                          "date": [d("2024-01-10") if i in quiet else d("2024-05-20") for i in ids] + [PLAYS_END],
                          "logins": 50})
    churn = {"N1": "2024-07-01", "P1": "2024-07-10", "P2": "2024-08-01", "P3": "2024-09-01", "P7": "2024-05-01"}
    outcomes = pd.DataFrame({"account_id": list(churn), "date": [d(v) for v in churn.values()],
                             "outcome": "churned"})
    plays = pd.DataFrame({"account_id": ["N1", "N2", "N3", "N4"], "play": "nudge",
                          "started_at": [d("2024-06-05"), d("2024-06-05"), d("2024-06-06"), d("2024-06-06")]})
    return {"accounts": accounts, "usage": usage, "outcomes": outcomes, "plays": plays}


def uplift_store(frames: dict, store=None):
    """A Store (new, or the one given) with the given activity frames loaded through load_frames."""
    from .activity import load_frames
    from .db import Store

    store = store or Store()
    load_frames(store, frames, source="fixture:plays")
    return store
