"""Concurrent users: one real `streamlit run app.py` server and N real browser sessions (default 20: one
headless Chromium, one browser context per session) on the Tuning page at once, over loopback.

Run with `python -m pytest --run-load -m load -s tests/test_load.py` (not in the default run).
Environment: LOAD_SESSIONS (20, at most 40), LOAD_SECONDS (60), LOAD_ACCOUNTS (3000). Prints the figures
quoted in the README and docs/SECURITY.md §10.

Each session moves the `weight:usage_drop` slider with the keyboard on its thumb (PageUp/PageDown,
arrow keys) between two values of its own (disjoint across sessions), waits for its rerun to finish,
and at the end saves its draft as a version whose note names the session and value. The wait reads
the app's own websocket protocol in the browser (Streamlit's protobuf messages, parsed with the
installed `streamlit.proto`): the slider's rerun request carrying the value, then the `script_finished`
message of that run; then the page must draw the score histogram recorded for that value in warm-up.

Checks: no exception or error element in any session (in the protocol and on the page) and no
traceback in the server's log; every session's page shows its own value and draws its own
figure; the server-side draft (the page's TOML export) holds the session's last value; every save is
in the version store with its session's value; the data is loaded once (RISKCORE_LOAD_LOG, written by
riskcore.workspace.log_load); the server's RSS grows less than RSS_GROWTH_MB from warm-up to the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import statistics
import time
from pathlib import Path

import pytest
from conftest import CHROMIUM_ARGS, streamlit_server

pytestmark = pytest.mark.load

ROOT = Path(__file__).resolve().parent.parent
RULE = "usage_drop"
SESSIONS = int(os.environ.get("LOAD_SESSIONS", "20"))
SECONDS = float(os.environ.get("LOAD_SECONDS", "60"))
ACCOUNTS = int(os.environ.get("LOAD_ACCOUNTS", "3000"))
RSS_GROWTH_MB = 150  # allowed server RSS growth from warm-up to the end
SHOTS = Path(os.environ.get("RISKCORE_SCREENSHOT_DIR") or ROOT / "screenshots" / "tmp")  # a failed session's page
RUN_TIMEOUT = 180.0  # seconds for one rerun (or page load) to finish before the session is failed
HISTOGRAM_JS = """(arg) => {
    const el = document.querySelector('.st-key-score_histogram .js-plotly-plot');
    if (!el || !el._fullData || !el._fullData.length) return false;
    const y = JSON.stringify(Array.from(el._fullData[0].y).map(Number));
    return arg.equal ? y === arg.y : y !== arg.y;
}"""


def values(i: int) -> tuple[int, int]:
    """Session i's two slider values: 21..30 / 31..40 for i < 10, 41..50 / 51..60 for 10 <= i < 20, ...
    (disjoint across sessions, never the default 20, one PageUp/PageDown apart)."""
    a = 21 + i % 10 + 20 * (i // 10)
    return a, a + 10


def _bars(spec: str) -> str:
    """The draft bars (trace 0's y) of a Plotly figure as Streamlit sends it (plain list or base64
    typed array), as JSON: the form HISTOGRAM_JS reads from the drawn chart."""
    import base64

    import numpy as np
    y = json.loads(spec)["data"][0]["y"]
    if isinstance(y, dict):
        y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"])).tolist()
    return json.dumps([int(v) if float(v).is_integer() else float(v) for v in y], separators=(",", ":"))


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(d))
    return kids


def _tree(pid: int) -> list[int]:
    """pid and all its descendants."""
    kids, out, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def _proc_mb(pids: list[int], file: str, field: str) -> float:
    """Sum of one kB field of /proc/<pid>/<file> over these processes (gone ones count 0), in MB."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
    return total / 1024


def _rss_mb(pids: list[int]) -> float:
    return _proc_mb(pids, "status", "VmRSS")


def _pss_mb(pids: list[int]) -> float:
    """Proportional set size (shared pages split between the processes sharing them): a browser's
    processes share a lot, so their summed RSS would overstate its memory."""
    return _proc_mb(pids, "smaps_rollup", "Pss")


def _cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _chromium(pid: int) -> list[int]:
    return [q for q in _tree(pid) if "chromium" in _cmdline(q)]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@contextlib.contextmanager
def serve(tmp: Path):
    """`streamlit run app.py` on a free loopback port; yields (url, process, server log path, load log path)."""
    load_log = tmp / "loads.log"
    env = dict(os.environ, RISKCORE_SAMPLE_ACCOUNTS=str(ACCOUNTS), RISKCORE_HOME=str(tmp / "rulesets"),
               RISKCORE_LOAD_LOG=str(load_log))
    env.pop("RISKCORE_DATA", None)
    with streamlit_server(tmp / "server.log", env, start_timeout=120) as (url, proc):
        yield url, proc, tmp / "server.log", load_log


