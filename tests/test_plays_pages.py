"""The Plays page, Start play on the account view and the Overview's alert inbox (AppTest, 400-account
sample): what they show equals riskcore's figures for the same inputs, what they write is in the store
and on disk, and a marked alert stays marked in a new session."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from conftest import app_env

from riskcore import aggregates as agg
from riskcore.inbox import combine_alerts
from riskcore.periods import previous_period
from riskcore.plays import holdout_draw, holdout_message, play_starts
from riskcore.uplift import uplift_all, uplift_rows
from riskcore import history as hist

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 180
SHOWN = ["play", "effect (95% interval)", "ARR saved", "accounts needed", "treated churned", "control churned",
         "method", "not counted"]


@pytest.fixture(autouse=True)
def small_sample(tmp_path_factory):
    """A fresh rule-set home (marks and plays journals) and a fresh app cache for every test."""
    import streamlit as st
    st.cache_resource.clear()
    with app_env(tmp_path_factory, drop=("RISKCORE_DATA", "RISKCORE_SNAPSHOTS")):
        yield
    st.cache_resource.clear()


def app():
    from streamlit.testing.v1 import AppTest
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def no_exception(at) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


COLUMN_OF = {"plays_table": "effect (95% interval)", "account_plays": "group", "play_starts": "first_start"}


def frame(at, key: str) -> pd.DataFrame:
    """The dataframe drawn with this key (found by a column only it has: a grid without selection does
    not carry its key)."""
    found = [df for df in at.dataframe if COLUMN_OF[key] in df.value.columns]
    assert len(found) == 1, f"no dataframe {key!r}"
    return found[0].value


def plays_page():
    at = app().run()
    at.switch_page("ui/plays.py").run()
    no_exception(at)
    return at


# ---- the Plays page ------------------------------------------------------------------------------

def test_plays_page_shows_riskcore_uplift_for_each_play_and_horizon():
    at = plays_page()
    c = at.session_state["_ctx"]
    assert at.title[0].value == "Plays"
    expected = uplift_rows(uplift_all(c.store, 90, rules=c.rs))
    assert list(expected["play"]) == ["exec_sponsor_call", "health_check_email"]  # the sample's plays
    pd.testing.assert_frame_equal(frame(at, "plays_table").reset_index(drop=True), expected[SHOWN])
    assert all("points (" in x for x in expected["effect (95% interval)"])
    assert not at.warning  # both plays have random hold-outs: no observational caveat
    at.segmented_control(key="plays_horizon").set_value(180).run()
    no_exception(at)
    pd.testing.assert_frame_equal(frame(at, "plays_table").reset_index(drop=True),
                                  uplift_rows(uplift_all(c.store, 180, rules=c.rs))[SHOWN])


def test_plays_page_says_when_the_data_has_no_plays(tmp_path, monkeypatch):
    from riskcore.sample import ensure_sample
    folder = tmp_path / "noplays"
    shutil.copytree(ensure_sample(400), folder)
    (folder / "plays.parquet").unlink()
    monkeypatch.setenv("RISKCORE_DATA", str(folder))
    at = plays_page()
    assert any("has no plays yet" in i.value for i in at.info)
    assert not [df for df in at.dataframe if COLUMN_OF["plays_table"] in df.value.columns]


def test_hold_out_part_of_the_save_quadrant_is_stored():
    at = plays_page()
    c = at.session_state["_ctx"]
    with c.store.lock:
        table = c.engine.scored(c.rs, c.as_of)
        save = agg.account_list(c.store, table, agg.Filters(quadrant=("Save",)), limit=1000)["account_id"].tolist()
    assert len(save) >= 2
    at.number_input(key="holdout_share").set_value(50).run()
    at.button(key="assign_holdout").click().run()
    no_exception(at)
    held, treated = holdout_draw(save, 0.5, seed=0)
    assert len(held) == int(len(save) * 0.5 + 0.5)
    rows = c.store.df("SELECT account_id, holdout FROM plays WHERE play = 'save'")
    assert sorted(rows.loc[rows["holdout"], "account_id"]) == held
    assert sorted(rows.loc[~rows["holdout"], "account_id"]) == treated
    done = at.session_state["_holdout_done"]
    assert [s.value.replace("\\", "") for s in at.success] == [holdout_message(done, "Save: high value at high risk")]
    assert (done["held_out"], done["treated"], done["eligible"]) == (len(held), len(treated), len(save))
    assert "save" in list(frame(at, "plays_table")["play"])


# ---- Start play on an account --------------------------------------------------------------------

def _an_account(c) -> str:
    return c.store.one("SELECT account_id FROM accounts WHERE contract_start < DATE '2026-01-01' AND account_id NOT IN "
                       "(SELECT account_id FROM outcomes WHERE outcome = 'churned') ORDER BY 1 LIMIT 1")


def test_start_play_on_an_account_writes_the_store_and_the_plays_page_counts_it():
    at = app().run()
    c = at.session_state["_ctx"]
    acc = _an_account(c)
    at.query_params["account"] = acc
    at.switch_page("ui/accounts.py").run()
    no_exception(at)
    assert "Plays" in [s.value for s in at.subheader]
    next(s for s in at.selectbox if s.label == "Playbook").set_value("save")
    next(t for t in at.text_input if t.label == "Owner").set_value("Dana O'Neil")
    next(d for d in at.date_input if d.label == "Start date").set_value(date(2026, 6, 1))
    next(b for b in at.button if b.label == "Start play").click().run()
    no_exception(at)
    assert c.store.rows("SELECT account_id, play, started_at, holdout, owner FROM plays WHERE play = 'save'") == [
        (acc, "save", date(2026, 6, 1), False, "Dana O'Neil")]
    assert list(frame(at, "account_plays")["play"]) == ["save"]
    at.switch_page("ui/plays.py").run()
    no_exception(at)
    shown = frame(at, "plays_table").set_index("play")
    assert shown.loc["save", "method"] == "matched (observational)"
    assert shown.loc["save", "treated churned"].endswith(" of 1 (0.0%)") or shown.loc["save", "treated churned"] \
        .startswith("1 of 1")
    assert any("Matched, not randomised" in w.value for w in at.warning)  # the observational caveat


def test_a_started_play_survives_a_restart():
    import streamlit as st
    at = app().run()
    c = at.session_state["_ctx"]
    acc = _an_account(c)
    at.query_params["account"] = acc
    at.switch_page("ui/accounts.py").run()
    next(b for b in at.button if b.label == "Start play").click().run()
    no_exception(at)
    sql = "SELECT account_id, play, started_at, holdout, owner FROM plays WHERE account_id = ? ORDER BY ALL"
    before = c.store.rows(sql, [acc])
    assert len(before) == 1
    st.cache_resource.clear()  # a restart: the store is loaded again from the sample's files
    at = plays_page()
    c2 = at.session_state["_ctx"]
    assert c2.store is not c.store
    assert c2.store.rows(sql, [acc]) == before  # brought back from the dataset's journal
    assert before[0][1] in list(frame(at, "plays_table")["play"])


# ---- the Overview's alert inbox ------------------------------------------------------------------

def _new_count(at) -> int:
    label = at.tabs[0].label
    assert label.startswith("New alerts (")
    return int(label[len("New alerts ("):-1].replace(",", ""))


def test_overview_counts_new_entries_and_acknowledged_ones_stay_acknowledged():
    at = app().run()
    no_exception(at)
    c = at.session_state["_ctx"]
    entries = combine_alerts(hist.alerts(c.rs, previous_period(c.as_of), store=c.store))
    assert _new_count(at) == len(entries) > 2  # one entry per account, all new
    first = [b for b in at.button if b.key and b.key.startswith("ack-")]
    assert len(first) == min(10, len(entries))
    first[0].click().run()
    no_exception(at)
    assert _new_count(at) == len(entries) - 1
    next(b for b in at.button if b.key and b.key.startswith("snooze-")).click().run()
    assert _new_count(at) == len(entries) - 2
    again = app().run()  # another session (a reload, a restart): the marks are on disk
    assert _new_count(again) == len(entries) - 2
    again.segmented_control(key="inbox_view").set_value("acknowledged").run()
    undo = [b for b in again.button if b.key and b.key.startswith("undo-")]
    assert len(undo) == 1
    undo[0].click().run()
    assert _new_count(again) == len(entries) - 1


def test_a_csm_cannot_open_plays_and_a_leader_can():
    """Plays pools every book (counts, ARR saved), so a CSM restricted to a book does not get it: the
    navigation leaves it out and the page file run on its own stops with the reason."""
    from test_pages_access import CSM, LEADER, app as app_as, signed_in
    at = app_as(signed_in(LEADER))
    at.switch_page("ui/plays.py").run()
    assert not at.exception and at.title[0].value == "Plays"
    at = app_as(signed_in(CSM))
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("ui/plays.py")
    at = app_as(signed_in(CSM), script=str(ROOT / "ui" / "plays.py"))
    assert not at.exception and not at.title
    assert any("cannot open" in e.value for e in at.error)
