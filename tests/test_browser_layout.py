"""Layout and display in headless Chromium (marker `browser`; issue 14, items 9-12).

Every page at 1440 and 800 px (the width of a laptop with the sidebar open): no KPI or metric value
or label cut with an ellipsis ("$14...", "Hi..."), no horizontal page scroll, a screenshot of each
(`<page>-<width>.png` in $RISKCORE_SCREENSHOT_DIR, else screenshots/tmp: look at them). At 1440 px
the columns a user decides on are in view without scrolling, and a chosen Tier chip reads "high".
The favicon is served by the app and nothing is requested from another host. An uploaded table
shaped like a real export (no id, name, owner or segment column, blank numeric cells, 1,200 rows)
shows no raw None / nan / NaN / NaT / null and no upload cache name on any page, counts with
thousands separators, SLAs in days.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import csv
import json
import random
import re
import urllib.request

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from test_browser import _shots, browser, choose_many, open_first_row, serve, settle  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

PAGES = {"overview": "", "accounts": "accounts", "tuning": "tuning", "calibration": "calibration", "data": "data"}
RAW = re.compile(r"(?<![\w-])(None|nan|NaN|NaT|null|<NA>)(?![\w-])")
CACHE_NAME = re.compile(r"-[0-9a-f]{16}\.(csv|tsv|txt|parquet|xlsx)")
# a count of 1,000 or more written without separators (years 1900-2100 and dates are not counts)
BARE_COUNT = re.compile(r"(?<![\w.,/:\-])\d{4,}(?![\w.,/:\-%])")
EXPORT_ROWS = 1200

# every metric whose value or label is cut: a descendant with text-overflow: ellipsis that overflows
TRUNCATED_JS = """() => Array.from(document.querySelectorAll(
    '[data-testid=stMetricValue], [data-testid=stMetricLabel]')).filter(m =>
    [m, ...m.querySelectorAll('*')].some(e => getComputedStyle(e).textOverflow === 'ellipsis'
                                             && e.scrollWidth > e.clientWidth + 1)).map(m => m.innerText)"""
# pairs of elements (chart annotations) whose boxes overlap
OVERLAPS_JS = """sel => { const r = Array.from(document.querySelectorAll(sel)).map(e => [e.textContent, e.getBoundingClientRect()]);
    const out = [];
    for (let i = 0; i < r.length; i++) for (let j = i + 1; j < r.length; j++) {
        const [a, b] = [r[i][1], r[j][1]];
        if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) out.push([r[i][0], r[j][0]]); }
    return out }"""
# widget labels that take more than one line
WRAPPED_JS = """sel => Array.from(document.querySelectorAll(sel)).filter(e => {
    const line = parseFloat(getComputedStyle(e).lineHeight) || 20; return e.getBoundingClientRect().height > 1.6 * line })
    .map(e => e.innerText)"""
# what a dataframe shows in its visible region (glide renders it as an accessible table)
CELLS_JS = """() => Array.from(document.querySelectorAll('[data-testid=stDataFrame] th, [data-testid=stDataFrame] td'))
    .map(e => e.innerText)"""
# a dataframe's rendered header names (the visible region; the last one may be cut off), whether it
# scrolls sideways, and its right edge
GRID_JS = """sel => { const k = document.querySelector(sel);
    const d = k.querySelector('[data-testid=stDataFrame]');
    const s = d.querySelector('.dvn-scroller');
    return {names: Array.from(d.querySelectorAll('th')).map(t => t.innerText.trim()),
            scrolls: s.scrollWidth > s.clientWidth + 1, right: d.getBoundingClientRect().right} }"""


RAW_WORDS = {"None", "nan", "NaN", "NaT", "null", "<NA>"}
GROUPED = {"localized", "dollar", "euro", "yen", "accounting", "compact", "percent"}  # formats with separators


class SentTables:
    """The dataframes and tables the server sends this page (ForwardMsgs on its websocket). A grid
    draws its cells on a canvas, so the DOM does not show a blank cell's text; what it draws is the
    data received and the element's placeholder (unset: "None")."""

    def __init__(self, pg):
        self.payloads: list[bytes] = []
        pg.on("websocket", lambda ws: ws.on("framereceived", self._got))

    def _got(self, payload) -> None:
        if isinstance(payload, bytes):
            self.payloads.append(payload)

    def problems(self) -> list[str]:
        """What the tables sent since the last call would show raw: blank cells without a placeholder,
        None / nan words, upload cache names, numbers of 1,000 and more without thousands separators."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        found = []
        for payload in self.payloads_and_clear():
            msg = ForwardMsg.FromString(payload)
            if not (msg.HasField("delta") and msg.delta.HasField("new_element")):
                continue
            el = msg.delta.new_element
            kind = el.WhichOneof("type")
            if kind not in ("dataframe", "table"):
                continue
            proto = getattr(el, kind)
            table = pa.ipc.open_stream(proto.arrow_data.data).read_all()
            shown = [c for c in (list(proto.column_order) if kind == "dataframe" else []) or table.column_names
                     if c in table.column_names and not c.startswith("__index_level")]
            placeholder = proto.placeholder if kind == "dataframe" and proto.HasField("placeholder") else None
            config = json.loads(proto.columns or "{}") if kind == "dataframe" else {}
            for name in shown:
                col = table.column(name)
                fmt = config.get(name, {}).get("type_config", {}).get("format")
                big = pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
                if big and col.length() - col.null_count and pc.max(pc.abs(col)).as_py() >= 1000 and fmt not in GROUPED:
                    found.append(f"{kind} {shown}: column {name!r} shows numbers of 1,000 and more without "
                                 f"separators (format {fmt!r})")
                if col.null_count and (placeholder is None or placeholder in RAW_WORDS):
                    found.append(f"{kind} {shown}: {col.null_count} blank cells in {name!r} drawn as 'None'")
                if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
                    words = {str(v) for v in pc.unique(col).to_pylist() if v is not None}
                    raw = (words & RAW_WORDS) | {w for w in words if CACHE_NAME.search(w)}
                    if raw:
                        found.append(f"{kind} {shown}: column {name!r} shows {sorted(raw)}")
        return found

    def payloads_and_clear(self) -> list[bytes]:
        out, self.payloads = self.payloads, []
        return out


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serve(tmp_path_factory) as url:
        yield url


def new_page(browser, width: int):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    return context, context.new_page()


def wait_drawn(pg) -> None:
    pg.wait_for_selector("[data-testid=stMainBlockContainer] h1", timeout=120_000)
    settle(pg)


def go(pg, url: str) -> None:
    pg.goto(url)
    wait_drawn(pg)


def navigate(pg, title: str) -> None:
    """Another page in the same session (a sidebar link, as a user clicks: the upload stays loaded)."""
    pg.locator("[data-testid=stSidebarNav] a", has_text=title).first.click()
    wait_drawn(pg)


def no_exception(pg, where: str) -> None:
    assert pg.locator("[data-testid=stException]").count() == 0, where


def fits(pg, where: str) -> None:
    """No page-wide horizontal scroll and no metric cut with an ellipsis."""
    w = pg.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert w[0] <= w[1], f"{where} scrolls horizontally: {w}"
    assert pg.evaluate(TRUNCATED_JS) == [], f"{where}: metrics cut with an ellipsis"


def in_view(pg, key: str, names: list[str], width: int = 1440) -> None:
    """The named columns of the dataframe in the element with key `key` are drawn, and none is the
    last drawn column of a grid that scrolls (that one may be cut at the edge); the grid ends inside
    the window."""
    sel = f".st-key-{key}"
    pg.wait_for_function("s => document.querySelectorAll(s + ' [data-testid=stDataFrame] th').length > 0",
                         arg=sel, timeout=30_000)
    g = pg.evaluate(GRID_JS, sel)
    assert g["right"] <= width, g
    missing = [n for n in names if n not in g["names"]]
    assert not missing, f"{key}: {missing} need horizontal scrolling (drawn: {g['names']})"
    if g["scrolls"]:
        assert g["names"][-1] not in names, f"{key}: {g['names'][-1]!r} is cut at the right edge ({g['names']})"


def shot(name: str, width: int) -> str:
    """The README's names: overview.png at 1440 px (as tests/test_browser.py), overview-800.png."""
    return f"{name}.png" if width == 1440 else f"{name}-{width}.png"


