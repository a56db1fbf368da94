"""Recording plays (riskcore.plays), the Plays page's table (uplift.uplift_rows) and plays' dates in the
data's range (signals), against hand-counted fixtures (riskcore.fixtures.uplift_holdout_frames)."""

from __future__ import annotations

import json
import math
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from riskcore.activity import load_frames
from riskcore.db import Store
from riskcore.fixtures import uplift_holdout_frames, uplift_store
from riskcore.plays import (PlayError, PlayJournal, account_plays, assign_holdout, holdout_draw, holdout_plan,
                            journal_folder, play_starts, plays_version, start_play)
from riskcore.signals import active_dates
from riskcore.uplift import accounts_needed, play_accounts, play_names, uplift, uplift_rows


@pytest.fixture
def store():
    return uplift_store(uplift_holdout_frames())


def _book(n: int) -> dict:
    """n accounts A000.. with usage on 2024-01-10 and 2024-12-31 (the data's dates), no plays table."""
    ids = [f"A{i:03d}" for i in range(n)]
    return {"accounts": pd.DataFrame({"account_id": ids, "arr": 100.0, "contract_start": date(2024, 1, 1)}),
            "usage": pd.DataFrame({"account_id": ids * 2, "date": [date(2024, 1, 10)] * n + [date(2024, 12, 31)] * n,
                                   "logins": 3}),
            "outcomes": pd.DataFrame({"account_id": ["A000"], "date": [date(2024, 12, 1)], "outcome": "churned"})}


def _plays(store) -> list[tuple]:
    owner = "owner" if "owner" in store.columns("plays") else "NULL"
    return store.rows(f"SELECT account_id, play, started_at, holdout, {owner} FROM plays ORDER BY ALL")


# ---- Start play ----------------------------------------------------------------------------------

def test_start_play_writes_one_row_with_bound_values(store):
    before = _plays(store)
    owner = "O'Brien'); DROP TABLE plays; --"
    row = start_play(store, "T2", "save", date(2024, 7, 1), owner=owner)
    assert row == {"account_id": "T2", "play": "save", "started_at": date(2024, 7, 1), "holdout": False,
                   "owner": owner, "added": True}
    after = _plays(store)
    assert len(after) == len(before) + 1 and ("T2", "save", date(2024, 7, 1), False, owner) in after
    assert start_play(store, "T2", "save", date(2024, 7, 1), owner=owner)["added"] is False  # recorded once
    assert len(_plays(store)) == len(after)
    assert play_names(store) == ["call", "other", "save"]


@pytest.mark.parametrize("args, message", [
    (("NOPE", "save", date(2024, 7, 1)), "no account with id 'NOPE'"),
    (("T2", "  ", date(2024, 7, 1)), "the play name is empty"),
    (("T2", "x" * 101, date(2024, 7, 1)), "at most 100 characters"),
    (("T2", "two\nlines", date(2024, 7, 1)), "without line breaks"),
    (("T2", "save", datetime(2024, 7, 1, 9)), "must be a date"),
    (("T2", "save", "2024-07-01"), "must be a date"),
    (("T2", "save", date(2025, 1, 1)), r"outside the data's dates \(2024-01-10 to 2024-12-31\)"),
])
def test_start_play_refuses_what_it_cannot_record(store, args, message):
    before = _plays(store)
    with pytest.raises(PlayError, match=message):
        start_play(store, *args)
    assert _plays(store) == before


def test_start_play_creates_the_plays_table_when_the_data_has_none():
    store = Store()
    load_frames(store, _book(3))
    assert not store.has_table("plays") and play_names(store) == []
    start_play(store, "A001", "Save: high value", date(2024, 12, 2), owner="Ana")
    assert store.columns("plays") == ["account_id", "play", "started_at", "holdout", "owner"]
    assert _plays(store) == [("A001", "Save: high value", date(2024, 12, 2), False, "Ana")]
    # the new play is a play like any other: uplift finds it (too recent to count for 90 days)
    assert play_names(store) == ["Save: high value"]
    r = uplift(store, "Save: high value", 90)
    assert r["method"] == "matched" and r["treated"]["n"] == 0 and r["excluded"]["horizon_past_data_end"] == 1


