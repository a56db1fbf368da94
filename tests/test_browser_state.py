"""Real-browser flows of the session's state (issue 14, items 1, 2 and part of 10; marker `browser`):
one sidebar state on every page, the URL and the server-side draft across a reload (F5), the
Accounts filters across the account view and the browser's Back, an upload across a reload, and
the Tuning page's versions panel (diff, note, a deliberate Publish).

One `streamlit run app.py` for the module on a 400-account sample, with a rule-set home that holds
v1 (the default, published) and v2 (late invoices weigh 30, not published). Widgets are found by key.
"""

from __future__ import annotations

import os
import re

import pytest
from conftest import streamlit_server

from test_browser import _shots, browser, choose, choose_many, goto, metric_value, open_first_row, settle  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

ACCOUNTS = 400


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """v1 = the default rule set (published), v2 = late invoices weigh 30 (not published)."""
    from riskcore.versions import ensure_versions
    from riskcore.rules import load_ruleset, ruleset_to_toml, with_points
    folder = tmp_path_factory.mktemp("rulesets")
    vs = ensure_versions(folder)
    v2 = with_points(load_ruleset(vs.text(1)), {"late_invoices": 30})
    vs.save(ruleset_to_toml(v2), note="payment matters more", author="test")
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory, home):
    env = dict(os.environ, RISKCORE_SAMPLE_ACCOUNTS=str(ACCOUNTS), RISKCORE_HOME=str(home))
    env.pop("RISKCORE_DATA", None)
    with streamlit_server(tmp_path_factory.mktemp("log") / "streamlit.log", env) as (url, _):
        yield url


@pytest.fixture
def page(browser):  # noqa: F811
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()


# ---- helpers -----------------------------------------------------------------------------------

def value(pg, key: str) -> str:
    """What a selectbox / text box / date box shows."""
    return pg.locator(f".st-key-{key} input").first.input_value()


def choose(pg, key: str, option: str) -> None:
    """Pick `option` in the selectbox `key` (the list is opened again if a rerun closed it)."""
    item = pg.get_by_role("option", name=option, exact=True)
    for _ in range(3):
        pg.locator(f".st-key-{key} input").first.click()
        try:
            item.wait_for(timeout=10_000)
            break
        except Exception:  # noqa: BLE001 - a rerun redrew the box while it opened
            settle(pg)
    item.click()  # closes the list (Escape would clear a box that may be empty)
    settle(pg)


def nav(pg, title: str) -> None:
    pg.locator("[data-testid=stSidebarNavLink]", has_text=title).click()
    pg.wait_for_selector(f"[data-testid=stMainBlockContainer] h1:has-text('{title}')", timeout=120_000)
    settle(pg)


def no_exception(pg) -> None:
    assert pg.locator("[data-testid=stException]").count() == 0
    assert pg.locator("[data-testid=stMain] [data-testid=stAlertContentError]").count() == 0


def overview_high_count(pg) -> int:
    """The Overview's high-tier account count (the help of the 'ARR in high tier' metric)."""
    m = pg.locator("[data-testid=stMetric]", has=pg.locator("[data-testid=stMetricLabel]",
                                                             has_text="ARR in high tier")).first
    m.locator("[data-testid=stTooltipHoverTarget]").hover()
    tip = pg.locator("[data-testid=stTooltipContent]").first
    tip.wait_for(timeout=10_000)
    n = int(re.search(r"([\d,]+) accounts in the high", tip.inner_text()).group(1).replace(",", ""))
    pg.mouse.move(5, 5)
    return n


def listed_count(pg) -> int:
    """The Accounts list's count ('N accounts · ...'), once the list is drawn."""
    caption = pg.get_by_text(re.compile(r"^[\d,]+ accounts · ")).first
    caption.wait_for(timeout=120_000)
    return int(caption.inner_text().split()[0].replace(",", ""))


def back_on_the_list(pg) -> None:
    """Wait for the Accounts list after leaving an account (the run may start late on a busy machine)."""
    pg.wait_for_function("() => !location.search.includes('account=')", timeout=60_000)
    listed_count(pg)
    settle(pg)


