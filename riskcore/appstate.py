"""Streamlit-free helpers the app's pages need: rule-set versions folder, draft edits from
widget values, cache keys, dates, score history. Kept here so they are unit-tested without a UI."""

from __future__ import annotations

import calendar
import functools
import hashlib
import re
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from . import settings
from .db import Store
from .versions import VersionStore
from .workspace import DEFAULT_RULES, REPO
from .keys import firing_signature, firings_key, ruleset_key  # noqa: F401 - until appstate is dissolved

DRAFT = "draft"
PUBLISHED = "published"
UPLOADS = REPO / ".cache" / "uploads"  # an upload's stored copy: the URL names it by its file name


def rules_home() -> Path:
    """The rule-set versions folder: $RISKCORE_HOME, else `<repo>/.cache/rulesets` (riskcore.settings)."""
    return settings.get("RISKCORE_HOME")


def ensure_versions(folder: str | Path | None = None, default_rules: str | Path = DEFAULT_RULES) -> VersionStore:
    """Open the versions folder; an empty one gets the default rule set as version 1, published."""
    vs = VersionStore(folder or rules_home())
    if not vs.versions():
        number = vs.save(Path(default_rules).read_text(encoding="utf-8"), note="default rule set",
                         author="riskcore", name="default")
        vs.publish(number)
    elif vs.published() is None:
        vs.publish(vs.versions()[-1].number)
    return vs


def apply_widgets(rs, points: dict[str, float] | None = None, thresholds: dict[str, Any] | None = None,
                  tiers: tuple[float, float] | None = None, fusion: bool | None = None,
                  value_cutoff: float | str | None = None, risk_cutoff: float | None = None,
                  dimension: str | None = None):
    """The draft rule set for the Tuning page's widget values (None leaves a part unchanged).

    `tiers` = (medium, high) cut-offs of `dimension` (default: the primary one)."""
    from .rules import with_points, with_thresholds

    if points:
        current = {r.id: r.points for r in rs.rules}
        changed = {k: int(round(v)) for k, v in points.items() if k in current and int(round(v)) != current[k]}
        if changed:
            rs = with_points(rs, changed)
    if thresholds:
        current = {r.id: r.threshold for r in rs.rules}
        changed = {k: v for k, v in thresholds.items() if k in current and v != current[k]}
        if changed:
            rs = with_thresholds(rs, changed)
    if tiers is not None:
        rs = with_tier_cuts(rs, dimension or rs.primary_dimension, *tiers)
    if fusion is not None and rs.fusion.enabled != fusion:
        rs = replace(rs, fusion=replace(rs.fusion, enabled=fusion))
    if value_cutoff is not None and rs.quadrant.value_cutoff != value_cutoff:
        rs = replace(rs, quadrant=replace(rs.quadrant, value_cutoff=value_cutoff))
    if risk_cutoff is not None and rs.quadrant.risk_cutoff != risk_cutoff:
        rs = replace(rs, quadrant=replace(rs.quadrant, risk_cutoff=risk_cutoff))
    return rs


def with_tier_cuts(rs, dimension: str, medium: float, high: float):
    """A copy whose cut-offs for `dimension` are (medium, high): its own [tiers.<dim>] when it has
    one, else the global [tiers]."""
    from .rules import TierCuts
    if rs.tiers.cuts(dimension)[:2] == (medium, high):
        return rs
    per = dict(rs.tiers.per_dimension)
    if dimension in per:
        per[dimension] = TierCuts(medium=medium, high=high, mode=per[dimension].mode)
        tiers = replace(rs.tiers, per_dimension=tuple(per.items()))
    else:
        tiers = replace(rs.tiers, medium=medium, high=high)
    return replace(rs, tiers=tiers)


