"""Small summaries of a scored table for the pages: tiers, quadrants, movement, lists, points.

Every function takes a Store and the name of a scored table (columns as in
docs/ARCHITECTURE.md "Rules and scoring"). Table and column names are checked against the
table's real columns and quoted; every value is bound. Tiers always come back in the order
low, medium, high and quadrants as Save, Expand, Maintain, Triage, present even when empty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import pandas as pd

from .db import Store, quote_ident, safe_table_name
from .rules.model import QUADRANTS, TIERS

NO_SEGMENT = "(none)"


def _ordered(names: tuple[str, ...]) -> str:
    """`('low', 1), ('medium', 2), ...`: fixed names (word characters only) with their order."""
    return ", ".join(f"('{n}', {i})" for i, n in enumerate(names, 1))


# Fixed lists joined to the data so every tier / quadrant appears even with no account.
_TIER_LIST = f"(VALUES {_ordered(TIERS)}) AS t(tier, ord)"
_QUADRANT_LIST = f"(VALUES {_ordered(QUADRANTS)}) AS q(quadrant, ord)"


# -- checking names -------------------------------------------------------------------

def _columns(store: Store, table: str, needed: tuple[str, ...] = ()) -> set[str]:
    """The table's columns, after checking the table exists and has `needed`."""
    safe_table_name(table)
    if not store.has_table(table):
        raise ValueError(f"no scored table {table!r} in the store")
    cols = set(store.columns(table))
    missing = [c for c in needed if c not in cols]
    if missing:
        raise ValueError(f"scored table {table!r} has no column {missing[0]!r}")
    return cols


def _dim_column(cols: set[str], table: str, dimension: str | None, kind: Literal["tier", "score"]) -> str:
    """`tier` / `risk_score` for the primary dimension, else `<dimension>_tier` / `_score`."""
    if dimension is None:
        name = "tier" if kind == "tier" else "risk_score"
    else:
        name = f"{dimension}_{kind}"
    if name not in cols:
        raise ValueError(f"scored table {table!r} has no column {name!r} (dimension {dimension!r})")
    return name


# -- filters, datasette style: data compiled to one WHERE clause ------------------------

@dataclass(frozen=True)
class Filters:
    """What the account list is narrowed to; empty fields filter nothing.

    owner / segment / tier / quadrant accept one value or several (any of them matches);
    `dimension` says which dimension `tier` refers to (None: the primary one);
    `renewal_within_days` keeps renewals in [as_of, as_of + n] (as_of None: today);
    `search` is a case-insensitive literal substring of the name or id;
    `alerted_since` keeps accounts with an alert on or after that date (needs an alerts table).
    """

    owner: tuple[str, ...] = ()
    segment: tuple[str, ...] = ()
    tier: tuple[str, ...] = ()
    quadrant: tuple[str, ...] = ()
    dimension: str | None = None
    renewal_within_days: int | None = None
    search: str | None = None
    alerted_since: date | None = None
    as_of: date | None = None

    def __post_init__(self) -> None:
        for name in ("owner", "segment", "tier", "quadrant"):
            v = getattr(self, name)
            if v is None:
                v = ()
            elif isinstance(v, str):
                v = (v,)
            v = tuple(v)
            if not all(isinstance(x, str) for x in v):
                raise ValueError(f"filter {name!r}: expected text values, found {v!r}")
            object.__setattr__(self, name, v)
        canon = {q.lower(): q for q in QUADRANTS}
        bad = [q for q in self.quadrant if q.lower() not in canon]
        if bad:
            raise ValueError(f"filter 'quadrant': expected {' | '.join(QUADRANTS)}, found {bad[0]!r}")
        object.__setattr__(self, "quadrant", tuple(canon[q.lower()] for q in self.quadrant))
        bad = [t for t in self.tier if t not in TIERS]
        if bad:
            raise ValueError(f"filter 'tier': expected {' | '.join(TIERS)}, found {bad[0]!r}")
        n = self.renewal_within_days
        if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 0):
            raise ValueError(f"filter 'renewal_within_days': expected a whole number >= 0, found {n!r}")
        if self.search is not None and not isinstance(self.search, str):
            raise ValueError(f"filter 'search': expected text, found {self.search!r}")
        if self.search is not None and self.search.strip() == "":
            object.__setattr__(self, "search", None)


