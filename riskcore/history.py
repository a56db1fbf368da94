"""Account history (PRODUCT.md §9): snapshots, what changed and why, alerts, hierarchy roll-up.

A *snapshot* is every account's scores, tiers, quadrant, behavioural segment and fired rules
(rule, dimension, effective points, degree, signal value) as of a date, under one rule set
(name and content hash; its TOML is stored once per hash). Snapshots live in a DuckDB file
(one transaction per snapshot) or a folder of Parquet files (one file per (date, hash), written
to a temp file and renamed): a crash leaves the previous snapshots intact, and re-running the
same (date, hash) replaces, never duplicates.

*What changed and why* walks A (rule set RA) -> B' (B's customer state scored with RA) -> B (RB):
the customer part (A -> B') is split per rule into started / stopped / changed (graded degree or
segment/stage override points), the rule-set part (B' -> B) is attributed to the version, and the
cap at 100 is what remains. All in exact fractions, so the parts always sum to the change; values
are rounded to DISPLAY_DECIMALS only for display, with the rounding residue put on the largest
part so the displayed parts still add up. From snapshots, a rule whose *definition* (signal, op,
threshold, null_fires, threshold overrides) changed between versions cannot be re-evaluated at B
with the old definition: its customer state is then taken as unchanged, so its whole move is
attributed to the rule set (a rule change never looks like a customer change). Re-scored history
uses one rule set, so it has no rule-set part.
"""

from __future__ import annotations

import contextlib
import io
import time
import warnings
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import settings
from .atomic import write_atomic
from .db import Params, Store, quote_ident, safe_table_name
from .rules import QUADRANTS, TIERS, Override, RuleSet, content_hash, load_ruleset, rule_label, ruleset_to_toml

DISPLAY_DECIMALS = 4
TIER_RANK = {t: i for i, t in enumerate(TIERS)}  # low 0, medium 1, high 2
LOW, MEDIUM, HIGH = TIERS
SAVE, EXPAND, MAINTAIN, TRIAGE = QUADRANTS  # high value x high risk, x low risk; low x low, low x high
FIRED_TYPE = ("STRUCT(rule_id VARCHAR, dimension VARCHAR, grp VARCHAR, points DOUBLE, degree DOUBLE, "
              "value VARCHAR)[]")
SNAPSHOTS = "snapshots"
RULESETS = "snapshot_rulesets"
_INCOMING = "snapshot_incoming"
RESCORE_STEP_DAYS = 7  # cadence of re-scored history (the weekly refresh)


class HistoryError(ValueError):
    """Bad input to history functions (unknown account, no snapshot at a date): one clear message."""


# ---- opening a DuckDB snapshot store ---------------------------------------------------

_FIRST_RETRY_SECONDS, _MAX_RETRY_SECONDS = 0.05, 1.0  # backoff between attempts: doubling, capped


class StoreBusyWarning(UserWarning):
    """The snapshot store was held by another process; it was opened after waiting."""


def store_wait_seconds() -> float:
    """The bounded wait for a busy store: $RISKCORE_STORE_WAIT seconds (riskcore.settings; 30), at least 0."""
    try:
        return max(0.0, settings.get("RISKCORE_STORE_WAIT"))
    except settings.SettingError as e:
        raise HistoryError(str(e)) from None


def check_store_file(path: str | Path) -> None:
    """An existing file at `path` must be a whole DuckDB database (a new path or a folder is fine):
    else a HistoryError naming it. Reads the file's headers only; never writes."""
    from .duckfile import duckdb_file_problem
    path = Path(path)
    problem = duckdb_file_problem(path) if path.is_file() else None
    if problem:
        raise HistoryError(f"{path}: {problem}, so it cannot be a snapshot store; it was left untouched "
                           "(give a new file name, or a folder for Parquet snapshots)")


def open_store_file(path: str | Path, read_only: bool = False, wait: float | None = None) -> Store:
    """Open a DuckDB snapshot store. While another process holds its lock, retry with backoff for up to
    `wait` seconds (default `store_wait_seconds()`), then warn how long it waited (StoreBusyWarning).
    A file that is not a whole DuckDB database is a HistoryError naming it; the file is never written."""
    path = Path(path)
    check_store_file(path)
    wait = store_wait_seconds() if wait is None else wait
    start, delay, busy = time.monotonic(), _FIRST_RETRY_SECONDS, False
    while True:
        try:
            store = Store(str(path), read_only=read_only)
            break
        except duckdb.Error as e:
            waited, busy = time.monotonic() - start, True
            if not _is_lock_conflict(e):
                raise HistoryError(f"{path}: cannot be opened as a snapshot store (a damaged or foreign "
                                   "DuckDB file?); it was left untouched") from None
            if waited >= wait:
                raise HistoryError(f"{path}: store is busy (another process is using it); gave up after "
                                   f"{waited:.1f} s (wait longer with --wait or RISKCORE_STORE_WAIT)") from None
            time.sleep(min(delay, wait - waited))
            delay = min(2 * delay, _MAX_RETRY_SECONDS)
    if busy:
        warnings.warn(f"{path}: store is busy (another snapshot is writing); waited "
                      f"{time.monotonic() - start:.1f} s", StoreBusyWarning, stacklevel=2)
    return store


def _is_lock_conflict(e: Exception) -> bool:
    """DuckDB's error for a file another process holds ("Could not set lock on file ... Conflicting lock")."""
    text = str(e).lower()
    return "could not set lock" in text or "conflicting lock" in text


@contextlib.contextmanager
def _reading(path: Path):
    """Turn a DuckDB error while reading or writing a store (a read past a truncated end) into a
    HistoryError naming the file, without the engine's text."""
    try:
        yield
    except duckdb.Error:
        raise HistoryError(f"{path}: the snapshot store could not be read to the end (a damaged file?)") from None


# ---- building a snapshot ----------------------------------------------------------

def _selector(o: Override, p: Params) -> str:
    return f"f.segment = {p.add(o.segment)}" if o.segment is not None else f"f.stage = {p.add(o.stage)}"


