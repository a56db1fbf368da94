"""A chunk's latent health over the usage periods: a slow wobble, declines before renewals, passing
dips, champion departures (relationship events), payment-trouble episodes; usage from health."""

from __future__ import annotations

import numpy as np

from .arrays import add_years
from .parameters import CHAMPION_PRE, CHAMPION_RATE, DECLINE_P, DIP_RATE, MAX_DECLINE, PAY_EPISODE, RENEWAL_LEAD, STEP


class Health:
    """Draws the latent health and usage of a Chunk (mixin: the chunk holds the arrays)."""

    def _renewal_grid(self) -> None:
        """Contract anniversaries near the period, (account, k): trouble builds up before them."""
        k = np.arange(1, (self.end + RENEWAL_LEAD - self.cs.min()) // 365 + 2)
        r = add_years(np.repeat(self.cs[:, None], len(k), 1), k[None, :])
        self.ren = r
        self.ren_ok = (r > self.start) & (r <= self.end + RENEWAL_LEAD)

    def _episodes(self, p: np.ndarray, lead: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per (account, renewal) with chance p[account]: account, onset `lead` days before it, renewal."""
        hit = self.ren_ok & (self.rng.random(self.ren.shape) < p[:, None])
        acct, j = np.nonzero(hit)
        r = self.ren[acct, j]
        onset = np.maximum(r - self.rng.integers(lead[0], lead[1], len(acct)), self.cs[acct])
        return acct, onset, r

    def draw_health(self) -> None:
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

    def draw_usage(self) -> None:
        rng = self.rng
        self.u_exists = self.grid[None, :] >= self.cs[:, None]
        p = np.clip(self.util[:, None] * np.exp(np.minimum(self.h, 0.4)), 0, 1)
        # the same people log in week after week: active users vary less than independent draws
        mean = self.seats[:, None] * p
        noisy = mean + rng.normal(0, 1, p.shape) * np.sqrt(mean * (1 - p)) * 0.5
        self.active = np.clip(np.round(noisy), 0, self.seats[:, None]).astype(np.int64)
        self.logins = rng.poisson(self.active * self.logins_per_user[:, None] * (STEP / 7))
        self.features = rng.poisson(self.logins * self.feature_depth[:, None])