def parse_threshold(text: str, op: str) -> float | tuple | str | None:
    """A threshold typed in a text box: a number, or a comma-separated list for between/in/scale.

    >>> parse_threshold("-0.3", "<"), parse_threshold("0, -0.5", "scale"), parse_threshold("a, b", "in")
    (-0.3, (0.0, -0.5), ('a', 'b'))
    """
    text = (text or "").strip()
    if op in ("is_true", "is_null"):
        return None
    if op in ("between", "in", "scale"):
        parts = [p.strip() for p in text.strip("[]").split(",") if p.strip()]
        values = [_number_or_text(p) for p in parts]
        if op in ("between", "scale") and (len(values) != 2 or not all(isinstance(v, (int, float)) for v in values)):
            raise ValueError(f"expected two numbers separated by a comma for {op!r}, found {text!r}")
        return tuple(values)
    value = _number_or_text(text)
    if text == "":
        raise ValueError("expected a number, found an empty box")
    return value


def _number_or_text(s: str) -> float | int | str:
    """'14' -> 14 (an int, so the saved TOML and the diff say 14, not 14.0), '0.5' -> 0.5, 'Yes' -> 'Yes'."""
    from .display import whole
    try:
        return whole(float(s))
    except ValueError:
        return s.strip("'\"")