class Session:
    """One user in its own browser context: its websocket messages, its moves, what went wrong."""

    def __init__(self, i: int, page):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        self.i, self.page = i, page
        self.values = values(i)
        self.events: list[tuple[float, str, object]] = []  # (time, "sent" | "finished", slider value | status)
        self.changed = asyncio.Event()
        self.problems: list[str] = []
        self.hist: dict[int, str] = {}  # slider value -> the histogram's bars the server drew for it
        self.figure = ""  # the histogram's bars in the last figure the server sent this page
        self.rerun_ms: list[float] = []  # key press -> the run's script_finished message in the browser
        self.shown_ms: list[float] = []  # key press -> the page draws the value's histogram
        self.moves = 0
        self.last: int | None = None
        self.saved: int | None = None
        self.early = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN")
        page.on("websocket", self._on_websocket)
        page.on("pageerror", lambda e: self.problems.append(f"session {i}: page error: {e}"))

    # ---- the Streamlit protocol, as the browser sends and receives it --------------------------------

    def _on_websocket(self, ws) -> None:
        if "/_stcore/stream" not in ws.url:
            return
        ws.on("framesent", self._sent)
        ws.on("framereceived", self._received)

    def _sent(self, payload) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        if isinstance(payload, str):
            return
        msg = BackMsg.FromString(payload)
        if msg.WhichOneof("type") != "rerun_script":
            return
        value = None
        for w in msg.rerun_script.widget_states.widgets:
            if w.id.endswith(f"-weight:{RULE}") and w.WhichOneof("value") == "double_array_value":
                value = int(w.double_array_value.data[0])
        self._event("sent", value)

    def _received(self, payload) -> None:
        from streamlit.proto.Alert_pb2 import Alert
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        if isinstance(payload, str):
            return
        msg = ForwardMsg.FromString(payload)
        kind = msg.WhichOneof("type")
        if kind == "script_finished":
            self._event("finished", msg.script_finished)
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            el = msg.delta.new_element
            if el.WhichOneof("type") == "plotly_chart" and el.plotly_chart.id.endswith("-score_histogram"):
                self.figure = _bars(el.plotly_chart.spec)
            elif el.WhichOneof("type") == "exception":
                self.problems.append(f"session {self.i}: exception {el.exception.type}: {el.exception.message}")
            elif el.WhichOneof("type") == "alert" and el.alert.format == Alert.ERROR:
                self.problems.append(f"session {self.i}: error message: {el.alert.body}")

    def _event(self, kind: str, value) -> None:
        self.events.append((time.perf_counter(), kind, value))
        self.changed.set()

    def mark(self) -> int:
        return len(self.events)

    async def wait_run(self, mark: int, value: int | None = None) -> float:
        """Time of the script_finished of a run requested after `mark` (carrying slider `value`, if given)."""
        deadline = time.perf_counter() + RUN_TIMEOUT
        while True:
            self.changed.clear()
            ev = self.events
            sent = next((k for k in range(mark, len(ev)) if ev[k][1] == "sent"
                         and (value is None or ev[k][2] == value)), None)
            if sent is not None:
                done = next((ev[k][0] for k in range(sent + 1, len(ev)) if ev[k][1] == "finished"
                             and ev[k][2] != self.early), None)
                if done is not None:
                    return done
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"session {self.i}: no finished run for value {value} in {RUN_TIMEOUT:.0f} s")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)

    # ---- the page -----------------------------------------------------------------------------------

    @property
    def thumb(self):
        return self.page.locator(f".st-key-weight-{RULE}").get_by_role("slider")

    async def drawn(self, value: int) -> None:
        """The figure the server sent for `value` is this session's figure for it; wait until it is drawn."""
        if not self.figure:
            raise AssertionError(f"session {self.i}: no histogram received")
        if value not in self.hist:
            self.hist[value] = self.figure
        elif self.figure != self.hist[value]:
            self.problems.append(f"session {self.i}: value {value} drew {self.figure}, earlier {self.hist[value]}")
        await self.page.wait_for_function(HISTOGRAM_JS, arg={"equal": True, "y": self.figure}, polling=100,
                                          timeout=RUN_TIMEOUT * 1000)

    async def open(self, url: str) -> None:
        mark = self.mark()
        await self.page.goto(f"{url}/tuning", timeout=RUN_TIMEOUT * 1000)
        await self.wait_run(mark)
        await self.page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]",
                                          timeout=RUN_TIMEOUT * 1000)
        await self.drawn(int(await self.thumb.input_value()))

    async def step(self, target: int) -> tuple[float, int]:
        """One key press towards `target`; waits for its run; (press time, value sent)."""
        cur = int(await self.thumb.input_value())
        if abs(target - cur) >= 10:
            key = "PageUp" if target > cur else "PageDown"
        else:
            key = "ArrowRight" if target > cur else "ArrowLeft"
        mark, t0 = self.mark(), time.perf_counter()
        await self.thumb.press(key)
        now = int(await self.thumb.input_value())
        self.last = now
        done = await self.wait_run(mark, now)
        return done - t0, now

    async def move_to(self, target: int, timed: bool) -> None:
        t0 = time.perf_counter()
        while int(await self.thumb.input_value()) != target:
            ms, _ = await self.step(target)
            if timed:
                self.rerun_ms.append(ms * 1000)
        if timed:
            await self.drawn(target)  # this session's own figure for its own value
            self.shown_ms.append((time.perf_counter() - t0) * 1000)
            self.moves += 1
            got = int(await self.thumb.input_value())
            if got != target:
                self.problems.append(f"session {self.i}: slider shows {got}, this session set {target}")

    async def warm_up(self, url: str) -> None:
        a, b = self.values
        await self.open(url)
        for v in (a, b, a):
            await self.move_to(v, timed=False)
            await self.drawn(v)
        if self.hist[a] == self.hist[b]:
            raise AssertionError(f"session {self.i}: values {a} and {b} draw the same histogram")

    async def drive(self, deadline: float) -> None:
        k = 0
        while time.perf_counter() < deadline:
            await self.move_to(self.values[(k + 1) % 2], timed=True)
            k += 1

    async def check_and_save(self) -> None:
        """The server-side draft (the TOML export) holds the last value; then save it as a version."""
        from riskcore.rules import load_ruleset
        page = self.page
        async with page.expect_download(timeout=RUN_TIMEOUT * 1000) as info:
            await page.locator(".st-key-export_toml button").click()
        text = Path(await (await info.value).path()).read_text(encoding="utf-8")
        got = load_ruleset(text).rule(RULE).points
        if got != self.last:
            self.problems.append(f"session {self.i}: server draft has {got}, this session set {self.last}")
        note = page.locator(".st-key-save_note input")
        mark = self.mark()
        await note.fill(f"load session {self.i} value {self.last}")
        await note.press("Enter")
        await self.wait_run(mark)
        await page.locator(".st-key-save_version button").click()
        saved = page.get_by_text(re.compile(r"^Saved as v\d+\.$"))
        await saved.wait_for(timeout=RUN_TIMEOUT * 1000)
        self.saved = int(re.search(r"v(\d+)", await saved.inner_text()).group(1))
        await page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]",
                                     timeout=RUN_TIMEOUT * 1000)
        for sel in ("[data-testid=stException]", "[data-testid=stAlertContentError]"):
            if await page.locator(sel).count():
                self.problems.append(f"session {self.i}: {sel} on the page: "
                                     f"{(await page.locator(sel).first.inner_text())[:300]}")

    async def guarded(self, coro) -> None:
        try:
            await coro
        except Exception as e:  # noqa: BLE001 - reported by the test with the session number
            self.problems.append(f"session {self.i}: {type(e).__name__}: {str(e)[:500]}")
            with contextlib.suppress(Exception):
                await self.page.screenshot(path=str(SHOTS / f"load-session-{self.i}.png"), full_page=True)