def _points_sql(rs: RuleSet, rule_id: str, p: Params) -> str:
    """Effective points of a rule for the account row `f` (later override wins; 0 when disabled)."""
    r = rs.rule(rule_id)
    if not r.enabled:
        return "0.0"
    over = [o for o in rs.overrides if o.rule == rule_id and o.points is not None]
    base = p.add(float(r.points))
    if not over:
        return base
    whens = " ".join(f"WHEN {_selector(o, p)} THEN {p.add(float(o.points))}" for o in reversed(over))
    return f"CASE {whens} ELSE {base} END"


def snapshot_sql(store: Store, rs: RuleSet, as_of: date, scores: str, firings: str, segments: str,
                 signals: str) -> tuple[str, list]:
    """The SELECT producing one snapshot row per account from the scored, firings and segment tables."""
    p = Params()
    fcols = set(store.columns(firings))
    rules = [r for r in rs.rules if f"f_{r.id}" in fcols]
    items = []
    for r in rules:
        f, v = quote_ident("f_" + r.id), quote_ident("v_" + r.id)
        items.append(f"CASE WHEN f.{f} > 0 THEN struct_pack(rule_id := {p.add(r.id)}, "
                     f"dimension := {p.add(r.dimension)}, grp := {p.add(r.group)}, "
                     f"points := CAST({_points_sql(rs, r.id, p)} AS DOUBLE), degree := CAST(f.{f} AS DOUBLE), "
                     f"value := CAST(f.{v} AS VARCHAR)) END")
    fired = (f"CAST(list_filter([{', '.join(items)}], lambda x: x IS NOT NULL) AS {FIRED_TYPE})" if items
             else f"CAST([] AS {FIRED_TYPE})")
    parent_col = (rs.data.parent_column if rs.data is not None and rs.data.parent_column else "parent_id")
    has_parent = parent_col in store.columns(signals)
    parent = f"CAST(g.{quote_ident(parent_col)} AS VARCHAR)" if has_parent else "CAST(NULL AS VARCHAR)"
    dims = "".join(f", s.{quote_ident(d + '_score')}, s.{quote_ident(d + '_tier')}" for d in rs.dimensions)
    sql = (f"SELECT CAST({p.add(as_of)} AS DATE) AS snapshot_date, {p.add(rs.name)} AS ruleset_name, "
           f"{p.add(content_hash(rs))} AS ruleset_hash, CAST({p.add(datetime.now())} AS TIMESTAMP) AS created_at,\n"
           f"  s.account_id, s.account_name, s.segment, s.stage, s.csm_owner, s.value, {parent} AS parent_id"
           f"{dims},\n  s.risk_score, s.tier, s.quadrant, COALESCE(b.behavior_segment, 'steady') AS behavior_segment,\n"
           f"  {fired} AS fired\n"
           f"FROM {quote_ident(safe_table_name(scores))} s\n"
           f"JOIN {quote_ident(safe_table_name(firings))} f ON f.account_id = s.account_id\n"
           f"LEFT JOIN {quote_ident(safe_table_name(segments))} b ON b.account_id = s.account_id\n")
    if has_parent:
        sql += (f"LEFT JOIN {quote_ident(safe_table_name(signals))} g "
                f"ON CAST(g.account_id AS VARCHAR) = s.account_id\n")
    return sql + "ORDER BY s.account_id", p.values


def snapshot_frame(store: Store, rs: RuleSet, as_of: date, signals: str | None = None) -> pa.Table:
    """Score every account as of `as_of` and return the snapshot rows (an Arrow table).

    `signals`: score this signals table instead of computing one from the loaded data (fixtures).
    """
    from .scoring import firings, score
    from .segments import assign_segments
    from .signals import signals_table

    sig = signals if signals is not None else signals_table(store, as_of)
    fir = firings(store, rs, sig, out_table="history_firings")
    scored = score(store, rs, sig, out_table="history_scores", firings_table=fir)
    segs = assign_segments(store, rs, sig, out_table="history_segments")
    sql, params = snapshot_sql(store, rs, as_of, scored, fir, segs, sig)
    return store.arrow(sql, params)


# ---- the snapshot store (DuckDB file or Parquet folder) -----------------------------

def _is_parquet_store(path: Path) -> bool:
    """An existing folder, or a new path without a .duckdb/.db suffix, is a Parquet folder."""
    if path.exists():
        return path.is_dir()
    return path.suffix.lower() not in (".duckdb", ".db", ".ddb")


def _parquet_name(as_of: date, ruleset_hash: str) -> str:
    return f"snapshot_{as_of:%Y-%m-%d}_{ruleset_hash}.parquet"


def write_snapshot(path: str | Path, rows: pa.Table, ruleset_toml: str, wait: float | None = None) -> int:
    """Store snapshot rows (one date, one rule set) replacing the same (date, hash); returns the row count.

    DuckDB file: DELETE + INSERT in one transaction, after waiting up to `wait` seconds for a store
    another process is writing (`open_store_file`). Parquet folder: the rule-set TOML once per hash,
    then one file per (date, hash), each written to a temp file and renamed.
    """
    path = Path(path)
    rs = load_ruleset(ruleset_toml)
    h = content_hash(rs)
    dates = set(rows.column("snapshot_date").to_pylist()) if rows.num_rows else set()
    hashes = set(rows.column("ruleset_hash").to_pylist()) if rows.num_rows else {h}
    if len(dates) > 1 or hashes != {h}:
        raise HistoryError("a snapshot holds one date and the rows of one rule set (hash of the given TOML)")
    if not rows.num_rows:
        raise HistoryError("no accounts to snapshot (none active at that date)")
    as_of = dates.pop()
    if _is_parquet_store(path):
        path.mkdir(parents=True, exist_ok=True)
        toml_path = path / "rulesets" / f"{h}.toml"
        if not toml_path.exists():
            write_atomic(toml_path, ruleset_toml)
        buf = io.BytesIO()
        pq.write_table(rows, buf)
        write_atomic(path / _parquet_name(as_of, h), buf.getvalue())
        return rows.num_rows
    path.parent.mkdir(parents=True, exist_ok=True)
    snap = open_store_file(path, wait=wait)
    try:
        _write_duckdb(snap, path, rows, rs, h, as_of, ruleset_toml)
    finally:
        snap.close()
    return rows.num_rows


