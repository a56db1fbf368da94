"""Real-browser flows (marker `browser`) of rule sets per dataset and the "rules do not apply" banner.

One server (a 400-account sample, a fresh rule-set home) for the module; each flow is one browser session
that uploads a Telco-like export through the Data page and moves between pages with the sidebar's links.
Screenshots at 1440 and 800 px go to screenshots/tmp/ (or $RISKCORE_SCREENSHOT_DIR).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from test_browser import _shots, browser, goto, metric_value, server, settle  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
TELCO = ROOT / "tests" / "data" / "exports" / "telco_leaky.csv"
BANNER = "21 of 21 rules cannot run on this data: every account scores 0 on them"


@pytest.fixture
def session(browser):  # noqa: F811
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()


def no_exception(pg) -> None:
    assert pg.locator("[data-testid=stException]").count() == 0, pg.locator("[data-testid=stException]").first.inner_text()


def open_page(pg, title: str) -> None:
    """Another page of the same session: the sidebar's link (a new URL would start a new session)."""
    pg.locator("[data-testid=stSidebarNav] a", has_text=title).first.click()
    pg.wait_for_selector(f"[data-testid=stMainBlockContainer] h1:has-text('{title}')", timeout=120_000)
    settle(pg)
    no_exception(pg)


def upload(pg, path: Path) -> None:
    """Upload an account table on the Data page and load it with the detected mapping."""
    open_page(pg, "Data")
    pg.locator(".st-key-upload input[type=file]").set_input_files(str(path))
    pg.wait_for_selector(".st-key-load_upload button", timeout=60_000)
    settle(pg)
    press(pg, "load_upload")
    no_exception(pg)
    assert pg.get_by_text(f"{path.name} is now active.").count() == 1


def press(pg, key: str) -> None:
    """Click the button with widget key `key` and wait for the run it starts."""
    pg.locator(f".st-key-{key} button").first.click()
    settle(pg)


def sidebar_rule_set(pg) -> str:
    return pg.locator("[data-testid=stSidebar] .st-key-ruleset_choice input[role=combobox]").input_value().strip()


def both_widths(pg, name: str, locator: str | None = None) -> None:
    """Screenshots at 1440 and 800 px (the width the page was at is restored)."""
    for width in (800, 1440):
        pg.set_viewport_size({"width": width, "height": 900})
        settle(pg)
        if locator:
            pg.locator(locator).first.scroll_into_view_if_needed()
        pg.screenshot(path=str(_shots() / f"{name}-{width}.png"))


def sample_numbers() -> tuple[int, float]:
    """Accounts and ARR of the 400-account sample under the default rule set, from riskcore directly."""
    from riskcore.rules import load_ruleset
    from riskcore.sample import ensure_sample
    from riskcore.scoring import score_df
    from riskcore.signals import signals_table
    from riskcore.workspace import DEFAULT_RULES, default_as_of, discard_store, open_store
    store = open_store(ensure_sample(400))
    try:
        frame = score_df(store, load_ruleset(DEFAULT_RULES), signals_table(store, default_as_of(store)))
        return len(frame), float(frame["value"].sum())
    finally:
        discard_store(store)


def test_banner_on_every_page_and_starter_rules_in_one_click(server, session, tmp_path):  # noqa: F811
    pg = session
    export = tmp_path / "export.csv"
    shutil.copy(TELCO, export)
    goto(pg, f"{server}/data")
    upload(pg, export)
    assert sidebar_rule_set(pg) == "v1 (published)"  # the default rule set, seeded for this dataset
    for title in ("Accounts", "Tuning", "Calibration", "Overview"):
        open_page(pg, title)
        banner = pg.locator(".st-key-rules_do_not_apply")
        assert banner.count() == 1 and BANNER in banner.inner_text(), title
        assert banner.locator(".st-key-start_starter button").first.inner_text().strip() == "Start from starter rules"
    assert metric_value(pg, "Accounts in high tier") == "0" and metric_value(pg, "Accounts in medium tier") == "0"
    both_widths(pg, "banner")
    press(pg, "start_starter")
    no_exception(pg)
    assert pg.locator(".st-key-rules_do_not_apply").count() == 0
    assert pg.get_by_text(re.compile(r"^The draft now has \d+ starter rules from the columns of export\.csv")).count() == 1
    left_out = pg.locator("[data-testid=stAlertContentWarning]", has_text="Left out of the starter rules").inner_text()
    assert "Churn Label" in left_out and "Churn Score" in left_out
    assert sidebar_rule_set(pg) == "Draft (this session)"
    assert metric_value(pg, "Accounts in high tier") != "0" or metric_value(pg, "Accounts in medium tier") != "0"
    both_widths(pg, "banner-starter")


def test_rule_sets_belong_to_their_dataset(server, session, tmp_path):  # noqa: F811
    pg = session
    telco = tmp_path / "telco.csv"
    shutil.copy(TELCO, telco)
    goto(pg, f"{server}/data")
    upload(pg, telco)
    press(pg, "starter_rules")  # the Data page's starter button
    open_page(pg, "Tuning")
    press(pg, "save_publish")
    no_exception(pg)
    assert pg.get_by_text("Saved as v2 and published.").count() == 1
    # publishing v1 (the default set) again for telco.csv: its rules cannot run there, the page asks first
    pg.locator(".st-key-publish_pick input[role=combobox]").click()
    pg.get_by_role("option", name="v1", exact=True).click()
    settle(pg)
    press(pg, "publish_version")
    warning = pg.locator(".st-key-publish_warning")
    assert warning.count() == 1 and "21 of 21 rules cannot run on telco.csv: 'usage_drop'," in warning.inner_text()
    both_widths(pg, "publish-warning", ".st-key-publish_warning")
    press(pg, "publish_cancel")
    assert pg.locator(".st-key-publish_warning").count() == 0

    open_page(pg, "Data")  # back to the sample: its own published set, its numbers
    pg.locator(".st-key-data_source button", has_text="Sample").first.click()
    settle(pg)
    press(pg, "use_sample")
    assert sidebar_rule_set(pg) == "v1 (published)"
    open_page(pg, "Overview")
    accounts, arr = sample_numbers()
    from ui.session import money
    assert metric_value(pg, "Accounts") == f"{accounts:,}" and accounts > 0
    assert metric_value(pg, "Total ARR") == money(arr) and arr > 0
    assert pg.locator(".st-key-rules_do_not_apply").count() == 0

    open_page(pg, "Data")  # and telco.csv kept its own published set
    pg.locator(".st-key-data_source button", has_text="Upload a file").first.click()
    settle(pg)
    upload(pg, telco)
    assert sidebar_rule_set(pg) == "v2 (published)"
    assert "telco.csv" in pg.locator("[data-testid=stSidebar]").inner_text()