@dataclass(frozen=True)
class _Clause:
    key: str
    sql: str    # identifiers as {name}, values as ? (one per bound value)
    words: str  # what it means, for `describe`


_CLAUSES = (
    _Clause("owner", "{csm_owner} IN ({marks})", "owner is {values}"),
    _Clause("segment", "{segment} IN ({marks})", "segment is {values}"),
    _Clause("tier", "{tier} IN ({marks})", "{dimension} tier is {values}"),
    _Clause("quadrant", "{quadrant} IN ({marks})", "quadrant is {values}"),
    _Clause("renewal_within_days", "{renewal_date} BETWEEN ? AND ?", "renewal within {values} days{of}"),
    _Clause("search", "(strpos(lower(coalesce({account_name}, '')), lower(?)) > 0 "
                      "OR strpos(lower({account_id}), lower(?)) > 0)", "name or id contains {values}"),
    _Clause("alerted_since", "{account_id} IN (SELECT account_id FROM {alerts} WHERE date >= ?)",
            "alerted since {values}"),
)


def compile_filters(filters: Filters, columns: set[str] | None = None,
                    alerts: str | None = None) -> tuple[str, list[Any]]:
    """The WHERE condition (`TRUE` when nothing is filtered) and its bound values.

    `columns`, when given, are the scored table's columns, checked for each used one.
    >>> compile_filters(Filters(owner=("Ann", "Bo"), tier="high"))
    ('"csm_owner" IN (?, ?) AND "tier" IN (?)', ['Ann', 'Bo', 'high'])
    """
    tier_col = "tier" if filters.dimension is None else f"{filters.dimension}_tier"
    idents = {"csm_owner": "csm_owner", "segment": "segment", "tier": tier_col, "quadrant": "quadrant",
              "renewal_date": "renewal_date", "account_name": "account_name", "account_id": "account_id"}
    parts: list[str] = []
    params: list[Any] = []
    for clause, values in _active(filters):
        used = {k: v for k, v in idents.items() if "{" + k + "}" in clause.sql}
        if columns is not None:
            for col in used.values():
                if col not in columns:
                    raise ValueError(f"filter {clause.key!r} needs column {col!r}, which the scored table lacks")
        names = {k: quote_ident(v) for k, v in used.items()}
        if clause.key == "alerted_since":
            if alerts is None:
                raise ValueError("filter 'alerted_since' needs an alerts table (account_id, date)")
            names["alerts"] = quote_ident(safe_table_name(alerts))
        if clause.key in ("owner", "segment", "tier", "quadrant"):
            names["marks"] = ", ".join("?" for _ in values)
            params.extend(values)
        elif clause.key == "renewal_within_days":
            start = filters.as_of or date.today()
            params.extend([start, start + timedelta(days=values)])
        elif clause.key == "search":
            params.extend([values, values])
        else:
            params.append(values)
        parts.append(clause.sql.format(**names))
    return (" AND ".join(parts) or "TRUE"), params


def describe(filters: Filters) -> str:
    """The filters in words, e.g. 'owner is Ann or Bo; churn tier is high'."""
    texts = []
    for clause, values in _active(filters):
        if isinstance(values, tuple):
            shown = " or ".join(values)
        elif clause.key == "search":
            shown = f'"{values}"'
        else:
            shown = str(values)
        of = f" of {filters.as_of.isoformat()}" if filters.as_of else ""
        texts.append(clause.words.format(values=shown, dimension=filters.dimension or "risk", of=of))
    return "; ".join(texts) or "all accounts"


