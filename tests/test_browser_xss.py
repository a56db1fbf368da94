"""Account names and owners with HTML/JS render as text in a real browser (the DOM is read)."""

from __future__ import annotations

import pytest

from test_browser import PAGES, browser, goto, page, serve, settle  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

EVIL_NAME = '<img src=x onerror="window.__xss=1">Evil Co'
EVIL_OWNER = "<script>window.__xss=2</script>Mallory"


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    path = folder / "accounts.csv"
    lines = ["customerID,account_name,ARR,csm_owner,Churn",
             f'C1,"{EVIL_NAME.replace(chr(34), chr(34) * 2)}",1000,{EVIL_OWNER},Yes',
             "C2,Plain Co,2000,Ann,No"]
    path.write_text("\n".join(lines) + "\n")
    with serve(tmp_path_factory, RISKCORE_DATA=str(path)) as url:
        yield url


@pytest.mark.parametrize("name", list(PAGES))
def test_pages_run_no_injected_script(hostile_server, page, name):  # noqa: F811
    goto(page, f"{hostile_server}/{PAGES[name]}")
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src=x]").count() == 0


def test_account_view_shows_the_name_as_text(hostile_server, page):  # noqa: F811
    page.goto(f"{hostile_server}/accounts?account=C1")
    page.wait_for_selector("[data-testid=stHeading]", timeout=120_000)
    settle(page)
    heading = page.locator("[data-testid=stHeading]").first.inner_text()
    assert EVIL_NAME in heading  # the markup is visible as characters, not interpreted
    body = page.locator("[data-testid=stMainBlockContainer]").inner_text()
    assert "Mallory" in body and "<script>" in body
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src=x]").count() == 0
