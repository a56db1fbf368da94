"""Real-browser flow of the Calibration page's alert precision table and scorecard frontier (marker
`browser`): the alert table is drawn, "Fit scorecards" fits the frontier, "Load as draft" on the
20-rule point makes it the draft, and Tuning then shows the scorecard's rules moving accounts
against the published set. One server (RISKCORE_BROWSER_SAMPLE accounts, 400 by default);
screenshots at 1440 and 800 px into $RISKCORE_SCREENSHOT_DIR (else screenshots/tmp)."""

from __future__ import annotations

import re

import pytest

from test_browser import (  # noqa: F401 - fixtures
    _shots, browser, goto, grid_rows, nav, no_exception, page, server, settle,
)

pytestmark = pytest.mark.browser

HEADLINE = re.compile(r"^your rules: AUC \d\.\d{3}; an? \d+-rule scorecard: \d\.\d{3}; [a-z ]+: \d\.\d{3}$")
FRONTIER = ".st-key-scorecard_frontier [data-testid=stDataFrame]"  # the frontier's table
BLANK_WORDS = ("nan", "None", "NaN", "NaT", "null")


def _no_horizontal_scroll(pg) -> None:
    w = pg.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert w[0] <= w[1], f"page scrolls horizontally: {w}"


def _moved(pg) -> int:
    """'Accounts that moved: N' on Tuning (the movement matrix's off-diagonal total)."""
    label = pg.get_by_text(re.compile(r"^Accounts that moved: [\d,]+$")).first
    label.wait_for(timeout=60_000)
    return int(label.inner_text().split(":")[1].strip().replace(",", ""))


def _sliders(pg) -> int:
    return pg.locator("[class*='st-key-weight-']").count()


def test_fit_scorecards_and_load_the_20_rule_point_as_the_draft(server, page):  # noqa: F811
    goto(page, f"{server}/tuning")
    rules_before, moved_before = _sliders(page), _moved(page)
    assert rules_before > 0 and moved_before == 0  # the draft starts as the published set

    nav(page, "Calibration")
    no_exception(page)
    alerts = page.locator(".st-key-alert_precision")
    alerts.locator("[role=gridcell]").first.wait_for(state="attached", timeout=60_000)
    rows = grid_rows(alerts)
    assert [r["alert"] for r in rows][-1] == "any alert" and len(rows) >= 2, rows
    for r in rows:
        assert re.fullmatch(r"[\d,]+", r["alerted"]) and re.fullmatch(r"[\d,]+", r["churned"]), r
        assert r["base rate"].endswith("%") and (r["lift"].endswith("x") or r["lift"] == "—"), r
    assert not [v for r in rows for v in r.values() if v in BLANK_WORDS]
    alerts.scroll_into_view_if_needed()
    page.screenshot(path=str(_shots() / "calibration-alerts.png"))

    assert page.locator(FRONTIER).count() == 0  # nothing is fitted before the click
    page.locator(".st-key-fit_scorecards button").first.click()
    settle(page)
    table = page.locator(FRONTIER)
    table.locator("[role=gridcell]").first.wait_for(state="attached", timeout=120_000)
    no_exception(page)
    assert page.get_by_text(HEADLINE).count() == 1
    assert page.get_by_text(re.compile(r"^Point in time \(out of time\): fitted on [\d,]+ account-dates")).count() == 1
    rows = grid_rows(table)
    models = [r["model"] for r in rows]
    assert models[0].startswith("your rules") and models[-1] == "gradient boosting", models
    budgets = [f"scorecard, at most {n} rules" for n in (5, 10, 20, 40)]
    assert [m for m in models if m.startswith("scorecard")] == budgets
    assert all(re.fullmatch(r"0\.\d{3}", r["AUC"]) for r in rows), rows
    assert page.locator(".st-key-fit_scorecards").count() == 0
    table.scroll_into_view_if_needed()
    _no_horizontal_scroll(page)
    page.screenshot(path=str(_shots() / "calibration-frontier.png"))

    page.locator(".st-key-load_scorecard_20 button").first.click()
    settle(page)
    no_exception(page)
    assert page.get_by_text(re.compile(r"^The draft is now the scorecard of \d+ rules \(at most 20\)")).count() == 1
    assert "rules=draft" in page.url  # the sidebar now shows the draft (kept in the URL)

    nav(page, "Tuning")
    no_exception(page)
    assert _sliders(page) != rules_before  # the scorecard's rules replaced the published churn rules
    assert _moved(page) > 0  # and move accounts between tiers against the published set
    page.get_by_text(re.compile(r"^Tier movement: published")).first.scroll_into_view_if_needed()
    page.screenshot(path=str(_shots() / "tuning-scorecard.png"))


def test_calibration_sections_at_800_px(server, browser):  # noqa: F811
    """A narrow window: the alert and frontier tables fit (the frontier stays fitted for the data,
    date and horizon: a new session finds it, or fits it here when run alone)."""
    context = browser.new_context(viewport={"width": 800, "height": 900})
    pg = context.new_page()
    try:
        goto(pg, f"{server}/calibration")
        no_exception(pg)
        if pg.locator(".st-key-fit_scorecards").count():
            pg.locator(".st-key-fit_scorecards button").first.click()
            settle(pg)
        pg.locator(f"{FRONTIER} [role=gridcell]").first.wait_for(state="attached", timeout=120_000)
        no_exception(pg)
        _no_horizontal_scroll(pg)
        pg.locator(".st-key-alert_precision").scroll_into_view_if_needed()
        pg.screenshot(path=str(_shots() / "calibration-alerts-800.png"))
        pg.locator(FRONTIER).scroll_into_view_if_needed()
        pg.screenshot(path=str(_shots() / "calibration-frontier-800.png"))
    finally:
        context.close()