def chips(pg, key: str) -> list[str]:
    """The values a multiselect shows as chips."""
    tags = pg.locator(f".st-key-{key} [data-testid=stMultiSelectTagsContainer]").first.locator("[data-tag]")
    return [tags.nth(i).get_attribute("aria-label") for i in range(tags.count())]


def independent_high_count(home, version: int, dimension: str) -> int:
    """The high-tier count of a version and dimension, scored by riskcore (not through the app)."""
    from dataclasses import replace

    from riskcore.rules import load_ruleset
    from riskcore.sample import ensure_sample
    from riskcore.scoring import score_df
    from riskcore.signals import active_dates, signals_table
    from riskcore.versions import Library
    from riskcore.workspace import open_store
    rs = load_ruleset(Library(home).versions("sample").text(version))
    rs = replace(rs, primary_dimension=dimension)
    store = open_store(ensure_sample(ACCOUNTS))
    try:
        frame = score_df(store, rs, signals_table(store, active_dates(store)[1]), out_table="t_state")
    finally:
        store.close()
    return int((frame["tier"] == "high").sum())


# ---- 1. one sidebar state on every page --------------------------------------------------------

def test_sidebar_choices_are_one_state_on_every_page(server, home, page):
    expected = independent_high_count(home, 2, "payment")
    assert expected != independent_high_count(home, 1, "payment")  # v1 and v2 differ: the check means something
    goto(page, f"{server}/")
    choose(page, "ruleset_choice", "v2")
    choose(page, "dimension", "payment")
    assert overview_high_count(page) == expected
    for title in ("Accounts", "Tuning", "Calibration", "Overview", "Accounts"):
        nav(page, title)
        no_exception(page)
        assert (value(page, "ruleset_choice"), value(page, "dimension")) == ("v2", "payment"), title
        assert "rules=v2" in page.url and "dim=payment" in page.url
        if title == "Overview":
            assert overview_high_count(page) == expected
            assert "rule set v2 · risk dimension: payment" in page.get_by_text(re.compile("^As of ")).first.inner_text()
    # Accounts, high payment tier: the same accounts as the Overview counted
    assert value(page, "f_dimension") == "payment"
    choose_many(page, "f_tier", ["high"])
    assert listed_count(page) == expected


# ---- 2. reload and Back ------------------------------------------------------------------------

def _drag(pg, key: str, to: float) -> None:
    slider = pg.locator(f".st-key-{key}")
    thumb = slider.locator("[data-testid=stSliderThumbValue]").locator("..").bounding_box()
    track = slider.locator("[role=group]").bounding_box()
    y = thumb["y"] + thumb["height"] / 2
    pg.mouse.move(thumb["x"] + thumb["width"] / 2, y)
    pg.mouse.down()
    pg.mouse.move(track["x"] + track["width"] * to, y, steps=8)
    pg.mouse.up()
    settle(pg)


def test_reload_keeps_the_draft(server, page):
    goto(page, f"{server}/tuning")
    before = metric_value(page, "High tier")
    _drag(page, "weight-usage_drop", 0.92)
    weight = page.locator(".st-key-weight-usage_drop input[type=range]").input_value()
    high = metric_value(page, "High tier")
    assert int(weight) > 60 and high != before
    assert re.search(r"[?&]draft=[A-Za-z0-9_-]{22}", page.url)
    page.reload()
    page.wait_for_selector("[data-testid=stMainBlockContainer] h1", timeout=120_000)
    settle(page)
    no_exception(page)
    assert page.locator(".st-key-weight-usage_drop input[type=range]").input_value() == weight
    assert metric_value(page, "High tier") == high
    # the draft, not the published version, is what "Draft (this session)" shows elsewhere
    choose(page, "ruleset_choice", "Draft (this session)")
    page.reload()
    page.wait_for_selector("[data-testid=stMainBlockContainer] h1", timeout=120_000)
    settle(page)
    assert value(page, "ruleset_choice") == "Draft (this session)"


def _open_first_account(pg) -> None:
    open_first_row(pg, "accounts_table")
    pg.get_by_text("Why: fired rules").wait_for(timeout=60_000)