def _write_duckdb(snap: Store, path: Path, rows: pa.Table, rs: RuleSet, h: str, as_of: date, ruleset_toml: str) -> None:
    """DELETE + INSERT one (date, hash) snapshot in one transaction (staging table outside it)."""
    with _reading(path):
        snap.register_df(_INCOMING, rows)  # staging outside the transaction: harmless if a crash leaves it
        snap.execute(f"CREATE TABLE IF NOT EXISTS {RULESETS} (ruleset_hash VARCHAR PRIMARY KEY, "
                     "ruleset_name VARCHAR, ruleset_toml VARCHAR, created_at TIMESTAMP)")
        snap.execute(f"CREATE TABLE IF NOT EXISTS {SNAPSHOTS} AS SELECT * FROM {_INCOMING} LIMIT 0")
        have = set(snap.columns(SNAPSHOTS))
        types = snap.column_types(_INCOMING)
        snap.execute("BEGIN TRANSACTION")
        try:
            for col, typ in types.items():
                if col not in have:  # a rule set with a new dimension adds its columns
                    snap.execute(f"ALTER TABLE {SNAPSHOTS} ADD COLUMN {quote_ident(col)} {typ}")
            snap.execute(f"INSERT OR IGNORE INTO {RULESETS} VALUES (?, ?, ?, ?)",
                         [h, rs.name, ruleset_toml, datetime.now()])
            snap.execute(f"DELETE FROM {SNAPSHOTS} WHERE snapshot_date = ? AND ruleset_hash = ?", [as_of, h])
            snap.execute(f"INSERT INTO {SNAPSHOTS} BY NAME SELECT * FROM {_INCOMING}")
            snap.execute("COMMIT")
        except BaseException:
            snap.execute("ROLLBACK")
            raise
        snap.execute(f"DROP TABLE IF EXISTS {_INCOMING}")
        snap.execute("CHECKPOINT")


def snapshot(store: Store, rs: RuleSet, as_of: date, store_path: str | Path, wait: float | None = None) -> int:
    """Score every account as of `as_of` and store the snapshot at `store_path`; returns the account count."""
    return write_snapshot(store_path, snapshot_frame(store, rs, as_of), ruleset_toml(rs), wait=wait)


def ruleset_toml(rs: RuleSet) -> str:
    """The canonical TOML stored with snapshots (its hash is `content_hash(rs)`)."""
    return ruleset_to_toml(rs)


class SnapshotStore:
    """Read access to a snapshot store: which snapshots exist, their rows, their rule sets."""

    def __init__(self, path: str | Path, wait: float | None = None):
        self.path = Path(path)
        self.wait = wait  # seconds to wait while another process writes the store (None: the default)
        if not self.path.exists():
            raise HistoryError(f"{self.path}: snapshot store not found (create it with `python -m riskcore snapshot`)")
        self.parquet = self.path.is_dir()

    def _files(self) -> list[str]:
        return sorted(str(f) for f in self.path.glob("snapshot_*.parquet"))

    def _query(self, where: str, params: dict, select: str = "*", tail: str = "") -> pd.DataFrame:
        if self.parquet:
            files = self._files()
            if not files:
                return pd.DataFrame()
            store = Store()
            src = "read_parquet($files, union_by_name = true)"
            params = {**params, "files": files}
        else:
            store = open_store_file(self.path, read_only=True, wait=self.wait)
            if SNAPSHOTS not in store.tables():
                store.close()
                return pd.DataFrame()
            src = SNAPSHOTS
        try:
            with _reading(self.path):
                return store.df(f"SELECT {select} FROM {src} WHERE {where} {tail}", params or None)
        finally:
            store.close()

    def index(self) -> pd.DataFrame:
        """One row per stored snapshot: snapshot_date, ruleset_hash, ruleset_name, created_at, accounts."""
        frame = self._query("true", {}, "snapshot_date, ruleset_hash, any_value(ruleset_name) AS ruleset_name, "
                                        "max(created_at) AS created_at, count(*) AS accounts",
                            "GROUP BY ALL ORDER BY snapshot_date, created_at")
        if frame.empty:
            return pd.DataFrame(columns=["snapshot_date", "ruleset_hash", "ruleset_name", "created_at", "accounts"])
        frame["snapshot_date"] = pd.to_datetime(frame["snapshot_date"]).dt.date
        return frame

    def rows(self, keys: list[tuple[date, str]], account_id: str | None = None) -> pd.DataFrame:
        """Snapshot rows of the given (date, hash) snapshots, optionally of one account."""
        if not keys:
            return pd.DataFrame()
        where = "list_contains($keys, strftime(snapshot_date, '%Y-%m-%d') || '|' || ruleset_hash)"
        params: dict = {"keys": [f"{d:%Y-%m-%d}|{h}" for d, h in keys]}
        if account_id is not None:
            where += " AND account_id = $acc"
            params["acc"] = str(account_id)
        frame = self._query(where, params)
        if not frame.empty:
            frame["snapshot_date"] = pd.to_datetime(frame["snapshot_date"]).dt.date
        return frame

    def ruleset(self, ruleset_hash: str) -> RuleSet:
        """The rule set stored with snapshots under this content hash."""
        if self.parquet:
            f = self.path / "rulesets" / f"{ruleset_hash}.toml"
            if not f.exists():
                raise HistoryError(f"{self.path}: rule set {ruleset_hash[:12]} of a snapshot is missing")
            return load_ruleset(f.read_text(encoding="utf-8"))
        store = open_store_file(self.path, read_only=True, wait=self.wait)
        try:
            with _reading(self.path):
                text = store.one(f"SELECT ruleset_toml FROM {RULESETS} WHERE ruleset_hash = ?", [ruleset_hash])
        finally:
            store.close()
        if text is None:
            raise HistoryError(f"{self.path}: rule set {ruleset_hash[:12]} of a snapshot is missing")
        return load_ruleset(text)


def choose_snapshots(index: pd.DataFrame, rs: RuleSet | None = None) -> pd.DataFrame:
    """One snapshot per date: the one under `rs` (same content hash) if any, else the latest written."""
    if index.empty:
        return index
    pref = content_hash(rs) if rs is not None else None
    ix = index.assign(_pref=(index["ruleset_hash"] == pref) if pref else False)
    ix = ix.sort_values(["snapshot_date", "_pref", "created_at"])
    return ix.groupby("snapshot_date", as_index=False).tail(1).drop(columns="_pref").reset_index(drop=True)


