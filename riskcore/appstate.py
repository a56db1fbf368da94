"""Streamlit-free helpers the app's pages need: rule-set versions folder, draft edits from
widget values, cache keys, dates, score history. Kept here so they are unit-tested without a UI."""

from __future__ import annotations

import calendar
import functools
import hashlib
import os
import re
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from . import settings
from .db import Store
from .versions import VersionStore
from .workspace import DEFAULT_RULES, REPO

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


def ruleset_key(rs) -> str:
    """A short content hash of a rule set (its TOML text): cache key and table-name suffix."""
    from .rules import ruleset_to_toml
    return hashlib.sha256(ruleset_to_toml(rs).encode("utf-8")).hexdigest()[:12]


def firings_key(rs) -> str:
    """A hash of what stage 1 of scoring (rule firings) depends on: rules and overrides without
    their points, and the value column. Equal keys: a weight/tier/fusion change reuses the firings.
    """
    rules = tuple(replace(r, points=0) for r in rs.rules)
    overrides = tuple(replace(o, points=None) for o in rs.overrides)
    text = repr((rules, overrides, rs.quadrant.value_column))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def firing_signature(rs) -> str:
    """A hash of what the primary dimension's firings depend on (not points, enabled flags, tiers,
    fusion or the quadrant): equal signatures share backtest firing patterns."""
    rules = tuple(replace(r, points=0, enabled=True) for r in rs.rules)
    overrides = tuple(replace(o, points=None) for o in rs.overrides)
    text = repr((rules, overrides, rs.quadrant.value_column, rs.primary_dimension))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


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


# ---- the Tuning page's fast path: firing patterns (PRODUCT.md §8) ------------------------------
#
# A slider change (points, tier cut-offs, fusion, enabled) re-weights the firing patterns of a
# pattern index in numpy: no per-account SQL. A threshold change regroups (pattern id, the changed
# rules' new degrees) in one narrow scan (scoring.patterns_for). Per-account rows are read only for
# the list of accounts that moved (top-N, on demand).

def _index_key(rs, as_of: date | None, signals_table: str, generation: int) -> tuple:
    """What a pattern index depends on: data generation, as-of date, the primary dimension, the
    rules' firing definitions (not points / enabled / tiers / fusion), the value column and cut-off."""
    rules = tuple(replace(r, points=0, enabled=True) for r in rs.rules)
    overrides = tuple(replace(o, points=None) for o in rs.overrides)
    return (generation, as_of, signals_table, rs.primary_dimension, rules, overrides, rs.quadrant.value_column,
            rs.quadrant.value_cutoff)


class PatternCache:
    """The pattern indexes of one store, shared by every session: one per (data generation, as-of
    date, threshold set, dimension, value cut-off). Bounded: beyond `max_entries` the least
    recently used index is dropped with its table. `entries()` shows what is cached."""

    def __init__(self, store: Store, max_entries: int = 8):
        self.store = store
        self.max_entries = max_entries
        self._items: dict[tuple, Any] = {}  # key -> scoring.PatternIndex, least recently used first
        self.builds = 0

    def index(self, rs, signals_table: str, as_of: date | None = None):
        """The pattern index of `rs` (its primary dimension) over `signals_table`, built once."""
        from .scoring import pattern_index
        key = _index_key(rs, as_of, signals_table, self.store.generation)
        with self.store.lock:
            found = self._items.pop(key, None)
            if found is not None and self.store.has_table(found.table):
                self._items[key] = found
                return found
            for old in [k for k in self._items if k[0] != self.store.generation]:  # data reloaded
                self._drop(old)
            name = "app_pi_" + hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:12]
            idx = pattern_index(self.store, rs, signals_table, out_table=name)
            self.builds += 1
            self._items[key] = idx
            while len(self._items) > self.max_entries:
                self._drop(next(iter(self._items)))
            return idx

    def _drop(self, key: tuple) -> None:
        idx = self._items.pop(key)
        self.store.execute(f"DROP TABLE IF EXISTS {idx.table}")

    def entries(self) -> list[dict]:
        """What is cached (for a status line or a test): table, dimension, as-of date, patterns."""
        return [{"table": i.table, "dimension": k[3], "as_of": k[1], "patterns": len(i.base)}
                for k, i in self._items.items()]

    def clear(self) -> None:
        with self.store.lock:
            for k in list(self._items):
                self._drop(k)


