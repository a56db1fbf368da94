"""Real-browser flows of plays and the alert inbox (marker `browser`): the Plays page shows the sample's
plays with their intervals (1440 and 800 px, screenshots plays.png / plays-800.png); Start play on an
account and the Plays page counts it; acknowledging an alert lowers the Overview's count, and a reload
keeps it lowered."""

from __future__ import annotations

import json
import os
import re
from datetime import date

import pandas as pd
import pyarrow as pa
import pytest

from test_browser import _shots, browser, goto, page, server, settle  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

EFFECT = re.compile(r"^[+-]\d+\.\d points \([+-]\d+\.\d to [+-]\d+\.\d\)$")


class Sent:
    """The dataframes the server sends the page (a grid draws its cells on a canvas, not in the DOM)."""

    def __init__(self, pg):
        self.frames: list[pd.DataFrame] = []
        pg.on("websocket", lambda ws: ws.on("framereceived", self._got))

    def _got(self, payload) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        if not isinstance(payload, bytes):
            return
        msg = ForwardMsg.FromString(payload)
        if msg.HasField("delta") and msg.delta.HasField("new_element") \
                and msg.delta.new_element.WhichOneof("type") == "dataframe":
            data = msg.delta.new_element.dataframe.arrow_data.data
            self.frames.append(pa.ipc.open_stream(data).read_all().to_pandas())

    def last(self, column: str) -> pd.DataFrame:
        found = [f for f in self.frames if column in f.columns]
        assert found, f"no table with {column!r} was sent"
        return found[-1].reset_index(drop=True)


def no_exception(pg) -> None:
    assert pg.locator("[data-testid=stException]").count() == 0


def fits(pg, where: str) -> None:
    w = pg.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert w[0] <= w[1], f"{where} scrolls horizontally: {w}"


def sample_accounts() -> pd.DataFrame:
    from riskcore.sample import ensure_sample
    folder = ensure_sample(int(os.environ.get("RISKCORE_BROWSER_SAMPLE", "400")))
    return pd.read_parquet(folder / "accounts.parquet"), pd.read_parquet(folder / "outcomes.parquet"), folder


@pytest.mark.parametrize("width", [1440, 800])
def test_plays_page_shows_the_sample_plays_with_intervals(server, browser, width):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    pg = context.new_page()
    try:
        sent = Sent(pg)
        goto(pg, f"{server}/plays")
        assert pg.locator("[data-testid=stMainBlockContainer] h1").first.inner_text().strip() == "Plays"
        no_exception(pg)
        table = sent.last("effect (95% interval)")
        assert {"exec_sponsor_call", "health_check_email"} <= set(table["play"])
        assert all(EFFECT.match(x) for x in table["effect (95% interval)"]), list(table["effect (95% interval)"])
        assert set(table["method"]) == {"hold-out"}
        assert all(re.match(r"^[\d,]+ of [\d,]+ \(\d+\.\d%\)$", x) for x in table["treated churned"])
        # the chart: one point per play with its interval around it
        pg.wait_for_selector(".st-key-plays_chart .js-plotly-plot", timeout=60_000)
        drawn = pg.evaluate("() => document.querySelector('.st-key-plays_chart .js-plotly-plot')._fullData"
                            ".map(t => ({y: t.y, x: t.x, plus: t.error_x.array, minus: t.error_x.arrayminus}))")
        points = {y: (x, p, m) for t in drawn for y, x, p, m in zip(t["y"], t["x"], t["plus"], t["minus"])}
        for _, r in table.iterrows():
            low, high = re.search(r"\(([+-][\d.]+) to ([+-][\d.]+)\)", r["effect (95% interval)"]).groups()
            x, plus, minus = points[r["play"]]
            assert x - minus == pytest.approx(float(low), abs=0.051) and x + plus == pytest.approx(float(high),
                                                                                                  abs=0.051)
        fits(pg, f"plays at {width} px")
        pg.screenshot(path=str(_shots() / ("plays.png" if width == 1440 else f"plays-{width}.png")), full_page=True)
    finally:
        context.close()


