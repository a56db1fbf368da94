"""Benchmark of the interactive paths at 1e4..1e6 accounts (PRODUCT.md §8, issue 6).

`python -m benchmarks.bench [--sizes 1e4,1e5,1e6] [--runs 5] [--out FILE] [--no-app]`

Per size: load the cached sample, compute the signals once (reported as one-off costs), then time
(median of `runs` after one warm-up) every operation of the Tuning and Overview pages on three
paths: riskcore's pattern path, the full per-account table the app builds today, and an idiomatic
pandas peer (the same computation a data scientist would write over the signals in a DataFrame).
The floor is a bare DuckDB scan: SELECT count(*), SUM(col), ... over the signal columns the risk
dimension's rules read plus the value column (COUNT for text columns), from the signals table:
what any from-scratch re-score must at least read. Every pattern-path result is checked against
the full path (and the peer) in the same run. The Tuning page rerun and the app's memory (RSS) are
measured with AppTest in a child process.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from riskcore import aggregates as agg
from riskcore import backtest as bt
from riskcore import scoring as sc
from riskcore.activity import load_activity
from riskcore.db import Store, quote_ident
from riskcore.rules import RuleSet, load_ruleset, signal_columns, with_points, with_thresholds
from riskcore.sample import ensure_sample
from riskcore.scoring import firings, pattern_index, patterns_for, round_score, score_firings
from riskcore.signals import active_dates, signals_table

REPO = Path(__file__).resolve().parent.parent
DEFAULT_RULES = REPO / "data" / "rules" / "default.toml"
WEIGHT_RULE, THRESHOLD_RULE = "usage_drop", "usage_drop"
MAX_CHART_POINTS = 20_000


@dataclass(frozen=True)
class Timing:
    size: int
    operation: str
    median_ms: float
    runs: int
    check: str = ""  # "same as full" / "same as pandas" when the numbers were compared


def _ms(f: Callable[[], Any], runs: int, warmup: int = 1) -> tuple[float, Any]:
    """Median wall time (ms) of `runs` calls after `warmup` calls; returns the last result."""
    out = None
    for _ in range(warmup):
        out = f()
    times = []
    for _ in range(runs):
        gc.collect()
        t = time.perf_counter()
        out = f()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), out


def _once(f: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = f()
    return (time.perf_counter() - t) * 1000, out


# ---- the peer: idiomatic vectorised pandas over the signals -----------------------------------

def peer_degrees(df: pd.DataFrame, rs: RuleSet, rule_ids: list[str]) -> pd.DataFrame:
    """Fired degree per account and rule, in pandas, from the `v_<rule>` signal values of `df`."""
    out = {}
    for rid in rule_ids:
        r = rs.rule(rid)
        v = df["v_" + rid]

        def deg(thr, v=v, r=r) -> pd.Series:
            if r.op == "scale":
                return ((v.astype(float) - thr[0]) / (thr[1] - thr[0])).clip(0.0, 1.0)
            if r.op == "is_true":
                return v.fillna(False).astype(bool).astype(float)
            if r.op == "is_null":
                return v.isna().astype(float)
            if r.op == "between":
                return v.between(thr[0], thr[1]).astype(float)
            if r.op == "in":
                return v.isin(list(thr)).astype(float)
            ops = {"<": v.lt, "<=": v.le, ">": v.gt, ">=": v.ge, "==": v.eq, "!=": v.ne}
            return ops[r.op](thr).fillna(False).astype(float)

        d = deg(r.threshold)
        for o in rs.overrides:
            if o.rule == rid and o.threshold is not None:
                sel = df["segment"].eq(o.segment) if o.segment is not None else df["stage"].eq(o.stage)
                d = d.where(~sel.fillna(False), deg(o.threshold))
        if r.op != "is_null":
            d = d.where(v.notna(), 1.0 if r.null_fires else 0.0)
        out[rid] = d.astype(float)
    return pd.DataFrame(out, index=df.index)


def peer_tiers(df: pd.DataFrame, fired: pd.DataFrame, rs: RuleSet) -> pd.DataFrame:
    """Tier counts and ARR of the primary dimension, in pandas: columns tier, accounts, value."""
    dim = rs.primary_dimension
    rules = [r for r in rs.rules if r.enabled and r.dimension == dim and r.id in fired.columns]
    contrib = {}
    for r in rules:
        pts = pd.Series(float(r.points), index=df.index)
        for o in rs.overrides:
            if o.rule == r.id and o.points is not None:
                sel = df["segment"].eq(o.segment) if o.segment is not None else df["stage"].eq(o.stage)
                pts = pts.mask(sel.fillna(False), float(o.points))
        contrib[r.id] = pts * fired[r.id]
    c = pd.DataFrame(contrib, index=df.index)
    score = pd.Series(round_score(c.sum(axis=1).to_numpy()), index=df.index).clip(upper=100.0)
    groups = pd.DataFrame({g: c[[r.id for r in rules if r.group == g]].gt(0).any(axis=1)
                           for g in dict.fromkeys(r.group for r in rules)}).sum(axis=1)
    m, h, mode = rs.tiers.cuts(dim)
    if mode == "percentile":
        m, h = score.quantile(m / 100.0), score.quantile(h / 100.0)
        pos = score > 0
    else:
        pos = True
    ok = groups >= rs.fusion.min_groups if rs.fusion.enabled else True
    tier = np.select([(score >= h) & pos & ok, (score >= m) & pos], ["high", "medium"], "low")
    out = df.assign(tier=tier).groupby("tier").agg(accounts=("value", "size"), value=("value", "sum"))
    return out.reindex(["low", "medium", "high"], fill_value=0).rename_axis("tier").reset_index()


# ---- one size ------------------------------------------------------------------------------

def _scan_sql(store: Store, rs: RuleSet, signals: str) -> str:
    """The floor: SUM over the signal columns the risk dimension's rules read, and the value."""
    cols = store.column_types(signals)
    need: list[str] = []
    for r in rs.rules:
        if r.enabled and r.dimension == rs.primary_dimension:
            need += [c for c in signal_columns(r.signal, cols) if c in cols]
    need = list(dict.fromkeys(need + [rs.quadrant.value_column, "segment", "stage"]))
    parts = []
    for c in need:
        t = cols[c].upper()
        if t == "BOOLEAN":
            parts.append(f"count_if({quote_ident(c)})")
        elif t.startswith(("VARCHAR", "DATE", "TIMESTAMP")):
            parts.append(f"count({quote_ident(c)})")
        else:
            parts.append(f"sum({quote_ident(c)})")
    return f"SELECT count(*), {', '.join(parts)} FROM {quote_ident(signals)}"