def test_a_loaded_plays_table_without_holdout_gets_the_columns(store):
    frames = uplift_holdout_frames()
    frames["plays"] = frames["plays"].drop(columns=["holdout"])
    bare = uplift_store(frames)
    assert "holdout" not in bare.columns("plays")
    loaded = bare.one("SELECT count(*) FROM plays")  # 14: C1's two rows are one without the hold-out column
    start_play(bare, "T1", "call", date(2024, 7, 1))
    assert bare.columns("plays")[-2:] == ["holdout", "owner"]
    assert bare.one("SELECT count(*) FROM plays WHERE holdout IS NULL") == loaded == 14
    assert bare.one("SELECT count(*) FROM plays WHERE NOT holdout") == 1


def test_plays_need_activity_tables(tmp_path):
    from riskcore.loading import load_data
    (tmp_path / "accounts.csv").write_text("customer,arr\nc1,1\n")
    store = Store()
    load_data(store, tmp_path / "accounts.csv")  # an account table has no dates
    with pytest.raises(PlayError, match="activity tables"):
        start_play(store, "c1", "save", date(2024, 1, 1))
    assert account_plays(store, "c1").empty and play_starts(store).empty


def test_a_started_play_is_counted_by_uplift(store):
    start_play(store, "H4", "second_call", date(2024, 6, 1))  # H4 was active then and never churned
    start_play(store, "T1", "second_call", date(2024, 6, 1))  # T1 churned 2024-07-15: inside 90 days
    starts = play_accounts(store, "second_call").set_index("account_id")
    assert list(starts["group"]) == ["treated", "treated"] and list(starts["excluded"]) == ["", ""]
    assert starts["churned"].to_dict() == {"H4": False, "T1": True}


# ---- hold-outs -----------------------------------------------------------------------------------

def test_holdout_share_rounds_half_up_and_is_repeatable():
    ids = [f"A{i:03d}" for i in range(40)]
    for n, share, k in ((40, 0.1, 4), (25, 0.1, 3), (24, 0.1, 2), (15, 0.1, 2), (10, 0.0, 0), (7, 1.0, 7), (0, 0.1, 0)):
        held, treated = holdout_draw(ids[:n], share)
        assert (len(held), len(treated)) == (k, n - k), (n, share)
        assert sorted(held + treated) == sorted(ids[:n]) and not set(held) & set(treated)
    a = holdout_draw(ids, 0.1, seed=7)
    assert a == holdout_draw(list(reversed(ids)) + ids[:5], 0.1, seed=7)  # order and repeats do not matter
    # independently: numpy's draw of 4 positions among the 40 sorted ids with seed 7
    picked = np.random.default_rng(7).choice(40, size=4, replace=False)
    assert a[0] == sorted(ids[i] for i in picked)
    assert holdout_draw(ids, 0.1, seed=8)[0] != a[0]
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(PlayError, match="between 0 and 1"):
            holdout_draw(ids, bad)


def test_assign_holdout_stores_the_draw():
    store = Store()
    load_frames(store, _book(200))
    ids = [f"A{i:03d}" for i in range(0, 200, 2)]  # 100 eligible accounts
    assert holdout_plan(store, ids + ["ZZZ"], "exec_call", 0.1) == {
        "accounts": 100, "already_in_play": 0, "eligible": 100, "held_out": 10, "treated": 90}
    r = assign_holdout(store, ids + ["ZZZ"], "exec_call", date(2024, 10, 1), share=0.1, seed=3, owner="Lee")
    assert (r["eligible"], r["held_out"], r["treated"], r["added"], r["unknown"], r["already_in_play"]) == (
        100, 10, 90, 100, 1, 0)
    assert r["held_out_share"] == 0.1
    rows = store.df("SELECT account_id, holdout, owner, started_at FROM plays")
    assert int(rows["holdout"].sum()) == 10 and len(rows) == 100 and set(rows["owner"]) == {"Lee"}
    assert sorted(rows.loc[rows["holdout"], "account_id"]) == r["held_out_ids"] == holdout_draw(ids, 0.1, 3)[0]
    # repeatable: another store, the same call, the same accounts held out
    again = Store()
    load_frames(again, _book(200))
    assert assign_holdout(again, list(reversed(ids)), "exec_call", date(2024, 10, 1), 0.1, 3)["held_out_ids"] == \
        r["held_out_ids"]
    # a second round never moves an account already in the play: only the new ones are drawn
    assert holdout_plan(store, [f"A{i:03d}" for i in range(20)], "exec_call", 0.1) == {
        "accounts": 20, "already_in_play": 10, "eligible": 10, "held_out": 1, "treated": 9}
    more = assign_holdout(store, [f"A{i:03d}" for i in range(20)], "exec_call", date(2024, 11, 1), 0.1, 3)
    assert (more["eligible"], more["already_in_play"], more["held_out"]) == (10, 10, 1)
    assert store.one("SELECT count(*) FROM plays") == 110
    # uplift reads the assignment as a randomised comparison
    assert uplift(store, "exec_call", 30)["method"] == "holdout"


