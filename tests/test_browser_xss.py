"""Hostile data renders as text in a real browser (the DOM is read): account names and owners with
HTML/JS run no script; Markdown links and images in names, owners, segments and the `?account=`
query parameter make no link to evil.example and no request to a local beacon server."""

from __future__ import annotations

import http.server
import threading
from urllib.parse import quote

import pytest

from test_browser import PAGES, browser, goto, page, serve, settle  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

EVIL_NAME = '<img src=x onerror="window.__xss=1">Evil Co'
EVIL_OWNER = "<script>window.__xss=2</script>Mallory"
LINK_NAME = "[text](https://evil.example/name)"
LINK_SEGMENT = '<a href="https://evil.example/plot">Seg</a> www.evil.example'


class _Beacon(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        type(self).hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture(scope="module")
def beacon():
    """A local HTTP server counting requests: an image that Markdown turned into <img> would hit it."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Beacon)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Beacon.hits
    server.shutdown()


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory, beacon):
    url, _ = beacon
    folder = tmp_path_factory.mktemp("hostile")
    path = folder / "accounts.csv"
    q = lambda s: '"' + s.replace('"', '""') + '"'  # noqa: E731 - CSV quoting
    lines = ["customerID,account_name,ARR,csm_owner,segment,Churn",
             f"C1,{q(EVIL_NAME)},1000,{q(EVIL_OWNER)},SMB,Yes",
             "C2,Plain Co,2000,Ann,SMB,No",
             f"C3,{q(LINK_NAME)},3000,{q(f'![o]({url}/beacon-owner)')},{q(LINK_SEGMENT)},No"]
    path.write_text("\n".join(lines) + "\n")
    with serve(tmp_path_factory, RISKCORE_DATA=str(path)) as app_url:
        yield app_url


def no_link_or_beacon(pg, beacon, requests) -> None:
    assert pg.locator('a[href*="evil.example"]').count() == 0  # HTML links, autolinks included
    assert pg.locator("svg a").count() == 0  # links inside charts (plotly's pseudo-HTML)
    assert not [r for r in requests if r.startswith(beacon[0])]  # what the page asked for
    assert beacon[1] == []  # what reached the beacon server


def visible(locator) -> str:
    """The text as a reader sees it (md_escape's invisible word joiners, which stop autolinks, dropped)."""
    return locator.inner_text().replace("\u2060", "")


def recorded(pg) -> list[str]:
    urls: list[str] = []
    pg.on("request", lambda r: urls.append(r.url))
    return urls


@pytest.mark.parametrize("name", list(PAGES))
def test_pages_run_no_injected_script(hostile_server, beacon, page, name):  # noqa: F811
    requests = recorded(page)
    goto(page, f"{hostile_server}/{PAGES[name]}")
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src=x]").count() == 0
    no_link_or_beacon(page, beacon, requests)


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


def test_markdown_name_owner_and_segment_are_text(hostile_server, beacon, page):  # noqa: F811
    requests = recorded(page)
    page.goto(f"{hostile_server}/accounts?account=C3")
    page.wait_for_selector("[data-testid=stHeading]", timeout=120_000)
    settle(page)
    assert LINK_NAME in visible(page.locator("[data-testid=stHeading]").first)
    body = visible(page.locator("[data-testid=stMainBlockContainer]"))
    assert f"![o]({beacon[0]}/beacon-owner)" in body and "www.evil.example" in body
    no_link_or_beacon(page, beacon, requests)


@pytest.mark.parametrize("value", ["[text](https://evil.example)", "![x](BEACON/beacon)"])
def test_account_query_parameter_is_text(hostile_server, beacon, page, value):  # noqa: F811
    value = value.replace("BEACON", beacon[0])
    requests = recorded(page)
    page.goto(f"{hostile_server}/accounts?account={quote(value, safe='')}")
    alert = page.locator("[data-testid=stAlert]", has_text="No scored account with id")
    alert.first.wait_for(timeout=120_000)
    settle(page)
    warning = visible(alert.first)
    assert f"No scored account with id '{value}'" in warning  # the characters, as typed
    no_link_or_beacon(page, beacon, requests)
