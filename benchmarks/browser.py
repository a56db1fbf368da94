"""Felt speed (issue 18): what a user waits for in headless Chromium, at 1e5 and 1e6 accounts.

`python -m benchmarks.browser [--sizes 1e5,1e6] [--runs 7] [--out FILE]`

One `streamlit run app.py` server per size and one browser; beside it, in the same run, the floor: a
minimal Streamlit app with the Tuning page's widget count and one DuckDB query (benchmarks/floor_app.py),
doing the same interaction. Every figure is the median of `--runs` interactions after one warm-up,
timed inside the page from just before the key press or click until the script run it started has
finished and the browser has drawn the result (two animation frames after Streamlit's script state
returns to notRunning, and no new run within QUIET_MS). Prints one Markdown table: interaction, size,
median, the floor, the ratio, the target and PASS / FAIL; writes it to benchmarks/browser-<date>.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from benchmarks.server import CHROMIUM, CHROMIUM_ARGS, REPO, streamlit
from riskcore.activity import load_activity
from riskcore.db import Store
from riskcore.sample import ensure_sample

QUIET_MS = 250  # a run that starts within this long after the previous one ended belongs to the same wait
RUN_TIMEOUT_MS = 900_000  # a first page at 1e6
STEP_TIMEOUT_MS = 180_000  # one interaction; past this the run stops with the interaction named
SLIDER = "weight-usage_drop"  # the Tuning slider moved (its widget key, as the page's CSS class)
PAGES = ("Overview", "Accounts", "Tuning", "Calibration")

# Records every change of Streamlit's script state with the time it was drawn (two frames later).
OBSERVER = """
(() => {
  window.__runs = [];
  const watch = () => {
    const app = document.querySelector('[data-testid=stApp]');
    if (!app) { setTimeout(watch, 10); return; }
    const record = (value) => {
      const entry = {s: value === 'notRunning' ? 'idle' : 'running', t: performance.now(), drawn: null};
      window.__runs.push(entry);
      if (entry.s === 'idle')
        requestAnimationFrame(() => requestAnimationFrame(() => { entry.drawn = performance.now(); }));
    };
    // each record holds the value before its change: the value after it is the next record's old value
    // (or the current one), so a run that starts and ends within one task is still seen
    new MutationObserver((records) => {
      const after = records.slice(1).map(r => r.oldValue).concat([app.getAttribute('data-test-script-state')]);
      records.forEach((r, i) => { if (after[i] !== r.oldValue) record(after[i]); });
    }).observe(app, {attributes: true, attributeOldValue: true, attributeFilter: ['data-test-script-state']});
  };
  watch();
})();
"""
# Done when a run started after the mark, the last change is an idle that has been drawn, and nothing
# has started for QUIET_MS since.
SETTLED = """([mark, quiet]) => {
  const r = window.__runs.slice(mark);
  if (!r.some(x => x.s === 'running')) return null;
  const last = r[r.length - 1];
  if (last.s !== 'idle' || last.drawn === null || performance.now() - last.drawn < quiet) return null;
  return last.drawn;
}"""

TARGETS_MS = {  # (interaction, size) -> target, from issue 18
    ("Tuning slider step", 100_000): 300, ("Tuning slider step", 1_000_000): 400,
    ("page switch", 100_000): 1000, ("page switch", 1_000_000): 1500,
    ("Calibration horizon, warm", 100_000): 1000, ("Calibration horizon, warm", 1_000_000): 1500,
    ("Calibration horizon, first time", 100_000): 5000, ("Calibration horizon, first time", 1_000_000): 15000,
    ("first page of a fresh clone (sample)", 3000): 5000,
    ("load activity tables (Parquet)", 100_000): 5000, ("load activity tables (Parquet)", 1_000_000): 20000,
}


@dataclass
class Row:
    interaction: str
    size: int
    median_ms: float
    floor_ms: float | None
    runs: int
    note: str = ""

    @property
    def target(self) -> float | None:
        return TARGETS_MS.get((self.interaction, self.size))


def timed(page, action: Callable[[], None], timeout_ms: float = STEP_TIMEOUT_MS) -> float:
    """Milliseconds from just before `action` until the run it started is finished and drawn."""
    mark, t0 = page.evaluate("() => [window.__runs.length, performance.now()]")
    action()
    try:
        handle = page.wait_for_function(SETTLED, arg=[mark, QUIET_MS], timeout=timeout_ms, polling=20)
    except Exception as e:  # playwright's TimeoutError: say what was waited for
        runs = page.evaluate("(m) => window.__runs.slice(m)", mark)
        raise RuntimeError(f"no finished run within {timeout_ms / 1000:.0f} s of the action at {page.url}; "
                           f"script states seen since: {runs}") from e
    return float(handle.json_value()) - t0


def first_load(page, url: str, timeout_ms: float = RUN_TIMEOUT_MS) -> float:
    """Milliseconds from navigation start to the first page finished and drawn."""
    page.goto(url, timeout=timeout_ms)
    handle = page.wait_for_function(SETTLED, arg=[0, QUIET_MS], timeout=timeout_ms, polling=50)
    return float(handle.json_value())  # performance.now() counts from the navigation's start


def _median(samples: list[float]) -> float:
    return statistics.median(samples[1:] if len(samples) > 1 else samples)  # the first is the warm-up


def slider_steps(page, key: str, runs: int) -> list[float]:
    """Move a slider one step with the keyboard, alternately right and left; one time per press."""
    thumb = page.locator(f".st-key-{key} input[type=range]").first
    thumb.focus()
    return [timed(page, lambda i=i: page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft"))
            for i in range(runs + 1)]


def page_switches(page, names: tuple[str, ...], runs: int) -> list[float]:
    """Click through the sidebar's page links in turn; one time per switch."""
    out = []
    for i in range(runs + 1):
        name = names[(i + 1) % len(names)]
        link = page.locator("[data-testid=stSidebarNav] a", has_text=name).first
        out.append(timed(page, link.click))
    return out