def _active(filters: Filters):
    for clause in _CLAUSES:
        v = getattr(filters, clause.key)
        if v is None or v == ():
            continue
        yield clause, v


# -- summaries --------------------------------------------------------------------------

TIER_SUMMARY = """
SELECT t.tier, count(s.account_id) AS accounts, coalesce(sum(s.value), 0.0) AS value
FROM {tiers} LEFT JOIN (SELECT * FROM {table} WHERE {where}) AS s ON s.{tier} = t.tier
GROUP BY t.tier, t.ord ORDER BY t.ord
"""

QUADRANT_SUMMARY = """
SELECT q.quadrant, count(s.account_id) AS accounts, coalesce(sum(s.value), 0.0) AS value
FROM {quadrants} LEFT JOIN (SELECT * FROM {table} WHERE {where}) AS s ON s.quadrant = q.quadrant
GROUP BY q.quadrant, q.ord ORDER BY q.ord
"""

TIERS_BY_SEGMENT = """
WITH s AS (SELECT coalesce(CAST(segment AS VARCHAR), ?) AS segment, {tier} AS tier, account_id, value
           FROM {table} WHERE {where}),
     seg AS (SELECT DISTINCT segment FROM s)
SELECT seg.segment, t.tier, count(s.account_id) AS accounts, coalesce(sum(s.value), 0.0) AS value
FROM seg CROSS JOIN {tiers} LEFT JOIN s ON s.segment = seg.segment AND s.tier = t.tier
GROUP BY seg.segment, t.tier, t.ord ORDER BY seg.segment, t.ord
"""

KPIS = ("""
SELECT count(*) AS accounts, coalesce(sum(value), 0.0) AS arr,
""" + "".join(f"       count(*) FILTER (WHERE {{tier}} = '{t}') AS accounts_{t},\n" for t in TIERS)
    + ",\n".join(f"       coalesce(sum(value) FILTER (WHERE {{tier}} = '{t}'), 0.0) AS arr_{t}" for t in TIERS) + """
FROM {table} WHERE {where}
""")

TIER_MOVEMENT = """
WITH j AS (SELECT a.{tier_a} AS from_tier, b.{tier_b} AS to_tier, b.value
           FROM {a} AS a JOIN (SELECT * FROM {b} WHERE {where}) AS b ON a.account_id = b.account_id)
SELECT f.tier AS from_tier, t.tier AS to_tier, count(j.from_tier) AS accounts,
       coalesce(sum(j.value), 0.0) AS value
FROM (VALUES """ + _ordered(TIERS) + """) AS f(tier, ord)
CROSS JOIN {tiers}
LEFT JOIN j ON j.from_tier = f.tier AND j.to_tier = t.tier
GROUP BY f.tier, f.ord, t.tier, t.ord ORDER BY f.ord, t.ord
"""

MOVERS = """
SELECT b.account_id, b.account_name, b.segment, b.csm_owner, b.value,
       a.{tier_a} AS from_tier, b.{tier_b} AS to_tier,
       a.{score_a} AS from_score, b.{score_b} AS to_score, b.{score_b} - a.{score_a} AS change
FROM {a} AS a JOIN (SELECT * FROM {b} WHERE {filters}) AS b ON a.account_id = b.account_id
WHERE {where}
ORDER BY abs(b.{score_b} - a.{score_a}) DESC NULLS LAST, b.value DESC NULLS LAST, b.account_id
LIMIT ?
"""

SCORE_HISTOGRAM = """
WITH s AS (SELECT least(greatest(floor({score} * ? / 100.0), 0), ? - 1)::BIGINT AS bin, value
           FROM {table} WHERE {score} IS NOT NULL AND {where})
SELECT r.range AS bin, r.range * 100.0 / ? AS bin_start, (r.range + 1) * 100.0 / ? AS bin_end,
       count(s.bin) AS accounts, coalesce(sum(s.value), 0.0) AS value
FROM range(?) AS r LEFT JOIN s ON s.bin = r.range
GROUP BY r.range ORDER BY r.range
"""


