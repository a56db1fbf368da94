"""Concurrent users: 20 AppTest sessions at once in one process (one shared server cache), each
moving weight sliders on the Tuning page and saving its draft as a version, for a bounded time.

Run with `pytest --run-load -m load -s tests/test_load.py` (not in the default run). Environment:
LOAD_SESSIONS (20), LOAD_SECONDS (60), LOAD_ACCOUNTS (3000). Prints the figures for the README.
Checks: no exception or error element in any session; each session's draft holds exactly its own
slider values (never another session's); every saved version holds its session's value; the data
is loaded once for all sessions; RSS after the timed phase is within a bound of RSS after warm-up.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
RULE = "usage_drop"
SESSIONS = int(os.environ.get("LOAD_SESSIONS", "20"))
SECONDS = float(os.environ.get("LOAD_SECONDS", "60"))
ACCOUNTS = int(os.environ.get("LOAD_ACCOUNTS", "3000"))
RSS_GROWTH_MB = 150  # allowed growth from warm-up to the end of the timed phase


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _problems(at) -> list[str]:
    return ([f"{e.message} {' '.join(e.stack_trace[-3:])}" for e in at.exception]
            + [e.value for e in at.error])


class Session(threading.Thread):
    """One user: opens Tuning, then alternates its own two slider values until the deadline, then saves."""

    def __init__(self, i: int, start: threading.Barrier, warm: threading.Barrier, deadline: list[float]):
        super().__init__(name=f"session-{i}", daemon=True)
        self.i, self.start_barrier, self.warm, self.deadline = i, start, warm, deadline
        self.values = (i + 1, i + 41)  # disjoint across sessions: 1..20 and 41..60
        self.rerun_ms: list[float] = []
        self.errors: list[str] = []
        self.saved: int | None = None

    def _step(self, at, value: int) -> None:
        at.slider(key=f"weight:{RULE}").set_value(value)
        t = time.perf_counter()
        at.run()
        self.rerun_ms.append((time.perf_counter() - t) * 1000)
        self.errors += _problems(at)
        got = at.session_state["draft"].rule(RULE).points
        if got != value:
            self.errors.append(f"session {self.i}: draft has {got}, this session set {value}")

    def run(self) -> None:
        from streamlit.testing.v1 import AppTest
        try:
            self.start_barrier.wait()
            at = AppTest.from_file(APP, default_timeout=600)
            at.run()
            at.switch_page("pages/tuning.py").run()
            self.errors += _problems(at)
            self._step(at, self.values[0])
            self.warm.wait(timeout=900)  # every session is up: RSS baseline, then the timed phase
            k = 1
            while time.perf_counter() < self.deadline[0]:
                self._step(at, self.values[k % 2])
                k += 1
            last = self.values[(k - 1) % 2]
            at.text_input(key="save_note").set_value(f"load session {self.i} value {last}")
            at.button(key="save_version").click().run()
            self.errors += _problems(at)
            self.last = last
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.errors.append(f"session {self.i}: {type(e).__name__}: {e}")
            try:
                self.warm.abort()
            except Exception:  # noqa: BLE001
                pass


@pytest.mark.load
def test_twenty_concurrent_sessions(tmp_path, monkeypatch):
    import streamlit as st

    import riskcore.workspace as ws
    from riskcore.rules import load_ruleset
    from riskcore.versions import VersionStore

    monkeypatch.setenv("RISKCORE_SAMPLE_ACCOUNTS", str(ACCOUNTS))
    monkeypatch.setenv("RISKCORE_HOME", str(tmp_path / "rulesets"))
    monkeypatch.delenv("RISKCORE_DATA", raising=False)
    loads = []
    real_open = ws.open_store

    def counting_open(*a, **k):
        loads.append(threading.current_thread().name)
        return real_open(*a, **k)

    monkeypatch.setattr(ws, "open_store", counting_open)
    # A real server compiles each page once into one shared, locked ScriptCache; AppTest makes a new
    # cache per run, so 20 threads would compile concurrently and trip CPython 3.11's non-thread-safe
    # AST recursion check ("AST constructor recursion depth mismatch"). Share one cache, as the server does.
    import streamlit.testing.v1.local_script_runner as lsr
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    shared_cache = ScriptCache()
    monkeypatch.setattr(lsr, "ScriptCache", lambda: shared_cache)
    import streamlit.testing.v1.app_test as app_test  # its PagesManager makes a cache of its own too
    monkeypatch.setattr(app_test, "ScriptCache", lambda: shared_cache)
    st.cache_resource.clear()
    from streamlit import config
    old_details = config.get_option("client.showErrorDetails")
    config.set_option("client.showErrorDetails", "full")  # real messages in the report, not redacted
    request_cleanup = lambda: config.set_option("client.showErrorDetails", old_details)  # noqa: E731

    # The first visitor of a real server compiles the pages and imports the modules alone; do the same
    # here so the threads never race CPython 3.11's AST checks during first imports/compiles.
    from streamlit.testing.v1 import AppTest
    first = AppTest.from_file(APP, default_timeout=600)
    first.run()
    first.switch_page("pages/tuning.py").run()
    assert not _problems(first), _problems(first)

    rss_start = _rss_mb()
    start, warm = threading.Barrier(SESSIONS), threading.Barrier(SESSIONS + 1)
    deadline = [float("inf")]
    sessions = [Session(i, start, warm, deadline) for i in range(SESSIONS)]
    t0 = time.perf_counter()
    for s in sessions:
        s.start()
    try:
        warm.wait(timeout=900)
    except threading.BrokenBarrierError:  # a session failed while starting: its errors say why
        pass
    warm_s = time.perf_counter() - t0
    rss_warm = _rss_mb()
    deadline[0] = time.perf_counter() + SECONDS
    for s in sessions:
        s.join(timeout=SECONDS + 600)
    rss_end = _rss_mb()
    request_cleanup()

    errors = [e for s in sessions for e in s.errors]
    assert not any(s.is_alive() for s in sessions), "a session hung"
    assert errors == [], ([e for e in errors if "BrokenBarrier" not in e] or errors)[:10]
    assert len(loads) == 1, f"data loaded {len(loads)} times: {loads}"

    # every session's save is there, with its own value (no lost or mixed-up drafts)
    vs = VersionStore(tmp_path / "rulesets")
    saved = {v.note: v.number for v in vs.versions() if v.note.startswith("load session ")}
    assert len(saved) == SESSIONS, f"{len(saved)} of {SESSIONS} saves kept: {sorted(saved)}"
    for s in sessions:
        number = saved[f"load session {s.i} value {s.last}"]
        assert load_ruleset(vs.text(number)).rule(RULE).points == s.last

    times = sorted(t for s in sessions for t in s.rerun_ms[1:])
    p95 = times[int(0.95 * (len(times) - 1))]
    print(f"\nload test: {SESSIONS} sessions, {ACCOUNTS:,} accounts, {SECONDS:.0f} s timed; warm-up {warm_s:.1f} s; "
          f"{len(times)} slider reruns ({len(times) / SECONDS:.1f}/s); rerun median {statistics.median(times):.0f} ms, "
          f"p95 {p95:.0f} ms; data loaded {len(loads)}x; RSS start {rss_start:.0f} MB, after warm-up {rss_warm:.0f} MB, "
          f"end {rss_end:.0f} MB")
    assert rss_end - rss_warm < RSS_GROWTH_MB, (rss_warm, rss_end)
