"""A chunk's output: the activity tables (accounts, usage, tickets, invoices, touchpoints,
relationship_events, outcomes, plays) as Arrow tables."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .arrays import date_array, id_array
from .parameters import (CHUNK, CSMS, INDUSTRIES, NAME_A, NAME_B, NAME_C, NAME_D, PLANS, PLAYS, REGIONS, REGION_P,
                         SEGMENTS)


class Tables:
    """The tables of a Chunk (mixin: the chunk holds the arrays)."""

    def tables(self) -> dict[str, pa.Table]:
        rng, n = self.rng, self.n
        ids = id_array("ACC-", self.first + np.arange(n) + 1, 7)
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
            "contract_start": date_array(self.cs),
            "renewal_date": date_array(self.renewal_date),
            "marketing_consent": pa.array(rng.random(n) < 0.7),
        })}
        acct, w = np.nonzero(self.u_exists)
        keep = alive(acct, self.grid[w])
        acct, w = acct[keep], w[keep]
        out["usage"] = pa.table({
            "account_id": ids.take(acct), "date": date_array(self.grid[w]),
            "active_users": pa.array(self.active[acct, w]), "logins": pa.array(self.logins[acct, w]),
            "core_feature_events": pa.array(self.features[acct, w])})
        keep = alive(self.t_acct, self.t_day)
        ta = self.t_acct[keep]
        out["tickets"] = pa.table({
            "account_id": ids.take(ta),
            "ticket_id": id_array("TCK-", (self.first // CHUNK) * 10_000_000 + np.arange(len(ta)) + 1, 10),
            "opened_at": date_array(self.t_day[keep]),
            "priority": pa.array(np.array(["low", "normal", "high", "urgent"], dtype=object)[self.t_prio[keep]]),
            "sentiment": pa.array(self.t_sent[keep]), "escalated": pa.array(self.t_esc[keep])})
        keep = alive(self.i_acct, self.i_due)
        ia = self.i_acct[keep]
        out["invoices"] = pa.table({
            "account_id": ids.take(ia),
            "invoice_id": id_array("INV-", (self.first // CHUNK) * 10_000_000 + np.arange(len(ia)) + 1, 10),
            "due_date": date_array(self.i_due[keep]),
            "paid_at": date_array(self.i_paid[keep], mask=self.i_unpaid[keep]),
            "amount": pa.array(self.i_amount[keep]), "status": pa.array(self.i_status[keep])})
        order = np.lexsort((self.tp_kind, self.tp_day, self.tp_acct))
        order = order[alive(self.tp_acct[order], self.tp_day[order])]
        out["touchpoints"] = pa.table({
            "account_id": ids.take(self.tp_acct[order]), "date": date_array(self.tp_day[order]),
            "kind": pa.array(np.array(["qbr", "exec_meeting", "csm_call", "nps_survey"], dtype=object)
                             [self.tp_kind[order]]),
            "nps": pa.array(self.tp_nps[order], mask=np.isnan(self.tp_nps[order]))})
        order = np.lexsort((self.rel_day, self.rel_acct))
        order = order[alive(self.rel_acct[order], self.rel_day[order]) & (self.rel_day[order] <= self.end)
                      & (self.rel_day[order] >= self.cs[self.rel_acct[order]])]
        out["relationship_events"] = pa.table({
            "account_id": ids.take(self.rel_acct[order]), "date": date_array(self.rel_day[order]),
            "event": pa.array(np.array(["champion_left", "sponsor_changed", "champion_added"], dtype=object)
                              [self.rel_event[order]])})
        order = np.lexsort((self.o_day, self.o_acct))
        out["outcomes"] = pa.table({
            "account_id": ids.take(self.o_acct[order]), "date": date_array(self.o_day[order]),
            "outcome": pa.array(np.array(["churned", "downgraded", "renewed"], dtype=object)[self.o_kind[order]]),
            "arr_change": pa.array(self.o_change[order])})
        has = np.nonzero(self.play >= 0)[0]
        out["plays"] = pa.table({
            "account_id": ids.take(pa.array(has, pa.int64())),
            "play": pa.array(np.array(list(PLAYS), dtype=object)[self.play[has]], pa.string()),
            "started_at": date_array(self.play_start[has]), "holdout": pa.array(self.play_holdout[has], pa.bool_())})
        return out