def segment_clicks(page, key: str, labels: list[str], runs: int) -> list[float]:
    """Click a segmented control's options in turn; one time per click."""
    out = []
    for i in range(runs + 1):
        button = page.locator(f".st-key-{key} button", has_text=labels[i % len(labels)]).first
        out.append(timed(page, button.click))
    return out


@contextlib.contextmanager
def browser_page() -> Iterator:
    from playwright.sync_api import sync_playwright  # optional and heavy: only the benchmark needs it
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = b.new_context(viewport={"width": 1440, "height": 900})
            context.add_init_script(OBSERVER)
            yield context.new_page()
        finally:
            b.close()


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, **extra)
    env.pop("RISKCORE_DATA", None)
    return env


def measure_floor(n: int, runs: int, logs: Path) -> dict[str, float]:
    """The floor app's first page, slider step, page switch and segmented-control change at n rows."""
    with streamlit(logs / f"floor-{n}.log", _env(FLOOR_ROWS=str(n)), script=REPO / "benchmarks" / "floor_app.py",
                   start_timeout=120) as (url, _), browser_page() as page:
        out = {"first": first_load(page, url)}
        out["slider"] = _median(slider_steps(page, "a_w0", runs))
        out["switch"] = _median(page_switches(page, ("A", "B"), runs))
        on = ("A", "B")[(runs + 1) % 2].lower()  # the page the switches ended on
        out["segment"] = _median(segment_clicks(page, f"{on}_horizon", ["30", "60", "90"], runs))
    return out


def measure_app(n: int, runs: int, logs: Path, log: Callable[[str], None]) -> dict[str, float]:
    """The app at n accounts (its sample generated beforehand): first page, Tuning slider steps, page
    switches, and Calibration horizon changes (each horizon first seen, then again: warm)."""
    env = _env(RISKCORE_SAMPLE_ACCOUNTS=str(n), RISKCORE_HOME=tempfile.mkdtemp(prefix="bench-rules-"))
    with streamlit(logs / f"app-{n}.log", env, start_timeout=120) as (url, _), browser_page() as page:
        out = {"first": first_load(page, url)}
        log(f"  first page {out['first'] / 1000:.1f} s")
        out["switch_all"] = page_switches(page, PAGES, runs)  # ends on a page of PAGES; Tuning is visited
        out["switch"] = _median(out.pop("switch_all"))
        log(f"  page switch {out['switch']:.0f} ms")
        if "tuning" not in page.url:  # a click on the page shown starts no run
            timed(page, page.locator("[data-testid=stSidebarNav] a", has_text="Tuning").first.click, RUN_TIMEOUT_MS)
        page.wait_for_selector(f".st-key-{SLIDER} input[type=range]", timeout=RUN_TIMEOUT_MS)
        out["slider"] = _median(slider_steps(page, SLIDER, runs))
        log(f"  slider step {out['slider']:.0f} ms")
        timed(page, page.locator("[data-testid=stSidebarNav] a", has_text="Calibration").first.click, RUN_TIMEOUT_MS)
        labels = ["30", "60", "180"]  # 90 is the default, drawn already
        first = segment_clicks(page, "cal_horizon", labels, len(labels) - 1)  # each horizon once: first time
        out["horizon_first"] = statistics.median(first)
        out["horizon_warm"] = _median(segment_clicks(page, "cal_horizon", labels + ["90"], runs))
        log(f"  horizon first {out['horizon_first']:.0f} ms, warm {out['horizon_warm']:.0f} ms")
    return out