def test_holdout_share_must_be_a_share(store):
    with pytest.raises(PlayError, match="between 0 and 1"):
        assign_holdout(store, ["T1"], "x", date(2024, 6, 1), share=10)


# ---- reading back --------------------------------------------------------------------------------

def test_play_starts_and_an_accounts_plays_counted_by_hand(store):
    starts = play_starts(store).set_index("play")
    # call: 15 fixture rows minus "other" = 14 rows over 12 accounts; held out (a true row): T7, H1-H4, C1
    assert starts.loc["call", ["rows", "accounts", "held_out"]].tolist() == [14, 12, 6]
    assert (starts.loc["call", "first_start"].date(), starts.loc["call", "last_start"].date()) == (
        date(2024, 6, 1), date(2024, 11, 1))
    assert starts.loc["other", ["rows", "accounts", "held_out"]].tolist() == [1, 1, 0]
    t7 = account_plays(store, "T7")
    assert [(r.play, r.started_at.date(), bool(pd.notna(r.holdout) and r.holdout)) for r in t7.itertuples()] == [
        ("call", date(2024, 9, 1), True), ("call", date(2024, 6, 1), False)]  # the 06-01 row's holdout is empty
    assert list(t7["group"]) == ["held out", "started"]
    v = plays_version(store)
    start_play(store, "T7", "other", date(2024, 6, 2))
    assert plays_version(store) != v and plays_version(store) == plays_version(store)


# ---- the journal: survives a restart -------------------------------------------------------------

def test_journal_brings_recorded_plays_back_after_a_reload(tmp_path, store):
    journal = PlayJournal(journal_folder(tmp_path, "sample"))
    start_play(store, "T2", "save", date(2024, 7, 1), owner="Ana", journal=journal)
    assign_holdout(store, ["H4", "T4"], "check_in", date(2024, 7, 2), share=0.5, journal=journal)
    fresh = uplift_store(uplift_holdout_frames())  # a restart: the data loaded again from its files
    assert play_names(fresh) == ["call", "other"]
    assert PlayJournal(journal_folder(tmp_path, "sample")).replay(fresh) == 3
    assert _plays(fresh) == _plays(store)
    assert PlayJournal(journal_folder(tmp_path, "sample")).replay(fresh) == 0  # never twice
    assert (tmp_path / "datasets" / "sample" / "plays" / "plays.json").is_file()


def test_journal_csv_loads_as_a_plays_table(tmp_path, store):
    from riskcore.activity import load_activity
    journal = PlayJournal(tmp_path / "j")
    start_play(store, "T2", "save", date(2024, 7, 1), owner="=HYPERLINK(1)", journal=journal)
    assign_holdout(store, ["H4", "T4"], "check_in", date(2024, 7, 2), share=0.5, journal=journal)
    folder = tmp_path / "data"
    folder.mkdir()
    for name, frame in uplift_holdout_frames().items():
        if name != "plays":
            frame.to_csv(folder / f"{name}.csv", index=False)
    (folder / "plays.csv").write_bytes(journal.csv())
    loaded = Store()
    load_activity(loaded, folder)
    assert sorted(loaded.rows("SELECT account_id, play, started_at, holdout FROM plays")) == sorted(
        (r[0], r[1], r[2], r[3]) for r in _plays(store) if r[1] in ("save", "check_in"))
    assert loaded.one("SELECT owner FROM plays WHERE play = 'save'") == "'=HYPERLINK(1)"  # neutralised


def test_journal_refuses_a_file_it_did_not_write(tmp_path, store):
    journal = PlayJournal(tmp_path)
    for text in ("not json", json.dumps({"format": 2, "plays": []}),
                 json.dumps({"format": 1, "plays": [{"account_id": "T1", "play": "x", "started_at": "2024-13-01",
                                                     "holdout": False}]}),
                 json.dumps({"format": 1, "plays": [{"account_id": "T1", "play": "x\n", "started_at": "2024-01-01",
                                                     "holdout": "yes"}]})):
        journal.path.write_text(text)
        with pytest.raises(PlayError, match="saved plays"):
            journal.replay(store)
    with pytest.raises(PlayError, match="not a dataset id"):
        journal_folder(tmp_path, "../etc")