@pytest.mark.parametrize("width", [1440, 800])
def test_every_page_fits_with_the_sidebar_open(server, browser, width):  # noqa: F811
    context, pg = new_page(browser, width)
    try:
        for name, path in PAGES.items():
            go(pg, f"{server}/{path}")
            no_exception(pg, name)
            fits(pg, f"{name} at {width} px")
            pg.screenshot(path=str(_shots() / shot(name, width)))
            if name == "overview":
                assert pg.evaluate(OVERLAPS_JS, ".st-key-quadrant_chart g.annotation") == [], \
                    f"quadrant labels collide at {width} px"
            if name == "tuning":
                assert pg.evaluate(WRAPPED_JS, "[class*=st-key-threshold] [data-testid=stWidgetLabel]") == [], \
                    f"threshold labels wrap at {width} px ('thr/esh/old')"
            if name == "accounts":
                open_first_row(pg, "accounts_table")
                pg.wait_for_selector(".st-key-history_chart .js-plotly-plot", timeout=60_000)
                no_exception(pg, "account view")
                fits(pg, f"account view at {width} px")
                pg.screenshot(path=str(_shots() / shot("account", width)))
    finally:
        context.close()


def test_sidebar_starts_collapsed_on_a_narrow_window(server, browser):  # noqa: F811
    """initial_sidebar_state="auto": collapsed at 768 px and below (Streamlit's breakpoint), open above."""
    for width, collapsed in ((760, "true"), (1024, "false")):
        context, pg = new_page(browser, width)
        try:
            go(pg, f"{server}/")
            assert pg.locator("[data-testid=stSidebar]").get_attribute("data-collapsed") == collapsed, width
        finally:
            context.close()