def _same(a: pd.DataFrame, b: pd.DataFrame, key: str) -> bool:
    a, b = a.set_index(key), b.set_index(key)
    return (a["accounts"].astype(int).tolist() == b.loc[a.index, "accounts"].astype(int).tolist()
            and np.allclose(a["value"].astype(float), b.loc[a.index, "value"].astype(float), rtol=1e-9))


def bench_size(n: int, runs: int, log: Callable[[str], None] = print, data: Path | None = None,
               backtest: bool = True) -> tuple[list[Timing], dict]:
    """Every timing of one size; also the one-off costs and facts (patterns, chart points)."""

    out: list[Timing] = []
    facts: dict[str, Any] = {"size": n}
    folder = data or ensure_sample(n)
    store = Store()
    facts["load_ms"], _ = _once(lambda: load_activity(store, folder))
    as_of = active_dates(store)[1]
    facts["signals_ms"], sig = _once(lambda: signals_table(store, as_of))
    facts["accounts_scored"] = int(store.one(f"SELECT count(*) FROM {sig}"))
    rs = load_ruleset(DEFAULT_RULES)
    facts["firings_ms"], fired = _once(lambda: firings(store, rs, sig, out_table="bench_firings"))
    facts["score_ms"], pub = _once(lambda: score_firings(store, rs, fired, out_table="bench_published"))
    facts["index_ms"], idx = _once(lambda: pattern_index(store, rs, sig, out_table="bench_index"))
    facts["patterns"] = len(idx.base)
    log(f"  {n:,}: load {facts['load_ms'] / 1000:.1f} s, signals {facts['signals_ms'] / 1000:.1f} s, "
        f"firings {facts['firings_ms']:.0f} ms, pattern index {facts['index_ms']:.0f} ms ({len(idx.base)} patterns)")

    def add(op: str, ms: float, check: str = "", k: int = runs) -> None:
        out.append(Timing(n, op, ms, k, check))
        log(f"    {op}: {ms:.1f} ms {check}")

    scan = _scan_sql(store, rs, sig)
    add("bare scan (floor)", _ms(lambda: store.rows(scan), runs)[0])

    # a new points value / threshold each call (built beforehand: the timings are of the scoring),
    # so nothing is served from a cache
    w_sets = [with_points(rs, {WEIGHT_RULE: 21 + i}) for i in range(60)]
    t_sets = [with_thresholds(rs, {THRESHOLD_RULE: -0.05 - i / 100}) for i in range(40)]
    counter = iter(range(10**9))

    def weights() -> RuleSet:
        return w_sets[next(counter) % len(w_sets)]

    def thresholds() -> RuleSet:
        return t_sets[next(counter) % len(t_sets)]

    pat_w = lambda: (lambda r: (r, agg.tier_summary_from_patterns(patterns_for(store, idx, r), r)))(weights())
    ms, (rw, got) = _ms(pat_w, runs)
    ref = agg.tier_summary(store, score_firings(store, rw, fired, out_table="bench_draft"))
    add("weight change: tier counts + ARR (patterns)", ms, "= full" if _same(got, ref, "tier") else "DIFFERS")

    def full_w():
        r = weights()
        return agg.tier_summary(store, score_firings(store, r, fired, out_table="bench_draft"))
    add("weight change: tier counts + ARR (full scored table)", _ms(full_w, runs)[0])

    peer_cols = [f"v_{r.id}" for r in rs.rules if r.dimension == rs.primary_dimension]
    facts["peer_fetch_ms"], frame = _once(lambda: store.df(
        f"SELECT segment, stage, value, {', '.join(peer_cols)} FROM {fired}"))
    peer_ids = [c[2:] for c in peer_cols]
    peer_fired = peer_degrees(frame, rs, peer_ids)
    ms, (rw, pg) = _ms(lambda: (lambda r: (r, peer_tiers(frame, peer_fired, r)))(weights()), runs)
    ok = _same(pg, agg.tier_summary_from_patterns(patterns_for(store, idx, rw), rw), "tier")
    add("weight change: tier counts + ARR (pandas peer)", ms, "= patterns" if ok else "DIFFERS")

    # threshold change
    pat_t = lambda: (lambda r: (r, agg.tier_summary_from_patterns(patterns_for(store, idx, r), r)))(thresholds())
    ms, (rt, got) = _ms(pat_t, runs)
    ref = agg.tier_summary(store, score_firings(store, rt, firings(store, rt, sig, out_table="bench_tf"),
                                                out_table="bench_draft"))
    add("threshold change: tier counts + ARR (patterns)", ms, "= full" if _same(got, ref, "tier") else "DIFFERS")

    def full_t():
        r = thresholds()
        f = firings(store, r, sig, out_table="bench_tf")
        return agg.tier_summary(store, score_firings(store, r, f, out_table="bench_draft"))
    add("threshold change: tier counts + ARR (full scored table)", _ms(full_t, runs)[0])
    ms, (rt, pg) = _ms(lambda: (lambda r: (r, peer_tiers(frame, peer_degrees(frame, r, peer_ids), r)))(thresholds()),
                       runs)
    ok = _same(pg, agg.tier_summary_from_patterns(patterns_for(store, idx, rt), rt), "tier")
    add("threshold change: tier counts + ARR (pandas peer)", ms, "= patterns" if ok else "DIFFERS")

    # the rest of the Tuning / Overview pages
    rw = weights()
    draft = score_firings(store, rw, fired, out_table="bench_draft")
    pat = patterns_for(store, idx, rw)
    ms, q = _ms(lambda: agg.quadrant_summary_from_patterns(pat, rw), runs)
    add("quadrant aggregates (patterns)", ms,
        "= full" if _same(q, agg.quadrant_summary(store, draft), "quadrant") else "DIFFERS")
    add("quadrant aggregates (SQL on scored table)", _ms(lambda: agg.quadrant_summary(store, draft), runs)[0])
    ms, qp = _ms(lambda: agg.quadrant_points(store, draft, max_points=MAX_CHART_POINTS), runs)
    drawn = len(qp.points) if qp.mode == "points" else len(qp.grid)
    facts["chart_marks"] = drawn
    add(f"quadrant chart ({qp.mode}, {drawn:,} marks)", ms)
    add("top 100 accounts (SQL on scored table)", _ms(lambda: agg.top_accounts(store, draft, 100), runs)[0])
    ms, mv = _ms(lambda: agg.tier_movement_from_patterns(pat, rs, rw), runs)
    ref = agg.tier_movement(store, pub, draft)
    same = mv["accounts"].tolist() == ref["accounts"].tolist()
    add("tier movement matrix (patterns)", ms, "= full" if same else "DIFFERS")
    add("tier movement matrix (SQL join of scored tables)", _ms(lambda: agg.tier_movement(store, pub, draft), runs)[0])
    ms, h = _ms(lambda: agg.score_histogram_from_patterns(pat, rw, 20), runs)
    same = h["accounts"].tolist() == agg.score_histogram(store, draft, 20)["accounts"].tolist()
    add("score histogram (patterns)", ms, "= full" if same else "DIFFERS")

    if backtest:
        k = max(1, min(runs, 3 if n < 10**6 else 1))
        ms, res = _ms(lambda: bt.run_backtest(store, rs, horizon_days=90), k, warmup=1)
        facts["calibration_bins"] = len(res.get("calibration") or [])
        add(f"backtest + calibration bins ({facts['calibration_bins']} bins, signals cached)", ms, k=k)
    store.close()
    return out, facts


