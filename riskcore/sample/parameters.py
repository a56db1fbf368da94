"""The generator's parameters: the known churn model (truth.json), save plays with a known effect,
segments' shares, seats, prices and behaviour, names; the chunk size and usage step."""

from __future__ import annotations

from datetime import date

import numpy as np

GENERATOR_VERSION = 3  # bump when the output changes: the cache of ensure_sample is keyed on it
# Usage rows every STEP days: 30 is a multiple, so every 30-day window holds the same number of rows
# (weekly rows put 4 or 5 weeks in a window, a +-25% swing of usage_change_30d by calendar alone).
STEP = 6
CHUNK = 20_000  # accounts per chunk: fixed, so the output depends on the seed and N only
EPOCH = date(1970, 1, 1)

# ---- the known churn model ---------------------------------------------------------------
INTERCEPT = -3.5
NOISE_SD = 0.7  # per-renewal noise on the logit: the signals explain churn well, not perfectly
COEFFICIENTS = {  # driver -> coefficient on the logit
    "usage_decline": 2.2,
    "champion_left": 1.4,
    "failed_payments": 0.9,
    "negative_tickets": 0.35,
    "no_qbr_180d": 0.6,
    "low_nps": 0.8,
    "low_seat_utilization": 0.8,
    "escalations": 0.5,
    "late_invoices": 0.1,   # weak
    "tickets": 0.0,         # no effect at all
}
DRIVERS = {  # driver -> its definition over the signals as of the day before the renewal
    "usage_decline": "min(1, max(0, -usage_change_30d)); 0 when usage_change_30d is NULL",
    "champion_left": "champion_left_90d",
    "failed_payments": "min(failed_payments_30d, 2)",
    "negative_tickets": "min(negative_tickets_30d, 5)",
    "no_qbr_180d": "days_since_qbr IS NULL OR days_since_qbr > 180",
    "low_nps": "last_nps <= 6; 0 when NULL",
    "low_seat_utilization": "seat_utilization < 0.4; 0 when NULL",
    "escalations": "min(escalations_90d, 3)",
    "late_invoices": "min(late_invoices_90d, 3)",
    "tickets": "min(tickets_30d, 10)",
}

# ---- save plays with a known effect ------------------------------------------------------
# An account is eligible once, at its first renewal in the period whose churn risk without noise,
# sigmoid(INTERCEPT + sum(coef * driver)), reaches PLAY_ELIGIBLE_P with the drivers as of the play's
# start (20-80 days before the renewal, so the renewal falls inside a 90-day horizon; starts after
# the period's end - 90 days are not made). PLAY_ENROL_P of the eligible get a play, chosen by share;
# each is held out at random with the play's holdout share. A treated account's churn probability at
# that renewal is multiplied by (1 - relative_reduction); a held-out one keeps it.
PLAYS = {  # play -> share of the enrolled, hold-out share, relative churn reduction
    "exec_sponsor_call": {"share": 0.6, "holdout": 0.3, "relative_reduction": 0.5},
    "health_check_email": {"share": 0.4, "holdout": 0.3, "relative_reduction": 0.0},  # no effect at all
}
PLAY_ELIGIBLE_P = 0.12
PLAY_ENROL_P = 0.8
PLAY_LEAD = (20, 81)        # days before the renewal a play starts (uniform, high exclusive)
PLAY_HORIZON = 90           # every start has this many days of data after it

# ---- segments: share, seats, price, behaviour ----------------------------------------------
SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
SHARE = np.array([0.6, 0.3, 0.1])
SEATS = [(3, 30), (20, 200), (150, 3000)]          # uniform (log-uniform for Enterprise)
PRICE_PER_SEAT = np.array([720.0, 540.0, 360.0])    # ARR per seat
UTIL_BETA = [(5.0, 3.5), (5.5, 3.0), (6.0, 3.0)]    # seat utilisation: Beta(a, b)
RENEWAL_LEAD = 210                                  # trouble before a renewal starts at most this early
DECLINE_P = np.array([0.20, 0.14, 0.09])            # chance of a steady usage decline before a renewal
MAX_DECLINE = 2.2                                   # deepest decline (log of usage)
DIP_RATE = 0.15                                     # passing usage dips per year, unrelated to renewals
CHAMPION_PRE = np.array([0.08, 0.06, 0.05])         # chance the champion leaves in the weeks before a renewal
CHAMPION_RATE = np.array([0.10, 0.08, 0.06])        # other champion departures per year
PAY_EPISODE = np.array([0.10, 0.06, 0.03])          # chance of payment trouble in the months before a renewal
TICKETS_PER_WEEK = np.array([0.08, 0.2, 0.45])
CALLS_PER_WEEK = np.array([0.04, 0.12, 0.35])
QBR_NEVER = np.array([0.70, 0.30, 0.10])            # share of accounts that never get a QBR
QBR_P = np.array([0.5, 0.7, 0.9])                   # else: chance of a QBR each quarter
EXEC_P = np.array([0.0, 0.05, 0.3])                 # exec meeting per quarter
PAY_TROUBLE = np.array([0.06, 0.04, 0.02])          # share of accounts with chronic payment trouble
BILLING_MONTHS = np.array([1, 1, 3])
PLANS = [("Starter", "Growth"), ("Growth", "Business"), ("Business", "Enterprise")]
REGIONS = ("North America", "EMEA", "APAC", "LATAM")
REGION_P = (0.45, 0.3, 0.17, 0.08)
INDUSTRIES = ("Software", "Retail", "Healthcare", "Financial Services", "Manufacturing", "Education",
              "Logistics", "Media", "Energy", "Professional Services")
CSMS = [  # per segment
    ("Ava Patel", "Ben Okafor", "Chloe Martin", "Diego Alvarez", "Emma Novak", "Farah Haddad", "Gus Lindqvist",
     "Hana Sato"),
    ("Ivan Petrov", "Julia Costa", "Kofi Mensah", "Lena Fischer", "Marco Rossi", "Nora Byrne", "Omar Rahman"),
    ("Priya Nair", "Quentin Dubois", "Rosa Jimenez", "Sam Whitaker", "Tara Kowalski"),
]
NAME_A = ("Blue", "North", "Silver", "Bright", "Summit", "Harbor", "Pine", "Iron", "Golden", "Clear", "Red", "Stone",
          "Cedar", "Atlas", "Nova", "River", "Oak", "Crest", "Prime", "Swift", "Apex", "Maple", "Lumen", "Vista")
NAME_B = ("Peak", "Wave", "Field", "Bridge", "Point", "Works", "Labs", "Path", "Forge", "Line", "Gate", "Rock",
          "Leaf", "Star", "Bay", "Ridge", "Core", "Loop", "Mark", "Hub")
NAME_C = ("Logistics", "Analytics", "Health", "Foods", "Systems", "Retail", "Energy", "Media", "Capital",
          "Robotics", "Studios", "Partners", "Solutions", "Software", "Group", "Outfitters")
NAME_D = ("Inc.", "LLC", "Ltd", "GmbH", "Co.", "", "", "")

TABLE_NAMES = ("accounts", "usage", "tickets", "invoices", "touchpoints", "relationship_events", "outcomes",
               "plays")