def test_account_view_and_back_keep_the_filters(server, page):
    goto(page, f"{server}/accounts")
    choose_many(page, "f_tier", ["high", "medium"])
    page.locator(".st-key-f_search input").fill("a")
    page.keyboard.press("Enter")
    settle(page)
    n = listed_count(page)
    assert sorted(chips(page, "f_tier")) == ["high", "medium"] and n > 0
    _open_first_account(page)
    page.locator(".st-key-back_to_list button").click()
    back_on_the_list(page)
    assert sorted(chips(page, "f_tier")) == ["high", "medium"]
    assert value(page, "f_search") == "a" and listed_count(page) == n
    _open_first_account(page)
    page.go_back()
    back_on_the_list(page)
    assert sorted(chips(page, "f_tier")) == ["high", "medium"]
    assert value(page, "f_search") == "a" and listed_count(page) == n
    page.reload()  # and the URL holds them for a reload
    back_on_the_list(page)
    assert sorted(chips(page, "f_tier")) == ["high", "medium"] and listed_count(page) == n


UPLOAD = ("customerID,Name,MonthlyCharges,tenure,Contract,Churn\n"
          + "".join(f"C{i:03d},Customer {i},{20 + i % 50},{i % 70},{'Month-to-month' if i % 3 else 'Two year'},"
                    f"{'Yes' if i % 3 and i % 2 == 0 else 'No'}\n" for i in range(60)))


def test_upload_stays_loaded_after_a_reload(server, page, tmp_path):
    src = tmp_path / "state_export.csv"
    src.write_text(UPLOAD)
    goto(page, f"{server}/data")
    page.locator(".st-key-upload input[type=file]").set_input_files(str(src))
    page.locator(".st-key-load_upload button").wait_for(timeout=60_000)
    settle(page)
    page.locator(".st-key-load_upload button").click()
    page.get_by_text("state_export.csv is now active.").wait_for(timeout=120_000)
    settle(page)
    assert "data=upload" in page.url
    page.reload()
    page.wait_for_selector("[data-testid=stMainBlockContainer] h1", timeout=120_000)
    settle(page)
    no_exception(page)
    assert "account table (60 rows" in page.locator("[data-testid=stSidebarUserContent]").inner_text()
    assert "state_export.csv" in page.locator("[data-testid=stMain]").inner_text()
    nav(page, "Overview")
    assert metric_value(page, "Accounts") == "60"


# ---- 10 (part). the versions panel -------------------------------------------------------------

def test_save_moves_the_diff_clears_the_note_and_publish_is_deliberate(server, home, page):
    from riskcore.versions import Library
    goto(page, f"{server}/tuning")
    page.locator(".st-key-save_note").scroll_into_view_if_needed()
    publish = page.locator(".st-key-publish_version button")
    assert publish.is_disabled()  # nothing chosen: a fresh session publishes nothing by accident
    assert value(page, "publish_pick") == ""
    published = value(page, "ruleset_choice")
    _drag(page, "weight-champion_left", 0.05)
    page.locator(".st-key-save_note input").fill("champion loss matters less")
    page.keyboard.press("Enter")
    settle(page)
    newest = Library(home).versions("sample").versions()[-1].number
    page.locator(".st-key-save_version button").click()
    saved = newest + 1
    page.get_by_text(f"Saved as v{saved}.").wait_for(timeout=60_000)
    settle(page)
    assert Library(home).versions("sample").versions()[-1].note == "champion loss matters less"
    assert value(page, "save_note") == ""
    assert (value(page, "diff_a"), value(page, "diff_b")) == (f"v{newest}", f"v{saved}")
    diff = page.locator("[data-testid=stCode]").last.inner_text()
    assert f"+++ v{saved}" in diff and "-points = 25" in diff  # champion_left's 25 points went down
    assert value(page, "ruleset_choice") == published  # saving does not publish
    assert publish.is_disabled()
    choose(page, "publish_pick", f"v{saved}")
    assert not publish.is_disabled()
    publish.click()
    page.get_by_text(f"v{saved} is now the published version.").wait_for(timeout=60_000)
    settle(page)
    assert value(page, "ruleset_choice") == f"v{saved} (published)"  # the sidebar follows the publish
    assert value(page, "publish_pick") == ""
    page.screenshot(path=str(_shots() / "tuning-versions.png"), full_page=True)
    nav(page, "Overview")
    assert value(page, "ruleset_choice") == f"v{saved} (published)"
    assert f"rule set v{saved} (published)" in page.get_by_text(re.compile("^As of ")).first.inner_text()