# ---- the Tuning page with AppTest, in a child process (its RSS is the app's) -----------------

def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def app_child(n: int, runs: int) -> dict:
    """Run the app headless at n accounts: Tuning page rerun times after a slider change, RSS."""
    from streamlit.testing.v1 import AppTest  # optional and heavy: only the app child needs it
    spent: dict[str, float] = {}

    def timed(mod, name):  # where a rerun's time goes: the page looks these up at call time
        f = getattr(mod, name)

        @functools.wraps(f)
        def w(*a, **k):
            t0 = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                spent[name] = spent.get(name, 0.0) + (time.perf_counter() - t0) * 1000
        setattr(mod, name, w)
    timed(bt, "run_backtest")
    timed(sc, "score")
    os.environ["RISKCORE_SAMPLE_ACCOUNTS"] = str(n)
    os.environ.setdefault("RISKCORE_HOME", tempfile.mkdtemp(prefix="bench-rules-"))
    os.environ.pop("RISKCORE_DATA", None)
    app = str(REPO / "app.py")
    res: dict[str, Any] = {"size": n, "rss_start_mb": _rss_mb()}
    at = AppTest.from_file(app, default_timeout=3600)
    t = time.perf_counter()
    at.run()
    at.switch_page("ui/tuning.py").run()
    res["first_load_s"] = time.perf_counter() - t
    res["errors"] = [e.message for e in at.exception] + [e.value for e in at.error]
    res["rss_loaded_mb"] = _rss_mb()
    def reruns(start: int) -> tuple[list[float], list[dict]]:
        times, parts = [], []
        for i in range(runs + 1):
            at.slider(key=f"weight:{WEIGHT_RULE}").set_value(start + i)
            spent.clear()
            t = time.perf_counter()
            at.run()
            times.append((time.perf_counter() - t) * 1000)
            parts.append(dict(spent))
        return times, parts

    # AppTest compiles app.py and the page (with Streamlit's "magic" AST pass) on every run; a server
    # compiles each script once per process. Time both: as AppTest ships, then with one shared cache.
    times, _ = reruns(21)
    res["rerun_apptest_ms"] = statistics.median(times[1:])
    import streamlit.testing.v1.app_test as app_test
    import streamlit.testing.v1.local_script_runner as lsr
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    shared = ScriptCache()
    app_test.ScriptCache = lsr.ScriptCache = lambda: shared
    times, parts = reruns(41)
    res["rerun_ms"] = statistics.median(times[1:])
    res["rerun_backtest_ms"] = statistics.median(p.get("run_backtest", 0.0) for p in parts[1:])
    res["rerun_score_ms"] = statistics.median(p.get("score", 0.0) for p in parts[1:])
    res["errors"] += [e.message for e in at.exception] + [e.value for e in at.error]
    res["rss_after_reruns_mb"] = _rss_mb()
    for k in range(2):  # more sessions: they share the loaded data
        other = AppTest.from_file(app, default_timeout=3600)
        other.run()
        other.switch_page("ui/tuning.py").run()
        res[f"rss_session_{k + 2}_mb"] = _rss_mb()
    return res