def format_threshold(value: Any) -> str:
    """The text a threshold box shows (inverse of `parse_threshold`)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt_num(v) for v in value)
    return _fmt_num(value)


def _fmt_num(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v)) if abs(v) >= 1 else repr(v)
    return str(v)


def month_ends(as_of: date, months: int) -> list[date]:
    """The last day of each of the `months` months before `as_of`, oldest first, then `as_of`.

    >>> month_ends(date(2024, 3, 15), 2)
    [datetime.date(2024, 1, 31), datetime.date(2024, 2, 29), datetime.date(2024, 3, 15)]
    """
    out = [as_of]
    y, m = as_of.year, as_of.month
    for _ in range(months):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        out.append(date(y, m, calendar.monthrange(y, m)[1]))
    return sorted(out)


def previous_period(as_of: date) -> date:
    """The same day one month earlier (clamped to the month's end): the Overview's comparison date.

    >>> previous_period(date(2024, 3, 31))
    datetime.date(2024, 2, 29)
    """
    y, m = (as_of.year, as_of.month - 1) if as_of.month > 1 else (as_of.year - 1, 12)
    return date(y, m, min(as_of.day, calendar.monthrange(y, m)[1]))


def score_history(store: Store, rs, account_id: str, dates: Iterable[date]) -> pd.DataFrame:
    """One account re-scored as of each date (activity tables: signals as of that date).

    Columns: as_of, active, then `<dim>_score` and `<dim>_tier` for each dimension. An account not
    active at a date (before its contract start, after churn) gets a row with active False.
    """
    from .db import quote_ident
    from .scoring import score
    from .signals import signals_table

    dims = list(rs.dimensions)
    cols = [f"{d}_score" for d in dims] + [f"{d}_tier" for d in dims]
    rows = []
    for d in dates:
        with store.lock:
            sig = signals_table(store, d)
            table = score(store, rs, sig, out_table=f"hist_{ruleset_key(rs)}")
            found = store.df(f"SELECT {', '.join(quote_ident(c) for c in cols)} FROM {table} "
                             "WHERE account_id = ?", [str(account_id)])
        row: dict[str, Any] = {"as_of": d, "active": len(found) > 0}
        for c in cols:
            row[c] = found[c].iloc[0] if len(found) else None
        rows.append(row)
    return pd.DataFrame(rows, columns=["as_of", "active", *cols])


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
# GFM links bare URLs found in the displayed text, escaped or not: an invisible word joiner (U+2060)
# after `http:`, `https:` and `www` breaks the patterns it looks for. (E-mail addresses stay mailto:
# links, which fetch nothing: a joiner there would break copying an owner's address.)
_AUTOLINK = re.compile(r"(?i)(https?:|www(?=\.))")


def md_escape(text: Any) -> str:
    """Data shown inside Markdown is escaped so it renders as the literal text (no links, no
    autolinks, no images, no HTML): the one helper for every user string a page shows as Markdown.

    >>> md_escape("[x](http://e.com) <b>")
    '\\\\[x\\\\]\\\\(http\\\\:\u2060//e\\\\.com\\\\) \\\\<b\\\\>'
    """
    return _MD_SPECIAL.sub(r"\\\1", _AUTOLINK.sub("\\1\u2060", "" if text is None else str(text)))


def version_label(number: int, published: int | None, note: str = "") -> str:
    """How the sidebar lists a stored version."""
    label = f"v{number}"
    if number == published:
        label += " (published)"
    return label + (f": {note}" if note else "")


def upload_path(name: str, content: bytes, folder: str | Path | None = None) -> Path:
    """Where an uploaded file is kept (content-addressed, so the same upload reuses the cache)."""
    folder = Path(folder or UPLOADS)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".txt", ".tsv", ".parquet", ".xlsx", ".xls"):
        raise ValueError(f"{name}: unsupported file type {suffix or '(none)'!r} "
                         "(expected .csv, .tsv, .txt, .parquet or .xlsx)")
    digest = hashlib.sha256(content).hexdigest()[:16]
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(name).stem)[:60] or "upload"
    path = folder / f"{stem}-{digest}{suffix}"
    if not path.exists():
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(content)
        tmp.replace(path)
    return path


def distinct_values(store: Store, table: str, column: str, limit: int = 500) -> list[str]:
    """Sorted distinct non-null values of a column (filter choices); [] when the column is absent."""
    from .db import quote_ident, safe_table_name
    if column not in store.columns(safe_table_name(table)):
        return []
    q = quote_ident(column)
    rows = store.rows(f"SELECT DISTINCT CAST({q} AS VARCHAR) AS v FROM {table} WHERE {q} IS NOT NULL "
                      "ORDER BY v LIMIT ?", [int(limit)])
    return [r[0] for r in rows]


def value_cutoff(store: Store, table: str, rs) -> float | None:
    """The quadrant's value cut-off as a number: the rule set's, or the median of the scored
    table's `value` (as scoring computes it); None when there are no values."""
    from .db import safe_table_name
    cut = rs.quadrant.value_cutoff
    if cut != "median":
        return float(cut)
    v = store.one(f"SELECT median(value) FROM {safe_table_name(table)}")
    return None if v is None else float(v)



def peek_table(path: str | Path, rows: int = 200) -> tuple[list[str], pd.DataFrame]:
    """Column names and the first rows of an uploaded account table (for the mapping form).

    Only a preview: the real load (riskcore.loading) parses and validates the whole file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq
        pf = pq.ParquetFile(path)
        frame = next(pf.iter_batches(batch_size=rows)).to_pandas() if pf.metadata.num_rows else \
            pf.schema_arrow.empty_table().to_pandas()
    elif suffix in (".xlsx", ".xls"):
        frame = pd.read_excel(path, nrows=rows, dtype=str)
    else:
        frame = pd.read_csv(path, sep=None, engine="python", nrows=rows, dtype=str, encoding="utf-8-sig")
    return [str(c) for c in frame.columns], frame


@functools.lru_cache(maxsize=64)
def _canonical_toml(text: str) -> str:
    """A rule-set file in canonical TOML (memoised by content: versions are immutable)."""
    from .rules import load_ruleset, ruleset_to_toml
    return ruleset_to_toml(load_ruleset(text))


def content_diff(vs: VersionStore, a: int, b: int) -> str:
    """Unified diff of two versions' rule sets in canonical TOML: what changed, without the noise
    of comments and formatting (a hand-written file against one saved by the app)."""
    import difflib
    from .rules import load_ruleset, ruleset_to_toml
    ta, tb = (_canonical_toml(vs.text(n)) for n in (a, b))
    return "".join(difflib.unified_diff(ta.splitlines(keepends=True), tb.splitlines(keepends=True),
                                        fromfile=f"v{a}", tofile=f"v{b}"))
