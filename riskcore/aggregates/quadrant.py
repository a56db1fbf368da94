"""The quadrant chart: every account or a value x risk grid of counts (exact counts per quadrant), the
value cut-off, the risk line and whether any account has a value."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from ..db import Store, quote_ident
from .counts import quadrant_summary
from .filters import Filters, compile_filters
from .queries import QUADRANT_GRID
from .tables import check_limit, table_columns


@dataclass(frozen=True)
class QuadrantPoints:
    """What to draw: every account (`mode == "points"`), or when there are more than
    max_points a value x risk grid of counts (`mode == "grid"`); `counts` is always exact."""

    mode: Literal["points", "grid"]
    counts: pd.DataFrame
    points: pd.DataFrame | None = None
    grid: pd.DataFrame | None = None
    total: int = 0
    value_scale: str = "linear"
    notes: tuple[str, ...] = field(default=())


def quadrant_points(store: Store, scored: str, max_points: int = 20000, filters: Filters | None = None,
                    grid_size: int = 50, value_scale: Literal["linear", "log"] = "linear") -> QuadrantPoints:
    """Points of the risk x value chart: all accounts when at most `max_points`, else a
    grid_size x grid_size grid (x over the value range, linear or log(1+value); y over risk
    0..100) of counts; plus exact counts per quadrant. Accounts without a value are counted
    in `counts` but not drawn."""
    check_limit(max_points, "max_points")
    check_limit(grid_size, "grid_size")
    if value_scale not in ("linear", "log"):
        raise ValueError(f"value_scale: expected linear | log, found {value_scale!r}")
    cols = table_columns(store, scored, ("account_id", "value", "risk_score", "quadrant"))
    f = filters or Filters()
    where, params = compile_filters(f, cols)
    counts = quadrant_summary(store, scored, f)
    table = quote_ident(scored)
    drawable = f"value IS NOT NULL AND risk_score IS NOT NULL AND {where}"
    total = int(store.one(f"SELECT count(*) FROM {table} WHERE {drawable}", params))
    notes = []
    missing = int(counts["accounts"].sum()) - total
    if missing:
        notes.append(f"{missing:,} account(s) without a value or score not drawn")
    if total <= max_points:
        name = "account_name" if "account_name" in cols else "account_id"
        extra = "".join(f", {c}" for c in ("tier", "csm_owner") if c in cols)
        pts = store.df(f"SELECT account_id, {quote_ident(name)} AS account_name, value, risk_score, quadrant"
                       f"{extra} FROM {table} WHERE {drawable} ORDER BY account_id", params)
        return QuadrantPoints("points", counts, points=pts, total=total, value_scale=value_scale, notes=tuple(notes))
    if value_scale == "log" and store.one(f"SELECT min(value) FROM {table} WHERE {drawable}", params) < 0:
        raise ValueError("value_scale 'log' needs values >= 0")
    vx = "ln(1 + value)" if value_scale == "log" else "value"
    lo, hi = store.rows(f"SELECT min({vx}), max({vx}) FROM {table} WHERE {drawable}", params)[0]
    width = (hi - lo) / grid_size if hi > lo else 1.0
    cells = store.df(QUADRANT_GRID.format(vx=vx, table=table, where=where),
                     [*params, lo, width, grid_size, grid_size, grid_size])
    x0 = lo + cells["ix"] * width
    x1 = x0 + width
    if value_scale == "log":  # back to value units, so the page can draw on a log axis
        x0, x1 = x0.map(math.expm1), x1.map(math.expm1)
    grid = pd.DataFrame({"x0": x0, "x1": x1, "y0": cells["iy"] * 100.0 / grid_size,
                         "y1": (cells["iy"] + 1) * 100.0 / grid_size,
                         "accounts": cells["accounts"].astype("int64"), "value": cells["value"].astype("float64")})
    return QuadrantPoints("grid", counts, grid=grid, total=total, value_scale=value_scale, notes=tuple(notes))


def value_cutoff(store: Store, scored: str, rs: Any) -> float | None:
    """The value cut-off of the quadrant (a rule set's `[quadrant] value_cutoff`): the number,
    or for "median" the median value of the scored accounts, as scoring computes it."""
    cut = rs.quadrant.value_cutoff
    if cut != "median":
        return float(cut)
    table_columns(store, scored, ("value",))
    m = store.one(f"SELECT median(value) FROM {quote_ident(scored)}")
    return None if m is None else float(m)


@dataclass(frozen=True)
class RiskLine:
    """The quadrant's risk line: the score `y` where it is drawn and what it is (`label`). With
    `risk_cutoff = "high_tier"` it is the primary dimension's high-tier cut-off, so the accounts
    above it in Save and Triage are exactly the high tier (with fusion on, an account at or above
    the score without evidence from enough groups stays medium and below the line's quadrants)."""

    y: float | None
    label: str
    tied_to_tier: bool


def has_values(store: Store, scored: str) -> bool:
    """Does any scored account have a value (else the value axis and its totals are empty)?"""
    table_columns(store, scored, ("value",))
    return bool(store.one(f"SELECT count(value) FROM {quote_ident(scored)}"))


def risk_line(store: Store, scored: str, rs: Any) -> RiskLine:
    """Where the quadrant's risk line is for the scored table `scored` of `rs`."""
    q = rs.quadrant
    if not q.tied_to_tier:
        return RiskLine(float(q.risk_cutoff), f"risk cut-off {float(q.risk_cutoff):g} (not the high tier)", False)
    m, h, mode = rs.tiers.cuts(rs.primary_dimension)
    if mode != "percentile":
        return RiskLine(float(h), f"high tier: score >= {float(h):g}", True)
    table_columns(store, scored, ("risk_score",))
    y = store.one(f"SELECT quantile_cont(risk_score, ?) FROM {quote_ident(scored)}", [h / 100.0])
    return RiskLine(None if y is None else float(y), f"high tier: the top {100 - h:g}% of scores", True)