def test_decision_columns_in_view_at_1440(server, browser):  # noqa: F811
    context, pg = new_page(browser, 1440)
    sent = SentTables(pg)
    try:
        go(pg, f"{server}/accounts")
        in_view(pg, "accounts_table", ["account", "churn score", "tier", "top reasons", "playbook", "ARR", "renewal"])
        choose_many(pg, "f_tier", ["high"])
        chip = pg.locator(".st-key-f_tier [data-testid=stMultiSelectTagsContainer] [data-tag]").last
        assert chip.inner_text().strip() == "high"
        assert chip.evaluate("c => Array.from(c.querySelectorAll('*')).every(e => e.scrollWidth <= e.clientWidth + 1)"), \
            "the Tier chip is cut"
        caption = pg.get_by_text(re.compile(r"^[\d,]+ accounts? · ")).first.inner_text()
        assert re.match(r"^\d{1,3}(,\d{3})* accounts? · ", caption), caption
        open_first_row(pg, "accounts_table")
        in_view(pg, "pane3-account-0", ["rule", "points", "signal value"])  # the account's fired rules
        assert sent.problems() == []  # e.g. a rule that fired on a blank value: its signal value is a dash, not nan
        playbook = pg.locator("[data-testid=stMainBlockContainer]").inner_text()
        assert re.search(r"SLA \d[\d,.]* (days?|hours?)", playbook), playbook
        assert not re.search(r"\d h\b", playbook), "an SLA or step deadline in hours ('720 h')"
    finally:
        context.close()


def test_favicon_is_served_locally_and_nothing_leaves_the_machine(server, browser):  # noqa: F811
    context, pg = new_page(browser, 1440)
    outside: list[str] = []

    def block(route):  # the app must work with no network: record and refuse anything off this machine
        outside.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/]).*"), block)
    try:
        go(pg, f"{server}/")
        navigate(pg, "Accounts")
        icons = pg.evaluate("() => Array.from(document.querySelectorAll('link[rel*=icon]')).map(l => l.href)")
        assert icons and all(i.startswith(server) for i in icons), icons
        with urllib.request.urlopen(icons[0], timeout=10) as r:
            assert r.status == 200 and r.read(8) == b"\x89PNG\r\n\x1a\n"
        assert outside == []
    finally:
        context.close()


def _export(path) -> None:
    """A table shaped like a public churn export: no id, name, owner, segment or value column;
    spaces in the names; TRUE/FALSE churn; blank cells in two numeric columns."""
    rng = random.Random(14)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["State", "Account length", "International plan", "Total day charge", "Customer service calls",
                    "Churn"])
        for _ in range(EXPORT_ROWS):
            plan = rng.random() < 0.1
            calls = rng.choice([0, 1, 1, 2, 2, 3, 4, 5, 6])
            day = round(rng.uniform(5, 60), 2)
            churn = rng.random() < 0.05 + 0.35 * plan + 0.08 * (calls >= 4) + 0.004 * day
            w.writerow([rng.choice(["KS", "OH", "NJ"]), rng.randint(1, 240), "Yes" if plan else "No",
                        "" if rng.random() < 0.08 else day, "" if rng.random() < 0.05 else calls,
                        "TRUE" if churn else "FALSE"])


def shown_text(pg) -> tuple[str, str]:
    """(page text: main area and sidebar, dataframe cells in view)."""
    text = pg.locator("[data-testid=stMain]").inner_text() + "\n" + pg.locator("[data-testid=stSidebar]").inner_text()
    return text, "\n".join(pg.evaluate(CELLS_JS))


