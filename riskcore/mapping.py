"""Which column of a wide account table is the id, name, value, owner, ... (auto-detected by name).

Detection compares names with case, spaces, underscores, dashes and dots ignored, against the
candidate lists below (first candidate that matches wins). It is deliberately conservative:
monthly charges, MRR and total charges are *not* taken as ARR (the value stays unmapped and
`arr` is NULL unless the user maps a value column), and `plan` is not taken as the segment.
"""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Iterable

import pandas as pd

from .db import Mapping

ROLE_FIELDS = ("id_column", "name_column", "value_column", "owner_column", "segment_column",
               "renewal_column", "outcome_column", "parent_column")

# Candidate names per role, normalised (see `norm`), in order of preference.
CANDIDATES: dict[str, tuple[str, ...]] = {
    "id_column": ("accountid", "customerid", "clientid", "companyid", "accountnumber", "customernumber",
                  "accountno", "customerno", "subscriberid", "id"),
    "name_column": ("accountname", "customername", "companyname", "clientname", "name", "company",
                    "organization", "organisation", "account"),
    "value_column": ("arr", "arrusd", "currentarr", "annualrecurringrevenue", "annualrevenue",
                     "annualcontractvalue", "acv", "contractvalue"),
    "owner_column": ("csmowner", "csm", "csmname", "customersuccessmanager", "accountowner", "owner",
                     "accountmanager"),
    "segment_column": ("segment", "customersegment", "accountsegment", "marketsegment", "tier",
                       "accounttier", "customertier"),
    "renewal_column": ("renewaldate", "renewal", "nextrenewal", "nextrenewaldate", "renewson",
                       "contractend", "contractenddate", "contractrenewaldate"),
    "outcome_column": ("churned", "churn", "ischurned", "churnflag", "churnvalue", "churnlabel",
                       "exited", "attrition", "attritionflag", "churnstatus"),
    "parent_column": ("parentid", "parentaccountid", "parentaccount", "parent"),
}

# Outcome values (normalised) meaning churned / not churned.
POSITIVE = frozenset({"yes", "y", "true", "t", "1", "churned", "churn", "exited", "lost", "cancelled",
                      "canceled", "attritedcustomer", "left"})
NEGATIVE = frozenset({"no", "n", "false", "f", "0", "active", "retained", "stayed", "renewed", "current",
                      "existingcustomer", "notchurned"})


def norm(name: str) -> str:
    """Column name without case, spaces, underscores, dashes or dots: 'Account ID' -> 'accountid'."""
    return re.sub(r"[\s_\-.]+", "", str(name)).lower()


def norm_value(value) -> str:
    """An outcome cell normalised for matching: trimmed, lower case, '1.0' -> '1', spaces dropped."""
    text = re.sub(r"\s+", "", str(value)).lower()
    if re.fullmatch(r"[01]\.0+", text):
        text = text[0]
    return text


def detect_mapping(columns: list[str], sample: pd.DataFrame | None = None) -> Mapping:
    """Guess each role's column from the names; with a sample, also the outcome's positive values.

    >>> m = detect_mapping(["customerID", "tenure", "MonthlyCharges", "Churn"])
    >>> (m.id_column, m.value_column, m.outcome_column)
    ('customerID', None, 'Churn')
    """
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(norm(col), col)
    found: dict[str, str | None] = {}
    for role in ROLE_FIELDS:
        found[role] = next((by_norm[c] for c in CANDIDATES[role] if c in by_norm), None)
    positive = None
    out = found["outcome_column"]
    if sample is not None and out is not None and out in sample.columns:
        positive, _ = classify_outcome(sample[out].dropna().astype(str).tolist())
        positive = positive or None
    return Mapping(**found, outcome_positive=positive)


def find_column(name: str, columns: Iterable[str]) -> str | None:
    """The real column for a user-typed name: exact, else the one equal ignoring case/spaces/_."""
    columns = list(columns)
    if name in columns:
        return name
    matches = [c for c in columns if norm(c) == norm(name)]
    return matches[0] if len(matches) == 1 else None


def resolve_mapping(columns: list[str], explicit: Mapping | None,
                    sample: pd.DataFrame | None = None) -> tuple[Mapping, list[tuple[str, str]]]:
    """Explicit fields override detection; returns (mapping, [(field, missing column name)]).

    A role the user named but that is not a column is reported, not guessed.
    """
    detected = detect_mapping(columns, sample)
    missing: list[tuple[str, str]] = []
    chosen = {}
    for role in ROLE_FIELDS:
        wanted = getattr(explicit, role) if explicit is not None else None
        if wanted is None or str(wanted).strip() == "":
            chosen[role] = getattr(detected, role)
            continue
        real = find_column(str(wanted), columns)
        if real is None:
            missing.append((role, str(wanted)))
        chosen[role] = real
    positive = explicit.outcome_positive if explicit is not None and explicit.outcome_positive else None
    if positive is None and chosen["outcome_column"] == detected.outcome_column:
        positive = detected.outcome_positive
    return Mapping(**chosen, outcome_positive=tuple(positive) if positive else None), missing


def classify_outcome(values: Iterable[str], positive: tuple[str, ...] | None = None
                     ) -> tuple[tuple[str, ...], list[str]]:
    """Split an outcome column's distinct values into (positive values, unexpected values).

    With explicit `positive`, those (case-insensitive) mean churned and any other value means not
    churned. Without, values must come from the known yes/no vocabularies (Yes/No, TRUE/FALSE,
    1/0, Y/N, churned/active, ...); anything else is unexpected.
    """
    values = list(dict.fromkeys(str(v) for v in values))
    if positive:
        wanted = {norm_value(p) for p in positive}
        return tuple(v for v in values if norm_value(v) in wanted), []
    pos = tuple(v for v in values if norm_value(v) in POSITIVE)
    unexpected = [v for v in values if norm_value(v) not in POSITIVE | NEGATIVE]
    return pos, unexpected


def mapping_from_dict(d: dict | None) -> Mapping | None:
    """A Mapping from a rule set's [data] section (or any dict with Mapping's keys); None if empty.

    `outcome_positive` may be a string ("Yes", or "Yes,Churned") or a list. Unknown keys are an
    error naming the key, so a typo does not silently fall back to auto-detection.
    """
    if not d:
        return None
    allowed = {f.name for f in fields(Mapping)}
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise ValueError(f"[data]: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    values = {k: (None if v is None or (isinstance(v, str) and not v.strip()) else v) for k, v in d.items()}
    op = values.get("outcome_positive")
    if isinstance(op, str):
        values["outcome_positive"] = tuple(s.strip() for s in op.split(",") if s.strip())
    elif op is not None:
        values["outcome_positive"] = tuple(str(s) for s in op)
    for k, v in values.items():
        if k != "outcome_positive" and v is not None and not isinstance(v, str):
            raise ValueError(f"[data]: {k} must be a column name (text), found {v!r}")
    mapping = Mapping(**values)
    return None if mapping == Mapping() else mapping


def describe(mapping: Mapping) -> dict[str, str | None]:
    """Role -> column, for messages and the Data page."""
    return {f.name: (", ".join(v) if isinstance(v := getattr(mapping, f.name), tuple) else v)
            for f in fields(mapping)}


__all__ = ["detect_mapping", "resolve_mapping", "classify_outcome", "mapping_from_dict", "find_column",
           "norm", "norm_value", "describe", "CANDIDATES", "ROLE_FIELDS"]
