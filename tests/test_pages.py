"""Every page, headless (streamlit.testing AppTest), on a small sample and on an uploaded account table.

Numbers shown are checked against riskcore computed independently in the test.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import app_env
from streamlit.proto.Metric_pb2 import Metric as MetricProto

from riskcore.display import md_escape

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGES = ["ui/overview.py", "ui/accounts.py", "ui/tuning.py", "ui/calibration.py", "ui/data.py"]
TIMEOUT = 120


@pytest.fixture(scope="module", autouse=True)
def small_sample(tmp_path_factory):
    """A 400-account sample and a fresh rule-set home for this module."""
    with app_env(tmp_path_factory, drop=("RISKCORE_DATA",)):
        yield


def app():
    from streamlit.testing.v1 import AppTest
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def no_exception(at) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metric(at, label: str) -> str:
    found = [m for m in at.metric if m.label == label]
    assert found, f"no metric {label!r}: {[m.label for m in at.metric]}"
    return found[0].value


def frame_with(at, *columns: str) -> pd.DataFrame:
    """The first dataframe shown whose columns include `columns`."""
    for df in at.dataframe:
        v = df.value
        if all(c in v.columns for c in columns):
            return v
    raise AssertionError(f"no dataframe with columns {columns}")


def scored_independently(ctx, rs) -> pd.DataFrame:
    """Score with riskcore directly (not through the app's caches)."""
    from riskcore.scoring import score_df
    from riskcore.signals import signals_table
    with ctx.store.lock:
        return score_df(ctx.store, rs, signals_table(ctx.store, ctx.as_of), out_table="test_pages_scored")


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_sample(page):
    at = app().run()
    no_exception(at)
    at.switch_page(page).run()
    no_exception(at)
    assert at.title[0].value == Path(page).stem.capitalize()


def test_overview_kpis_and_quadrant_list_match_riskcore():
    at = app().run()
    c = at.session_state["_ctx"]
    frame = scored_independently(c, c.rs)
    assert metric(at, "Accounts") == f"{len(frame):,}"
    at.segmented_control(key="quadrant_pick").set_value("Save").run()
    no_exception(at)
    listed = frame_with(at, "account_id", "quadrant")
    expected = frame[frame["quadrant"] == "Save"]
    assert len(listed) == min(len(expected), 500)
    assert set(listed["account_id"]) <= set(expected["account_id"])
    assert (listed["quadrant"] == "Save").all()


def test_weight_slider_changes_tier_counts_to_riskcore_numbers():
    from riskcore.rules import with_points
    at = app().run()
    at.switch_page("ui/tuning.py").run()
    no_exception(at)
    c = at.session_state["_ctx"]
    before = {t: metric(at, f"{t.capitalize()} tier") for t in ("low", "medium", "high")}
    at.slider(key="weight:usage_drop").set_value(70).run()
    at.slider(key="weight:inactive_7d").set_value(50).run()
    no_exception(at)
    rs = with_points(c.published, {"usage_drop": 70, "inactive_7d": 50})
    counts = scored_independently(c, rs)["tier"].value_counts()
    shown = {t: metric(at, f"{t.capitalize()} tier") for t in ("low", "medium", "high")}
    assert shown == {t: f"{int(counts.get(t, 0)):,}" for t in ("low", "medium", "high")}
    assert shown != before  # the sample has accounts these rules move
    assert at.session_state["draft"].rule("usage_drop").points == 70


def test_movement_matrix_matches_riskcore():
    from riskcore.rules import with_points
    at = app().run()
    at.switch_page("ui/tuning.py").run()
    c = at.session_state["_ctx"]
    at.slider(key="weight:usage_drop").set_value(80).run()
    no_exception(at)
    pub = scored_independently(c, c.published)[["account_id", "tier"]]
    dft = scored_independently(c, with_points(c.published, {"usage_drop": 80}))[["account_id", "tier"]]
    j = pub.merge(dft, on="account_id", suffixes=("_pub", "_draft"))
    tiers = ["low", "medium", "high"]
    expected = pd.crosstab(j["tier_pub"], j["tier_draft"]).reindex(index=tiers, columns=tiers, fill_value=0)
    shown = frame_with(at, "low", "medium", "high")
    assert [[int(v) for v in row] for row in shown.loc[tiers, tiers].to_numpy()] == expected.to_numpy().tolist()
    moved = j[j["tier_pub"] != j["tier_draft"]]
    assert len(moved) > 0
    movers = frame_with(at, "account", "move", "was", "now")
    assert len(movers) == min(len(moved), 200)
    assert all(a != b for a, b in movers["move"].str.split(" → "))
    # one cell of the matrix lists exactly the accounts that moved that way
    (a, b), n = next(iter(moved.groupby(["tier_pub", "tier_draft"]).size().items()))
    at.selectbox(key="movement_cell").set_value((a, b)).run()
    no_exception(at)
    cell = frame_with(at, "account", "move", "was", "now")
    assert len(cell) == min(n, 200) and set(cell["move"]) == {f"{a} → {b}"}


def test_save_and_publish_a_draft_version():
    at = app().run()
    at.switch_page("ui/tuning.py").run()
    c = at.session_state["_ctx"]
    n_before = len(c.versions.versions())
    at.slider(key="weight:usage_drop").set_value(33).run()
    at.text_input(key="save_note").set_value("usage matters more").run()
    at.button(key="save_publish").click().run()
    no_exception(at)
    vs = c.versions
    assert len(vs.versions()) == n_before + 1 and vs.versions()[-1].note == "usage matters more"
    assert vs.published() == vs.versions()[-1].number
    from riskcore.rules import load_ruleset
    assert load_ruleset(vs.text(vs.published())).rule("usage_drop").points == 33
    at.selectbox(key="diff_a").set_value(1).run()
    at.selectbox(key="diff_b").set_value(vs.published()).run()
    diff = at.code[-1].value
    assert "-points = 20" in diff and "+points = 33" in diff
    at.button(key="reset_draft").click().run()
    no_exception(at)
    assert at.session_state["draft"].rule("usage_drop").points == 33


def test_account_deep_link_shows_its_reasons():
    at = app().run()
    c = at.session_state["_ctx"]
    frame = scored_independently(c, c.rs)
    frame = frame[frame["reasons"].map(lambda r: r is not None and len(r) >= 2)]
    row = frame.sort_values(["risk_score", "account_id"], ascending=[False, True]).iloc[0]
    at.query_params["account"] = row["account_id"]
    at.switch_page("ui/accounts.py").run()
    no_exception(at)
    assert at.header[0].value.replace("\\", "") == row["account_name"]
    reasons = frame_with(at, "rule_id", "points")
    assert sorted(reasons["rule_id"]) == sorted(r["rule_id"] for r in row["reasons"])
    got = dict(zip(reasons["rule_id"], reasons["points"]))
    for r in row["reasons"]:
        assert got[r["rule_id"]] == pytest.approx(r["points"])


def test_account_deep_link_unknown_id_warns():
    at = app()
    at.query_params["account"] = "no-such-account"
    at.run()
    at.switch_page("ui/accounts.py").run()
    no_exception(at)
    assert any(md_escape("no-such-account") in w.value for w in at.warning)


def test_account_filters_narrow_the_list():
    at = app().run()
    c = at.session_state["_ctx"]
    at.switch_page("ui/accounts.py").run()
    frame = scored_independently(c, c.rs)
    at.multiselect(key="f_tier").set_value(["high"]).run()
    no_exception(at)
    listed = frame_with(at, "account_id", "top reasons")
    assert sorted(listed["account_id"]) == sorted(frame.loc[frame["tier"] == "high", "account_id"])


CHURN_CSV = (
    "customerID,Name,MonthlyCharges,tenure,Contract,Churn\n"
    + "".join(f"C{i:03d},Customer {i},{20 + i % 50},{i % 70},{'Month-to-month' if i % 3 else 'Two year'},"
              f"{'Yes' if i % 3 and i % 2 == 0 else 'No'}\n" for i in range(60))
).encode()


def test_pages_render_on_an_uploaded_account_table():
    at = app().run()
    at.switch_page("ui/data.py").run()
    no_exception(at)
    at.file_uploader(key="upload").set_value(("churn.csv", CHURN_CSV, "text/csv")).run()
    no_exception(at)
    # auto-detection pre-filled the mapping
    id_box = [s for s in at.selectbox if s.label == "Account id"][0]
    assert id_box.value == "customerID"
    assert [s for s in at.selectbox if s.label.startswith("Outcome")][0].value == "Churn"
    at.button(key="load_upload").click().run()
    no_exception(at)
    c = at.session_state["_ctx"]
    assert c.store.dataset.kind == "account_table"
    at.button(key="starter_rules").click().run()
    no_exception(at)
    draft = at.session_state["draft"]
    assert draft.rules and all(r.group == "external" for r in draft.rules)
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.message for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])