def app_bench(n: int, runs: int, timeout: float = 3600) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.bench", "--app-child", str(n), "--runs", str(runs)]
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    lines = [x for x in p.stdout.splitlines() if x.startswith("{")]
    if p.returncode != 0 or not lines:
        return {"size": n, "errors": [p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "no output"]}
    return json.loads(lines[-1])


# ---- the table -------------------------------------------------------------------------------

def table(timings: list[Timing]) -> str:
    """Markdown: size, operation, median ms, ratio to the bare scan and to the pandas peer."""
    rows = ["| size | operation | median ms | / bare scan | / pandas | check |", "|---:|---|---:|---:|---:|---|"]
    for t in timings:
        same = [x for x in timings if x.size == t.size]
        scan = next((x.median_ms for x in same if x.operation.startswith("bare scan")), None)
        kind = t.operation.split(":")[0]
        peer = next((x.median_ms for x in same if x.operation.startswith(kind + ":") and "pandas" in x.operation), None)
        r_scan = f"{t.median_ms / scan:.2f}" if scan else ""
        r_peer = f"{t.median_ms / peer:.2f}" if peer and ":" in t.operation else ""
        rows.append(f"| {t.size:,} | {t.operation} | {t.median_ms:.1f} | {r_scan} | {r_peer} | {t.check} |")
    return "\n".join(rows)