# ---- in-memory state of accounts at a date ------------------------------------------

@dataclass(frozen=True)
class State:
    """Snapshot rows of one date under one rule set (from a store, or re-scored)."""

    date: date
    rules: RuleSet
    ruleset_hash: str
    rows: pd.DataFrame  # one row per account (snapshot columns), indexed by account_id
    source: str  # "snapshot" | "rescored"


def _state(rows: pd.DataFrame, d: date, rules: RuleSet, h: str, source: str) -> State:
    rows = rows.copy()
    rows["account_id"] = rows["account_id"].astype(str)
    return State(d, rules, h, rows.set_index("account_id", drop=False), source)


def rescored_state(store: Store, rs: RuleSet, as_of: date) -> State:
    """Score the loaded activity tables as of a date and hold the rows like a snapshot's."""
    frame = snapshot_frame(store, rs, as_of).to_pandas()
    return _state(frame, as_of, rs, content_hash(rs), "rescored")


def _fired(row: pd.Series | None) -> dict[str, dict]:
    if row is None:
        return {}
    items = row["fired"]
    if items is None or (isinstance(items, float) and np.isnan(items)):
        return {}
    return {x["rule_id"]: x for x in items}


def _definition(rs: RuleSet, rule_id: str) -> tuple | None:
    """What decides a rule's degree (not its points): equal definitions give equal degrees."""
    try:
        r = rs.rule(rule_id)
    except KeyError:
        return None
    return r.firing_key(), rs.threshold_overrides(rule_id)


def effective_points(rs: RuleSet, rule_id: str, segment: Any, stage: Any) -> Fraction:
    """Points of a rule for an account of this segment and stage under `rs` (0: absent or disabled)."""
    try:
        r = rs.rule(rule_id)
    except KeyError:
        return Fraction(0)
    if not r.enabled:
        return Fraction(0)
    pts = r.points
    for o in rs.overrides:  # later overrides win, as in scoring
        if o.rule == rule_id and o.points is not None and (
                (o.segment is not None and o.segment == segment) or (o.stage is not None and o.stage == stage)):
            pts = o.points
    return Fraction(pts)


def _ctx(row: pd.Series | None) -> tuple[Any, Any]:
    if row is None:
        return None, None
    seg, stage = row.get("segment"), row.get("stage")
    return (None if pd.isna(seg) else seg), (None if pd.isna(stage) else stage)


def _dimension(rs: RuleSet, rule_id: str) -> str | None:
    try:
        return rs.rule(rule_id).dimension
    except KeyError:
        return None


def _cf_degrees(a: State, b: State, fa: dict, fb: dict) -> dict[str, Fraction]:
    """Degrees of B's customer under RA (B'); redefined rules keep A's degree (see module doc)."""
    out = {}
    for r in a.rules.rules:
        da = Fraction(fa[r.id]["degree"]) if r.id in fa else Fraction(0)
        db = Fraction(fb[r.id]["degree"]) if r.id in fb else Fraction(0)
        same = a.ruleset_hash == b.ruleset_hash or _definition(a.rules, r.id) == _definition(b.rules, r.id)
        out[r.id] = db if same else da
    return out


@dataclass(frozen=True)
class Part:
    """One exact part of a dimension's change."""

    dimension: str
    rule: str | None
    reason: str  # started | stopped | changed | rule_set | cap
    points: Fraction
    degree_from: Fraction = Fraction(0)
    degree_to: Fraction = Fraction(0)
    value_from: str | None = None
    value_to: str | None = None


def decompose(a: State, b: State, account_id: str) -> tuple[dict[str, tuple[Fraction, Fraction]], list[Part]]:
    """Exact decomposition of one account's change from A to B: ({dim: (from, to)}, parts).

    For every dimension, sum(parts) == to - from exactly (Fractions). A missing side is all zero.
    """
    ra = a.rows.loc[account_id] if account_id in a.rows.index else None
    rb = b.rows.loc[account_id] if account_id in b.rows.index else None
    fa, fb = _fired(ra), _fired(rb)
    ctx_b = _ctx(rb)
    cf = _cf_degrees(a, b, fa, fb)
    dims = list(dict.fromkeys(list(b.rules.dimensions) + list(a.rules.dimensions)))
    u_a = {d: Fraction(0) for d in dims}
    u_b = {d: Fraction(0) for d in dims}
    parts: list[Part] = []
    for rid, x in fa.items():
        u_a[x["dimension"]] = u_a.get(x["dimension"], Fraction(0)) + Fraction(x["points"]) * Fraction(x["degree"])
    for rid, x in fb.items():
        u_b[x["dimension"]] = u_b.get(x["dimension"], Fraction(0)) + Fraction(x["points"]) * Fraction(x["degree"])
    rule_ids = list(dict.fromkeys([r.id for r in a.rules.rules] + [r.id for r in b.rules.rules] + list(fa) + list(fb)))
    for rid in rule_ids:
        xa, xb = fa.get(rid), fb.get(rid)
        da = Fraction(xa["degree"]) if xa else Fraction(0)
        db = Fraction(xb["degree"]) if xb else Fraction(0)
        dcf = cf.get(rid, Fraction(0))
        c_a = Fraction(xa["points"]) * da if xa else Fraction(0)
        c_cf = effective_points(a.rules, rid, *ctx_b) * dcf
        c_b = Fraction(xb["points"]) * db if xb else Fraction(0)
        dim_a = xa["dimension"] if xa else _dimension(a.rules, rid)
        dim_b = xb["dimension"] if xb else _dimension(b.rules, rid)
        vals = dict(value_from=xa["value"] if xa else None, value_to=xb["value"] if xb else None)
        customer = c_cf - c_a
        if customer != 0:
            reason = "started" if da == 0 else ("stopped" if dcf == 0 else "changed")
            parts.append(Part(dim_a, rid, reason, customer, da, dcf, **vals))
        # rule-set part per dimension (a rule may move between dimensions)
        if dim_a == dim_b or dim_a is None or dim_b is None:
            d = dim_b or dim_a
            if c_b - c_cf != 0:
                parts.append(Part(d, rid, "rule_set", c_b - c_cf, dcf, db, **vals))
        else:
            if c_cf != 0:
                parts.append(Part(dim_a, rid, "rule_set", -c_cf, dcf, Fraction(0), **vals))
            if c_b != 0:
                parts.append(Part(dim_b, rid, "rule_set", c_b, Fraction(0), db, **vals))
    totals = {}
    for d in dims:
        s_a, s_b = min(Fraction(100), u_a[d]), min(Fraction(100), u_b[d])
        cap = (s_b - s_a) - (u_b[d] - u_a[d])
        if cap != 0:
            parts.append(Part(d, None, "cap", cap))
        totals[d] = (s_a, s_b)
    return totals, parts