def pattern_cache(store: Store) -> PatternCache:
    """The store's PatternCache (created on first use; lives as long as the store)."""
    with store.lock:
        cache = store.__dict__.get("_pattern_cache")
        if cache is None:
            cache = store.__dict__["_pattern_cache"] = PatternCache(store)
        return cache


@dataclass(frozen=True)
class TuningNumbers:
    """Everything the Tuning page's live results show, for the draft and the published rule set."""

    draft_tiers: pd.DataFrame       # tier, accounts, value, share, value_share
    pub_tiers: pd.DataFrame
    draft_quadrants: pd.DataFrame   # quadrant, accounts, value, ...
    pub_quadrants: pd.DataFrame
    draft_hist: pd.DataFrame        # bin, bin_start, bin_end, accounts, value
    pub_hist: pd.DataFrame
    movement: pd.DataFrame          # from_tier, to_tier, accounts, value (all nine cells)
    index: Any                      # scoring.PatternIndex the movement is measured on
    draft_patterns: Any             # scoring.Patterns of the draft (base_pid into index.base)
    pub_rs: Any                     # the published rule set as the index sees it (draft's quadrant)
    draft_rs: Any


def tuning_numbers(store: Store, pub_rs, draft_rs, signals_table: str, as_of: date | None = None,
                   bins: int = 20, cache: PatternCache | None = None) -> TuningNumbers | None:
    """Tier counts + ARR, quadrants, histogram and the movement matrix of draft vs published from
    firing patterns (same numbers as the per-account scored tables). None when the draft's rules
    differ from the published ones (added, removed, other signal): then use the scored tables."""
    from . import aggregates as agg
    from .scoring import patterns_for
    cache = cache or pattern_cache(store)
    if draft_rs.primary_dimension != pub_rs.primary_dimension or \
            draft_rs.primary_dimension not in pub_rs.dimensions:
        return None
    p0 = cache.index(pub_rs, signals_table, as_of)
    pub_q = replace(pub_rs, quadrant=draft_rs.quadrant)  # tiers do not depend on the quadrant
    idx = p0 if pub_q.quadrant == pub_rs.quadrant else cache.index(pub_q, signals_table, as_of)
    try:
        pat = patterns_for(store, idx, draft_rs)
    except ValueError:  # the rules themselves changed
        return None
    return TuningNumbers(
        draft_tiers=agg.tier_summary_from_patterns(pat, draft_rs),
        pub_tiers=agg.tier_summary_from_patterns(p0.base, pub_rs),
        draft_quadrants=agg.quadrant_summary_from_patterns(pat, draft_rs),
        pub_quadrants=agg.quadrant_summary_from_patterns(p0.base, pub_rs),
        draft_hist=agg.score_histogram_from_patterns(pat, draft_rs, bins=bins),
        pub_hist=agg.score_histogram_from_patterns(p0.base, pub_rs, bins=bins),
        movement=agg.tier_movement_from_index(idx, pat, pub_q, draft_rs),
        index=idx, draft_patterns=pat, pub_rs=pub_q, draft_rs=draft_rs)


