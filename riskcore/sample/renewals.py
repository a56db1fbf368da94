"""Renewals under the known churn model: the drivers as of a day (the signals' definitions in numpy),
churn, downgrade or growth at each anniversary, and save plays with their known effect."""

from __future__ import annotations

import numpy as np

from .arrays import add_years, last_on_or_before, sigmoid, window_count
from .parameters import COEFFICIENTS, INTERCEPT, NOISE_SD, PLAYS, PLAY_ELIGIBLE_P, PLAY_ENROL_P, PLAY_HORIZON, PLAY_LEAD


class Renewals:
    """Draws the renewals and plays of a Chunk (mixin: the chunk holds the arrays)."""

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
        neg = window_count(ta, td, d, 30, n, self.t_sent < -0.3)
        esc = window_count(ta, td, d, 90, n, self.t_esc)
        tickets = window_count(ta, td, d, 30, n)
        ia, idue = self.i_acct, self.i_due
        failed = window_count(ia, idue, d, 30, n, self.i_status == "failed")
        unpaid_at_d = self.i_unpaid | (self.i_paid > d[ia])
        late = window_count(ia, idue, d, 90, n, unpaid_at_d | (self.i_paid > idue))
        qbr = self.tp_kind == 0
        last_qbr = last_on_or_before(self.tp_acct[qbr], self.tp_day[qbr], d, n)
        has_nps = ~np.isnan(self.tp_nps)
        key = self.tp_day[has_nps] * 16 + self.tp_nps[has_nps].astype(np.int64)  # latest; ties: highest
        last_nps = last_on_or_before(self.tp_acct[has_nps], self.tp_day[has_nps], d, n, key)
        left = self.rel_event == 0
        champion = window_count(self.rel_acct[left], self.rel_day[left], d, 90, n) > 0
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

    def draw_renewals(self) -> None:
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
            r = add_years(self.cs, k)
            due = (r > self.start) & (r <= self.end) & (self.churn_day == np.iinfo(np.int64).max)
            if not due.any():
                continue
            x = self.drivers(r - 1)  # the signals the day before: what a CSM could know
            logit = INTERCEPT + sum(c * x[name] for name, c in COEFFICIENTS.items()) + rng.normal(0, NOISE_SD, n)
            u = rng.random(n)
            p = sigmoid(logit)
            factor = self._start_plays(due, r, p) if self.plays_rng is not None else np.ones(n)
            churn = due & (u < p * factor)
            down = due & ~churn & (rng.random(n) < sigmoid(-2.8 + 1.0 * x["low_seat_utilization"]
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
        nxt = add_years(self.cs, k)
        while (nxt <= self.end).any():
            k = np.where(nxt <= self.end, k + 1, k)
            nxt = add_years(self.cs, k)
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
        risk = sigmoid(INTERCEPT + sum(c * xs[name] for name, c in COEFFICIENTS.items()))
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