def _round(x: Fraction) -> Decimal:
    q = Decimal(1).scaleb(-DISPLAY_DECIMALS)
    return (Decimal(x.numerator) / Decimal(x.denominator)).quantize(q)


def display_parts(total: tuple[Fraction, Fraction], parts: list[Part]) -> tuple[Decimal, Decimal, list[Decimal]]:
    """Round from, to and parts for display so that the rounded parts still sum to rounded to - from."""
    f, t = _round(total[0]), _round(total[1])
    shown = [_round(p.points) for p in parts]
    residue = (t - f) - sum(shown, Decimal(0))
    if residue and shown:
        i = max(range(len(parts)), key=lambda k: abs(parts[k].points))
        shown[i] += residue
    return f, t, shown


def _num(x: Decimal) -> float | int:
    return int(x) if x == x.to_integral_value() else float(x)


_REASON_ORDER = {"started": 0, "changed": 1, "stopped": 2, "rule_set": 3, "cap": 4}


# ---- explain ----------------------------------------------------------------------

def _states_from_snapshots(path: str | Path, dates: list[date], rules: RuleSet | None,
                           account_id: str | None = None) -> list[State]:
    """For each requested date, the latest snapshot on or before it (one per date, see choose_snapshots)."""
    snaps = SnapshotStore(path)
    chosen = choose_snapshots(snaps.index(), rules)
    if chosen.empty:
        raise HistoryError(f"{path}: no snapshots stored yet (create them with `python -m riskcore snapshot`)")
    keys = []
    for d in dates:
        before = chosen[chosen["snapshot_date"] <= d]
        if before.empty:
            raise HistoryError(f"{path}: no snapshot on or before {d} (the first is {chosen['snapshot_date'].iloc[0]})")
        row = before.iloc[-1]
        keys.append((row["snapshot_date"], row["ruleset_hash"]))
    frame = snaps.rows(list(dict.fromkeys(keys)), account_id=account_id)
    rulesets: dict[str, RuleSet] = {}
    out = []
    for d, h in keys:
        if h not in rulesets:
            rulesets[h] = snaps.ruleset(h)
        rows = frame[(frame["snapshot_date"] == d) & (frame["ruleset_hash"] == h)] if not frame.empty else frame
        out.append(_state(rows if not rows.empty else _empty_rows(), d, rulesets[h], h, "snapshot"))
    return out


def _empty_rows() -> pd.DataFrame:
    return pd.DataFrame({"account_id": pd.Series([], dtype=str), "fired": pd.Series([], dtype=object)})


def _history_source(store: Store | None, snapshots: str | Path | None) -> str:
    if snapshots is not None:
        return "snapshots"
    if store is None:
        raise HistoryError("give a snapshot store (--store) or activity tables (--data)")
    if store.dataset is None or store.dataset.kind != "activity":
        raise HistoryError("an account table has no dates to re-score: build a history with "
                           "`python -m riskcore snapshot --as-of DATE` and pass --store")
    return "rescored"


def explain(account_id: str, from_date: date, to_date: date, rules: RuleSet, store: Store | None = None,
            snapshots: str | Path | None = None) -> dict:
    """Why an account's scores changed between two dates: per dimension `from`, `to`, `changes`.

    From snapshots (the latest on or before each date; the one under `rules` preferred) or, without
    snapshots, by re-scoring the activity tables in `store` with `rules` as of each date.
    `changes` is a list of {rule, reason, points, ...} whose points sum exactly to `to - from`.
    """
    account_id = str(account_id)
    if from_date > to_date:
        raise HistoryError(f"--from {from_date} is after --to {to_date}")
    source = _history_source(store, snapshots)
    if source == "snapshots":
        a, b = _states_from_snapshots(snapshots, [from_date, to_date], rules, account_id)
    else:
        a, b = rescored_state(store, rules, from_date), rescored_state(store, rules, to_date)
    if account_id not in a.rows.index and account_id not in b.rows.index:
        where = f"the snapshots of {a.date} and {b.date} in {snapshots}" if source == "snapshots" else \
            f"the accounts active at {from_date} or {to_date}"
        raise HistoryError(f"account {account_id!r} not found in {where}")
    seen = _first_seen(snapshots, account_id, a, b, rules) if source == "snapshots" else {}
    return explain_states(a, b, account_id, source=source, seen=seen)


