"""Filters, datasette style: what the account list is narrowed to, as data compiled to one WHERE clause
(`compile_filters`) and said in words (`describe`); values bound, names quoted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ..db import quote_ident, safe_table_name
from ..rules.model import QUADRANTS, TIERS


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