def no_raw_values(pg, where: str, sent: SentTables, ids: tuple[str, ...] = ()) -> None:
    """No raw blank words, cache names or unseparated counts on the page; `ids` are identifiers shown
    as written (an export without an id column numbers its rows: account 1012 is a name, not a count)."""
    assert sent.problems() == [], where
    text, cells = shown_text(pg)
    for what, s in (("page", text), ("table", cells)):
        m = RAW.search(s)
        assert m is None, f"{where}: raw {m.group(0)!r} in the {what}: ...{s[max(m.start() - 80, 0):m.end() + 80]}..."
        m = CACHE_NAME.search(s)
        assert m is None, f"{where}: the upload's cache name in the {what}: {s[max(m.start() - 40, 0):m.end()]}"
    bare = [n for n in BARE_COUNT.findall(text) if not 1900 <= int(n) <= 2100 and n not in ids]
    assert not bare, f"{where}: counts without thousands separators: {bare}"


def test_uploaded_export_shows_no_raw_blanks(server, browser, tmp_path):  # noqa: F811
    path = tmp_path / "telco.csv"
    _export(path)
    context, pg = new_page(browser, 1440)
    sent = SentTables(pg)
    try:
        go(pg, f"{server}/data")
        pg.locator(".st-key-upload input[type=file]").set_input_files(str(path))
        settle(pg)
        pg.locator(".st-key-load_upload button").first.click()
        settle(pg)
        assert pg.get_by_text("telco.csv is now active.").count() == 1
        assert f"{EXPORT_ROWS:,} rows loaded" in pg.locator("[data-testid=stMain]").inner_text()
        in_view(pg, "box-validation_report", ["severity", "message"])
        no_raw_values(pg, "data page after the upload", sent)
        pg.screenshot(path=str(_shots() / "data-upload.png"))
        pg.locator(".st-key-starter_rules button").first.click()  # a rule set that fits the table
        settle(pg)
        sidebar = pg.locator("[data-testid=stSidebar]").inner_text()
        assert "telco.csv" in sidebar and f"{EXPORT_ROWS:,} rows" in sidebar, sidebar
        for title in ("Overview", "Accounts", "Tuning", "Calibration"):
            navigate(pg, title)
            no_exception(pg, title)
            no_raw_values(pg, title, sent)
            if title == "Overview":
                kpi = pg.locator("[data-testid=stMetric]", has=pg.get_by_text("Accounts", exact=True)).first
                assert kpi.locator("[data-testid=stMetricValue]").inner_text().strip() == f"{EXPORT_ROWS:,}"
            if title == "Accounts":
                open_first_row(pg, "accounts_table")
                no_exception(pg, "account view")
                account = parse_qs(urlparse(pg.url).query).get("account", [""])[0]
                no_raw_values(pg, "account view", sent, ids=(account,))
                header = pg.locator("[data-testid=stMainBlockContainer] h2").first.inner_text().strip()
                assert header and not RAW.search(header)
                pg.screenshot(path=str(_shots() / "account-upload.png"))
            if title == "Calibration":
                assert pg.get_by_text("By segment: the data has no segment column").count() == 1
                pg.screenshot(path=str(_shots() / "calibration-upload.png"))
    finally:
        context.close()


def test_a_threshold_typed_as_14_is_saved_and_diffed_as_14(server, browser):  # noqa: F811
    """'threshold = 14.0' in the saved version and its diff for a box that said 14 (saves a version
    in this module's rule-set home: keep this test last)."""
    context, pg = new_page(browser, 1440)
    try:
        go(pg, f"{server}/tuning")
        box = pg.locator(".st-key-threshold-inactive_7d input")
        box.fill("14")
        box.press("Enter")
        settle(pg)
        pg.locator(".st-key-save_note input").fill("inactive for two weeks")
        pg.locator(".st-key-save_version button").click()
        settle(pg)
        pg.locator(".st-key-diff_a").click()
        pg.get_by_role("option", name="v1", exact=True).click()
        settle(pg)
        pg.locator(".st-key-diff_b").click()
        pg.get_by_role("option", name="v2", exact=True).click()
        settle(pg)
        diff = pg.locator("[data-testid=stCode]").last.inner_text()
        assert "+threshold = 14\n" in diff + "\n" and "-threshold = 7" in diff, diff
        assert "14.0" not in diff, diff
    finally:
        context.close()