def explain_states(a: State, b: State, account_id: str, source: str = "rescored",
                   seen: dict | None = None) -> dict:
    """The explanation of one account between two scored states already in hand (the dict of
    `explain`); `seen`: rule id -> date a started rule was first seen (else the later date)."""
    seen = seen or {}
    totals, parts = decompose(a, b, account_id)
    row = b.rows.loc[account_id] if account_id in b.rows.index else a.rows.loc[account_id]
    dims: dict[str, dict] = {}
    for d, total in totals.items():
        mine = sorted([p for p in parts if p.dimension == d],
                      key=lambda p: (_REASON_ORDER[p.reason], -abs(p.points), p.rule or ""))
        f, t, shown = display_parts(total, mine)
        changes = []
        for p, pts in zip(mine, shown):
            c: dict[str, Any] = {"rule": p.rule, "reason": p.reason, "points": _num(pts)}
            if p.rule is not None:
                c["label"] = _label(b.rules, a.rules, p.rule)
                c["value_from"], c["value_to"] = p.value_from, p.value_to
                if p.reason in ("changed", "rule_set"):
                    c["degree_from"], c["degree_to"] = float(p.degree_from), float(p.degree_to)
                if p.reason == "started":
                    c["seen"] = seen.get(p.rule, b.date).isoformat()
                if p.reason == "rule_set":
                    c["from_ruleset"], c["to_ruleset"] = a.ruleset_hash[:12], b.ruleset_hash[:12]
            changes.append(c)
        dims[d] = {"from": _num(f), "to": _num(t), "from_tier": _tier_of(a, account_id, d),
                   "to_tier": _tier_of(b, account_id, d), "changes": changes}
    return {
        "account_id": account_id,
        "account_name": None if pd.isna(row.get("account_name")) else row.get("account_name"),
        "from_date": a.date.isoformat(), "to_date": b.date.isoformat(), "source": source,
        "from_ruleset": {"name": a.rules.name, "hash": a.ruleset_hash},
        "to_ruleset": {"name": b.rules.name, "hash": b.ruleset_hash},
        "rule_set_changed": a.ruleset_hash != b.ruleset_hash,
        "dimensions": dims,
    }


def _label(*rulesets_and_id) -> str:
    *sets, rid = rulesets_and_id
    for rs in sets:
        try:
            return rule_label(rs.rule(rid))
        except KeyError:
            pass
    return rid


def _tier_of(s: State, account_id: str, dim: str) -> str | None:
    if account_id not in s.rows.index or f"{dim}_tier" not in s.rows.columns:
        return None
    v = s.rows.loc[account_id, f"{dim}_tier"]
    return None if pd.isna(v) else str(v)


def _first_seen(path, account_id: str, a: State, b: State, rules: RuleSet) -> dict[str, date]:
    """First snapshot date in (A, B] at which each rule fired for the account (for 'seen 12 Oct')."""
    snaps = SnapshotStore(path)
    chosen = choose_snapshots(snaps.index(), rules)
    chosen = chosen[(chosen["snapshot_date"] > a.date) & (chosen["snapshot_date"] <= b.date)]
    frame = snaps.rows(list(zip(chosen["snapshot_date"], chosen["ruleset_hash"])), account_id=account_id)
    seen: dict[str, date] = {}
    for _, row in frame.sort_values("snapshot_date").iterrows() if not frame.empty else []:
        for rid in _fired(row):
            seen.setdefault(rid, row["snapshot_date"])
    return seen


def change_sentences(result: dict, dimension: str | None = None) -> list[str]:
    """One sentence per change, e.g. '+25 Champion left, seen 12 Oct 2025' (for the account view)."""
    out = []
    dims = [dimension] if dimension else list(result["dimensions"])
    for d in dims:
        for c in result["dimensions"][d]["changes"]:
            pts = f"{c['points']:+g}"
            if c["reason"] == "started":
                when = date.fromisoformat(c["seen"]).strftime("%d %b %Y").lstrip("0")
                out.append(f"{pts} {c['label']}, seen {when}")
            elif c["reason"] == "stopped":
                out.append(f"{pts} {c['label']}: no longer the case")
            elif c["reason"] == "changed":
                out.append(f"{pts} {c['label']}: degree {c['degree_from']:g} -> {c['degree_to']:g}")
            elif c["reason"] == "rule_set":
                out.append(f"{pts} {c['label']}: rule set changed ({result['from_ruleset']['name']} "
                           f"{c['from_ruleset'][:7]} -> {result['to_ruleset']['name']} {c['to_ruleset'][:7]}), "
                           f"not the customer")
            else:
                out.append(f"{pts} capped at 100")
    return out


def format_explain(result: dict) -> str:
    """Plain-text report of `explain` for the terminal."""
    lines = [f"account {result['account_id']}" + (f" ({result['account_name']})" if result["account_name"] else "")
             + f": {result['from_date']} -> {result['to_date']} ({result['source']})"]
    if result["rule_set_changed"]:
        lines.append(f"rule set changed: {result['from_ruleset']['name']} {result['from_ruleset']['hash'][:12]} -> "
                     f"{result['to_ruleset']['name']} {result['to_ruleset']['hash'][:12]}")
    for d, v in result["dimensions"].items():
        delta = Decimal(str(v["to"])) - Decimal(str(v["from"]))
        lines.append(f"{d}: {v['from']:g} -> {v['to']:g} ({float(delta):+g})"
                     + (f", tier {v['from_tier']} -> {v['to_tier']}" if v["from_tier"] != v["to_tier"] else ""))
        for s in change_sentences(result, d):
            lines.append(f"  {s}")
    return "\n".join(lines)


# ---- alerts -----------------------------------------------------------------------

