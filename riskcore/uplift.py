"""Did a save play work? Churn of the accounts that got a play against a control group.

The `plays` activity table says which account started which play when, and which eligible accounts
were randomly held out of it (`holdout` true). For one play and a horizon H:

- treated: accounts that started the play (holdout false or empty); control: accounts held out of
  it (method "holdout", a randomised comparison);
- each counted once, from its first start of the play, if it was active then (the activity notion
  of signals.py: contract started, not churned), and only when the data reaches start + H;
- churned: a churn outcome in (started_at, started_at + H];
- effect = control rate - treated rate (the absolute churn reduction; > 0: the play helped), with a
  95% Newcombe hybrid score interval for a difference of proportions (statsmodels).

A play with no hold-out rows is compared with accounts that never got it, matched 1:1 on tier and
segment at the start of the week the play started (method "matched"): observational, and said so.
"""

from __future__ import annotations

import math
import uuid
import warnings
from datetime import date

import numpy as np
import pandas as pd
from scipy.stats import norm

from .db import Store, quote_ident

ALPHA = 0.05  # two-sided: a 95% interval
POWER = 0.8   # for "how many accounts a conclusive answer needs"
MATCH_SEED = 0  # the 1:1 matched draw is deterministic
OBSERVATIONAL_CAVEAT = (
    "observational: no account was held out of this play, so the control is accounts that never got it, "
    "matched 1:1 on tier and segment at the start of the week the play started. Someone chose who got the "
    "play, so the difference may come from that choice rather than from the play; hold out a random share "
    "of the eligible accounts for an answer you can trust")
SAMPLE_SIZE_FORMULA = (
    "accounts per group for a two-sided z-test of two proportions at 5% with 80% power on Cohen's h of the "
    "observed rates, keeping the observed control:treated ratio (statsmodels NormalIndPower)")

# One row per account that started the play: its first start, its group there, whether it was active
# then (signals.py: contract started on or before D, no churn on or before D that is not dated before
# the contract start) and whether it churned in (D, D + H].
_STARTS_SQL = """
WITH firsts AS (
    SELECT account_id, min(started_at) AS started_at FROM plays
    WHERE play = $play AND started_at IS NOT NULL GROUP BY account_id),
groups AS (
    SELECT f.account_id, f.started_at,
           bool_or(coalesce({holdout}, false)) AS any_holdout,
           bool_and(coalesce({holdout}, false)) AS all_holdout
    FROM firsts f JOIN plays p ON p.account_id = f.account_id AND p.play = $play AND p.started_at = f.started_at
    GROUP BY f.account_id, f.started_at)
SELECT g.account_id, g.started_at, CAST(date_trunc('week', g.started_at) AS DATE) AS week,
       g.any_holdout, g.all_holdout, a.arr, g.started_at + $horizon > $last AS recent,
       a.contract_start <= g.started_at AND NOT EXISTS (
           SELECT 1 FROM outcomes c WHERE c.account_id = g.account_id AND c.outcome = 'churned'
           AND c.date <= g.started_at AND c.date >= a.contract_start) AS active,
       EXISTS (SELECT 1 FROM outcomes o WHERE o.account_id = g.account_id AND o.outcome = 'churned'
               AND o.date > g.started_at AND o.date <= g.started_at + $horizon) AS churned
FROM groups g JOIN accounts a USING (account_id)
ORDER BY g.account_id"""


class UpliftError(ValueError):
    """The data cannot answer the question (no plays table, an unknown play, no outcomes)."""


def play_names(store: Store) -> list[str]:
    """The plays in the loaded `plays` table, sorted (empty when there is none)."""
    if store.dataset is None or store.dataset.kind != "activity" or not store.has_table("plays"):
        return []
    return [r[0] for r in store.rows("SELECT DISTINCT play FROM plays WHERE play IS NOT NULL ORDER BY 1")]


def _check(store: Store, play: str, horizon_days: int) -> None:
    if store.dataset is None or store.dataset.kind != "activity":
        raise UpliftError("uplift needs activity tables (a folder or DuckDB file with a plays table), "
                          "not an account table")
    if not store.has_table("plays"):
        raise UpliftError("no plays table: add plays.csv (account_id, play, started_at, holdout) to the data folder")
    if not store.has_table("outcomes"):
        raise UpliftError("no outcomes table: uplift compares churn, which comes from the outcomes table")
    if not isinstance(horizon_days, int) or horizon_days <= 0:
        raise UpliftError(f"horizon_days must be a positive number of days, found {horizon_days!r}")
    names = play_names(store)
    if play not in names:
        shown = ", ".join(repr(n) for n in names[:10]) + (" ..." if len(names) > 10 else "")
        raise UpliftError(f"no play named {play!r} in the plays table (plays: {shown or 'none'})")


