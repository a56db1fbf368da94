"""Real-browser flows of the history parts (marker `browser`): the Overview's new-alerts list and an
account page's history chart render without an exception; screenshots of Overview, Accounts and the
account view at 1440x900 (into $RISKCORE_SCREENSHOT_DIR, else screenshots/tmp)."""

from __future__ import annotations

import re

import pytest

from test_browser import _shots, browser, goto, open_first_row, page, server, settle  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def no_horizontal_scroll(pg) -> None:
    width = pg.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], f"page scrolls horizontally: {width}"


def test_overview_alerts_list_renders(server, page):  # noqa: F811
    goto(page, f"{server}/")
    # the quadrant matrix is visible without scrolling
    chart = page.locator(".st-key-quadrant_chart").bounding_box()
    assert chart and chart["y"] + chart["height"] <= 900
    tab = page.get_by_role("tab", name=re.compile(r"^New alerts \([\d,]+\)$"))
    n = int(re.search(r"\(([\d,]+)\)", tab.inner_text()).group(1).replace(",", ""))
    assert n > 0
    assert page.locator(".st-key-alerts_table [data-testid=stDataFrame]").count() == 1
    assert page.locator("[data-testid=stException]").count() == 0
    no_horizontal_scroll(page)
    page.screenshot(path=str(_shots() / "overview.png"))
    page.locator(".st-key-alerts_table").scroll_into_view_if_needed()
    page.screenshot(path=str(_shots() / "overview-alerts.png"))
    page.get_by_role("tab", name="Behavioural segments").click()
    settle(page)
    page.locator(".st-key-behavior_segment_chart").scroll_into_view_if_needed()
    assert page.locator(".st-key-behavior_segment_chart .js-plotly-plot").count() == 1
    assert page.get_by_text(re.compile(r"^[\d,]+ accounts changed segment")).count() == 1
    page.screenshot(path=str(_shots() / "overview-segments.png"))


def test_account_page_history_chart_renders(server, page):  # noqa: F811
    goto(page, f"{server}/accounts")
    assert page.locator(".st-key-f_alerted").count() == 1 and page.locator(".st-key-f_behavior").count() == 1
    no_horizontal_scroll(page)
    page.screenshot(path=str(_shots() / "accounts.png"))
    # open the account of the first alert from the Overview (an account whose score moved)
    goto(page, f"{server}/")
    open_first_row(page, "alerts_table")  # below the inbox's entries: scrolled into view
    page.wait_for_selector(".st-key-history_chart .js-plotly-plot", timeout=60_000)
    assert page.locator("[data-testid=stException]").count() == 0
    page.get_by_text(re.compile(r"^What changed: ")).first.wait_for(timeout=60_000)  # drawn after the chart
    assert page.get_by_text(re.compile(r"^What changed: ")).count() == 1
    n_points = page.evaluate("() => document.querySelector('.st-key-history_chart .js-plotly-plot')"
                             "._fullData[0].x.length")
    assert n_points >= 6
    no_horizontal_scroll(page)
    page.screenshot(path=str(_shots() / "account.png"), full_page=False)