def _counterfactual(a: State, b: State) -> pd.DataFrame:
    """B's accounts scored with A's rule set (B'): <dim>_score, <dim>_tier, quadrant, behavior_segment."""
    ra = a.rules
    recs = []
    for acc, row in b.rows.iterrows():
        fa = _fired(a.rows.loc[acc]) if acc in a.rows.index else {}
        fb = _fired(row)
        cf = _cf_degrees(a, b, fa, fb)
        ctx = _ctx(row)
        rec: dict[str, Any] = {"account_id": acc}
        for d in ra.dimensions:
            total, groups = Fraction(0), set()
            for r in ra.rules:
                if r.dimension != d:
                    continue
                c = effective_points(ra, r.id, *ctx) * cf.get(r.id, Fraction(0))
                total += c
                if c > 0:
                    groups.add(r.group)
            rec[f"{d}_score"] = float(min(Fraction(100), total))
            rec[f"{d}_groups"] = len(groups)
        recs.append(rec)
    out = pd.DataFrame(recs).set_index("account_id", drop=False) if recs else pd.DataFrame()
    if out.empty:
        return out
    for d in ra.dimensions:
        m, h, mode = ra.tiers.cuts(d)
        s = out[f"{d}_score"].to_numpy(dtype=float)
        if mode == "percentile":
            m, h = np.quantile(s, m / 100.0), np.quantile(s, h / 100.0)
            pos = s > 0
        else:
            pos = np.ones(len(s), dtype=bool)
        fus = out[f"{d}_groups"].to_numpy() >= ra.fusion.min_groups if ra.fusion.enabled else np.ones(len(s), bool)
        out[f"{d}_tier"] = np.where((s >= h) & pos & fus, HIGH, np.where((s >= m) & pos, MEDIUM, LOW))
    prim = ra.primary_dimension
    value = pd.to_numeric(b.rows["value"], errors="coerce").reindex(out.index)
    cut = value.median() if ra.quadrant.value_cutoff == "median" else float(ra.quadrant.value_cutoff)
    high_value = (value >= cut).fillna(False).to_numpy()
    if ra.quadrant.tied_to_tier:  # risk_cutoff = "high_tier": the risk line is the high tier
        high_risk = (out[f"{prim}_tier"] == HIGH).to_numpy()
    else:
        high_risk = out[f"{prim}_score"].to_numpy() >= float(ra.quadrant.risk_cutoff)
        if ra.fusion.enabled:
            high_risk &= out[f"{prim}_groups"].to_numpy() >= ra.fusion.min_groups
    out["quadrant"] = np.where(high_value, np.where(high_risk, SAVE, EXPAND),
                               np.where(high_risk, TRIAGE, MAINTAIN))
    if ra.behavior_segments == b.rules.behavior_segments:
        out["behavior_segment"] = b.rows["behavior_segment"].reindex(out.index)
    else:  # unknown under A's definitions: keep A's segment (a redefinition is not a customer change)
        prev = a.rows["behavior_segment"] if "behavior_segment" in a.rows.columns else pd.Series(dtype=object)
        out["behavior_segment"] = prev.reindex(out.index)
    return out


def _get(frame: pd.DataFrame, acc: str, col: str) -> Any:
    if acc not in frame.index or col not in frame.columns:
        return None
    v = frame.loc[acc, col]
    return None if pd.isna(v) else v


def _fires(alert, before: Any, after: Any) -> bool:
    if before is None or after is None:
        return False
    if alert.kind == "score_rise":
        return float(after) - float(before) >= float(alert.points)
    if alert.kind == "tier_worse":
        return TIER_RANK.get(str(after), -1) > TIER_RANK.get(str(before), -1)
    if alert.kind == "entered_quadrant":
        q = alert.quadrant.lower()
        return str(after).lower() == q and str(before).lower() != q
    return str(after) != str(before)  # segment_change


def _column(alert, rs: RuleSet) -> str:
    if alert.kind in ("score_rise", "tier_worse"):
        d = alert.dimension or rs.primary_dimension
        return f"{d}_score" if alert.kind == "score_rise" else f"{d}_tier"
    return "quadrant" if alert.kind == "entered_quadrant" else "behavior_segment"


def evaluate_alerts(rs: RuleSet, states: list[State], since: date) -> list[dict]:
    """Alerts of `rs` over a date-ordered history of states, dated on or after `since`.

    score_rise fires at a state whose score rose since the previous one, comparing every earlier
    state at most `within_days` before (the previous one when within_days is not set); it reports the
    largest rise (on a tie, from the most recent state). The other kinds compare consecutive states.
    Accounts absent from the earlier state raise nothing. `cause` is "rule_set" when the condition
    does not hold once B is scored with A's rule set (the move comes from the version), else "customer".
    """
    out: list[dict] = []
    cf_cache: dict[tuple[int, int], pd.DataFrame] = {}

    def cf(i: int, j: int) -> pd.DataFrame | None:
        if states[i].ruleset_hash == states[j].ruleset_hash:
            return None
        if (i, j) not in cf_cache:
            cf_cache[(i, j)] = _counterfactual(states[i], states[j])
        return cf_cache[(i, j)]

    for j, b in enumerate(states):
        if b.date < since or j == 0:
            continue
        for alert in rs.alerts:
            col = _column(alert, rs)
            if alert.kind == "score_rise" and alert.within_days:
                earlier = [i for i in range(j) if (b.date - states[i].date).days <= alert.within_days]
            else:
                earlier = [j - 1]
            for acc in b.rows.index:
                after = _get(b.rows, acc, col)
                if alert.kind == "score_rise":  # a shift happens at j only when the score rose at j
                    prev = _get(states[j - 1].rows, acc, col)
                    if prev is None or after is None or float(after) <= float(prev):
                        continue
                best = None
                for i in earlier:
                    before = _get(states[i].rows, acc, col)
                    if not _fires(alert, before, after):
                        continue
                    rise = float(after) - float(before) if alert.kind == "score_rise" else 0.0
                    if best is None or rise >= best[0]:  # ties: the most recent earlier state
                        best = (rise, i, before, after)
                if best is None:
                    continue
                _, i, before, after = best
                counter = cf(i, j)
                cause = "customer"
                if counter is not None and not _fires(alert, before, _get(counter, acc, col)):
                    cause = "rule_set"
                rec = {"account_id": acc, "alert": alert.id, "kind": alert.kind, "date": b.date.isoformat(),
                       "from": _plain(before), "to": _plain(after), "from_date": states[i].date.isoformat(),
                       "cause": cause}
                if alert.label:
                    rec["label"] = alert.label
                out.append(rec)
    out.sort(key=lambda r: (r["date"], r["account_id"], r["alert"]))
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v == int(v):
        return int(v)
    return v


def rescore_dates(store: Store, since: date, lookback_days: int = RESCORE_STEP_DAYS,
                  step_days: int = RESCORE_STEP_DAYS) -> list[date]:
    """Weekly as-of dates ending at the latest activity date, reaching `lookback_days` before `since`."""
    from .signals import active_dates

    first, last = active_dates(store)
    if since > last:
        raise HistoryError(f"--since {since} is after the latest activity date {last}")
    start = max(first, since - timedelta(days=max(lookback_days, step_days)))
    dates, d = [], last
    while d >= start:
        dates.append(d)
        d -= timedelta(days=step_days)
    return sorted(dates)