def group_counts(churned: np.ndarray) -> dict:
    """{n, churned, rate} of a 0/1 array (rate None when empty)."""
    n, c = int(len(churned)), int(np.sum(churned))
    return {"n": n, "churned": c, "rate": c / n if n else None}


def difference_interval(control: dict, treated: dict, alpha: float = ALPHA) -> tuple[float | None, float | None]:
    """Newcombe's hybrid score interval for control.rate - treated.rate (None when a group is empty).

    >>> [round(x, 4) for x in difference_interval({"n": 70, "churned": 56}, {"n": 80, "churned": 48})]
    [0.0524, 0.3339]
    """
    from statsmodels.stats.proportion import confint_proportions_2indep
    if not control["n"] or not treated["n"]:
        return None, None
    low, high = confint_proportions_2indep(control["churned"], control["n"], treated["churned"], treated["n"],
                                           method="newcomb", compare="diff", alpha=alpha)
    return float(low), float(high)


def accounts_needed(p_control: float | None, p_treated: float | None, n_control: int, n_treated: int,
                    conclusive: bool, alpha: float = ALPHA, power: float = POWER) -> dict:
    """How many accounts a conclusive answer needs at the observed rates: per group and `more` than
    now (0 when the interval already excludes no effect; None when the rates are equal or unknown)."""
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize
    out = {"treated": None, "control": None, "more": None, "alpha": alpha, "power": power,
           "formula": SAMPLE_SIZE_FORMULA}
    if conclusive:
        return dict(out, treated=n_treated, control=n_control, more=0)
    if p_control is None or p_treated is None or p_control == p_treated:
        return out
    h = abs(float(proportion_effectsize(p_control, p_treated)))
    ratio = n_control / n_treated if n_treated and n_control else 1.0
    with warnings.catch_warnings():  # a tiny answer (n < 2) makes the root finder fail: closed form below
        warnings.simplefilter("ignore")
        n1 = float(NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power, ratio=ratio,
                                                alternative="two-sided"))
    if not math.isfinite(n1):  # the same z-test with the far tail left out (it is < 1e-9 here)
        n1 = (norm.ppf(1 - alpha / 2) + norm.ppf(power)) ** 2 * (1 + 1 / ratio) / h ** 2
    need_t, need_c = math.ceil(n1), math.ceil(n1 * ratio)
    return dict(out, treated=need_t, control=need_c,
                more=max(0, need_t - n_treated) + max(0, need_c - n_control))


def _tiers_at(store: Store, rs, d: date) -> pd.DataFrame:
    """account_id, segment, tier of every account active at `d` under `rs`."""
    from .scoring import score
    from .signals import signals_table
    tag = f"uplift_{uuid.uuid4().hex[:10]}"
    scored = score(store, rs, signals_table(store, d), out_table=tag)
    try:
        return store.df(f"SELECT account_id, segment, tier FROM {quote_ident(scored)}")
    finally:
        for t in (scored, f"{tag}_firings", f"{tag}_playbooks"):
            store.execute(f"DROP TABLE IF EXISTS {quote_ident(t)}")


