"""Are the alerts worth reading? Each alert kind measured on history: of the accounts it alerted at a
date d, how many churned in (d, d + H], against the churn rate of every active account at those
dates (the base rate), and how many alerts it puts on a CSM's desk per week.

The alerts are those `history.evaluate_alerts` raises over a weekly re-scored history (the same as
the `alerts` command without snapshots), at the `weeks` weekly dates ending at the backtest's as-of
date D, so every outcome window has closed within the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from .db import Store
from .display import DASH, count, is_blank, number

ALERT_WEEKS = 8  # weeks of alerts measured, ending at the as-of date
ANY = "any"      # the row counting an account once per date whatever alerts fired for it
FIELDS = ("alert", "n_alerted", "churned", "rate", "base_rate", "lift", "per_csm_week")


def alert_figures(found: list[dict], population: pd.DataFrame, alert_ids: list[str], n_csm: int | None,
                  weeks: int) -> list[dict]:
    """Per alert id in `alert_ids` (then ANY): {alert, n_alerted, churned, rate, base_rate, lift, per_csm_week}.

    `found`: alerts ({account_id, alert, date (ISO)}); `population`: date (ISO), account_id, churned for
    every account active at each alert date. An account alerted twice at one date by one alert counts
    once; at two dates, twice (it reached the desk twice). rate = churned / n_alerted, base_rate =
    the population's churn rate, lift = rate / base_rate, per_csm_week = n_alerted / n_csm / weeks.

    >>> pop = pd.DataFrame({"date": ["2025-01-07"] * 4, "account_id": list("abcd"),
    ...                     "churned": [True, False, False, False]})
    >>> alert_figures([{"account_id": "a", "alert": "x", "date": "2025-01-07"}], pop, ["x"], 1, 1)[0]
    {'alert': 'x', 'n_alerted': 1, 'churned': 1, 'rate': 1.0, 'base_rate': 0.25, 'lift': 4.0, 'per_csm_week': 1.0}
    """
    pop = population[["date", "account_id", "churned"]].astype({"date": str, "account_id": str})
    base = float(pop["churned"].mean()) if len(pop) else None
    hits = pd.DataFrame(found, columns=["account_id", "alert", "date"]).astype(str) if found else \
        pd.DataFrame(columns=["account_id", "alert", "date"])
    out = []
    for alert in list(alert_ids) + [ANY]:
        part = hits if alert == ANY else hits[hits["alert"] == alert]
        part = part[["date", "account_id"]].drop_duplicates().merge(pop, on=["date", "account_id"], how="inner")
        n, churned = len(part), int(part["churned"].sum())
        rate = churned / n if n else None
        lift = rate / base if rate is not None and base else None
        out.append({"alert": alert, "n_alerted": n, "churned": churned, "rate": _round(rate),
                    "base_rate": _round(base), "lift": _round(lift),
                    "per_csm_week": _round(n / n_csm / weeks, 3) if n_csm and weeks else None})
    return out


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), digits)


def alert_dates(as_of: date, weeks: int, lookback_days: int, step_days: int = 7) -> tuple[list[date], list[date]]:
    """(the weekly dates alerts are measured at, ending at `as_of`; every date scored, including the
    earlier ones the first alerts compare with, `lookback_days` before)."""
    measured = [as_of - timedelta(days=step_days * k) for k in range(weeks)][::-1]
    extra = -(-max(lookback_days, step_days) // step_days)  # weeks before the first measured date
    scored = [measured[0] - timedelta(days=step_days * k) for k in range(extra, 0, -1)] + measured
    return measured, scored


@dataclass(frozen=True)
class AlertHistory:
    """The re-scored weekly states alerts are measured on, with the outcome of every account active at
    each measured date: built once, then `measure` any alert settings on it (scoring does not depend
    on the alerts)."""

    states: list
    measured: list[date]
    population: pd.DataFrame  # date (ISO), account_id, churned
    n_csm: int | None


def alert_history(store: Store, rs, as_of: date, horizon_days: int, weeks: int = ALERT_WEEKS,
                  lookback_days: int | None = None) -> AlertHistory:
    """Score `rs` weekly over the `weeks` dates ending at `as_of` (and the `lookback_days` before,
    by default the longest `within_days` of its alerts) with churn in (d, d + horizon] at each."""
    from .history import RESCORE_STEP_DAYS, rescored_state
    from .signals import active_dates, outcomes
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, found {weeks}")
    first = active_dates(store)[0]
    if lookback_days is None:
        lookback_days = max([a.within_days or 0 for a in rs.alerts] + [RESCORE_STEP_DAYS])
    measured, scored = alert_dates(as_of, weeks, lookback_days, RESCORE_STEP_DAYS)
    scored = [d for d in scored if d > first]
    measured = [d for d in measured if d in scored[1:]]  # an alert needs an earlier state
    if not measured:
        raise ValueError(f"not enough history before {as_of} to measure alerts (data starts {first})")
    states = [rescored_state(store, rs, d) for d in scored]
    population = pd.concat([outcomes(store, d, horizon_days).assign(date=d.isoformat()) for d in measured],
                           ignore_index=True)
    rows = states[-1].rows
    owners = rows["csm_owner"].dropna() if "csm_owner" in rows else pd.Series([], dtype=str)
    return AlertHistory(states, measured, population, int(owners.nunique()) or None)


def measure(history: AlertHistory, rs) -> list[dict]:
    """alert_figures of the alerts `rs` declares (its scoring must be the history's: only the
    `[[alerts]]` may differ) over the history's measured dates."""
    from .history import evaluate_alerts
    found = evaluate_alerts(rs, history.states, since=history.measured[0])
    return alert_figures(found, history.population, [a.id for a in rs.alerts], history.n_csm,
                         len(history.measured))


