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
    from playwright.sync_api import sync_playwright
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


def settle(pg, timeout: float = 120_000) -> None:
    """Wait until the script run triggered by the last action has finished and drawn."""
    pg.wait_for_timeout(400)
    pg.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=timeout)
    pg.wait_for_timeout(600)


def goto(pg, url: str) -> None:
    pg.goto(url)
    pg.wait_for_selector("[data-testid=stMainBlockContainer] h1", timeout=120_000)
    settle(pg)


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
            grid = page.locator("[data-testid=stDataFrame]").first.bounding_box()
            page.mouse.click(grid["x"] + 18, grid["y"] + 35 + 17)
            settle(page)
            assert "account=" in page.url
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
    page.locator(".st-key-f_tier").click()
    page.get_by_role("option", name="high").click()
    page.keyboard.press("Escape")
    settle(page)
    caption = page.get_by_text(re.compile(r"^[\d,]+ accounts · ")).first.inner_text()
    n = int(caption.split()[0].replace(",", ""))
    with page.expect_download() as info:
        page.locator(".st-key-download_csv button").click()
    data = Path(info.value.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(data)))
    assert len(rows) == n > 0
    assert {r["tier"] for r in rows} == {"high"}
    assert {"account_id", "risk_score", "reasons", "playbook"} <= set(rows[0])
