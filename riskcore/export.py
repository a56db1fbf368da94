"""CSV export that is safe to open in a spreadsheet (PRODUCT.md §8): formula injection
neutralised, numbers kept numeric, reasons as readable text, UTF-8 with a BOM for Excel.

Decision on negative numbers: a cell of a numeric column is written by us from a number, so
`-5` stays the number -5 (it cannot carry a formula). In text columns every cell starting with
= + - @ tab or CR gets a leading single quote (OWASP), except a cell that is exactly a plain
decimal number such as `-5` or `-0.25` (a spreadsheet reads it as that number and nothing else).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")

# The columns a CSM's call list has, in order (those present are kept).
EXPORT_COLUMNS = ("account_id", "account_name", "segment", "csm_owner", "stage", "value", "renewal_date",
                  "risk_score", "tier", "quadrant", "playbook", "reasons")


def neutralise(cell: str) -> str:
    """Prefix a text cell with a single quote when a spreadsheet would read it as a formula.

    >>> neutralise("=1+2"), neutralise("-5"), neutralise("-2+3"), neutralise("Acme")
    ("'=1+2", '-5', "'-2+3", 'Acme')
    """
    if cell.startswith(DANGEROUS_PREFIXES) and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def format_reasons(reasons: Any, limit: int | None = None, dimension: str | None = None,
                   only: bool = False) -> str:
    """Fired rules as text, largest points first: 'Champion left (+25); Usage down (+20)'.

    With `dimension`, its reasons come first and other dimensions' are tagged ('[expansion] Seat
    utilisation above 90% (+40)'), so an opportunity never reads as a churn reason; `only` drops them.
    """
    items = [r for r in _as_list(reasons) if isinstance(r, Mapping)]
    if dimension is not None and only:
        items = [r for r in items if r.get("dimension") == dimension]
    other = (lambda r: dimension is not None and r.get("dimension") not in (None, dimension))
    items.sort(key=lambda r: (other(r), -(r.get("points") or 0), str(r.get("rule_id"))))
    if limit is not None:
        items = items[:limit]
    return "; ".join(("[" + str(r.get("dimension")) + "] " if other(r) else "")
                     + f"{r.get('label') or r.get('rule_id')} ({(r.get('points') or 0):+g})" for r in items)


def _as_list(v: Any) -> list:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return []
    if isinstance(v, (list, tuple, np.ndarray)):
        return list(v)
    return [v]


def _is_reasons(values: Iterable[Any]) -> bool:
    for v in values:
        items = _as_list(v)
        if items:
            return all(isinstance(r, Mapping) and "points" in r for r in items)
    return False


def _text_cell(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (list, tuple, np.ndarray)):
        v = "; ".join(str(x) for x in v)
    elif isinstance(v, pd.Timestamp):
        v = v.date().isoformat() if v == v.normalize() else v.isoformat()
    elif hasattr(v, "isoformat"):
        v = v.isoformat()
    return neutralise(str(v))


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with every non-numeric column as neutralised text (reasons lists flattened);
    numeric and boolean columns are untouched."""
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            out[col] = s
        elif _is_reasons(s):
            out[col] = s.map(lambda v: neutralise(format_reasons(v)) or None).astype(object)
        else:
            out[col] = s.astype(object).map(_text_cell).astype(object)
    out.columns = [neutralise(str(c)) for c in df.columns]
    return out


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """The frame as CSV bytes (UTF-8 with BOM, CRLF), safe against formula injection."""
    buf = io.StringIO()
    safe_frame(df).to_csv(buf, index=False, lineterminator="\r\n")
    return buf.getvalue().encode("utf-8-sig")


def export_frame(rows: pd.DataFrame, rs: Any = None) -> pd.DataFrame:
    """The columns of an account list worth exporting, in a fixed order: identity, value,
    renewal, primary score/tier, quadrant, playbook, then each dimension's score and tier
    (the rule set's dimensions when given) and the reasons."""
    dims = list(getattr(rs, "dimensions", ()) or
                [c[:-6] for c in rows.columns if c.endswith("_score") and c != "risk_score"])
    cols = [c for c in EXPORT_COLUMNS if c in rows.columns and c != "reasons"]
    for d in dims:
        cols += [c for c in (f"{d}_score", f"{d}_tier") if c in rows.columns]
    if "reasons" in rows.columns:
        cols.append("reasons")
    return rows[cols].reset_index(drop=True)
