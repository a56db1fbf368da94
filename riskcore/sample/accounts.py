"""A chunk's accounts: segment, contract start, seats, ARR, utilisation, payment trouble, QBR habit."""

from __future__ import annotations

import numpy as np

from .parameters import PAY_TROUBLE, PRICE_PER_SEAT, QBR_NEVER, QBR_P, SEATS, SHARE, UTIL_BETA


class Accounts:
    """Draws the account attributes of a Chunk (mixin: the chunk holds the arrays)."""

    def draw_accounts(self) -> None:
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
