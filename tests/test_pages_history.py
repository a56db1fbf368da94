"""The history parts of the Overview and Accounts pages (AppTest, 400-account sample): what they show
equals what riskcore.history / riskcore.segments compute for the same inputs, independently."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from conftest import app_env

from riskcore.display import md_escape
from riskcore.periods import month_ends, previous_period
from riskcore import history as hist

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 120


@pytest.fixture(scope="module", autouse=True)
def small_sample(tmp_path_factory):
    with app_env(tmp_path_factory, drop=("RISKCORE_DATA", "RISKCORE_SNAPSHOTS")):
        yield


def app():
    from streamlit.testing.v1 import AppTest
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def no_exception(at) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def frame(at, key: str, *columns: str):
    """The dataframe with this widget key (selectable tables), else the first with these columns."""
    found = [df for df in at.dataframe if df.proto.id and key in df.proto.id]
    found += [df for df in at.dataframe if columns and all(c in df.value.columns for c in columns)]
    assert found, f"no dataframe {key!r}"
    return found[0].value


def test_overview_lists_the_alerts_riskcore_raises():
    at = app().run()
    no_exception(at)
    c = at.session_state["_ctx"]
    since = previous_period(c.as_of)
    expected = hist.alerts(c.rs, since, store=c.store)  # as_of is the latest activity date by default
    assert expected, "the sample raises alerts over the last month"
    # the tab counts new inbox entries: one per alerted account (nothing is acknowledged in a fresh home)
    assert at.tabs[0].label == f"New alerts ({len({a['account_id'] for a in expected}):,})"
    shown = frame(at, "alerts_table")
    assert len(shown) == len(expected)
    a = expected[0]
    label = next(x.label or x.id.replace("_", " ") for x in c.rs.alerts if x.id == a["alert"])
    row = shown[(shown["account_id"] == a["account_id"]) & (shown["alert"] == label)
                & (shown["date"].astype(str) == a["date"])]
    assert len(row) == 1 and row["change"].iloc[0] == f"{a['from']} → {a['to']}"
    assert row["cause"].iloc[0] == "customer"


def test_overview_segment_sizes_equal_riskcore():
    from riskcore.segments import segments_df
    from riskcore.signals import signals_table
    at = app().run()
    no_exception(at)
    c = at.session_state["_ctx"]
    with c.store.lock:
        now = segments_df(c.store, c.rs, signals_table(c.store, c.as_of))
        before = segments_df(c.store, c.rs, signals_table(c.store, previous_period(c.as_of)))
    sizes = next(t.value for t in at.table if "accounts" in t.value.columns)  # index: segment
    counts = now["behavior_segment"].value_counts()
    # st.table renders Markdown, so the page shows the segment ids escaped (md_escape)
    shown = {s: int(str(n).replace(",", "")) for s, n in sizes["accounts"].items()}  # "1,814": separators
    assert {s: n for s, n in shown.items() if n} == {md_escape(s): int(n) for s, n in counts.items()}
    j = before.merge(now, on="account_id", suffixes=("_a", "_b"))
    changed = int((j["behavior_segment_a"] != j["behavior_segment_b"]).sum())
    assert changed > 0, "the sample shows segment movement over the last month"
    assert any(cap.value.startswith(f"{changed:,} accounts changed segment") for cap in at.caption)


def test_accounts_alerted_since_filter_lists_riskcore_accounts():
    at = app().run()
    at.switch_page("ui/accounts.py").run()
    no_exception(at)
    c = at.session_state["_ctx"]
    since = c.as_of - timedelta(days=10)
    at.date_input(key="f_alerted").set_value(since).run()
    no_exception(at)
    from riskcore.signals import signals_table
    with c.store.lock:
        active = set(c.store.df(f"SELECT CAST(account_id AS VARCHAR) AS a FROM {signals_table(c.store, c.as_of)}")["a"])
    expected = {a["account_id"] for a in hist.alerts(c.rs, since, store=c.store)} & active
    listed = frame(at, "accounts_table")
    assert expected and set(listed["account_id"]) == expected


def test_accounts_behaviour_filter_and_column_equal_riskcore():
    from riskcore.segments import segments_df
    from riskcore.signals import signals_table
    at = app().run()
    at.switch_page("ui/accounts.py").run()
    c = at.session_state["_ctx"]
    with c.store.lock:
        segs = segments_df(c.store, c.rs, signals_table(c.store, c.as_of))
    listed = frame(at, "accounts_table")
    truth = dict(zip(segs["account_id"], segs["behavior_segment"]))
    assert all(truth[a] == b for a, b in zip(listed["account_id"], listed["behaviour"]))
    at.multiselect(key="f_behavior").set_value(["high_engager"]).run()
    no_exception(at)
    listed = frame(at, "accounts_table")
    assert sorted(listed["account_id"]) == sorted(segs.loc[segs["behavior_segment"] == "high_engager", "account_id"])


def test_account_view_shows_riskcore_sentences():
    at = app().run()
    c = at.session_state["_ctx"]
    dates = month_ends(c.as_of, 6)
    found = hist.alerts(c.rs, previous_period(c.as_of), store=c.store)
    acc = next(a["account_id"] for a in found if a["alert"] == "score_jump")
    at.query_params["account"] = acc
    at.switch_page("ui/accounts.py").run()
    no_exception(at)
    shown = "\n".join(m.value for m in at.markdown).replace("\\", "")
    checked = 0
    for a, b in zip(dates, dates[1:]):
        res = hist.explain(acc, a, b, c.rs, store=c.store)
        for sentence in hist.change_sentences(res, c.dimension):
            assert f"- {sentence}" in shown, (sentence, shown)
            checked += 1
    assert checked > 0
    assert at.get("plotly_chart")  # the history chart


def _snapshots(store, path: Path, published) -> tuple:
    """Snapshots of the sample at three dates; the last under a weights-only edit (usage_drop 20 -> 60)."""
    from riskcore.rules import with_points
    from riskcore.signals import active_dates
    last = active_dates(store)[1]
    d1, d2 = previous_period(last), last - timedelta(days=14)
    edited = with_points(published, {"usage_drop": published.rule("usage_drop").points + 40})
    with store.lock:
        for d, rs in ((d1, published), (d2, published), (last, edited)):
            hist.snapshot(store, rs, d, path)
    return (d1, d2, last), edited


def test_overview_and_account_view_from_snapshots_label_rule_set_changes(tmp_path, monkeypatch):
    at = app().run()
    c = at.session_state["_ctx"]
    path = tmp_path / "snaps.duckdb"
    (d1, d2, last), edited = _snapshots(c.store, path, c.published)
    monkeypatch.setenv("RISKCORE_SNAPSHOTS", str(path))
    at.run()
    no_exception(at)
    expected = [a for a in hist.alerts(c.rs, d1, snapshots=path) if a["date"] <= c.as_of.isoformat()]
    shown = frame(at, "alerts_table")
    assert len(shown) == len(expected)
    n_rs = sum(a["cause"] == "rule_set" for a in expected)
    assert n_rs > 0 and (shown["cause"] == "rule-set change").sum() == n_rs
    # an account whose score moved only through the edit: the marker and the rule-set sentence
    acc = next(a["account_id"] for a in expected if a["cause"] == "rule_set" and a["alert"] == "score_jump")
    at.query_params["account"] = acc
    at.switch_page("ui/accounts.py").run()
    no_exception(at)
    import json
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert any("rule set →" in a.get("text", "") for a in fig["layout"]["annotations"])
    res = hist.explain(acc, d2, last, c.rs, snapshots=path)
    text = "\n".join(m.value for m in at.markdown).replace("\\", "")
    sentences = hist.change_sentences(res, c.dimension)
    assert any("rule set changed" in s for s in sentences)
    assert all(f"- {s}" in text for s in sentences)


def test_overview_history_panels_defer_to_snapshots_on_a_large_book(monkeypatch, tmp_path):
    """Above RISKCORE_LIVE_HISTORY_MAX accounts the Overview does not re-score the book per date."""
    monkeypatch.setenv("RISKCORE_LIVE_HISTORY_MAX", "10")
    monkeypatch.delenv("RISKCORE_SNAPSHOTS", raising=False)
    at = app().run()
    assert not at.exception
    assert any("weekly snapshots" in i.value for i in at.info)
    assert "New alerts (0)" in [t.label for t in at.tabs]
