"""Real-browser flows in headless Debian Chromium (marker `browser`; skipped without /usr/bin/chromium).

A `streamlit run app.py` subprocess serves a small sample; pages are located by test id and widget
key (`.st-key-<key>`), never by guessed CSS. Screenshots of every page at 1440x900 go to
screenshots/tmp/ (or $RISKCORE_SCREENSHOT_DIR: the committed screenshots/ are made that way).
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
from pathlib import Path

import pytest
from conftest import CHROMIUM_ARGS, streamlit_server
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
PAGES = {"overview": "", "accounts": "accounts", "tuning": "tuning", "calibration": "calibration", "data": "data"}


@contextlib.contextmanager
def serve(tmp_path_factory, **env_extra):
    """`streamlit run app.py` on a free port with RISKCORE_* settings; yields the base URL."""
    env = dict(os.environ, RISKCORE_SAMPLE_ACCOUNTS=os.environ.get("RISKCORE_BROWSER_SAMPLE", "400"),
               RISKCORE_HOME=str(tmp_path_factory.mktemp("rulesets")))
    env.pop("RISKCORE_DATA", None)
    env.update(env_extra)
    with streamlit_server(tmp_path_factory.mktemp("log") / "streamlit.log", env) as (url, _):
        yield url


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serve(tmp_path_factory) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    yield pg
    context.close()


QUIET_MS = 400  # no script run for this long after the action (and after the last run) means settled

# Remembers when Streamlit's script state last changed (installed once per document, by settle).
_WATCH_STATE = """() => {
  if (window.__rcWatch) return;
  const app = document.querySelector('[data-testid=stApp]');
  if (!app) return;
  window.__rcWatch = true;
  window.__rcChanged = performance.now();
  new MutationObserver(() => { window.__rcChanged = performance.now(); })
    .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
_SETTLED = """([since, quiet]) => {
  const app = document.querySelector('[data-testid=stApp]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  return performance.now() - Math.max(since, window.__rcChanged || 0) >= quiet;
}"""


def settle(pg, timeout: float = 120_000) -> None:
    """Wait until the script run triggered by the last action has finished and drawn: the script is
    not running and its state has not changed for QUIET_MS (a run that starts later than that after
    the action would be missed; the old fixed 1 s wait had the same blind spot at 400 ms)."""
    pg.evaluate(_WATCH_STATE)
    since = pg.evaluate("() => performance.now()")
    pg.wait_for_function(_SETTLED, arg=[since, QUIET_MS], polling=50, timeout=timeout)
    pg.evaluate(_WATCH_STATE)  # a navigation replaced the document: watch the new one


def goto(pg, url: str) -> None:
    pg.goto(url)
    pg.wait_for_selector("[data-testid=stMainBlockContainer] h1", timeout=120_000)
    settle(pg)


def nav(pg, name: str) -> None:
    """Another page through the sidebar menu (the same session: the draft stays)."""
    pg.locator("[data-testid=stSidebarNav] a", has_text=name).first.click()
    pg.wait_for_selector("[data-testid=stMainBlockContainer] h1", timeout=120_000)
    settle(pg)


def choose(pg, key: str, option: str) -> None:
    """Pick `option` in the selectbox `key` (the list is opened again if a rerun closed it)."""
    item = pg.get_by_role("option", name=option, exact=True)
    _open_list(pg, key, item)
    item.click()  # closes the list (Escape would clear a box that may be empty)
    settle(pg)


def choose_many(pg, key: str, options: list[str]) -> None:
    """Add `options` in the multiselect `key`, then close its list (the value is sent on close)."""
    _open_list(pg, key, pg.get_by_role("option", name=options[0], exact=True))
    for option in options:
        pg.get_by_role("option", name=option, exact=True).click()
    pg.keyboard.press("Escape")
    settle(pg)


def _open_list(pg, key: str, item) -> None:
    """Open the drop-down list of the box `key` until `item` shows (a rerun may redraw the box while it
    opens, or a click land before the box takes clicks)."""
    for _ in range(3):
        pg.locator(f".st-key-{key} input").first.click()
        try:
            item.wait_for(timeout=10_000)
            return
        except PlaywrightTimeout:
            settle(pg)
    item.wait_for(timeout=10_000)


def open_first_row(pg, key: str | None = None) -> None:
    """Open the account of a list's first row by clicking the row (the dataframe with widget key `key`,
    else the page's first). The grid takes clicks only once it has drawn its rows: wait for them, and
    click again if a click was lost on a loaded machine (the URL names the account once it was taken)."""
    frame = pg.locator(f".st-key-{key} [data-testid=stDataFrame]" if key else "[data-testid=stDataFrame]").first
    frame.scroll_into_view_if_needed()
    for _ in range(3):
        with contextlib.suppress(PlaywrightTimeout):
            frame.locator("[role=gridcell]").first.wait_for(timeout=30_000)
        box = frame.bounding_box()
        pg.mouse.click(box["x"] + 18, box["y"] + 35 + 17)
        settle(pg)
        if "account=" in pg.url:
            return
    assert "account=" in pg.url, "three clicks on the first row opened no account"


def grid_rows(frame, wait_for: str | None = None) -> list[dict[str, str]]:
    """The rows a dataframe shows (its accessible grid), as {column header: cell text}.

    `wait_for`: a cell text to wait for first; the grid draws its rows a moment after the run ends,
    later on a loaded machine (a CI flake read an empty grid).
    """
    if wait_for:
        with contextlib.suppress(PlaywrightTimeout):  # the caller's assertion says what the grid holds
            frame.locator("[role=gridcell]", has_text=wait_for).first.wait_for(timeout=30_000)
    heads = [h.inner_text().strip() for h in frame.locator("[role=columnheader]").all()]
    rows = []
    for row in frame.locator("[role=row]").all():
        cells = [c.inner_text().strip() for c in row.locator("[role=gridcell]").all()]
        if cells:
            rows.append(dict(zip(heads[-len(cells):], cells)))
    return rows


def no_exception(pg) -> None:
    assert pg.locator("[data-testid=stException]").count() == 0


def metric_value(pg, label: str) -> str:
    m = pg.locator("[data-testid=stMetric]", has=pg.locator("[data-testid=stMetricLabel]", has_text=label)).first
    return m.locator("[data-testid=stMetricValue]").inner_text().strip()


def _shots() -> Path:
    out = Path(os.environ.get("RISKCORE_SCREENSHOT_DIR") or ROOT / "screenshots" / "tmp")
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_every_page_loads_without_exception(server, page):
    out = _shots()
    for name, path in PAGES.items():
        goto(page, f"{server}/{path}")
        assert page.locator("[data-testid=stException]").count() == 0, name
        assert page.locator("[data-testid=stMainBlockContainer] h1").first.inner_text().strip() == name.capitalize()
        width = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1], f"{name} scrolls horizontally: {width}"
        page.screenshot(path=str(out / f"{name}.png"))
        if name == "accounts":  # open the first listed account by selecting its row
            open_first_row(page)
            assert page.get_by_text("Why: fired rules").count() == 1
            assert page.locator("[data-testid=stException]").count() == 0
            page.screenshot(path=str(out / "account.png"))