def pattern_movers(store: Store, numbers: TuningNumbers, from_tier: str | None = None, to_tier: str | None = None,
                   limit: int = 200) -> pd.DataFrame:
    """The accounts of one movement cell (all that moved when no tier is given), largest score
    change first: the columns and order of `aggregates.movers`, read from the pattern index table
    (only the selected patterns' accounts, top `limit`)."""
    from .db import quote_ident
    from .scoring import index_firings_sql, pattern_scores, pattern_tier_codes
    tiers = ("low", "medium", "high")
    for name, t in (("from_tier", from_tier), ("to_tier", to_tier)):
        if t is not None and t not in tiers:
            raise ValueError(f"{name}: expected {' | '.join(tiers)}, found {t!r}")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"limit: expected a whole number >= 1, found {limit!r}")
    idx, pat = numbers.index, numbers.draft_patterns
    pid = pat.base_pid if pat.base_pid is not None else np.arange(len(pat))
    a_codes = pattern_tier_codes(idx.base, numbers.pub_rs)[pid]
    b_codes = pattern_tier_codes(pat, numbers.draft_rs)
    a_score = pattern_scores(idx.base, numbers.pub_rs)[0][pid]
    b_score = pattern_scores(pat, numbers.draft_rs)[0]
    sel = np.ones(len(pat), dtype=bool)
    if from_tier is None and to_tier is None:
        sel &= a_codes != b_codes
    if from_tier is not None:
        sel &= a_codes == tiers.index(from_tier)
    if to_tier is not None:
        sel &= b_codes == tiers.index(to_tier)
    # the draft pattern of an account = (its pid, the new degrees of the rules whose firing changed)
    changed = [r for k, r in enumerate(pat.rule_ids)
               if not np.array_equal(pat.degrees[:, k], idx.base.degrees[pid, k], equal_nan=True)]
    fsql, params = index_firings_sql(store, idx, numbers.draft_rs, changed,
                                     attributes=("account_id", "account_name", "csm_owner", "value"))
    arrays = {"pid": pid[sel].astype(np.int64).tolist(),
              "from_tier": [tiers[c] for c in a_codes[sel]], "to_tier": [tiers[c] for c in b_codes[sel]],
              "from_score": a_score[sel].astype(float).tolist(), "to_score": b_score[sel].astype(float).tolist()}
    for r in changed:
        arrays["f_" + r] = pat.degrees[sel, pat.rule_ids.index(r)].astype(float).tolist()
    cols = ", ".join(f"unnest(?) AS {quote_ident('m_' + k)}" for k in arrays)
    on = " AND ".join(["f.pid = m.m_pid"] + [f"f.{quote_ident('f_' + r)} IS NOT DISTINCT FROM m.{quote_ident('m_f_' + r)}"
                                             for r in changed])
    sql = (f"SELECT f.account_id, f.account_name, f.segment, f.csm_owner, f.value, m.m_from_tier AS from_tier, "
           f"m.m_to_tier AS to_tier, m.m_from_score AS from_score, m.m_to_score AS to_score, "
           f"m.m_to_score - m.m_from_score AS change\n"
           f"FROM ({fsql}) AS f JOIN (SELECT {cols}) AS m ON {on}\n"
           f"ORDER BY abs(m.m_to_score - m.m_from_score) DESC NULLS LAST, f.value DESC NULLS LAST, f.account_id\n"
           f"LIMIT ?")
    if not arrays["pid"]:
        return pd.DataFrame(columns=["account_id", "account_name", "segment", "csm_owner", "value", "from_tier",
                                     "to_tier", "from_score", "to_score", "change"])
    return store.df(sql, [*params, *arrays.values(), int(limit)])


# ---- draft vs published accuracy without re-running the backtest ------------------------------

@dataclass(frozen=True)
class BacktestPatterns:
    """The backtest windows as firing patterns with outcomes: (fired degrees, segment, stage,
    churned) -> accounts. A points / tier / fusion change re-weights them; the Platt mapping is
    refitted on the train window, AUC and Brier measured on the test window (as run_backtest).
    An account table: train is test, and `fold` (per pattern row) cross-fits the mapping."""

    train: Any          # scoring.Patterns (n = accounts), one row per pattern and outcome
    train_y: np.ndarray  # 0/1 per row of train
    test: Any
    test_y: np.ndarray
    rs: Any             # the rule set whose firings these are
    horizon_days: int
    as_of: str | None
    fold: np.ndarray | None = None  # account table: the cross-validation fold of each pattern row
    folds: int | None = None