def measure_load(n: int, runs: int) -> tuple[float, float]:
    """Loading the sample's activity tables into a store as the app does, and the floor: DuckDB reading
    the same files into tables with nothing else (medians over `runs`)."""
    folder = ensure_sample(n)
    files = sorted(folder.glob("*.parquet")) or sorted(folder.glob("*.csv"))
    app, floor = [], []
    for _ in range(runs):
        t = time.perf_counter()
        load_activity(Store(), folder)
        app.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        con = duckdb.connect()
        for f in files:
            (con.read_parquet if f.suffix == ".parquet" else con.read_csv)(str(f)).create(f.stem)
        con.close()
        floor.append((time.perf_counter() - t) * 1000)
    return statistics.median(app), statistics.median(floor)


def fresh_clone_first_page(logs: Path) -> tuple[float, float]:
    """Seconds from `streamlit run app.py` in a fresh clone of this commit (no .cache: no sample, no
    rule sets) to its first page drawn; and the floor app's server start to first page."""
    clone = Path(tempfile.mkdtemp(prefix="riskcore-clone-")) / "repo"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    try:
        env = _env(RISKCORE_HOME=str(clone / ".cache" / "rulesets"))
        env.pop("RISKCORE_SAMPLE_ACCOUNTS", None)
        t = time.perf_counter()
        with streamlit(logs / "fresh.log", env, script=clone / "app.py", cwd=clone, start_timeout=300) as (url, _), \
                browser_page() as page:
            first_load(page, url)
            app = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        with streamlit(logs / "fresh-floor.log", _env(FLOOR_ROWS="3000"), script=REPO / "benchmarks" / "floor_app.py",
                       start_timeout=120) as (url, _), browser_page() as page:
            first_load(page, url)
            floor = (time.perf_counter() - t) * 1000
    finally:
        shutil.rmtree(clone.parent, ignore_errors=True)
    return app, floor


def table(rows: list[Row]) -> str:
    lines = ["| interaction | accounts | median | floor | ratio | target | result |", "|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        ratio = f"{r.median_ms / r.floor_ms:.1f}x" if r.floor_ms else "—"
        target = f"<= {r.target:,.0f} ms" if r.target else "—"
        verdict = "—" if r.target is None else ("PASS" if r.median_ms <= r.target else "FAIL")
        floor = f"{r.floor_ms:,.0f} ms" if r.floor_ms is not None else "—"
        lines.append(f"| {r.interaction}{' (' + r.note + ')' if r.note else ''} | {r.size:,} | {r.median_ms:,.0f} ms "
                     f"| {floor} | {ratio} | {target} | {verdict} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.browser", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1e5,1e6", help="account counts, comma-separated (default 1e5,1e6)")
    ap.add_argument("--runs", type=int, default=7, help="timed interactions after one warm-up (default 7)")
    ap.add_argument("--no-fresh", action="store_true", help="skip the fresh-clone first page")
    ap.add_argument("--out", default=None, help="Markdown file (default benchmarks/browser-<date>.md)")
    a = ap.parse_args(argv)
    try:
        sizes = [int(float(s)) for s in a.sizes.split(",") if s.strip()]
    except ValueError:
        print(f"--sizes: expected numbers like 1e5,1e6, found {a.sizes!r}", file=sys.stderr)
        return 1
    if a.runs < 1 or not sizes or min(sizes) < 1:
        print("--runs and every size must be at least 1", file=sys.stderr)
        return 1

    def log(s: str) -> None:
        print(s, file=sys.stderr, flush=True)

    logs = Path(tempfile.mkdtemp(prefix="bench-browser-"))
    rows: list[Row] = []
    if not a.no_fresh:
        app, floor = fresh_clone_first_page(logs)
        rows.append(Row("first page of a fresh clone (sample)", 3000, app, floor, 1, "server start to drawn"))
        log(f"fresh clone: {app / 1000:.1f} s (floor {floor / 1000:.1f} s)")
    for n in sizes:
        log(f"size {n:,}: sample")
        ensure_sample(n)
        load, load_floor = measure_load(n, min(a.runs, 3))
        rows.append(Row("load activity tables (Parquet)", n, load, load_floor, min(a.runs, 3)))
        log(f"  load {load / 1000:.1f} s (floor {load_floor / 1000:.1f} s)")
        floor = measure_floor(n, a.runs, logs)
        app = measure_app(n, a.runs, logs, log)
        rows += [Row("first page (sample generated)", n, app["first"], floor["first"], 1),
                 Row("Tuning slider step", n, app["slider"], floor["slider"], a.runs),
                 Row("page switch", n, app["switch"], floor["switch"], a.runs),
                 Row("Calibration horizon, warm", n, app["horizon_warm"], floor["segment"], a.runs),
                 Row("Calibration horizon, first time", n, app["horizon_first"], floor["segment"], 3)]
    text = (f"Browser benchmark {date.today():%Y-%m-%d} ({os.cpu_count()} cores; Chromium headless; medians)\n\n"
            + table(rows))
    print(text)
    path = Path(a.out) if a.out else REPO / "benchmarks" / f"browser-{date.today():%Y-%m-%d}.md"
    path.write_text(text + "\n", encoding="utf-8")
    log(f"written to {path}; server logs in {logs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