def _histogram(pg) -> list:
    pg.wait_for_selector(".st-key-score_histogram .js-plotly-plot .bars", timeout=30_000)
    return pg.evaluate("() => Array.from(document.querySelector('.st-key-score_histogram .js-plotly-plot')"
                       "._fullData[0].y)")


def test_slider_drag_updates_tiers_and_chart(server, page):
    goto(page, f"{server}/tuning")
    before_hist, before_high = _histogram(page), metric_value(page, "High tier")
    slider = page.locator(".st-key-weight-usage_drop")
    thumb = slider.locator("[data-testid=stSliderThumbValue]").locator("..").bounding_box()
    track = slider.locator("[role=group]").bounding_box()
    y = thumb["y"] + thumb["height"] / 2
    page.mouse.move(thumb["x"] + thumb["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(track["x"] + track["width"] * 0.9, y, steps=8)
    page.mouse.up()
    settle(page)
    assert int(slider.locator("input[type=range]").input_value()) > 60
    assert page.locator("[data-testid=stException]").count() == 0
    assert _histogram(page) != before_hist
    assert metric_value(page, "High tier") != before_high
    page.screenshot(path=str(_shots() / "tuning-changed.png"))


def test_quadrant_selection_lists_accounts(server, page):
    goto(page, f"{server}/")
    label = page.locator(".st-key-quadrant_chart").get_by_text(re.compile(r"^Save: ")).first
    expected = int(re.search(r"Save: ([\d,]+)", label.text_content()).group(1).replace(",", ""))
    page.locator(".st-key-quadrant_pick").get_by_role("radio", name="Save").click()
    settle(page)
    heading = page.locator("[data-testid=stHeading]", has_text=re.compile(r"^Save: ")).first
    assert int(re.search(r"Save: ([\d,]+) accounts", heading.inner_text()).group(1).replace(",", "")) == expected
    assert page.locator("[data-testid=stDataFrame]").count() == 1
    # a box drawn over the chart's high-risk band selects points and lists them
    plot = page.locator(".st-key-quadrant_chart .nsewdrag").first.bounding_box()
    page.mouse.move(plot["x"] + 5, plot["y"] + 5)
    page.mouse.down()
    page.mouse.move(plot["x"] + plot["width"] - 5, plot["y"] + plot["height"] * 0.3, steps=10)
    page.mouse.up()
    settle(page)
    selected = page.locator("[data-testid=stHeading]", has_text=re.compile(r"selected accounts$"))
    assert selected.count() == 1 and int(selected.inner_text().split()[0].replace(",", "")) > 0


def test_csv_download_has_the_listed_rows(server, page):
    goto(page, f"{server}/accounts")
    choose_many(page, "f_tier", ["high"])
    caption = page.get_by_text(re.compile(r"^[\d,]+ accounts · ")).first.inner_text()
    n = int(caption.split()[0].replace(",", ""))
    with page.expect_download() as info:
        page.locator(".st-key-download_csv button").click()
    data = Path(info.value.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(data)))
    assert len(rows) == n > 0
    assert {r["tier"] for r in rows} == {"high"}
    assert {"account_id", "risk_score", "reasons", "playbook"} <= set(rows[0])