def alerts(rs: RuleSet, since: date, store: Store | None = None, snapshots: str | Path | None = None) -> list[dict]:
    """Alerts ({account_id, alert, date, from, to, cause, ...}) raised on or after `since`.

    Over the stored snapshots (one per date, see choose_snapshots) or, without snapshots, over a
    weekly re-scored history of the activity tables in `store`.
    """
    if not rs.alerts:
        return []
    lookback = max([a.within_days or 0 for a in rs.alerts] + [RESCORE_STEP_DAYS])
    source = _history_source(store, snapshots)
    if source == "snapshots":
        chosen = choose_snapshots(SnapshotStore(snapshots).index(), rs)
        if chosen.empty:
            raise HistoryError(f"{snapshots}: no snapshots stored yet")
        dates = list(chosen["snapshot_date"])
        after = [d for d in dates if d >= since]
        if not after:
            return []
        k = dates.index(after[0])
        start = min(dates[max(k - 1, 0)], since - timedelta(days=lookback))
        states = _states_from_snapshots(snapshots, [d for d in dates if d >= start], rs)
    else:
        states = [rescored_state(store, rs, d) for d in rescore_dates(store, since, lookback)]
    return evaluate_alerts(rs, states, since)


def format_alerts(found: list[dict]) -> str:
    """Plain-text list of alerts for the terminal."""
    if not found:
        return "no alerts"
    lines = []
    for a in found:
        note = "  [rule-set change, not the customer]" if a.get("cause") == "rule_set" else ""
        lines.append(f"{a['date']}  {a['account_id']}  {a['alert']}: {a['from']} -> {a['to']} "
                     f"(since {a['from_date']}){note}")
    n_rs = sum(a.get("cause") == "rule_set" for a in found)
    lines.append(f"{len(found):,} alert(s), {n_rs:,} caused by a rule-set change")
    return "\n".join(lines)


# ---- account view -------------------------------------------------------------------

def score_history(store: Store, rs: RuleSet, account_id: str, dates: list[date]) -> pd.DataFrame:
    """One account re-scored as of each date (the whole population is scored: percentiles, median)."""
    states = [rescored_state(store, rs, d) for d in sorted(dates)]
    return history_frame(states, str(account_id))


def history_frame(states: list[State], account_id: str) -> pd.DataFrame:
    """One account's points of these states, in `account_history`'s columns (absent ones skipped)."""
    recs = []
    prev_hash = None
    for s in states:
        if account_id not in s.rows.index:
            continue
        row = s.rows.loc[account_id]
        rec = {"date": s.date, "source": s.source, "ruleset_name": s.rules.name, "ruleset_hash": s.ruleset_hash,
               "rule_set_changed": prev_hash is not None and prev_hash != s.ruleset_hash}
        for d in s.rules.dimensions:
            rec[f"{d}_score"], rec[f"{d}_tier"] = row.get(f"{d}_score"), row.get(f"{d}_tier")
        for c in ("risk_score", "tier", "quadrant", "behavior_segment"):
            rec[c] = row.get(c)
        recs.append(rec)
        prev_hash = s.ruleset_hash
    return pd.DataFrame(recs)


def account_history(account_id: str, rules: RuleSet, store: Store | None = None,
                    snapshots: str | Path | None = None, dates: list[date] | None = None) -> pd.DataFrame:
    """The account view's history: snapshots where they exist, re-scored activity at the other `dates`.

    Columns: date, source (snapshot | rescored), ruleset_name, ruleset_hash, rule_set_changed (a marker
    for the chart), <dim>_score/<dim>_tier, risk_score, tier, quadrant, behavior_segment.
    """
    states: list[State] = []
    have: set[date] = set()
    if snapshots is not None and Path(snapshots).exists():
        chosen = choose_snapshots(SnapshotStore(snapshots).index(), rules)
        if not chosen.empty:
            states = _states_from_snapshots(snapshots, list(chosen["snapshot_date"]), rules, str(account_id))
            have = {s.date for s in states}
    if store is not None and store.dataset is not None and store.dataset.kind == "activity" and dates:
        states += [rescored_state(store, rules, d) for d in dates if d not in have]
    states.sort(key=lambda s: s.date)
    return history_frame(states, str(account_id))


# ---- hierarchy ----------------------------------------------------------------------

def rollup(store: Store, scored_table: str, parent_column: str = "parent_id",
           accounts_table: str | None = None) -> pd.DataFrame:
    """Parents' roll-up: children, summed value (ARR), value-weighted risk score, worst child tier.

    The parent column is read from `scored_table`, else from `accounts_table` (e.g. the signals
    table) joined on account_id. The weighted score falls back to the plain mean when no child
    has a value. Columns: parent_id, parent_name (when the parent is itself an account),
    children, value, risk_score, tier.
    """
    scored = quote_ident(safe_table_name(scored_table))
    if parent_column in store.columns(scored_table):
        src, parent = f"{scored} s", f"s.{quote_ident(parent_column)}"
    elif accounts_table is not None and parent_column in store.columns(accounts_table):
        src = (f"{scored} s JOIN {quote_ident(safe_table_name(accounts_table))} g "
               f"ON CAST(g.account_id AS VARCHAR) = s.account_id")
        parent = f"g.{quote_ident(parent_column)}"
    else:
        where = scored_table + (f" or {accounts_table}" if accounts_table else "")
        raise HistoryError(f"parent column {parent_column!r} not found in {where}")
    sql = f"""
        WITH c AS (
          SELECT CAST({parent} AS VARCHAR) AS parent_id, s.value, s.risk_score, s.tier
          FROM {src}
          WHERE {parent} IS NOT NULL AND CAST({parent} AS VARCHAR) <> ''
        )
        SELECT c.parent_id, any_value(p.account_name) AS parent_name, count(*) AS children,
               sum(c.value) AS value,
               CASE WHEN sum(c.value) FILTER (WHERE c.value > 0) > 0
                    THEN sum(c.value * c.risk_score) FILTER (WHERE c.value > 0)
                         / sum(c.value) FILTER (WHERE c.value > 0)
                    ELSE avg(c.risk_score) END AS risk_score,
               list_extract(?, 1 + max(CASE c.tier WHEN ? THEN 2 WHEN ? THEN 1 ELSE 0 END)) AS tier
        FROM c LEFT JOIN {scored} p ON p.account_id = c.parent_id
        GROUP BY c.parent_id
        ORDER BY c.parent_id"""
    return store.df(sql, [list(TIERS), HIGH, MEDIUM])  # the worst child tier
