"""A chunk's tickets, invoices and touchpoints (QBRs, exec meetings, CSM calls, NPS surveys), drawn
from the latent health."""

from __future__ import annotations

import numpy as np

from .arrays import sigmoid
from .parameters import BILLING_MONTHS, CALLS_PER_WEEK, EXEC_P, STEP, TICKETS_PER_WEEK


class Activity:
    """Draws the activity events of a Chunk (mixin: the chunk holds the arrays)."""

    def _events(self, per_week: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Poisson events per (account, period) while the account exists: account, period index, day."""
        counts = self.rng.poisson(per_week * (STEP / 7)) * self.u_exists
        acct, w = np.nonzero(counts)
        reps = counts[acct, w]
        acct, w = np.repeat(acct, reps), np.repeat(w, reps)
        day = np.minimum(self.grid[w] + self.rng.integers(0, STEP, len(w)), self.end)
        return acct, w, day

    def draw_tickets(self) -> None:
        rng = self.rng
        rate = TICKETS_PER_WEEK[self.seg][:, None] * np.exp(-0.6 * self.h)
        self.t_acct, w, self.t_day = self._events(rate)
        hw = self.h[self.t_acct, w]
        self.t_sent = np.round(np.clip(rng.normal(0.15 + 0.5 * hw, 0.35), -1, 1), 2)
        self.t_prio = rng.choice(4, size=len(w), p=[0.3, 0.45, 0.2, 0.05])
        self.t_esc = rng.random(len(w)) < sigmoid(-3.4 + 1.5 * (self.t_prio == 3) - 1.0 * hw)

    def draw_invoices(self) -> None:
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

    def draw_touchpoints(self) -> None:
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