def _with_shares(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["accounts"] = df["accounts"].astype("int64")
    df["value"] = df["value"].astype("float64")
    n, v = df["accounts"].sum(), df["value"].sum()
    df["share"] = df["accounts"] / n if n else 0.0
    df["value_share"] = df["value"] / v if v else 0.0
    return df


def tier_summary(store: Store, scored: str, dimension: str | None = None,
                 filters: Filters | None = None) -> pd.DataFrame:
    """Accounts and value (ARR) per tier, with their shares: columns tier, accounts, value,
    share, value_share; rows low, medium, high."""
    cols = _columns(store, scored, ("account_id", "value"))
    tier = _dim_column(cols, scored, dimension, "tier")
    where, params = compile_filters(filters or Filters(), cols)
    sql = TIER_SUMMARY.format(tiers=_TIER_LIST, table=quote_ident(scored), tier=quote_ident(tier), where=where)
    return _with_shares(store.df(sql, params))


def quadrant_summary(store: Store, scored: str, filters: Filters | None = None) -> pd.DataFrame:
    """Accounts and value per quadrant: columns quadrant, accounts, value, share, value_share;
    rows Save, Expand, Maintain, Triage."""
    cols = _columns(store, scored, ("account_id", "value", "quadrant"))
    where, params = compile_filters(filters or Filters(), cols)
    sql = QUADRANT_SUMMARY.format(quadrants=_QUADRANT_LIST, table=quote_ident(scored), where=where)
    return _with_shares(store.df(sql, params))


def tiers_by_segment(store: Store, scored: str, dimension: str | None = None,
                     filters: Filters | None = None) -> pd.DataFrame:
    """Accounts and value per segment x tier (every tier for every segment; a missing segment
    shows as '(none)'): columns segment, tier, accounts, value, share (of the segment's accounts)."""
    cols = _columns(store, scored, ("account_id", "value", "segment"))
    tier = _dim_column(cols, scored, dimension, "tier")
    where, params = compile_filters(filters or Filters(), cols)
    sql = TIERS_BY_SEGMENT.format(tiers=_TIER_LIST, table=quote_ident(scored), tier=quote_ident(tier), where=where)
    df = store.df(sql, [NO_SEGMENT, *params])
    df["accounts"] = df["accounts"].astype("int64")
    df["value"] = df["value"].astype("float64")
    totals = df.groupby("segment")["accounts"].transform("sum")
    df["share"] = (df["accounts"] / totals.where(totals > 0)).fillna(0.0)
    return df


def kpis(store: Store, scored: str, dimension: str | None = None, filters: Filters | None = None) -> dict:
    """Headline numbers: {'accounts', 'arr', 'accounts_by_tier': {tier: n}, 'arr_at_risk': {tier: ARR}}."""
    cols = _columns(store, scored, ("value",))
    tier = _dim_column(cols, scored, dimension, "tier")
    where, params = compile_filters(filters or Filters(), cols)
    row = store.df(KPIS.format(table=quote_ident(scored), tier=quote_ident(tier), where=where), params).iloc[0]
    return {
        "accounts": int(row["accounts"]),
        "arr": float(row["arr"]),
        "accounts_by_tier": {t: int(row[f"accounts_{t}"]) for t in TIERS},
        "arr_at_risk": {t: float(row[f"arr_{t}"]) for t in TIERS},
    }


def tier_movement(store: Store, scored_a: str, scored_b: str, dimension: str | None = None,
                  filters: Filters | None = None) -> pd.DataFrame:
    """Accounts in both tables, by tier in `a` (from_tier) x tier in `b` (to_tier): all nine
    cells, columns from_tier, to_tier, accounts, value (ARR as in `b`). `filters` apply to `b`
    (e.g. a CSM's book)."""
    cols_a = _columns(store, scored_a, ("account_id",))
    cols_b = _columns(store, scored_b, ("account_id", "value"))
    where, params = compile_filters(filters or Filters(), cols_b)
    sql = TIER_MOVEMENT.format(
        tiers=_TIER_LIST, a=quote_ident(scored_a), b=quote_ident(scored_b), where=where,
        tier_a=quote_ident(_dim_column(cols_a, scored_a, dimension, "tier")),
        tier_b=quote_ident(_dim_column(cols_b, scored_b, dimension, "tier")))
    df = store.df(sql, params)
    df["accounts"] = df["accounts"].astype("int64")
    df["value"] = df["value"].astype("float64")
    return df


def movement_matrix(movement: pd.DataFrame, values: str = "accounts") -> pd.DataFrame:
    """`tier_movement` as a 3x3 table: rows from_tier, columns to_tier (low, medium, high)."""
    m = movement.pivot(index="from_tier", columns="to_tier", values=values)
    return m.reindex(index=list(TIERS), columns=list(TIERS))


def movers(store: Store, scored_a: str, scored_b: str, from_tier: str | None = None,
           to_tier: str | None = None, limit: int = 100, dimension: str | None = None,
           filters: Filters | None = None) -> pd.DataFrame:
    """Accounts of one movement cell (or, with no tier given, every account whose tier changed),
    largest score change first: account_id, account_name, segment, csm_owner, value,
    from_tier, to_tier, from_score, to_score, change. `filters` apply to `b` (e.g. a CSM's book)."""
    for name, t in (("from_tier", from_tier), ("to_tier", to_tier)):
        if t is not None and t not in TIERS:
            raise ValueError(f"{name}: expected {' | '.join(TIERS)}, found {t!r}")
    _check_limit(limit, "limit")
    cols_a = _columns(store, scored_a, ("account_id",))
    cols_b = _columns(store, scored_b, ("account_id", "account_name", "segment", "csm_owner", "value"))
    tier_a, tier_b = (quote_ident(_dim_column(cols_a, scored_a, dimension, "tier")),
                      quote_ident(_dim_column(cols_b, scored_b, dimension, "tier")))
    book, params = compile_filters(filters or Filters(), cols_b)
    conds = []
    if from_tier is None and to_tier is None:
        conds.append(f"a.{tier_a} IS DISTINCT FROM b.{tier_b}")
    if from_tier is not None:
        conds.append(f"a.{tier_a} = ?")
        params.append(from_tier)
    if to_tier is not None:
        conds.append(f"b.{tier_b} = ?")
        params.append(to_tier)
    sql = MOVERS.format(a=quote_ident(scored_a), b=quote_ident(scored_b), tier_a=tier_a, tier_b=tier_b,
                        score_a=quote_ident(_dim_column(cols_a, scored_a, dimension, "score")),
                        score_b=quote_ident(_dim_column(cols_b, scored_b, dimension, "score")),
                        filters=book, where=" AND ".join(conds))
    return store.df(sql, [*params, limit])


def score_histogram(store: Store, scored: str, bins: int = 20, dimension: str | None = None,
                    filters: Filters | None = None) -> pd.DataFrame:
    """Accounts and value per equal-width score bin over 0..100 (bins left-closed, 100 in the
    last): columns bin, bin_start, bin_end, accounts, value; every bin present."""
    if not isinstance(bins, int) or isinstance(bins, bool) or not 1 <= bins <= 1000:
        raise ValueError(f"bins: expected a whole number 1..1000, found {bins!r}")
    cols = _columns(store, scored, ("value",))
    score = _dim_column(cols, scored, dimension, "score")
    where, params = compile_filters(filters or Filters(), cols)
    sql = SCORE_HISTOGRAM.format(table=quote_ident(scored), score=quote_ident(score), where=where)
    df = store.df(sql, [bins, bins, *params, bins, bins, bins])
    return df.astype({"bin": "int64", "accounts": "int64", "value": "float64"})


# -- account lists ------------------------------------------------------------------------

_FIXED_SORTS = ("risk_score", "value", "renewal_date", "account_name", "account_id", "csm_owner",
                "segment", "tier", "quadrant", "stage", "playbook")


def sortable_columns(store: Store, scored: str) -> list[str]:
    """The columns `account_list` can sort by (those of the whitelist the table has)."""
    cols = _columns(store, scored)
    dims = sorted(c for c in cols if c.endswith(("_score", "_tier")) and c not in ("risk_score",))
    return [c for c in _FIXED_SORTS if c in cols] + dims


def _order_expr(col: str) -> str:
    q = quote_ident(col)
    if col == "tier" or col.endswith("_tier"):
        return f"CASE {q} " + " ".join(f"WHEN '{t}' THEN {i}" for i, t in enumerate(TIERS, 1)) + " END"
    if col == "quadrant":
        return f"CASE {q} " + " ".join(f"WHEN '{n}' THEN {i}" for i, n in enumerate(QUADRANTS, 1)) + " END"
    return q


def _check_limit(n: Any, name: str, minimum: int = 1) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n < minimum:
        raise ValueError(f"{name}: expected a whole number >= {minimum}, found {n!r}")


def account_list(store: Store, scored: str, filters: Filters | None = None, sort: str = "risk_score",
                 descending: bool = True, limit: int = 50, offset: int = 0,
                 alerts: str | None = None) -> pd.DataFrame:
    """A page of accounts (all scored columns), filtered and sorted by a whitelisted column;
    ties by value (highest first) then account id, so pages are stable."""
    _check_limit(limit, "limit")
    _check_limit(offset, "offset", 0)
    allowed = sortable_columns(store, scored)
    if sort not in allowed:
        raise ValueError(f"sort: expected one of {', '.join(allowed)}, found {sort!r}")
    cols = _columns(store, scored, ("account_id", "value"))
    where, params = compile_filters(filters or Filters(), cols, alerts)
    direction = "DESC" if descending else "ASC"
    sql = (f"SELECT * FROM {quote_ident(scored)} WHERE {where}\n"
           f"ORDER BY {_order_expr(sort)} {direction} NULLS LAST, value DESC NULLS LAST, account_id\n"
           f"LIMIT ? OFFSET ?")
    return store.df(sql, [*params, limit, offset])


def count_accounts(store: Store, scored: str, filters: Filters | None = None, alerts: str | None = None) -> int:
    """How many accounts pass the filters (for paging and 'n of N')."""
    cols = _columns(store, scored)
    where, params = compile_filters(filters or Filters(), cols, alerts)
    return int(store.one(f"SELECT count(*) FROM {quote_ident(scored)} WHERE {where}", params))


def top_accounts(store: Store, scored: str, n: int = 100, filters: Filters | None = None,
                 alerts: str | None = None) -> pd.DataFrame:
    """The `n` riskiest accounts passing the filters (risk score, then value, then id)."""
    return account_list(store, scored, filters, sort="risk_score", descending=True, limit=n, alerts=alerts)


# -- the quadrant chart ---------------------------------------------------------------------

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


QUADRANT_GRID = """
WITH s AS (SELECT {vx} AS x, risk_score AS y, value FROM {table}
           WHERE value IS NOT NULL AND risk_score IS NOT NULL AND {where}),
     cells AS (SELECT least(floor((x - ?) / ?), ? - 1)::BIGINT AS ix,
                      least(floor(y * ? / 100.0), ? - 1)::BIGINT AS iy, value FROM s)
SELECT ix, iy, count(*) AS accounts, sum(value) AS value FROM cells GROUP BY ix, iy ORDER BY ix, iy
"""


def quadrant_points(store: Store, scored: str, max_points: int = 20000, filters: Filters | None = None,
                    grid_size: int = 50, value_scale: Literal["linear", "log"] = "linear") -> QuadrantPoints:
    """Points of the risk x value chart: all accounts when at most `max_points`, else a
    grid_size x grid_size grid (x over the value range, linear or log(1+value); y over risk
    0..100) of counts; plus exact counts per quadrant. Accounts without a value are counted
    in `counts` but not drawn."""
    _check_limit(max_points, "max_points")
    _check_limit(grid_size, "grid_size")
    if value_scale not in ("linear", "log"):
        raise ValueError(f"value_scale: expected linear | log, found {value_scale!r}")
    cols = _columns(store, scored, ("account_id", "value", "risk_score", "quadrant"))
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


def distinct_values(store: Store, table: str, column: str, limit: int = 500) -> list[str]:
    """Sorted distinct non-null values of a column (filter choices); [] when the column is absent."""
    if column not in store.columns(safe_table_name(table)):
        return []
    q = quote_ident(column)
    rows = store.rows(f"SELECT DISTINCT CAST({q} AS VARCHAR) AS v FROM {quote_ident(table)} WHERE {q} IS NOT NULL "
                      "ORDER BY v LIMIT ?", [int(limit)])
    return [r[0] for r in rows]


def value_cutoff(store: Store, scored: str, rs: Any) -> float | None:
    """The value cut-off of the quadrant (a rule set's `[quadrant] value_cutoff`): the number,
    or for "median" the median value of the scored accounts, as scoring computes it."""
    cut = rs.quadrant.value_cutoff
    if cut != "median":
        return float(cut)
    _columns(store, scored, ("value",))
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
    _columns(store, scored, ("value",))
    return bool(store.one(f"SELECT count(value) FROM {quote_ident(scored)}"))


def risk_line(store: Store, scored: str, rs: Any) -> RiskLine:
    """Where the quadrant's risk line is for the scored table `scored` of `rs`."""
    q = rs.quadrant
    if not q.tied_to_tier:
        return RiskLine(float(q.risk_cutoff), f"risk cut-off {float(q.risk_cutoff):g} (not the high tier)", False)
    m, h, mode = rs.tiers.cuts(rs.primary_dimension)
    if mode != "percentile":
        return RiskLine(float(h), f"high tier: score >= {float(h):g}", True)
    _columns(store, scored, ("risk_score",))
    y = store.one(f"SELECT quantile_cont(risk_score, ?) FROM {quote_ident(scored)}", [h / 100.0])
    return RiskLine(None if y is None else float(y), f"high tier: the top {100 - h:g}% of scores", True)


# -- the same summaries from firing patterns (scoring.Patterns): no per-account work ------------

def _pattern_frame(codes: Any, order: tuple[str, ...], name: str, n: Any, value: Any) -> pd.DataFrame:
    import numpy as np
    accounts = np.bincount(codes, weights=n, minlength=len(order)).astype(np.int64)
    total = np.bincount(codes, weights=value, minlength=len(order)).astype(float)
    na, nv = accounts.sum(), total.sum()
    return pd.DataFrame({name: list(order), "accounts": accounts, "value": total,
                         "share": accounts / na if na else 0.0, "value_share": total / nv if nv else 0.0})


def tier_summary_from_patterns(pat: Any, rs: Any, dimension: str | None = None) -> pd.DataFrame:
    """`tier_summary` (no filters) from firing patterns (scoring.Patterns): same columns and numbers."""
    from .scoring import pattern_tier_codes
    return _pattern_frame(pattern_tier_codes(pat, rs, dimension), TIERS, "tier", pat.n, pat.value)


def quadrant_summary_from_patterns(pat: Any, rs: Any) -> pd.DataFrame:
    """`quadrant_summary` (no filters) from firing patterns: same columns and numbers."""
    from .scoring import pattern_quadrant_codes
    return _pattern_frame(pattern_quadrant_codes(pat, rs), QUADRANTS, "quadrant", pat.n, pat.value)


def score_histogram_from_patterns(pat: Any, rs: Any, bins: int = 20, dimension: str | None = None) -> pd.DataFrame:
    """`score_histogram` (no filters) from firing patterns: same columns and numbers."""
    import numpy as np
    from .scoring import pattern_scores
    if not isinstance(bins, int) or isinstance(bins, bool) or not 1 <= bins <= 1000:
        raise ValueError(f"bins: expected a whole number 1..1000, found {bins!r}")
    s, _ = pattern_scores(pat, rs, dimension)
    b = np.minimum(np.maximum(np.floor(s * bins / 100.0), 0), bins - 1).astype(np.int64)
    accounts = np.bincount(b, weights=pat.n, minlength=bins).astype(np.int64)
    value = np.bincount(b, weights=pat.value, minlength=bins)
    r = np.arange(bins)
    return pd.DataFrame({"bin": r, "bin_start": r * 100.0 / bins, "bin_end": (r + 1) * 100.0 / bins,
                         "accounts": accounts, "value": value})


def _firing_parts(rs: Any, rule_ids: tuple[str, ...]) -> tuple:
    """What the firings of these rules depend on (not points, tiers, fusion, enabled or labels)."""
    return rs.firing_key(rule_ids), rs.quadrant.value_column


def tier_movement_from_patterns(pat: Any, rs_a: Any, rs_b: Any, dimension: str | None = None) -> pd.DataFrame:
    """`tier_movement` (tier under rs_a x tier under rs_b, all nine cells) from firing patterns; both
    rule sets must fire the same way (differ only in points, tiers, fusion, enabled)."""
    import numpy as np
    if _firing_parts(rs_a, pat.rule_ids) != _firing_parts(rs_b, pat.rule_ids):
        raise ValueError("the two rule sets differ in thresholds or signals: their movement needs the per-account "
                         "tables (tier_movement)")
    from .scoring import pattern_tier_codes
    cell = pattern_tier_codes(pat, rs_a, dimension) * 3 + pattern_tier_codes(pat, rs_b, dimension)
    accounts = np.bincount(cell, weights=pat.n, minlength=9).astype(np.int64)
    value = np.bincount(cell, weights=pat.value, minlength=9)
    return pd.DataFrame({"from_tier": [a for a in TIERS for _ in TIERS], "to_tier": [b for _ in TIERS for b in TIERS],
                         "accounts": accounts, "value": value})


def tier_movement_from_index(index: Any, pat: Any, rs_a: Any, rs_b: Any, dimension: str | None = None) -> pd.DataFrame:
    """`tier_movement` from a pattern index (scoring.PatternIndex): tiers under rs_a, which must fire
    like the index's rule set, x tiers under rs_b of `pat = patterns_for(store, index, rs_b)`, so
    also across a threshold change."""
    import numpy as np
    from .scoring import pattern_tier_codes
    if _firing_parts(rs_a, index.base.rule_ids) != _firing_parts(index.rs, index.base.rule_ids):
        raise ValueError("rs_a does not fire like the index's rule set: build an index for it")
    if pat.base_pid is None:
        raise ValueError("these patterns do not come from patterns_for(store, index, rs)")
    cell = pattern_tier_codes(index.base, rs_a, dimension)[pat.base_pid] * 3 + pattern_tier_codes(pat, rs_b, dimension)
    accounts = np.bincount(cell, weights=pat.n, minlength=9).astype(np.int64)
    value = np.bincount(cell, weights=pat.value, minlength=9)
    return pd.DataFrame({"from_tier": [a for a in TIERS for _ in TIERS], "to_tier": [b for _ in TIERS for b in TIERS],
                         "accounts": accounts, "value": value})