def _size(text: str) -> int:
    return int(float(text))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1e4,1e5,1e6", help="account counts, comma-separated (default 1e4,1e5,1e6)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per operation after one warm-up (default 5)")
    ap.add_argument("--out", default=None, help="Markdown file for the table (default benchmarks/results-<date>.md)")
    ap.add_argument("--no-app", action="store_true", help="skip the AppTest / RSS measurements")
    ap.add_argument("--no-backtest", action="store_true", help="skip the backtest timing")
    ap.add_argument("--app-runs-1e6", type=int, default=1,
                    help="Tuning reruns timed at 1e6+ accounts (each reruns the draft's backtest; default 1)")
    ap.add_argument("--app-child", type=int, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.app_child is not None:
        print(json.dumps(app_child(a.app_child, a.runs)))
        return 0
    try:
        sizes = [_size(s) for s in a.sizes.split(",") if s.strip()]
    except ValueError:
        print(f"--sizes: expected numbers like 1e4,1e5, found {a.sizes!r}", file=sys.stderr)
        return 1
    if a.runs < 1 or not sizes or min(sizes) < 1:
        print("--runs and every size must be at least 1", file=sys.stderr)
        return 1
    timings: list[Timing] = []
    facts, apps = [], []
    for n in sizes:
        print(f"size {n:,}", file=sys.stderr)
        t, f = bench_size(n, a.runs, log=lambda s: print(s, file=sys.stderr), backtest=not a.no_backtest)
        timings += t
        facts.append(f)
        gc.collect()
        if not a.no_app:
            r = app_bench(n, a.runs if n < 10**6 else min(a.runs, a.app_runs_1e6))
            apps.append(r)
            print(f"    app: {r}", file=sys.stderr)
            if "rerun_ms" in r:
                timings.append(Timing(n, "Tuning page rerun after a slider change (AppTest, scripts compiled once "
                                         "as on a server)", r["rerun_ms"], a.runs))
            if "rerun_apptest_ms" in r:
                timings.append(Timing(n, "Tuning page rerun after a slider change (AppTest recompiling the scripts "
                                         "on every run)", r["rerun_apptest_ms"], a.runs))
    text = render(timings, facts, apps, a.runs)
    print(text)
    path = Path(a.out) if a.out else REPO / "benchmarks" / f"results-{date.today():%Y-%m-%d}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    print(f"written to {path}", file=sys.stderr)
    return 0


def targets(timings: list[Timing], facts: list[dict], apps: list[dict]) -> list[str]:
    """The issue's targets, each with the measured figure and PASS / FAIL."""
    def get(n: int, start: str) -> float | None:
        return next((t.median_ms for t in timings if t.size == n and t.operation.startswith(start)), None)

    out = []
    for n in sorted({t.size for t in timings}):
        scan = get(n, "bare scan")
        w, t = get(n, "weight change: tier counts + ARR (patterns)"), get(n, "threshold change: tier counts + ARR (patterns)")
        tp = get(n, "threshold change: tier counts + ARR (pandas")
        if scan and w is not None:
            out.append(f"| {n:,} | weight change / bare scan <= 1.0 | {w / scan:.2f} | {'PASS' if w <= scan else 'FAIL'} |")
        if scan and t is not None:
            out.append(f"| {n:,} | threshold change / bare scan <= 2.0 | {t / scan:.2f} | "
                       f"{'PASS' if t <= 2 * scan else 'FAIL'} |")
        if tp and t is not None:
            out.append(f"| {n:,} | threshold change / pandas peer <= 0.5 | {t / tp:.2f} | "
                       f"{'PASS' if t <= tp / 2 else 'FAIL'} |")
    for f in facts:
        out.append(f"| {f['size']:,} | chart marks <= {MAX_CHART_POINTS:,} | {f.get('chart_marks', 'n/a')} | "
                   f"{'PASS' if f.get('chart_marks', 0) <= MAX_CHART_POINTS else 'FAIL'} |")
    limits = {10**5: 150.0, 10**6: 500.0}
    for r in apps:
        if r["size"] in limits and "rerun_ms" in r:
            out.append(f"| {r['size']:,} | Tuning rerun (scripts compiled once) < {limits[r['size']]:.0f} ms | {r['rerun_ms']:.0f} ms | "
                       f"{'PASS' if r['rerun_ms'] < limits[r['size']] else 'FAIL'} |")
        if r["size"] >= 10**6 and "rss_loaded_mb" in r:
            grow = max(r.get("rss_session_2_mb", 0), r.get("rss_session_3_mb", 0)) - r["rss_after_reruns_mb"]
            out.append(f"| {r['size']:,} | app RSS loaded < 1,500 MB | {r['rss_loaded_mb']:,.0f} MB | "
                       f"{'PASS' if r['rss_loaded_mb'] < 1500 else 'FAIL'} |")
            out.append(f"| {r['size']:,} | RSS not growing per extra session | {grow:+,.0f} MB | "
                       f"{'PASS' if grow < 100 else 'FAIL'} |")
    if not out:
        return []
    return ["", "## Targets (issue 6)", "", "| size | target | measured | |", "|---:|---|---:|---|", *out]


def render(timings: list[Timing], facts: list[dict], apps: list[dict], runs: int) -> str:
    lines = [f"# riskcore benchmark, {date.today():%Y-%m-%d}", "",
             f"Machine: {os.cpu_count()} cores; median of {runs} runs after one warm-up (backtest: fewer, see "
             "the row). Floor (bare scan) = `SELECT count(*), SUM(...)` over the signal columns the churn "
             "rules read plus ARR (COUNT for segment, stage) from the signals table. `check`: the result "
             "was compared in this run (`= full`: equal to the per-account scored table; `= patterns`: the "
             "pandas peer's tier counts equal riskcore's).", "", table(timings), *targets(timings, facts, apps), "",
             "## One-off costs per size (not repeated on a slider change)", "",
             "| size | accounts scored | load s | signals s | firings ms | pattern index ms | patterns | "
             "pandas peer fetch ms | chart marks |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for f in facts:
        lines.append(f"| {f['size']:,} | {f['accounts_scored']:,} | {f['load_ms'] / 1000:.1f} | "
                     f"{f['signals_ms'] / 1000:.1f} | {f['firings_ms']:.0f} | {f['index_ms']:.0f} | {f['patterns']:,} | "
                     f"{f['peer_fetch_ms']:.0f} | {f.get('chart_marks', '')} |")
    if apps:
        lines += ["", "## The app (AppTest, child process)", "",
                  "| size | first load s | Tuning rerun ms (scripts compiled once) | Tuning rerun ms (AppTest "
                  "recompiling) | RSS loaded MB | RSS after reruns MB | RSS 2nd session MB | RSS 3rd session MB | "
                  "errors |", "|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for r in apps:
            def g(k, fmt="{:.0f}"):
                return fmt.format(r[k]) if k in r else "n/a"
            lines.append(f"| {r['size']:,} | {g('first_load_s', '{:.1f}')} | {g('rerun_ms')} | {g('rerun_apptest_ms')} | "
                         f"{g('rss_loaded_mb')} | "
                         f"{g('rss_after_reruns_mb')} | {g('rss_session_2_mb')} | {g('rss_session_3_mb')} | "
                         f"{'; '.join(map(str, r.get('errors', [])))[:200]} |")
        lines.append("")
        for r in apps:
            if "rerun_ms" in r:
                lines.append(f"- {r['size']:,}: of a {r['rerun_ms']:.0f} ms rerun, the draft's backtest (`run_backtest`, "
                             f"Tuning accuracy panel) took {r.get('rerun_backtest_ms', float('nan')):.0f} ms and "
                             f"the full per-account score (`score`) {r.get('rerun_score_ms', float('nan')):.0f} ms "
                             "(medians)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
