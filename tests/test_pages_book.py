"""A CSM sees only their own book on every page (AppTest, issue 13 security finding 3).

The user is faked at the boundary as in tests/test_pages_access.py. The data is the 400-account
sample with every ARR made unique (a thousandth added per row), so an ARR figure on a page can be
traced to one account. Each page is run as the CSM `kim@example.com` (book: Ava Patel) and every
string and number it shows (conftest.shown: dataframes, tables, chart specs, Markdown, metrics,
widget labels and options) is searched for other owners' account ids, names, owner names and ARR.
The same search run as the admin finds them, so it would find a leak.
"""

from __future__ import annotations

import os
import re
import shutil

import pandas as pd
import pytest
from conftest import shown
from test_pages_access import ADMIN, CSM, app, no_exception, signed_in

OWNER = "Ava Patel"  # test_pages_access.SECRETS maps CSM to this owner


@pytest.fixture(scope="module", autouse=True)
def unique_arr_sample(tmp_path_factory):
    """RISKCORE_DATA: a copy of the 400-account sample whose ARR values are all distinct."""
    from riskcore.sample import ensure_sample
    keys = ("RISKCORE_SAMPLE_ACCOUNTS", "RISKCORE_HOME", "RISKCORE_DATA")
    old = {k: os.environ.get(k) for k in keys}
    os.environ["RISKCORE_SAMPLE_ACCOUNTS"] = "400"
    os.environ["RISKCORE_HOME"] = str(tmp_path_factory.mktemp("rulesets"))
    folder = tmp_path_factory.mktemp("book") / "sample"
    shutil.copytree(ensure_sample(400), folder)
    accounts = pd.read_parquet(folder / "accounts.parquet")
    accounts["arr"] = accounts["arr"] + (accounts.index + 1) / 1000
    accounts.to_parquet(folder / "accounts.parquet", index=False)
    os.environ["RISKCORE_DATA"] = str(folder)
    try:
        yield accounts
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


@pytest.fixture(scope="module")
def others(unique_arr_sample):
    """Other owners' ids, names (not inside a book name), owner names and ARR values."""
    acc = unique_arr_sample
    mine, rest = acc[acc["csm_owner"] == OWNER], acc[acc["csm_owner"] != OWNER]
    assert len(mine) > 10 and len(rest) > 100
    names = {n for n in rest["account_name"].dropna() if not any(n in m for m in mine["account_name"].dropna())}
    return {"ids": set(rest["account_id"]), "names": names, "owners": set(rest["csm_owner"]),
            "arr": set(rest["arr"].round(3)), "book": set(mine["account_id"])}


def leaks(at, others) -> dict[str, list]:
    texts, numbers = shown(at)
    page = "\n".join(texts)
    found = {
        "ids": sorted(i for i in others["ids"] if re.search(re.escape(i) + r"(?!\d)", page)),
        "names": sorted(n for n in others["names"] if n in page),
        "owners": sorted(o for o in others["owners"] if o in page),
        "arr": sorted({round(x, 3) for x in numbers} & others["arr"]),
    }
    return {k: v for k, v in found.items() if v}


def open_page(user: str, page: str | None):
    at = app(signed_in(user))
    no_exception(at)
    if page:
        at.switch_page(page).run()
        no_exception(at)
    return at


def move_weights(at) -> None:
    """Every rule's slider to 100: many accounts change tier, so the movers table fills."""
    for s in at.slider:
        if s.key and s.key.startswith("weight:"):
            s.set_value(100)
    at.run()
    no_exception(at)


def frame_with(at, *columns) -> pd.DataFrame:
    for df in at.dataframe:
        if set(columns) <= set(df.value.columns):
            return df.value
    raise AssertionError(f"no dataframe with {columns}")


def metric(at, label: str) -> int:
    return int(next(m.value for m in at.metric if m.label == label).replace(",", ""))


def book_size(at) -> int:
    """The book's accounts scored at the page's as-of date, counted independently of the pages."""
    from riskcore.signals import signals_table
    c = at.session_state["_ctx"]
    with c.store.lock:
        return c.store.one(f"SELECT count(*) FROM {signals_table(c.store, c.as_of)} WHERE csm_owner = ?", [OWNER])


def test_the_search_finds_other_books_for_an_admin(others):
    """The control: the admin's Tuning movers and Overview list other owners' accounts, and the
    search reports them (so an empty result for the CSM means something)."""
    at = open_page(ADMIN, "ui/tuning.py")
    move_weights(at)
    assert {"names", "owners", "arr"} <= set(leaks(at, others))  # the movers table has no id column
    at = open_page(ADMIN, None)
    at.segmented_control(key="quadrant_pick").set_value("Save").run()
    assert {"ids", "names", "owners", "arr"} <= set(leaks(at, others))


def test_tuning_shows_only_the_book(others):
    at = open_page(CSM, "ui/tuning.py")
    move_weights(at)
    movers = frame_with(at, "account", "move", "owner")
    assert len(movers) > 0 and set(movers["owner"]) == {OWNER}
    assert leaks(at, others) == {}
    n = book_size(at)
    assert 10 < n < len(others["ids"])
    assert sum(metric(at, f"{t} tier") for t in ("High", "Medium", "Low")) == n  # the book's, not everyone's
    assert frame_with(at, "quadrant", "accounts", "change")["accounts"].sum() == n
    assert int(frame_with(at, "low", "medium", "high").to_numpy().sum()) == n  # the movement matrix
    assert leaks(at, others) == {}


def test_overview_shows_only_the_book(others):
    at = open_page(CSM, None)
    assert metric(at, "Accounts") == book_size(at)
    assert leaks(at, others) == {}
    for quadrant in ("Save", "Expand", "Triage", "Maintain"):
        at.segmented_control(key="quadrant_pick").set_value(quadrant).run()
        no_exception(at)
        listed = frame_with(at, "account_id", "csm_owner")
        assert set(listed["csm_owner"]) <= {OWNER} and set(listed["account_id"]) <= others["book"]
        assert leaks(at, others) == {}, quadrant
    at.segmented_control(key="quadrant_pick").set_value(None).run()
    alerts = [df.value for df in at.dataframe if "alert" in df.value.columns]
    assert alerts and len(alerts[0]) > 0 and set(alerts[0]["account_id"]) <= others["book"]
    assert leaks(at, others) == {}


def test_accounts_list_and_views_show_only_the_book(others):
    at = open_page(CSM, "ui/accounts.py")
    assert leaks(at, others) == {}
    assert set(at.multiselect(key="f_owner").options) == {OWNER}  # no other owner to pick
    assert at.toggle(key="f_group_parent").disabled  # a parent's roll-up would sum other books
    listed = frame_with(at, "account_id", "owner")
    assert set(listed["account_id"]) <= others["book"] and len(listed) > 0
    own = sorted(others["book"])[0]
    other = sorted(others["ids"])[0]
    for account in (own, other):
        at = app(signed_in(CSM))
        at.query_params["account"] = account
        at.run()
        at.switch_page("ui/accounts.py").run()
        no_exception(at)
        found = leaks(at, others)
        if account == other:  # the id the user typed is echoed in the warning; nothing else of it
            assert any("No scored account" in w.value for w in at.warning)
            found.pop("ids", None)
        else:
            assert at.header and not at.warning
        assert found == {}, (account, found)


def test_calibration_lists_no_account(others):
    at = open_page(CSM, "ui/calibration.py")
    assert leaks(at, others) == {}