async def _run(url: str, server_pid: int) -> dict:
    from playwright.async_api import async_playwright
    fig: dict = {"rss_start": _rss_mb(_tree(server_pid)), "server_procs": len(_tree(server_pid))}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        contexts = [await browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
                    for _ in range(SESSIONS)]
        for c in contexts:
            c.set_default_timeout(RUN_TIMEOUT * 1000)
        sessions = [Session(i, await c.new_page()) for i, c in enumerate(contexts)]
        t0 = time.perf_counter()
        await asyncio.gather(*(s.guarded(s.warm_up(url)) for s in sessions))
        fig["warm_s"] = time.perf_counter() - t0
        fig["rss_warm"] = _rss_mb(_tree(server_pid))
        problems = [e for s in sessions for e in s.problems]
        if not problems:
            peak = [fig["rss_warm"]]

            async def sample() -> None:
                while True:
                    await asyncio.sleep(1)
                    peak.append(_rss_mb(_tree(server_pid)))

            sampler = asyncio.create_task(sample())
            cpu0 = _cpu_s(_tree(server_pid)), _cpu_s(_chromium(os.getpid()))
            deadline = time.perf_counter() + SECONDS
            await asyncio.gather(*(s.guarded(s.drive(deadline)) for s in sessions))
            fig["timed_s"] = time.perf_counter() - deadline + SECONDS
            fig["server_cpu"] = _cpu_s(_tree(server_pid)) - cpu0[0]
            fig["chromium_cpu"] = _cpu_s(_chromium(os.getpid())) - cpu0[1]
            await asyncio.gather(*(s.guarded(s.check_and_save()) for s in sessions))
            sampler.cancel()
            fig["rss_peak"] = max(peak)
        fig["rss_end"] = _rss_mb(_tree(server_pid))
        chromium = _chromium(os.getpid())
        fig["chromium_procs"] = len(chromium)
        fig["renderers"] = sum("--type=renderer" in _cmdline(q) for q in chromium)
        fig["chromium_pss"] = _pss_mb(chromium)
        fig["browsers"] = sum("--type=" not in _cmdline(q) for q in chromium)
        await browser.close()
    fig["sessions"] = sessions
    return fig


