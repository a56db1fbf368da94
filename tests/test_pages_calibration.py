"""The Calibration page's alert precision table and scorecard frontier, headless (AppTest) on the
400-account sample and on an uploaded account table: what is shown equals riskcore computed here,
the fit waits for its button, and "Load as draft" hands Tuning the scorecard's rule set."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import app_env, shown

from riskcore.alertstats import alert_stats, alert_table
from riskcore.scorecard import frontier_headline, frontier_table, measured_how, scorecard_frontier
from riskcore.display import md_escape

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 300
H = 90


@pytest.fixture(scope="module", autouse=True)
def small_sample(tmp_path_factory):
    with app_env(tmp_path_factory, drop=("RISKCORE_DATA",)):
        yield


def app():
    from streamlit.testing.v1 import AppTest
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def no_exception(at) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


COLUMNS = {"alert_table": "fires when", "frontier_table": "largest score", "movement_matrix": "high"}


def tables(at, key: str) -> list[pd.DataFrame]:
    """The dataframes shown with this key (told apart by a column of their own: AppTest does not
    keep the key of a read-only dataframe)."""
    return [df.value for df in at.dataframe if COLUMNS[key] in df.value.columns]


def frame(at, key: str) -> pd.DataFrame:
    found = tables(at, key)
    assert len(found) == 1, f"{len(found)} dataframes {key!r}"
    return found[0]


def calibration():
    at = app().run()
    at.switch_page("ui/calibration.py").run()
    no_exception(at)
    return at


def _no_blank_words(at) -> None:
    texts, _ = shown(at)
    bad = [t for t in texts if t.strip() in ("nan", "None", "NaN", "NaT") or "nan%" in t or "None" in t.split()]
    assert bad == []


def test_alert_table_shows_riskcore_figures():
    at = calibration()
    c = at.session_state["_ctx"]
    as_of = at.session_state["cal_as_of"]
    with c.store.lock:
        rows = alert_stats(c.store, c.rs, as_of, H)  # not through the engine's cache
    expected = pd.DataFrame(alert_table(rows, c.rs))
    got = frame(at, "alert_table")
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected)
    assert list(got["alert"])[-1] == "any alert" and len(got) == len(c.rs.alerts) + 1
    assert any("weekly dates" in cap.value and "per CSM / week over" in cap.value for cap in at.caption)
    _no_blank_words(at)


def test_alerts_wait_for_a_button_on_a_large_book(monkeypatch):
    """Above RISKCORE_LIVE_HISTORY_MAX accounts the page does not re-score the weeks before it is asked."""
    monkeypatch.setenv("RISKCORE_LIVE_HISTORY_MAX", "10")
    at = calibration()
    at.segmented_control(key="cal_horizon").set_value(60).run()  # a horizon no other test measures alerts for
    no_exception(at)
    c = at.session_state["_ctx"]
    assert not c.engine.alert_report_ready(c.rs, at.session_state["cal_as_of"], 60)
    assert not tables(at, "alert_table")
    assert any("measuring the alerts re-scores" in cap.value for cap in at.caption)
    at.button(key="measure_alerts").click().run()
    no_exception(at)
    assert len(frame(at, "alert_table")) == len(c.rs.alerts) + 1
    at.run()  # measured: shown without the button from now on
    assert "measure_alerts" not in [b.key for b in at.button] and len(frame(at, "alert_table")) > 0


def test_frontier_waits_for_its_button_then_loads_a_point_as_the_draft():
    at = calibration()
    assert not tables(at, "frontier_table")
    assert not [b for b in at.button if b.key and b.key.startswith("load_scorecard_")]
    at.button(key="fit_scorecards").click().run()
    no_exception(at)
    c = at.session_state["_ctx"]
    as_of = at.session_state["cal_as_of"]
    with c.store.lock:
        front = scorecard_frontier(c.store, c.rs, as_of, H)  # fitted here again, independently of the engine
    pd.testing.assert_frame_equal(frame(at, "frontier_table").reset_index(drop=True),
                                  pd.DataFrame(frontier_table(front)))
    assert any(m.value == "**" + md_escape(frontier_headline(front)) + "**" for m in at.markdown)
    assert frontier_headline(front).startswith("your rules: AUC ")
    assert any(cap.value.startswith(md_escape(measured_how(front))) and "Point in time" in cap.value
               for cap in at.caption)
    _no_blank_words(at)
    at.run()  # a rerun: the frontier stays, no button to fit again
    no_exception(at)
    assert "fit_scorecards" not in [b.key for b in at.button]
    assert [b.key for b in at.button if b.key and b.key.startswith("load_scorecard_")] == [
        f"load_scorecard_{n}" for n in (5, 10, 20, 40)]

    published = c.published
    at.button(key="load_scorecard_20").click().run()
    no_exception(at)
    draft = at.session_state["draft"]
    assert draft == front.point(20).ruleset and draft.name == "scorecard"
    assert at.session_state["ruleset_choice"] == "draft"
    assert any("scorecard of" in s.value for s in at.success)
    churn = [r for r in draft.rules if r.dimension == draft.primary_dimension]
    assert len(churn) == front.point(20).card.n_rules <= 20
    assert {r.id for r in churn}.isdisjoint({r.id for r in published.rules if r.dimension == "churn"})

    at.switch_page("ui/tuning.py").run()
    no_exception(at)
    sliders = {s.key for s in at.slider if s.key and s.key.startswith("weight:")}
    assert {f"weight:{r.id}" for r in churn} <= sliders
    moved = frame(at, "movement_matrix")
    off = sum(int(moved.iloc[i, j]) for i in range(3) for j in range(3) if i != j)
    assert off > 0  # the scorecard moves accounts between tiers against the published set


def test_account_table_has_no_alerts_and_a_cross_validated_frontier():
    data = (ROOT / "tests" / "data" / "exports" / "telco_leaky.csv").read_bytes()
    at = app().run()
    at.switch_page("ui/data.py").run()
    at.file_uploader(key="upload").set_value(("telco.csv", data, "text/csv")).run()
    at.button(key="load_upload").click().run()
    at.button(key="starter_rules").click().run()
    at.switch_page("ui/calibration.py").run()
    no_exception(at)
    assert any("an account table has one date" in cap.value for cap in at.caption)
    assert not tables(at, "alert_table")
    at.button(key="fit_scorecards").click().run()
    no_exception(at)
    assert any(cap.value.startswith(md_escape("Cross-validated (5 folds): ")) for cap in at.caption), \
        [cap.value for cap in at.caption]
    table = frame(at, "frontier_table")
    assert list(table["model"])[-2:] == ["logistic regression", "gradient boosting"]
    _no_blank_words(at)