def test_calibration_on_an_account_table_is_cross_validated_without_horizon():
    """No dates: no horizon buttons or as-of date; every account is scored; cross-validated (k folds)."""
    from riskcore.backtest import run_backtest
    at = app().run()
    at.switch_page("ui/calibration.py").run()
    no_exception(at)
    assert "cal_horizon" in at.session_state and "cal_as_of" in at.session_state  # activity data: both shown
    at = app().run()
    at.switch_page("ui/data.py").run()
    at.file_uploader(key="upload").set_value(("churn.csv", CHURN_CSV, "text/csv")).run()
    at.button(key="load_upload").click().run()
    at.button(key="starter_rules").click().run()
    at.switch_page("ui/calibration.py").run()
    no_exception(at)
    assert "cal_horizon" not in at.session_state and "cal_as_of" not in at.session_state
    assert not at.date_input
    c = at.session_state["_ctx"]
    with c.store.lock:
        expected = run_backtest(c.store, c.rs)
    assert expected["mode"] == "cross_validated" and expected["n"] == 60
    assert metric(at, "Accounts scored") == "60"
    assert metric(at, "AUC") == f"{expected['auc']:.3f}" and metric(at, "Brier score") == f"{expected['brier']:.3f}"
    assert any(m.value == "**Cross-validated (5 folds)**" for m in at.markdown), [m.value for m in at.markdown]
    assert any("cross-validated (5 folds)" in cap.value for cap in at.caption)
    baselines = frame_with(at, "model", "AUC", "note")
    assert list(baselines["model"]) == ["rules (this rule set)", "logistic regression", "gradient boosting"]