def test_start_play_on_an_account_then_the_plays_page_counts_it(server, page):  # noqa: F811
    from riskcore.plays import start_play
    from riskcore.uplift import uplift, uplift_rows
    from riskcore.workspace import open_store
    accounts, outcomes, folder = sample_accounts()
    churned = set(outcomes.loc[outcomes["outcome"] == "churned", "account_id"])
    acc = sorted(a for a in accounts.loc[pd.to_datetime(accounts["contract_start"]) < "2026-01-01", "account_id"]
                 if a not in churned)[0]
    sent = Sent(page)  # before the page opens its websocket
    page.goto(f"{server}/accounts?account={acc}")  # the account view's heading is its name (h2), no h1
    page.wait_for_selector("[data-testid=stForm]", timeout=120_000)
    settle(page)
    form = page.locator("[data-testid=stForm]")  # the Start play form (a form carries no key class)
    form.locator("[data-testid=stSelectbox] input").first.click()
    page.get_by_role("option", name="Save: high value at high risk", exact=True).click()
    owner = form.locator("[data-testid=stTextInput] input").first
    owner.fill("Dana O'Neil")
    # the date box is a field of year, month and day segments: type into each, it moves on by itself
    form.locator("[data-testid=stDateInput] [role=spinbutton][data-type=year]").click()
    page.keyboard.type("2026")
    page.keyboard.type("06")
    page.keyboard.type("01")
    page.keyboard.press("Tab")
    form.locator("[data-testid=stFormSubmitButton] button").click()
    settle(page)
    no_exception(page)
    page.get_by_text(re.compile(r"^Started Save: high value at high risk on 2026-06-01 \(owner Dana O'Neil\)")) \
        .wait_for(timeout=30_000)
    sent.frames.clear()
    page.locator("[data-testid=stSidebarNav] a", has_text="Plays").first.click()
    page.wait_for_selector("[data-testid=stMainBlockContainer] h1", timeout=120_000)
    settle(page)
    no_exception(page)
    shown = sent.last("effect (95% interval)").set_index("play")
    assert "save" in shown.index
    # independently: the same start on a fresh load of the sample, measured by riskcore
    store = open_store(folder)
    start_play(store, acc, "save", date(2026, 6, 1), owner="Dana O'Neil")
    expected = uplift_rows([uplift(store, "save", 90)]).set_index("play").loc["save"]
    for col in ("method", "treated churned", "control churned", "effect (95% interval)", "not counted"):
        assert shown.loc["save", col] == expected[col], col
    assert shown.loc["save", "method"] == "matched (observational)"
    assert page.get_by_text(re.compile(r"^Matched, not randomised \(save\)")).count() == 1  # the caveat


def _new_alerts(pg) -> int:
    tab = pg.get_by_role("tab", name=re.compile(r"^New alerts \([\d,]+\)$"))
    return int(re.search(r"\(([\d,]+)\)", tab.inner_text()).group(1).replace(",", ""))


def test_acknowledge_an_alert_lowers_the_count_and_a_reload_keeps_it(server, page):  # noqa: F811
    goto(page, f"{server}/")
    before = _new_alerts(page)
    assert before > 1
    first = page.locator("[class*=st-key-ack-] button").first
    first.scroll_into_view_if_needed()
    entry = page.locator("[class*=st-key-inbox-]").first.inner_text()
    page.screenshot(path=str(_shots() / "overview-inbox.png"))
    first.click()
    settle(page)
    no_exception(page)
    assert _new_alerts(page) == before - 1
    assert page.locator("[class*=st-key-inbox-]").first.inner_text() != entry  # it left the new list
    page.reload()
    page.wait_for_selector("[data-testid=stMainBlockContainer] h1", timeout=120_000)
    settle(page)
    assert _new_alerts(page) == before - 1
    page.locator(".st-key-inbox_view").get_by_role("radio", name=re.compile(r"^acknowledged \(1\)$")).click()
    settle(page)
    assert page.get_by_role("button", name="Undo", exact=True).count() == 1
    assert json.dumps(entry)  # the entry's text was read (date, account, alerts)