def _window_patterns(store: Store, rs, sig: str, churn: pd.DataFrame, folds: int | None) -> tuple:
    """(Patterns, y, fold) of one window: firings of the primary dimension's rules joined with
    outcomes; with `folds` (account table) each row also carries its cross-validation fold."""
    from .db import safe_table_name
    from .scoring import Patterns, _pattern_rules, column_facts, compile_firings
    cols = column_facts(store, sig, rs)  # type-checked: a rule that cannot run is left out
    rules = _pattern_rules(rs, cols, (rs.primary_dimension,))
    ids = [r.id for r in rules]
    part = replace(rs, rules=tuple(rules), overrides=tuple(o for o in rs.overrides if o.rule in set(ids)))
    fsql, params = compile_firings(part, cols, source=sig)
    keys = ", ".join(["f_" + r for r in ids] + ["segment", "stage"])
    tmp = safe_table_name(f"app_bt_y_{os.getpid()}_{id(churn) % 10**8}")
    store.register_df(tmp, churn[["account_id", "churned"]])
    try:
        if folds is None:
            sql = (f"SELECT {keys}, COALESCE(o.churned, false) AS churned, count(*) AS n, "
                   f"sum(f.value) AS value FROM ({fsql}) AS f LEFT JOIN {tmp} AS o USING (account_id) GROUP BY ALL")
            t = store.df(sql, params)
        else:  # account table: run_backtest's folds (rows with an outcome, by account_id)
            from .fitting import cv_folds
            per = store.df(f"SELECT f.account_id, {keys}, o.churned, f.value FROM ({fsql}) AS f "
                           f"JOIN {tmp} AS o USING (account_id) WHERE o.churned IS NOT NULL "
                           "ORDER BY f.account_id", params)
            y = per["churned"].astype(bool).to_numpy(dtype=int)
            fold = np.full(len(per), -1)  # -1: too few of one outcome to cross-fit (no Brier)
            try:
                for k, (_, held) in enumerate(cv_folds(y, folds).split(np.zeros(len(y)), y)):
                    fold[held] = k
            except ValueError:
                pass
            per = per.assign(n=1, fold=fold)
            t = per.groupby([*(f"f_{r}" for r in ids), "segment", "stage", "churned", "fold"], dropna=False,
                            as_index=False).agg(n=("n", "sum"), value=("value", "sum"))
    finally:
        store.execute(f"DROP TABLE IF EXISTS {tmp}")
    deg = t[[f"f_{r}" for r in ids]].to_numpy(dtype=float) if ids else np.zeros((len(t), 0))
    pat = Patterns(rule_ids=tuple(ids), dimensions=(rs.primary_dimension,), degrees=deg,
                   segment=t["segment"].astype(object).where(t["segment"].notna(), None).to_numpy(),
                   stage=t["stage"].astype(object).where(t["stage"].notna(), None).to_numpy(),
                   value_high=np.zeros(len(t), dtype=bool), n=t["n"].to_numpy(dtype=np.int64),
                   value=np.nan_to_num(t["value"].to_numpy(dtype=float)), value_cut=None,
                   value_cutoff=rs.quadrant.value_cutoff)
    return pat, t["churned"].astype(bool).to_numpy(dtype=int), (t["fold"].to_numpy() if folds else None)