def test_calibration_warns_about_the_outcome_in_disguise():
    """A Telco-like export with `Churn Label` / `Churn Score` / `Churn Reason`: the page names them."""
    data = (ROOT / "tests" / "data" / "exports" / "telco_leaky.csv").read_bytes()
    at = app().run()
    at.switch_page("ui/data.py").run()
    at.file_uploader(key="upload").set_value(("telco.csv", data, "text/csv")).run()
    at.button(key="load_upload").click().run()
    at.button(key="starter_rules").click().run()
    at.switch_page("ui/calibration.py").run()
    no_exception(at)
    warned = [w.value.replace("\\", "") for w in at.warning]
    for col in ("Churn Label", "Churn Score", "Churn Reason"):
        assert any(f"column '{col}'" in w and "not used by the baselines" in w for w in warned), warned
    assert float(metric(at, "AUC")) < 0.9


def test_failed_upload_keeps_previous_data():
    at = app().run()
    at.switch_page("ui/data.py").run()
    before = at.session_state["_ctx"].store
    bad = b"customerID,Churn\nA,Yes\nA,No\n"  # duplicated id
    at.file_uploader(key="upload").set_value(("dup.csv", bad, "text/csv")).run()
    at.button(key="load_upload").click().run()
    assert not at.exception
    assert any("stays active" in e.value for e in at.error)
    assert at.session_state["_ctx"].store is before
    report = frame_with(at, "severity", "file", "row", "column", "expected", "found")
    assert (report["severity"] == "error").any()
    assert report["column"].astype(str).str.contains("customerID").any(), report.to_dict("records")


