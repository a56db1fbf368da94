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

# ---- account tables (loading) ----------------------------------------------

# ---- history (snapshots, explain, alerts) ---------------------------------