def backtest_patterns(store: Store, rs, horizon_days: int = 90, as_of: date | None = None,
                      folds: int = 5) -> BacktestPatterns:
    """The one-off part of a draft's backtest (signals and firings of both windows, or of every
    account with its cross-validation fold for an account table), as patterns."""
    from .backtest import _is_activity, default_windows
    from .signals import outcomes, signals_table
    with store.lock:
        if _is_activity(store):
            train_w, test_w = default_windows(store, horizon_days, as_of)
            parts = []
            for w in (train_w, test_w):
                parts.append(_window_patterns(store, rs, signals_table(store, w.as_of),
                                              outcomes(store, w.as_of, horizon_days), None))
            (train, ty, _), (test, sy, _) = parts
            if test.accounts == 0:
                raise ValueError("no accounts to evaluate in the backtest window")
            return BacktestPatterns(train, ty, test, sy, rs, horizon_days, str(test_w.as_of))
        sig = signals_table(store, date.today())
        if "churned" not in store.columns(sig):
            raise ValueError("the account table has no outcome column mapped: a backtest needs one "
                             "(map it on the Data page or with --outcome-column)")
        churn = store.df(f"SELECT account_id, churned FROM {sig}")
        pat, y, fold = _window_patterns(store, rs, sig, churn, folds)
    if pat.accounts == 0:
        raise ValueError("no accounts with an outcome to evaluate (the outcome column is empty)")
    return BacktestPatterns(pat, y, pat, y, rs, horizon_days, None, fold=fold, folds=int(fold.max(initial=-1)) + 1)


def quick_accuracy(bp: BacktestPatterns, rs) -> dict:
    """AUC of the score and Brier of the Platt-mapped probability on the test window for `rs`
    (which must fire like `bp.rs`: points / tiers / fusion / enabled may differ), as run_backtest
    computes them, from weighted patterns (scikit-learn, sample_weight = accounts)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from .aggregates import _firing_parts
    from .scoring import pattern_scores
    if _firing_parts(rs, bp.train.rule_ids) != _firing_parts(bp.rs, bp.train.rule_ids):
        raise ValueError("the rule set fires differently from these backtest patterns: build them for it")
    s_tr, _ = pattern_scores(bp.train, rs)
    s_te, _ = pattern_scores(bp.test, rs)
    out: dict[str, Any] = {"auc": None, "brier": None, "horizon_days": bp.horizon_days, "as_of": bp.as_of,
                           "n": bp.test.accounts, "folds": bp.folds,
                           "method": (f"out-of-time backtest, {bp.horizon_days}-day horizon" if bp.fold is None
                                      else f"cross-validated ({bp.folds} folds)" if bp.folds
                                      else "every account, too few of one outcome to cross-validate")}
    if 0 < bp.test_y.max() and bp.test_y.min() == 0 and len(set(bp.test_y[bp.test.n > 0])) == 2:
        out["auc"] = float(roc_auc_score(bp.test_y, s_te, sample_weight=bp.test.n))

    def platt(fit: np.ndarray, predict: np.ndarray) -> np.ndarray:
        # newton-cholesky: exact Newton steps on one feature (5 iterations where lbfgs takes ~20);
        # a constant score has a singular Hessian: lbfgs, as calibration.fit_mapping
        varied = np.ptp(s_tr[fit & (bp.train.n > 0)]) > 0
        solver = {"solver": "newton-cholesky", "tol": 1e-10} if varied else {}
        lr = LogisticRegression(C=np.inf, max_iter=1000, **solver).fit(
            s_tr[fit].reshape(-1, 1), bp.train_y[fit], sample_weight=bp.train.n[fit])
        return lr.predict_proba(s_te[predict].reshape(-1, 1))[:, 1]

    if bp.fold is not None:  # cross-fitted as run_backtest: each fold mapped by a fit on the others
        if bp.folds:
            prob = np.zeros(len(s_te))
            for k in range(bp.folds):
                prob[bp.fold == k] = platt(bp.fold != k, bp.fold == k)
            out["brier"] = float(brier_score_loss(bp.test_y, prob, sample_weight=bp.test.n, labels=[0, 1]))
    elif len(set(bp.train_y[bp.train.n > 0])) == 2:
        prob = platt(np.ones(len(s_tr), dtype=bool), np.ones(len(s_te), dtype=bool))
        out["brier"] = float(brier_score_loss(bp.test_y, prob, sample_weight=bp.test.n, labels=[0, 1]))
    return out