def test_import_toml_becomes_the_draft_and_export_round_trips():
    from riskcore.rules import load_ruleset, ruleset_to_toml, with_points
    from riskcore.workspace import DEFAULT_RULES
    at = app().run()
    at.switch_page("ui/tuning.py").run()
    text = ruleset_to_toml(with_points(load_ruleset(DEFAULT_RULES), {"usage_drop": 5}))
    at.file_uploader(key="import_toml").set_value(("mine.toml", text.encode(), "application/toml")).run()
    no_exception(at)
    assert at.session_state["draft"].rule("usage_drop").points == 5
    assert at.slider(key="weight:usage_drop").value == 5
    bad = b'name = "x"\n[[rules]]\nid = "Bad Id"\n'
    at.file_uploader(key="import_toml").set_value(("bad.toml", bad, "application/toml")).run()
    assert not at.exception and any(md_escape("bad.toml") in e.value for e in at.error)
    assert at.session_state["draft"].rule("usage_drop").points == 5  # a bad file leaves the draft


def test_suggested_weights_load_into_the_draft():
    at = app().run()
    at.switch_page("ui/tuning.py").run()
    at.button(key="suggest_weights").click().run()
    assert not at.exception
    assert any("Suggested weights" in s.value for s in at.success), [e.value for e in at.error]
    draft = at.session_state["draft"]
    assert at.slider(key="weight:usage_drop").value == round(draft.rule("usage_drop").points)


def test_overview_density_mode_keeps_exact_quadrant_counts(monkeypatch):
    monkeypatch.setenv("RISKCORE_MAX_POINTS", "50")
    at = app().run()
    no_exception(at)
    c = at.session_state["_ctx"]
    frame = scored_independently(c, c.rs)
    import json
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [t["type"] for t in fig["data"]] == ["heatmap"]
    labels = {a["text"] for a in fig["layout"]["annotations"]}
    for q, n in frame["quadrant"].value_counts().items():
        assert any(t.startswith(f"<b>{q}</b>: {n:,} ·") for t in labels), (q, n, labels)


def test_unchanged_accuracy_is_grey_not_red():
    """A draft equal to the published rule set shows AUC / Brier deltas without colour or arrow."""
    at = app().run()
    at.switch_page("ui/tuning.py").run()
    no_exception(at)
    shown = {m.label: m for m in at.metric if m.label in ("AUC (draft)", "Brier (draft)")}
    assert set(shown) == {"AUC (draft)", "Brier (draft)"}
    for m in shown.values():
        assert m.delta == "+0.000", m.delta
        assert m.proto.color == MetricProto.MetricColor.GRAY and m.proto.direction == MetricProto.MetricDirection.NONE


def test_tuning_names_overrides_and_value_column_the_data_cannot_honour():
    """A draft overriding a segment the data lacks, with a text value column: Tuning says so (rule set
    checks of riskcore.datachecks, the same warnings the CLI prints), and still scores."""
    from dataclasses import replace

    from riskcore.rules import Override, load_ruleset, ruleset_to_toml
    from riskcore.workspace import DEFAULT_RULES
    rs = load_ruleset(DEFAULT_RULES)
    rs = replace(rs, overrides=rs.overrides + (Override(rule="usage_drop", segment="Enterprize", points=5),),
                 quadrant=replace(rs.quadrant, value_column="no_such_column"))
    at = app().run()
    at.switch_page("ui/tuning.py").run()
    at.file_uploader(key="import_toml").set_value(("odd.toml", ruleset_to_toml(rs).encode(),
                                                   "application/toml")).run()
    no_exception(at)
    captions = " ".join(x.value for x in at.caption).replace("\\", "")
    assert "override #" in captions and "'Enterprize'" in captions
    assert "[quadrant], field 'value_column': column 'no_such_column' is not in the data" in captions
