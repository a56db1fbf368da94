"""Rule sets per dataset and the "rules do not apply" banner, through the pages (AppTest).

An upload gets its own versions (seeded with the default set), publishing for it leaves the sample's
published set alone, a dataset switch keeps each dataset's draft, publishing rules that cannot run on the
dataset asks first, and every page says when most rules of the chosen set cannot run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import app_env

from riskcore.display import md_escape

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TELCO = (ROOT / "tests" / "data" / "exports" / "telco_leaky.csv").read_bytes()
PAGES = ["ui/overview.py", "ui/accounts.py", "ui/tuning.py", "ui/calibration.py"]
BANNER = md_escape("21 of 21 rules cannot run on this data: every account scores 0 on them")


@pytest.fixture(scope="module", autouse=True)
def small_sample(tmp_path_factory):
    with app_env(tmp_path_factory, drop=("RISKCORE_DATA",)):
        yield


def app():
    from streamlit.testing.v1 import AppTest
    return AppTest.from_file(APP, default_timeout=120).run()


def ok(at) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def upload(at, name: str, data: bytes = TELCO) -> None:
    at.switch_page("ui/data.py").run()
    at.file_uploader(key="upload").set_value((name, data, "text/csv")).run()
    at.button(key="load_upload").click().run()
    ok(at)


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def scored(c, rs):
    from riskcore.scoring import score_df
    from riskcore.signals import signals_table
    with c.store.lock:
        return score_df(c.store, rs, signals_table(c.store, c.as_of), out_table="test_datasets_scored")


def test_banner_on_every_page_then_starter_rules_in_one_click():
    at = app()
    assert BANNER not in [w.value for w in at.warning]  # the sample: its rules run
    upload(at, "banner.csv")
    for page in PAGES:
        at.switch_page(page).run()
        ok(at)
        assert BANNER in [w.value for w in at.warning], (page, [w.value for w in at.warning])
        assert at.button(key="start_starter").label == "Start from starter rules"
    c = at.session_state["_ctx"]
    assert scored(c, c.rs)["risk_score"].max() == 0  # what the banner warns about
    at.button(key="start_starter").click().run()
    ok(at)
    draft = at.session_state["draft"]
    assert draft.rules and all(r.group == "external" for r in draft.rules)
    assert at.session_state["ruleset_choice"] == "draft"
    shown = [w.value.replace("\\", "") for w in at.warning]
    assert BANNER not in [w.value for w in at.warning]
    assert any("starter rules from the columns of banner.csv" in s.value.replace("\\", "") for s in at.success)
    assert any("Left out of the starter rules" in w and "column 'Churn Label'" in w for w in shown), shown
    c = at.session_state["_ctx"]
    assert c.rs_label == "Draft (this session)"
    assert scored(c, c.rs)["risk_score"].max() > 0
    at.switch_page("ui/overview.py").run()
    ok(at)
    assert BANNER not in [w.value for w in at.warning]


def test_publishing_for_an_upload_leaves_the_sample_alone():
    at = app()
    sample_vs = at.session_state["_ctx"].versions
    sample_published = sample_vs.published()
    upload(at, "telco.csv")
    at.button(key="starter_rules").click().run()
    at.switch_page("ui/tuning.py").run()
    at.text_input(key="save_note").set_value("starter rules for telco").run()
    at.button(key="save_publish").click().run()
    ok(at)
    c = at.session_state["_ctx"]
    upload_vs, starter = c.versions, at.session_state["draft"]
    assert upload_vs is not sample_vs and upload_vs.published() == 2 and upload_vs.versions()[-1].note == \
        "starter rules for telco"
    assert sample_vs.published() == sample_published  # untouched

    at.switch_page("ui/data.py").run()
    at.segmented_control(key="data_source").set_value("Sample").run()
    at.button(key="use_sample").click().run()
    c = at.session_state["_ctx"]
    assert c.versions is sample_vs and c.rs_label == f"v{sample_published} (published)"
    assert at.session_state["draft"] == c.published  # the starter draft stayed with telco.csv
    at.switch_page("ui/overview.py").run()
    ok(at)
    c = at.session_state["_ctx"]
    assert c.versions is sample_vs and c.rs == c.published  # draft or published: the sample's own rules
    frame = scored(c, c.rs)
    from ui.session import money
    assert metric(at, "Accounts") == f"{len(frame):,}" and len(frame) > 0
    assert metric(at, "Total ARR") == money(frame["value"].sum()) and frame["value"].sum() > 0

    upload(at, "telco.csv")  # the same file again: the same dataset, its own published set and draft
    c = at.session_state["_ctx"]
    assert c.versions is upload_vs and c.rs_label.startswith("v2 (published)")
    assert at.session_state["draft"] == starter
    assert [s.value for s in at.success if "is now active" in s.value] == [md_escape("telco.csv is now active.")]


def test_publishing_rules_that_cannot_run_asks_first():
    at = app()
    upload(at, "confirm.csv")
    at.switch_page("ui/tuning.py").run()
    vs = at.session_state["_ctx"].versions
    assert vs.published() == 1  # the default rule set, seeded
    at.button(key="save_publish").click().run()  # the draft is the default set: no rule can run here
    ok(at)
    warning = [w.value for w in at.warning if "Publish anyway" in w.value]
    assert len(warning) == 1 and md_escape("21 of 21 rules cannot run on confirm.csv: 'usage_drop', ") in warning[0]
    assert [v.number for v in vs.versions()] == [1] and vs.published() == 1  # nothing saved yet
    at.button(key="publish_cancel").click().run()
    assert not [w for w in at.warning if "Publish anyway" in w.value]
    assert [v.number for v in vs.versions()] == [1]

    at.button(key="save_publish").click().run()
    at.button(key="publish_confirm").click().run()
    ok(at)
    assert [v.number for v in vs.versions()] == [1, 2] and vs.published() == 2
    assert any(md_escape("Saved as v2 and published.") in s.value for s in at.success)

    # a set whose rules all run publishes at once; going back to one that cannot asks again
    at.switch_page("ui/data.py").run()
    at.button(key="starter_rules").click().run()
    at.switch_page("ui/tuning.py").run()
    at.button(key="save_publish").click().run()
    ok(at)
    assert vs.published() == 3 and not [w for w in at.warning if "Publish anyway" in w.value]
    at.selectbox(key="publish_pick").set_value(1).run()
    at.button(key="publish_version").click().run()
    assert vs.published() == 3 and any("Publish anyway" in w.value for w in at.warning)
    at.button(key="publish_confirm").click().run()
    ok(at)
    assert vs.published() == 1

    # a publish held for one dataset is not offered on another (its version numbers mean nothing there)
    at.selectbox(key="publish_pick").set_value(2).run()
    at.button(key="publish_version").click().run()
    assert any("Publish anyway" in w.value for w in at.warning)
    at.switch_page("ui/data.py").run()
    at.segmented_control(key="data_source").set_value("Sample").run()
    at.button(key="use_sample").click().run()
    at.switch_page("ui/tuning.py").run()
    ok(at)
    assert not [w for w in at.warning if "Publish anyway" in w.value] and "publish_pending" not in at.session_state
    assert vs.published() == 1


def test_two_uploads_with_the_same_name_keep_their_own_rule_sets():
    at = app()
    upload(at, "twin.csv")
    first = at.session_state["_ctx"]
    at.button(key="starter_rules").click().run()
    at.switch_page("ui/tuning.py").run()
    at.button(key="save_publish").click().run()
    ok(at)
    other = TELCO.replace(b"Month-to-month", b"Monthly")  # another export called twin.csv
    upload(at, "twin.csv", other)
    second = at.session_state["_ctx"]
    assert second.data_key != first.data_key and second.versions is not first.versions
    assert first.versions.published() == 2 and second.versions.published() == 1
    assert [s.value for s in at.success if "is now active" in s.value] == [md_escape("twin.csv (2) is now active.")]
    shown = " ".join(t.value for t in at.text)  # the sidebar's and the Data page's active dataset
    assert "twin.csv (2) · account table" in shown and "twin.csv (2): account table" in shown, shown