def _matched_controls(store: Store, rs, play: str, treated: pd.DataFrame, horizon_days: int
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(treated accounts that found a match, their matched controls with `churned`): 1:1 without
    replacement within (week start, tier, segment) among active accounts that never got the play."""
    from .signals import outcomes
    rng = np.random.default_rng(MATCH_SEED)
    had_play = {r[0] for r in store.rows("SELECT DISTINCT account_id FROM plays WHERE play = ?", [play])}
    kept, controls = [], []
    for week, part in treated.groupby("week", sort=True):
        week = pd.Timestamp(week).date()
        tiers = _tiers_at(store, rs, week)
        churn = outcomes(store, week, horizon_days)
        pool = tiers.merge(churn, on="account_id")
        pool = pool[~pool["account_id"].isin(had_play)]
        part = part.merge(tiers, on="account_id", how="inner")  # not active at the week's start: unmatched
        key = lambda f: list(zip(f["tier"].fillna(""), f["segment"].fillna("")))  # noqa: E731
        pool_by = pool.assign(k=key(pool)).sort_values("account_id").groupby("k")
        for k, group in part.assign(k=key(part)).sort_values("account_id").groupby("k"):
            if k not in pool_by.groups:
                continue
            cands = pool_by.get_group(k)
            take = min(len(group), len(cands))
            pick = rng.permutation(len(cands))[:take]
            keep = rng.permutation(len(group))[:take] if take < len(group) else np.arange(take)
            kept.append(group.iloc[np.sort(keep)])
            controls.append(cands.iloc[pick].assign(week=week))
    if not kept:
        return treated.iloc[0:0], pd.DataFrame(columns=["account_id", "churned"])
    return pd.concat(kept, ignore_index=True), pd.concat(controls, ignore_index=True)


def _num(x: float | None, digits: int = 6) -> float | None:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else round(float(x), digits)


def play_accounts(store: Store, play: str, horizon_days: int = 90) -> pd.DataFrame:
    """One row per account that started `play`: account_id, started_at (its first start), week (the
    Monday on or before it), group ("treated", "control" or "both": held out and treated at once),
    arr, active (at the start), churned (in (start, start + H]) and why it is not counted
    (`excluded`: "" when it is, else "not_active", "horizon_past_data_end" or "holdout_and_treated")."""
    from .signals import active_dates
    _check(store, play, horizon_days)
    last = active_dates(store)[1]
    holdout = "p.holdout" if "holdout" in store.columns("plays") else "NULL"  # the column is optional
    starts = store.df(_STARTS_SQL.format(holdout=holdout), {"play": play, "horizon": horizon_days, "last": last})
    for col in ("any_holdout", "all_holdout", "active", "churned", "recent"):
        starts[col] = starts[col].astype(bool)
    starts["group"] = np.where(starts["all_holdout"], "control", np.where(starts["any_holdout"], "both", "treated"))
    starts["excluded"] = np.select(
        [starts["group"] == "both", ~starts["active"], starts["recent"]],
        ["holdout_and_treated", "not_active", "horizon_past_data_end"], "")
    return starts.drop(columns=["any_holdout", "all_holdout", "recent"])


def uplift(store: Store, play: str, horizon_days: int = 90, rules=None) -> dict:
    """Treated vs control churn of one play, its effect with a 95% interval, ARR saved and how many
    more accounts a conclusive answer needs. `rules` (a RuleSet; the default rule set when None)
    gives the tiers a play without hold-outs is matched on."""
    from .signals import active_dates
    starts = play_accounts(store, play, horizon_days)
    last = active_dates(store)[1]
    counted = starts[starts["excluded"] == ""]
    method = "holdout" if (starts["group"] != "treated").any() else "matched"
    treated = counted[counted["group"] == "treated"]
    unmatched = 0
    if method == "holdout":
        control = counted[counted["group"] == "control"]
    else:
        if rules is None:
            from .rules import load_ruleset
            from .workspace import DEFAULT_RULES
            rules = load_ruleset(DEFAULT_RULES)
        matched, control = _matched_controls(store, rules, play, treated, horizon_days)
        unmatched = len(treated) - len(matched)
        treated = matched
    t = group_counts(treated["churned"].to_numpy(bool))
    c = group_counts(control["churned"].to_numpy(bool))
    effect = c["rate"] - t["rate"] if t["n"] and c["n"] else None
    low, high = difference_interval(c, t)
    conclusive = low is not None and (low > 0 or high < 0)
    arr_treated = float(treated["arr"].fillna(0).sum()) if t["n"] else 0.0
    result = {
        "play": play, "horizon_days": horizon_days, "method": method,
        "treated": dict(t, rate=_num(t["rate"])), "control": dict(c, rate=_num(c["rate"])),
        "effect": _num(effect), "ci_low": _num(low), "ci_high": _num(high),
        "conclusive": conclusive, "observational": method == "matched",
        "caveat": OBSERVATIONAL_CAVEAT if method == "matched" else None,
        "arr_treated": round(arr_treated, 2),
        "arr_saved": round(effect * arr_treated, 2) if effect is not None else None,
        "accounts_needed": accounts_needed(c["rate"], t["rate"], c["n"], t["n"], conclusive),
        "excluded": {**{k: int((starts["excluded"] == k).sum())
                        for k in ("not_active", "horizon_past_data_end", "holdout_and_treated")},
                     "unmatched": int(unmatched)},
        "data_end": last.isoformat(),
        "note": _note(method, horizon_days),
    }
    return result


def _note(method: str, horizon_days: int) -> str:
    control = ("accounts held out of it at random (holdout true)" if method == "holdout"
               else "accounts that never got it, matched 1:1 on tier and segment")
    return (f"treated: accounts that started the play (holdout false or empty); control: {control}; each counted "
            f"once, from its first start, if active then and the data covers the next {horizon_days} days; "
            f"churn in (start, start + {horizon_days} days]; effect = control rate - treated rate "
            "(> 0: fewer churned with the play), 95% Newcombe interval; ARR saved = effect x ARR of the treated "
            "accounts (their current ARR)")


def uplift_all(store: Store, horizon_days: int = 90, rules=None) -> list[dict]:
    """`uplift` of every play in the plays table (for a Plays page), in name order."""
    return [uplift(store, p, horizon_days, rules) for p in play_names(store)]


def format_uplift(r: dict) -> str:
    """Plain-text summary for the terminal."""
    def pct(x):
        return "n/a" if x is None else f"{100 * x:.1f}%"

    def pts(x):
        return "n/a" if x is None else f"{100 * x:+.1f} points"
    t, c = r["treated"], r["control"]
    how = "hold-out (randomised)" if r["method"] == "holdout" else "matched (observational)"
    lines = [f"Play {r['play']!r}, churn within {r['horizon_days']} days of the start, {how}",
             f"treated: {t['n']:,} accounts, {t['churned']:,} churned ({pct(t['rate'])})",
             f"control: {c['n']:,} accounts, {c['churned']:,} churned ({pct(c['rate'])})"]
    if r["effect"] is None:
        lines.append("effect: n/a (a group has no account to count)")
    else:
        lines.append(f"effect (control - treated): {pts(r['effect'])}, 95% interval "
                     f"{pts(r['ci_low'])} to {pts(r['ci_high'])}"
                     + ("" if r["conclusive"] else " (inconclusive: the interval includes no effect)"))
        lines.append(f"ARR saved: {r['arr_saved']:,.0f} (effect x {r['arr_treated']:,.0f} ARR of the treated)")
    need = r["accounts_needed"]
    if not r["conclusive"]:
        if need["more"] is None:
            lines.append("accounts needed: n/a (the observed rates are equal or unknown)")
        else:
            lines.append(f"a conclusive answer needs about {need['more']:,} more accounts "
                         f"({need['treated']:,} treated and {need['control']:,} control in all)")
    ex = {k: v for k, v in r["excluded"].items() if v}
    if ex:
        lines.append("not counted: " + ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in ex.items()))
    if r["caveat"]:
        lines.append(f"caveat: {r['caveat']}")
    return "\n".join(lines)


def _of(g: dict) -> str:
    return f"{g['churned']:,} of {g['n']:,}" + ("" if g["rate"] is None else f" ({100 * g['rate']:.1f}%)")


def _needed(r: dict) -> str:
    if r["conclusive"]:
        return "conclusive"
    more = r["accounts_needed"]["more"]
    return "— (no difference to size)" if more is None else f"about {more:,} more"


def uplift_rows(results: list[dict], currency: str = "$") -> pd.DataFrame:
    """The Plays page's table, one row per `uplift` result, as text: play, method, treated and control
    churn ("58 of 318 (18.2%)"), effect with its 95% interval in points, ARR saved, accounts a
    conclusive answer needs, what was not counted; plus effect / ci_low / ci_high in points (numbers,
    None when a group is empty) for a chart."""
    from .display import money

    def pts(x):
        return None if x is None else round(100 * x, 1)
    rows = []
    for r in results:
        e = r["effect"]
        ex = {k: v for k, v in r["excluded"].items() if v}
        rows.append({
            "play": r["play"], "method": "hold-out" if r["method"] == "holdout" else "matched (observational)",
            "treated churned": _of(r["treated"]), "control churned": _of(r["control"]),
            "effect (95% interval)": "—" if e is None else (f"{100 * e:+.1f} points ({100 * r['ci_low']:+.1f} to "
                                                            f"{100 * r['ci_high']:+.1f})"),
            "ARR saved": "—" if r["arr_saved"] is None else (money(r["arr_saved"], currency) + ("" if r["conclusive"]
                                                             else " (the interval holds 0)")),
            "accounts needed": _needed(r),
            "not counted": ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in ex.items()) or "—",
            "effect": pts(e), "ci_low": pts(r["ci_low"]), "ci_high": pts(r["ci_high"])})
    return pd.DataFrame(rows, columns=["play", "method", "treated churned", "control churned", "effect (95% interval)",
                                       "ARR saved", "accounts needed", "not counted", "effect", "ci_low", "ci_high"])