def test_concurrent_browser_sessions(tmp_path):
    from riskcore.rules import load_ruleset
    from riskcore.versions import Library

    assert 1 <= SESSIONS <= 40, "LOAD_SESSIONS: 1..40 (each session needs two slider values of its own)"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with serve(tmp_path) as (url, proc, log_path, load_log):
        fig = asyncio.run(_run(url, proc.pid))
    stderr = log_path.read_text(errors="replace")  # stdout and stderr
    sessions: list[Session] = fig["sessions"]

    problems = [e for s in sessions for e in s.problems]
    assert problems == [], "\n".join(problems[:20])
    assert "Traceback" not in stderr, stderr[-3000:]
    assert all(s.moves >= 1 for s in sessions), [s.moves for s in sessions]

    loads = load_log.read_text().splitlines() if load_log.exists() else []
    assert len(loads) == 1 and loads[0].split()[0] == str(proc.pid), f"data loaded {len(loads)} times: {loads}"

    # every session's save is there, with its own note and its own last value
    vs = Library(tmp_path / "rulesets").versions("sample")  # the sample's versions (rule sets are per dataset)
    by_number = {v.number: v for v in vs.versions()}
    for s in sessions:
        assert s.last in s.values, (s.i, s.last, s.values)
        v = by_number.get(s.saved)
        assert v is not None and v.note == f"load session {s.i} value {s.last}", (s.i, s.saved, v)
        assert load_ruleset(vs.text(s.saved)).rule(RULE).points == s.last, (s.i, s.saved)
    assert len({s.saved for s in sessions}) == SESSIONS

    reruns = sorted(t for s in sessions for t in s.rerun_ms)
    shown = sorted(t for s in sessions for t in s.shown_ms)

    def p95(xs: list[float]) -> float:
        return xs[int(0.95 * (len(xs) - 1))]

    print(f"\nload test: {SESSIONS} browser sessions ({fig['browsers']} Chromium, {fig['chromium_procs']} processes, "
          f"{fig['renderers']} renderers, {fig['chromium_pss']:.0f} MB PSS), {ACCOUNTS:,} accounts, "
          f"{fig['timed_s']:.0f} s timed after {fig['warm_s']:.0f} s warm-up; {len(reruns)} slider reruns "
          f"({len(reruns) / fig['timed_s']:.1f}/s, {min(s.moves for s in sessions)}-{max(s.moves for s in sessions)} "
          f"per session); rerun (key press -> script_finished) median {statistics.median(reruns):.0f} ms, "
          f"p95 {p95(reruns):.0f} ms; page drawn median {statistics.median(shown):.0f} ms, p95 {p95(shown):.0f} ms; "
          f"data loaded {len(loads)}x; server RSS ({fig['server_procs']} process) start {fig['rss_start']:.0f} MB, "
          f"after warm-up {fig['rss_warm']:.0f} MB, peak {fig['rss_peak']:.0f} MB, end {fig['rss_end']:.0f} MB; "
          f"CPU over the timed phase: server {fig['server_cpu']:.0f} s, Chromium {fig['chromium_cpu']:.0f} s "
          f"({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}); {SESSIONS} versions saved")
    assert fig["rss_end"] - fig["rss_warm"] < RSS_GROWTH_MB, (fig["rss_warm"], fig["rss_end"])
