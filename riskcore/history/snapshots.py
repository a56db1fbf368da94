"""Building, writing and reading snapshots (PRODUCT.md §9): every account's scores, tiers, quadrant,
segment and fired rules as of a date under one rule set, kept in a DuckDB file (one transaction per
snapshot) or a Parquet folder (one file per (date, hash), written to a temp file and renamed)."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..atomic import write_atomic
from ..db import Params, Store, quote_ident, safe_table_name
from ..rules import Override, RuleSet, content_hash, load_ruleset, ruleset_to_toml
from ..scoring import firings, score
from ..segments import assign_segments
from ..signals import signals_table
from .storefile import HistoryError, open_store_file, reading_errors

FIRED_TYPE = ("STRUCT(rule_id VARCHAR, dimension VARCHAR, grp VARCHAR, points DOUBLE, degree DOUBLE, "
              "value VARCHAR)[]")
SNAPSHOTS = "snapshots"
RULESETS = "snapshot_rulesets"
_INCOMING = "snapshot_incoming"


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
    with reading_errors(path):
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
            with reading_errors(self.path):
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
            with reading_errors(self.path):
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