@dataclass(frozen=True)
class AlertReport:
    """alert_figures' rows and what they were measured on: the weekly dates, the horizon, the CSMs."""

    rows: list[dict]
    measured: tuple[date, ...]
    horizon_days: int
    n_csm: int | None


def alert_report(store: Store, rs, as_of: date, horizon_days: int, weeks: int = ALERT_WEEKS) -> AlertReport:
    """alert_stats with the dates it measured and the number of CSMs (for a page's caption)."""
    if not rs.alerts:
        return AlertReport([], (), horizon_days, None)
    history = alert_history(store, rs, as_of, horizon_days, weeks)
    return AlertReport(measure(history, rs), tuple(history.measured), horizon_days, history.n_csm)


def alert_stats(store: Store, rs, as_of: date, horizon_days: int, weeks: int = ALERT_WEEKS) -> list[dict]:
    """Each alert of `rs` measured over the `weeks` weekly dates ending at `as_of` (activity data):
    see alert_figures. Empty when the rule set declares no alert."""
    return alert_report(store, rs, as_of, horizon_days, weeks).rows


def alert_condition(alert, rs) -> str:
    """When an alert fires, in words ('churn score up 25+ points within 21 days').

    >>> from riskcore.rules.model import Alert
    >>> class RS: primary_dimension = "churn"
    >>> alert_condition(Alert("j", "score_rise", points=25, within_days=21), RS())
    'churn score up 25+ points within 21 days'
    >>> alert_condition(Alert("s", "entered_quadrant", quadrant="save"), RS())
    'entered the Save quadrant'
    """
    dim = alert.dimension or rs.primary_dimension
    if alert.kind == "score_rise":
        span = f"within {alert.within_days} days" if alert.within_days else "since the week before"
        return f"{dim} score up {float(alert.points):g}+ points {span}"
    if alert.kind == "tier_worse":
        return f"{dim} tier worse than the week before"
    if alert.kind == "entered_quadrant":
        return f"entered the {str(alert.quadrant).capitalize()} quadrant"
    return "behavioural segment changed"


def _pct(x) -> str:
    return DASH if is_blank(x) else f"{100 * float(x):.1f}%"


def alert_table(rows: list[dict], rs) -> list[dict[str, str]]:
    """alert_figures' rows as a page shows them (the figures first, the condition last: a narrow
    window keeps the figures in view), every cell text: counts with thousands separators,
    rates as percentages, lift as '4.42x', alerts per CSM per week to 2 significant digits, a dash
    for a blank (no CSM owner column, nothing alerted)."""
    alerts = {a.id: a for a in rs.alerts}
    out = []
    for r in rows:
        a = alerts.get(r["alert"])
        if r["alert"] == ANY:
            name, when = "any alert", "once per account and date, whatever fired"
        else:
            name = (a.label if a is not None and a.label else r["alert"])
            when = alert_condition(a, rs) if a is not None else DASH
        out.append({"alert": name, "alerted": count(r["n_alerted"]), "churned": count(r["churned"]),
                    "churn rate": _pct(r["rate"]), "base rate": _pct(r["base_rate"]),
                    "lift": DASH if is_blank(r["lift"]) else f"{float(r['lift']):.2f}x",
                    "per CSM / week": number(r["per_csm_week"], 2), "fires when": when})
    return out


def format_alert_figures(rows: list[dict]) -> list[str]:
    """Lines for the terminal (backtest's text output)."""
    if not rows:
        return []

    def f(x, pct=False):
        return "n/a" if x is None else (f"{100 * x:.1f}%" if pct else f"{x:.2f}")
    lines = ["alert            alerted  churned  rate    lift   per CSM/week"]
    for r in rows:
        lines.append(f"{r['alert']:<16} {r['n_alerted']:<8,} {r['churned']:<8,} {f(r['rate'], True):<7} "
                     f"{f(r['lift']):<6} {f(r['per_csm_week'])}")
    lines.append(f"(base rate {f(rows[0]['base_rate'], True)}; 'any' counts an account once per date)")
    return lines
