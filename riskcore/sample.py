"""A generated, realistic sample of activity tables whose churn follows a *known* model.

At each contract anniversary an account churns with probability
sigmoid(intercept + sum(coef * driver) + noise), the drivers being signals as of the day before the
renewal (the definitions of riskcore/signals.py). The coefficients are written to `truth.json`, so
calibration and fitted weights can be checked against the truth. Save plays (the `plays` table)
start 20-80 days before the renewal of accounts at risk, some eligible accounts held out at random;
a play multiplies the churn probability of its treated accounts by a known factor (PLAYS, also in
`truth.json`, with the effect to expect), so uplift estimates can be checked against the truth. The
plays draw from their own random stream: an account that got no play is the same as without plays. Vectorised numpy, written per
chunk of accounts, so 1,000,000 accounts run in minutes with bounded memory.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

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


def _day(d: date) -> int:
    return (d - EPOCH).days


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _add_years(days: np.ndarray, k: np.ndarray | int) -> np.ndarray:
    """day + k years (Feb 29 -> Feb 28 in other years), like DuckDB to_years and pandas DateOffset."""
    d = days.astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    dom = (d - months.astype("datetime64[D]")).astype(np.int64)  # 0-based day of month
    mi = months.astype(np.int64) + 12 * np.asarray(k, dtype=np.int64)
    month_start = mi.astype("datetime64[M]").astype("datetime64[D]")
    month_len = ((mi + 1).astype("datetime64[M]").astype("datetime64[D]") - month_start).astype(np.int64)
    return (month_start.astype(np.int64) + np.minimum(dom, month_len - 1)).astype(np.int64)


def _dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int32), mask=mask).cast(pa.date32())


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _window_count(acct: np.ndarray, day: np.ndarray, d: np.ndarray, k: int, n: int, where=None) -> np.ndarray:
    """Per account: rows dated in (D-k, D] (D per account), optionally also matching `where`."""
    m = (day > d[acct] - k) & (day <= d[acct])
    if where is not None:
        m &= where
    return np.bincount(acct[m], minlength=n)


def _last_on_or_before(acct: np.ndarray, day: np.ndarray, d: np.ndarray, n: int, key=None) -> np.ndarray:
    """Per account: max of `key` (default: the day) over rows dated on or before D; -1 when none."""
    m = day <= d[acct]
    out = np.full(n, -1, dtype=np.int64)
    np.maximum.at(out, acct[m], (day if key is None else key)[m])
    return out


class _Chunk:
    """All generated arrays for one chunk of accounts (days are integers since 1970-01-01)."""

    def __init__(self, rng: np.random.Generator, first: int, n: int, start: int, end: int,
                 plays_rng: np.random.Generator | None = None):
        """`plays_rng`: the plays' own stream (None: no plays); `rng` draws the same numbers either way."""
        self.rng, self.first, self.n, self.start, self.end = rng, first, n, start, end
        self.plays_rng = plays_rng
        self.grid = np.arange(start, end + 1, STEP, dtype=np.int64)  # the usage periods' first days
        self._accounts()
        self._health()
        self._usage()
        self._tickets()
        self._invoices()
        self._touchpoints()
        self._renewals()

    # -- attributes --------------------------------------------------------------------
    def _accounts(self) -> None:
        rng, n = self.rng, self.n
        self.seg = rng.choice(3, size=n, p=SHARE)
        new = rng.random(n) < 0.25
        self.cs = np.where(new, self.start + rng.integers(0, max(1, self.end - self.start - 60), n),
                           self.start - rng.integers(1, 3 * 365, n))
        lo = np.array([s[0] for s in SEATS])[self.seg]
        hi = np.array([s[1] for s in SEATS])[self.seg]
        seats = np.where(self.seg == 2, np.exp(rng.uniform(np.log(lo), np.log(hi))), rng.uniform(lo, hi + 1))
        self.seats = np.floor(seats).astype(np.int64)
        arr = self.seats * PRICE_PER_SEAT[self.seg] * rng.lognormal(0.0, 0.25, n)
        self.arr = np.round(arr, -2).clip(100, None)
        self.util = self._beta_by_seg()
        self.logins_per_user = rng.uniform(1.5, 6.0, n)
        self.feature_depth = rng.uniform(0.5, 3.0, n)
        trouble = rng.random(n) < PAY_TROUBLE[self.seg]
        self.pay_trouble = np.where(trouble, rng.beta(2, 8, n), rng.beta(1, 300, n))
        self.qbr_p = np.where(rng.random(n) < QBR_NEVER[self.seg], 0.0, QBR_P[self.seg])

    def _beta_by_seg(self) -> np.ndarray:
        a = np.array([b[0] for b in UTIL_BETA])[self.seg]
        b = np.array([b[1] for b in UTIL_BETA])[self.seg]
        return self.rng.beta(a, b)

    # -- latent health, champion moves, usage -------------------------------------------
    def _renewal_grid(self) -> None:
        """Contract anniversaries near the period, (account, k): trouble builds up before them."""
        k = np.arange(1, (self.end + RENEWAL_LEAD - self.cs.min()) // 365 + 2)
        r = _add_years(np.repeat(self.cs[:, None], len(k), 1), k[None, :])
        self.ren = r
        self.ren_ok = (r > self.start) & (r <= self.end + RENEWAL_LEAD)

    def _episodes(self, p: np.ndarray, lead: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per (account, renewal) with chance p[account]: account, onset `lead` days before it, renewal."""
        hit = self.ren_ok & (self.rng.random(self.ren.shape) < p[:, None])
        acct, j = np.nonzero(hit)
        r = self.ren[acct, j]
        onset = np.maximum(r - self.rng.integers(lead[0], lead[1], len(acct)), self.cs[acct])
        return acct, onset, r

    def _health(self) -> None:
        rng, n, W = self.rng, self.n, len(self.grid)
        self._renewal_grid()
        # stable accounts: a small, slow wobble around an account level
        rho, sd = 0.9, 0.05
        x = np.empty((n, W))
        x[:, 0] = rng.normal(0, sd / np.sqrt(1 - rho ** 2), n)
        eps = rng.normal(0, sd, (n, W))
        for w in range(1, W):
            x[:, w] = rho * x[:, w - 1] + eps[:, w]
        h = x + rng.normal(0, 0.25, n)[:, None]
        week = self.grid[None, :]
        # a decline: starts 1.5-5 months before a renewal, goes on steadily until it, recovers after
        acct, onset, r = self._episodes(DECLINE_P[self.seg], (45, 150))
        rate = np.minimum(rng.uniform(0.35, 0.7, len(acct)), MAX_DECLINE * 30.0 / np.maximum(r - onset, 1))
        t = np.minimum(week, r[:, None])
        fall = rate[:, None] * np.clip(t - onset[:, None], 0, None) / 30.0
        fall *= np.exp(-np.clip(week - r[:, None], 0, None) / 40.0)
        np.subtract.at(h, acct, fall)
        # a passing dip, unrelated to renewals: 1-3 months down, then back
        first = np.maximum(self.cs, self.start)
        years = np.maximum((self.end - first) / 365.0, 0)
        m = rng.poisson(DIP_RATE * years)
        acct = np.repeat(np.arange(n), m)
        onset = first[acct] + rng.integers(0, np.maximum(1, self.end - first[acct] + 1))
        length = rng.integers(30, 90, len(acct))
        depth = rng.uniform(0.2, 0.6, len(acct))
        since = week - onset[:, None]
        dip = depth[:, None] * np.clip(since / length[:, None], 0, 1) \
            * np.exp(-np.clip(since - length[:, None], 0, None) / 30.0)
        np.subtract.at(h, acct, dip)
        # champion departures: mostly weeks before a renewal, some at any time; health erodes after
        pre_acct, _, pre_r = self._episodes(CHAMPION_PRE[self.seg], (14, 85))
        pre_day = pre_r - rng.integers(14, 85, len(pre_acct))
        k = np.minimum(rng.poisson(CHAMPION_RATE[self.seg] * years), 2)
        any_acct = np.repeat(np.arange(n), k)
        any_day = first[any_acct] + rng.integers(0, np.maximum(1, self.end - first[any_acct] + 1))
        acct, day = np.concatenate([pre_acct, any_acct]), np.concatenate([pre_day, any_day])
        keep = day >= first[acct]
        acct, day = acct[keep], day[keep]
        since = week - day[:, None]
        np.subtract.at(h, acct, 0.5 * np.clip(since / 60.0, 0, 1) * np.exp(-np.clip(since - 60, 0, None) / 180.0))
        events = [(acct, day, np.zeros(len(acct), np.int8))]
        added = rng.random(len(acct)) < 0.6
        events.append((acct[added], day[added] + rng.integers(20, 120, added.sum()),
                       np.full(added.sum(), 2, np.int8)))
        m = rng.poisson(0.08 * years)
        sa = np.repeat(np.arange(n), m)
        events.append((sa, first[sa] + rng.integers(0, np.maximum(1, self.end - first[sa] + 1)),
                       np.ones(len(sa), np.int8)))
        self.rel_acct, self.rel_day, self.rel_event = (np.concatenate(p) for p in zip(*events))
        # payment trouble: a card or cash problem from 1-4 months before a renewal until after it
        acct, onset, r = self._episodes(PAY_EPISODE[self.seg], (30, 120))
        self.pay_acct, self.pay_from, self.pay_to = acct, onset, r + 30
        self.pay_q = rng.uniform(0.5, 0.85, len(acct))
        self.h = h

    def _usage(self) -> None:
        rng = self.rng
        self.u_exists = self.grid[None, :] >= self.cs[:, None]
        p = np.clip(self.util[:, None] * np.exp(np.minimum(self.h, 0.4)), 0, 1)
        # the same people log in week after week: active users vary less than independent draws
        mean = self.seats[:, None] * p
        noisy = mean + rng.normal(0, 1, p.shape) * np.sqrt(mean * (1 - p)) * 0.5
        self.active = np.clip(np.round(noisy), 0, self.seats[:, None]).astype(np.int64)
        self.logins = rng.poisson(self.active * self.logins_per_user[:, None] * (STEP / 7))
        self.features = rng.poisson(self.logins * self.feature_depth[:, None])

    # -- tickets, invoices, touchpoints -------------------------------------------------
    def _events(self, per_week: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Poisson events per (account, period) while the account exists: account, period index, day."""
        counts = self.rng.poisson(per_week * (STEP / 7)) * self.u_exists
        acct, w = np.nonzero(counts)
        reps = counts[acct, w]
        acct, w = np.repeat(acct, reps), np.repeat(w, reps)
        day = np.minimum(self.grid[w] + self.rng.integers(0, STEP, len(w)), self.end)
        return acct, w, day

    def _tickets(self) -> None:
        rng = self.rng
        rate = TICKETS_PER_WEEK[self.seg][:, None] * np.exp(-0.6 * self.h)
        self.t_acct, w, self.t_day = self._events(rate)
        hw = self.h[self.t_acct, w]
        self.t_sent = np.round(np.clip(rng.normal(0.15 + 0.5 * hw, 0.35), -1, 1), 2)
        self.t_prio = rng.choice(4, size=len(w), p=[0.3, 0.45, 0.2, 0.05])
        self.t_esc = rng.random(len(w)) < _sigmoid(-3.4 + 1.5 * (self.t_prio == 3) - 1.0 * hw)

    def _invoices(self) -> None:
        rng = self.rng
        cs = self.cs.astype("datetime64[D]")
        cs_month = cs.astype("datetime64[M]").astype(np.int64)
        dom = np.minimum((cs - cs.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64), 27)
        m0 = np.int64(np.datetime64(self.start, "D").astype("datetime64[M]").astype(np.int64))
        m1 = np.int64(np.datetime64(self.end, "D").astype("datetime64[M]").astype(np.int64))
        months = np.arange(m0, m1 + 1)
        due = months[None, :].astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + dom[:, None]
        period = BILLING_MONTHS[self.seg][:, None]
        ok = ((months[None, :] - cs_month[:, None]) % period == 0) & (due >= self.cs[:, None]) \
            & (due >= self.start) & (due <= self.end)
        acct, j = np.nonzero(ok)
        self.i_acct, self.i_due = acct, due[acct, j]
        self.i_amount = np.round(self.arr[acct] * BILLING_MONTHS[self.seg[acct]] / 12.0, 2)
        wk = np.clip((self.i_due - self.start) // STEP, 0, len(self.grid) - 1)
        q = self.pay_trouble[acct] * np.exp(-0.5 * np.minimum(self.h[acct, wk], 1.0))
        q = np.maximum(q, self._episode_q(acct, self.i_due))
        r = rng.random(len(acct))
        status = np.full(len(acct), "paid", dtype=object)
        status[r < 0.05 + 1.5 * q] = "late"
        status[r < q] = "failed"
        status[r < 0.0015] = "chargeback"
        paid = np.where(status == "late", self.i_due + rng.integers(3, 45, len(acct)),
                        self.i_due - rng.integers(0, 6, len(acct)))
        unpaid = (status == "failed") | (paid > self.end)
        status[(paid > self.end) & (status == "late")] = "open"
        self.i_status, self.i_paid, self.i_unpaid = status, paid, unpaid

    def _episode_q(self, acct: np.ndarray, due: np.ndarray) -> np.ndarray:
        """Per invoice: the failure chance of a payment-trouble episode covering its due date, else 0."""
        order = np.argsort(self.pay_acct, kind="stable")
        ea, lo, hi, q = self.pay_acct[order], self.pay_from[order], self.pay_to[order], self.pay_q[order]
        first = np.searchsorted(ea, acct, "left")
        count = np.searchsorted(ea, acct, "right") - first
        out = np.zeros(len(acct))
        for k in range(int(count.max(initial=0))):  # episodes per account: a handful at most
            has = count > k
            e = first[has] + k
            inside = (due[has] >= lo[e]) & (due[has] <= hi[e])
            out[has] = np.maximum(out[has], np.where(inside, q[e], 0.0))
        return out

    def _touchpoints(self) -> None:
        rng, n = self.rng, self.n
        parts = []
        quarters = np.arange(self.start, self.end + 1, 91)
        for kind, p in ((0, self.qbr_p), (1, EXEC_P[self.seg])):  # qbr, exec meeting: per quarter
            hit = (rng.random((n, len(quarters))) < p[:, None])
            acct, q = np.nonzero(hit)
            day = quarters[q] + rng.integers(0, 60, len(q))
            parts.append((acct, day, np.full(len(acct), kind, np.int8)))
        acct, _, day = self._events(np.broadcast_to(CALLS_PER_WEEK[self.seg][:, None], self.h.shape))
        parts.append((acct, day, np.full(len(acct), 2, np.int8)))
        # NPS surveys every half year from an account-specific offset; about 45% answer
        offset = rng.integers(0, 182, n)
        halves = np.arange(0, self.end - self.start + 1, 182)
        day = self.start + offset[:, None] + halves[None, :]
        acct, j = np.nonzero(day <= self.end)
        day = day[acct, j]
        parts.append((acct, day, np.full(len(acct), 3, np.int8)))
        self.tp_acct, self.tp_day, self.tp_kind = (np.concatenate(x) for x in zip(*parts))
        keep = (self.tp_day >= self.cs[self.tp_acct]) & (self.tp_day <= self.end)
        self.tp_acct, self.tp_day, self.tp_kind = self.tp_acct[keep], self.tp_day[keep], self.tp_kind[keep]
        wk = np.clip((self.tp_day - self.start) // STEP, 0, len(self.grid) - 1)
        answered = (self.tp_kind == 3) & (rng.random(len(self.tp_acct)) < 0.45)
        score = np.clip(np.round(rng.normal(7.6 + 2.5 * self.h[self.tp_acct, wk], 1.6)), 0, 10)
        self.tp_nps = np.where(answered, score, np.nan)

    # -- renewals: the known churn model ------------------------------------------------
    def drivers(self, d: np.ndarray) -> dict[str, np.ndarray]:
        """The drivers of COEFFICIENTS as of day d (one per account), from the signals at d."""
        n, week = self.n, self.grid[None, :]
        dd = d[:, None]
        rows = self.u_exists & (week <= dd)
        recent = rows & (week > dd - 30)
        earlier = rows & (week <= dd - 30) & (week > dd - 60)
        l30 = (self.logins * recent).sum(1)
        lprev = (self.logins * earlier).sum(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            change = np.where(lprev > 0, l30 / np.maximum(lprev, 1) - 1, np.nan)
            util = (self.active * recent).sum(1) / recent.sum(1) / np.where(self.seats > 0, self.seats, np.nan)
        ta, td = self.t_acct, self.t_day
        neg = _window_count(ta, td, d, 30, n, self.t_sent < -0.3)
        esc = _window_count(ta, td, d, 90, n, self.t_esc)
        tickets = _window_count(ta, td, d, 30, n)
        ia, idue = self.i_acct, self.i_due
        failed = _window_count(ia, idue, d, 30, n, self.i_status == "failed")
        unpaid_at_d = self.i_unpaid | (self.i_paid > d[ia])
        late = _window_count(ia, idue, d, 90, n, unpaid_at_d | (self.i_paid > idue))
        qbr = self.tp_kind == 0
        last_qbr = _last_on_or_before(self.tp_acct[qbr], self.tp_day[qbr], d, n)
        has_nps = ~np.isnan(self.tp_nps)
        key = self.tp_day[has_nps] * 16 + self.tp_nps[has_nps].astype(np.int64)  # latest; ties: highest
        last_nps = _last_on_or_before(self.tp_acct[has_nps], self.tp_day[has_nps], d, n, key)
        left = self.rel_event == 0
        champion = _window_count(self.rel_acct[left], self.rel_day[left], d, 90, n) > 0
        return {
            "usage_decline": np.nan_to_num(np.clip(-change, 0, 1), nan=0.0),
            "champion_left": champion.astype(float),
            "failed_payments": np.minimum(failed, 2).astype(float),
            "negative_tickets": np.minimum(neg, 5).astype(float),
            "no_qbr_180d": ((last_qbr < 0) | (d - last_qbr > 180)).astype(float),
            "low_nps": ((last_nps >= 0) & (last_nps % 16 <= 6)).astype(float),
            "low_seat_utilization": np.nan_to_num(util < 0.4, nan=0.0).astype(float),
            "escalations": np.minimum(esc, 3).astype(float),
            "late_invoices": np.minimum(late, 3).astype(float),
            "tickets": np.minimum(tickets, 10).astype(float),
        }

    def _renewals(self) -> None:
        rng, n = self.rng, self.n
        self.churn_day = np.full(n, np.iinfo(np.int64).max)
        self.renewal_date = np.zeros(n, np.int64)
        arr = self.arr.copy()
        o_acct, o_day, o_kind, o_change = [], [], [], []
        self.renewals = self.churned = 0
        self.renewal_log: list[tuple[np.ndarray, np.ndarray]] = []  # (drivers, churned) per renewal round
        self.play = np.full(n, -1, np.int64)  # index into PLAYS of the account's play, -1: none
        self.play_start = np.zeros(n, np.int64)
        self.play_holdout = np.zeros(n, bool)
        # play -> [n treated, n held out, sum of churn probabilities (without the play) of each]
        self.play_stats = {name: [0, 0, 0.0, 0.0] for name in PLAYS}
        years = (self.end - self.cs.min()) // 365 + 2
        for k in range(1, years + 1):
            r = _add_years(self.cs, k)
            due = (r > self.start) & (r <= self.end) & (self.churn_day == np.iinfo(np.int64).max)
            if not due.any():
                continue
            x = self.drivers(r - 1)  # the signals the day before: what a CSM could know
            logit = INTERCEPT + sum(c * x[name] for name, c in COEFFICIENTS.items()) + rng.normal(0, NOISE_SD, n)
            u = rng.random(n)
            p = _sigmoid(logit)
            factor = self._start_plays(due, r, p) if self.plays_rng is not None else np.ones(n)
            churn = due & (u < p * factor)
            down = due & ~churn & (rng.random(n) < _sigmoid(-2.8 + 1.0 * x["low_seat_utilization"]
                                                              + 1.0 * x["usage_decline"]))
            grow = due & ~churn & ~down & (rng.random(n) < 0.3)
            change = np.where(churn, -arr, np.where(down, -np.round(arr * rng.uniform(0.1, 0.4, n), -2),
                                                     np.where(grow, np.round(arr * rng.uniform(0.02, 0.2, n), -2), 0.0)))
            idx = np.nonzero(due & (factor == 1))[0]  # renewals a play did not change: the churn model alone
            self.renewal_log.append((np.column_stack([x[name][idx] for name in COEFFICIENTS]), churn[idx]))
            idx = np.nonzero(due)[0]
            o_acct.append(idx)
            o_day.append(r[idx])
            o_kind.append(np.where(churn[idx], 0, np.where(down[idx], 1, 2)).astype(np.int8))
            o_change.append(change[idx])
            arr = np.where(due & ~churn, arr + change, arr)
            self.churn_day[churn] = r[churn]
            self.renewals += int(due.sum())
            self.churned += int(churn.sum())
        self.final_arr = arr
        # the next renewal after the period (or the churn date)
        k = np.maximum((self.end - self.cs) // 366, 1)
        nxt = _add_years(self.cs, k)
        while (nxt <= self.end).any():
            k = np.where(nxt <= self.end, k + 1, k)
            nxt = _add_years(self.cs, k)
        self.renewal_date = np.where(self.churn_day < np.iinfo(np.int64).max, self.churn_day, nxt)
        cat = lambda parts, dt: np.concatenate(parts) if parts else np.zeros(0, dt)  # noqa: E731
        self.o_acct, self.o_day = cat(o_acct, np.int64), cat(o_day, np.int64)
        self.o_kind, self.o_change = cat(o_kind, np.int8), cat(o_change, float)

    def _start_plays(self, due: np.ndarray, r: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Start PLAYS for the eligible accounts renewing at r (rules above PLAYS); returns each
        account's churn-probability factor at this renewal (1: no play, or held out). Draws only
        from the plays' own stream, the same amount whoever is eligible."""
        prng, n, names = self.plays_rng, self.n, list(PLAYS)
        s = r - prng.integers(*PLAY_LEAD, n)
        choice = prng.choice(len(names), size=n, p=[PLAYS[m]["share"] for m in names])
        enrol = prng.random(n) < PLAY_ENROL_P
        hold = prng.random(n) < np.array([PLAYS[m]["holdout"] for m in names])[choice]
        factor = np.ones(n)
        can = due & enrol & (self.play < 0) & (s >= self.start) & (s + PLAY_HORIZON <= self.end)
        if not can.any():
            return factor
        xs = self.drivers(np.where(can, s, r - 1))  # what a CSM could know at the start
        risk = _sigmoid(INTERCEPT + sum(c * xs[name] for name, c in COEFFICIENTS.items()))
        new = can & (risk >= PLAY_ELIGIBLE_P)
        self.play[new], self.play_start[new], self.play_holdout[new] = choice[new], s[new], hold[new]
        treated = new & ~hold
        factor[treated] = 1.0 - np.array([PLAYS[m]["relative_reduction"] for m in names])[choice[treated]]
        for j, m in enumerate(names):
            t, h = treated & (choice == j), new & hold & (choice == j)
            st = self.play_stats[m]
            st[0], st[1], st[2], st[3] = st[0] + int(t.sum()), st[1] + int(h.sum()), st[2] + float(p[t].sum()), \
                st[3] + float(p[h].sum())
        return factor

    # -- output tables ------------------------------------------------------------------
    def tables(self) -> dict[str, pa.Table]:
        rng, n = self.rng, self.n
        ids = _ids("ACC-", self.first + np.arange(n) + 1, 7)
        alive = lambda acct, day: day <= self.churn_day[acct]  # noqa: E731
        names = [f"{NAME_A[a]} {NAME_B[b]} {NAME_C[c]} {NAME_D[e]}".strip() for a, b, c, e in zip(
            rng.integers(0, len(NAME_A), n), rng.integers(0, len(NAME_B), n), rng.integers(0, len(NAME_C), n),
            rng.integers(0, len(NAME_D), n))]
        plan = np.array([PLANS[s][i] for s, i in zip(self.seg, rng.integers(0, 2, n))], dtype=object)
        csm = np.array([CSMS[s][i % len(CSMS[s])] for s, i in zip(self.seg, rng.integers(0, 100, n))], dtype=object)
        out = {"accounts": pa.table({
            "account_id": ids,
            "account_name": pa.array(names),
            "segment": pa.array(np.array(SEGMENTS, dtype=object)[self.seg]),
            "industry": pa.array(np.array(INDUSTRIES, dtype=object)[rng.integers(0, len(INDUSTRIES), n)]),
            "region": pa.array(np.array(REGIONS, dtype=object)[rng.choice(len(REGIONS), n, p=REGION_P)]),
            "plan": pa.array(plan),
            "csm_owner": pa.array(csm),
            "arr": pa.array(self.final_arr),
            "seats": pa.array(self.seats),
            "contract_start": _dates(self.cs),
            "renewal_date": _dates(self.renewal_date),
            "marketing_consent": pa.array(rng.random(n) < 0.7),
        })}
        acct, w = np.nonzero(self.u_exists)
        keep = alive(acct, self.grid[w])
        acct, w = acct[keep], w[keep]
        out["usage"] = pa.table({
            "account_id": ids.take(acct), "date": _dates(self.grid[w]),
            "active_users": pa.array(self.active[acct, w]), "logins": pa.array(self.logins[acct, w]),
            "core_feature_events": pa.array(self.features[acct, w])})
        keep = alive(self.t_acct, self.t_day)
        ta = self.t_acct[keep]
        out["tickets"] = pa.table({
            "account_id": ids.take(ta),
            "ticket_id": _ids("TCK-", (self.first // CHUNK) * 10_000_000 + np.arange(len(ta)) + 1, 10),
            "opened_at": _dates(self.t_day[keep]),
            "priority": pa.array(np.array(["low", "normal", "high", "urgent"], dtype=object)[self.t_prio[keep]]),
            "sentiment": pa.array(self.t_sent[keep]), "escalated": pa.array(self.t_esc[keep])})
        keep = alive(self.i_acct, self.i_due)
        ia = self.i_acct[keep]
        out["invoices"] = pa.table({
            "account_id": ids.take(ia),
            "invoice_id": _ids("INV-", (self.first // CHUNK) * 10_000_000 + np.arange(len(ia)) + 1, 10),
            "due_date": _dates(self.i_due[keep]),
            "paid_at": _dates(self.i_paid[keep], mask=self.i_unpaid[keep]),
            "amount": pa.array(self.i_amount[keep]), "status": pa.array(self.i_status[keep])})
        order = np.lexsort((self.tp_kind, self.tp_day, self.tp_acct))
        order = order[alive(self.tp_acct[order], self.tp_day[order])]
        out["touchpoints"] = pa.table({
            "account_id": ids.take(self.tp_acct[order]), "date": _dates(self.tp_day[order]),
            "kind": pa.array(np.array(["qbr", "exec_meeting", "csm_call", "nps_survey"], dtype=object)
                             [self.tp_kind[order]]),
            "nps": pa.array(self.tp_nps[order], mask=np.isnan(self.tp_nps[order]))})
        order = np.lexsort((self.rel_day, self.rel_acct))
        order = order[alive(self.rel_acct[order], self.rel_day[order]) & (self.rel_day[order] <= self.end)
                      & (self.rel_day[order] >= self.cs[self.rel_acct[order]])]
        out["relationship_events"] = pa.table({
            "account_id": ids.take(self.rel_acct[order]), "date": _dates(self.rel_day[order]),
            "event": pa.array(np.array(["champion_left", "sponsor_changed", "champion_added"], dtype=object)
                              [self.rel_event[order]])})
        order = np.lexsort((self.o_day, self.o_acct))
        out["outcomes"] = pa.table({
            "account_id": ids.take(self.o_acct[order]), "date": _dates(self.o_day[order]),
            "outcome": pa.array(np.array(["churned", "downgraded", "renewed"], dtype=object)[self.o_kind[order]]),
            "arr_change": pa.array(self.o_change[order])})
        has = np.nonzero(self.play >= 0)[0]
        out["plays"] = pa.table({
            "account_id": ids.take(pa.array(has, pa.int64())),
            "play": pa.array(np.array(list(PLAYS), dtype=object)[self.play[has]], pa.string()),
            "started_at": _dates(self.play_start[has]), "holdout": pa.array(self.play_holdout[has], pa.bool_())})
        return out


def generate_sample(out_dir: str | os.PathLike, n_accounts: int = 5000, seed: int = 42,
                    start: date = date(2024, 11, 1), days: int = 730, fmt: str = "parquet") -> Path:
    """Write the activity tables of `n_accounts` generated accounts and `truth.json` into out_dir.

    Deterministic for (n_accounts, seed, start, days). fmt: "parquet" or "csv".
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv', got {fmt!r}")
    if n_accounts < 1:
        raise ValueError(f"n_accounts must be at least 1, got {n_accounts}")
    if days < 60:
        raise ValueError(f"days must be at least 60, got {days}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    s, e = _day(start), _day(start) + days - 1
    seeds = np.random.SeedSequence(seed).spawn((n_accounts + CHUNK - 1) // CHUNK)
    writers: dict[str, object] = {}
    counts = {t: 0 for t in TABLE_NAMES}
    renewals = churned = 0
    play_stats = {name: [0, 0, 0.0, 0.0] for name in PLAYS}
    try:
        for i, ss in enumerate(seeds):
            first = i * CHUNK
            chunk = _Chunk(np.random.default_rng(ss), first, min(CHUNK, n_accounts - first), s, e,
                           plays_rng=np.random.default_rng(ss.spawn(1)[0]))
            renewals, churned = renewals + chunk.renewals, churned + chunk.churned
            for name, st in chunk.play_stats.items():
                play_stats[name] = [a + b for a, b in zip(play_stats[name], st)]
            for name, table in chunk.tables().items():
                if name == "plays" and table.num_rows == 0:
                    continue  # an optional table: no file rather than an empty one (a load warns on those)
                if name not in writers:
                    path = out / f"{name}.{fmt}"
                    writers[name] = (pq.ParquetWriter(path, table.schema, compression="zstd") if fmt == "parquet"
                                     else pacsv.CSVWriter(path, table.schema))
                writers[name].write_table(table)
                counts[name] += table.num_rows
            del chunk
    finally:
        for w in writers.values():
            w.close()
    truth = {
        "model": "P(churn at a renewal) = sigmoid(intercept + sum(coefficients[d] * driver d) + N(0, noise_sd)), "
                 "drivers from the signals as of the day before the renewal",
        "intercept": INTERCEPT, "coefficients": COEFFICIENTS, "drivers": DRIVERS, "noise_sd": NOISE_SD,
        "strong": [k for k, v in COEFFICIENTS.items() if v >= 0.5],
        "weak": [k for k, v in COEFFICIENTS.items() if v < 0.2],
        "generator_version": GENERATOR_VERSION, "seed": seed, "n_accounts": n_accounts, "start": start.isoformat(),
        "end": (start + timedelta(days=days - 1)).isoformat(), "format": fmt, "rows": counts,
        "renewals": renewals, "churned": churned,
        "churn_rate_per_renewal": round(churned / renewals, 4) if renewals else None,
        "plays": _plays_truth(play_stats),
    }
    (out / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    return out


def _plays_truth(stats: dict[str, list]) -> dict:
    """What the plays do and the effect to expect: per play, the effect (control - treated churn rate
    at the play's renewal, inside a 90-day horizon) expected given who was held out, and over every
    enrolled account (what a randomised hold-out estimates)."""
    plays = {}
    for name, (n_t, n_h, sum_t, sum_h) in stats.items():
        red, spec = PLAYS[name]["relative_reduction"], PLAYS[name]
        n = n_t + n_h
        plays[name] = {
            "relative_reduction": red, "holdout_share": spec["holdout"], "treated": n_t, "control": n_h,
            "expected_control_rate": round(sum_h / n_h, 4) if n_h else None,
            "expected_treated_rate": round((1 - red) * sum_t / n_t, 4) if n_t else None,
            "expected_effect": round(red * (sum_t + sum_h) / n, 4) if n else None,
            "expected_effect_given_groups": (round(sum_h / n_h - (1 - red) * sum_t / n_t, 4)
                                             if n_t and n_h else None)}
    return {
        "model": "a play multiplies the treated account's churn probability at its next renewal by "
                 "(1 - relative_reduction); held-out accounts keep theirs",
        "eligible": f"an account's first renewal in the period whose churn risk without noise, from the signals "
                    f"at the start, is at least {PLAY_ELIGIBLE_P}; {PLAY_ENROL_P:.0%} of them get a play",
        "start": f"{PLAY_LEAD[0]}-{PLAY_LEAD[1] - 1} days before the renewal, with {PLAY_HORIZON} days of data after it",
        "horizon_days": PLAY_HORIZON, "plays": plays}


def ensure_sample(n_accounts: int = 3000, seed: int = 42, cache_dir: str | os.PathLike | None = None) -> Path:
    """The sample folder for (n_accounts, seed), generated once into a cache and reused."""
    target = Path(cache_dir) if cache_dir else (Path(__file__).resolve().parent.parent / ".cache"
                                                / f"sample-v{GENERATOR_VERSION}-{n_accounts}-{seed}")
    if (target / "truth.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        generate_sample(tmp, n_accounts=n_accounts, seed=seed)
        os.rename(tmp, target)  # atomic: readers see a complete folder or none
    except OSError:
        if not (target / "truth.json").exists():  # lost a race to another process: theirs is as good
            raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