def test_journal_skips_accounts_the_data_no_longer_has(tmp_path, store):
    journal = PlayJournal(tmp_path)
    journal.add([{"account_id": "GONE", "play": "save", "started_at": date(2024, 7, 1), "holdout": False,
                  "owner": None}])
    assert journal.replay(store) == 0 and "GONE" not in {r[0] for r in _plays(store)}


# ---- the Plays page's table ----------------------------------------------------------------------

def test_uplift_rows_as_the_page_shows_them(store):
    r = uplift(store, "call", 90)
    [row] = uplift_rows([r]).to_dict("records")
    # treated T1 (churned), T2, T4, T7; control H1, H2 (churned), H4; effect 2/3 - 1/4 = +41.7 points
    assert row["play"] == "call" and row["method"] == "hold-out"
    assert row["treated churned"] == "1 of 4 (25.0%)" and row["control churned"] == "2 of 3 (66.7%)"
    lo, hi = r["ci_low"], r["ci_high"]
    assert lo < 0 < hi  # inconclusive (test_uplift checks the interval itself)
    assert row["effect (95% interval)"] == f"+41.7 points ({100 * lo:+.1f} to {100 * hi:+.1f})"
    assert (row["effect"], row["ci_low"], row["ci_high"]) == (41.7, round(100 * lo, 1), round(100 * hi, 1))
    # ARR saved: (2/3 - 1/4) x (1000 + 2000 + 4000 + 7000) = 5,833.33
    assert row["ARR saved"] == "$5.8k (the interval holds 0)"
    assert row["accounts needed"] == f"about {r['accounts_needed']['more']:,} more"
    assert row["not counted"] == "3 not active, 1 horizon past data end, 1 holdout and treated"
    empty = dict(r, effect=None, ci_low=None, ci_high=None, arr_saved=None, conclusive=False,
                 treated={"n": 0, "churned": 0, "rate": None}, accounts_needed={"more": None},
                 excluded={"not_active": 0}, method="matched")
    [row] = uplift_rows([empty]).to_dict("records")
    assert (row["method"], row["treated churned"], row["effect (95% interval)"], row["ARR saved"],
            row["accounts needed"], row["not counted"], row["effect"]) == (
        "matched (observational)", "0 of 0", "—", "—", "— (no difference to size)", "—", None)
    assert list(uplift_rows([]).columns)[:3] == ["play", "method", "treated churned"]


def test_accounts_needed_when_the_answer_is_tiny():
    """Rates 100% vs 0% with one account each: statsmodels' root finder fails below 2 accounts, so the
    closed form answers: n = (z_0.975 + z_0.8)^2 x (1 + 1/ratio) / h^2, h = 2 asin(1) - 2 asin(0) = pi."""
    n = (1.959964 + 0.841621) ** 2 * 2 / math.pi ** 2  # 1.59
    need = accounts_needed(1.0, 0.0, 1, 1, conclusive=False)
    assert (need["treated"], need["control"], need["more"]) == (math.ceil(n), math.ceil(n), 2)


# ---- plays' dates are the data's dates -----------------------------------------------------------

def test_plays_dates_count_in_the_data_range_and_a_far_one_is_flagged():
    frames = uplift_holdout_frames()  # activity ends 2024-12-31 (usage); plays start 2024-06-01 .. 11-01
    base = uplift_store(frames)
    assert active_dates(base) == (date(2024, 1, 10), date(2024, 12, 31))
    later = dict(frames, plays=pd.concat([frames["plays"], pd.DataFrame(
        {"account_id": ["T1"], "play": ["call"], "started_at": [date(2025, 1, 20)], "holdout": [False]})]))
    assert active_dates(uplift_store(later))[1] == date(2025, 1, 20)  # a later start extends the range
    typo = dict(frames, plays=pd.concat([frames["plays"], pd.DataFrame(
        {"account_id": ["T1"], "play": ["call"], "started_at": [date(2099, 1, 1)], "holdout": [False]})],
        ignore_index=True))
    store = Store()
    report = load_frames(store, typo)
    [w] = [p for p in report.warnings if p.file == "plays"]
    assert (w.column, w.found, w.row) == ("started_at", "2099-01-01", len(typo["plays"]))
    assert "dated past the data's ordinary end" in w.message
    assert active_dates(store) == active_dates(base)  # kept, but not the data's end
