"""The session's state in AppTest (issue 14 items 1, 2 and part of 10): the sidebar's choices are one
state across pages, publishing moves the sidebar, the URL's parameters restore the choices and are
validated (anything else is ignored without an error and never shown), a draft comes back from its
server-side record (parsed as data), and the versions panel's diff, note and Publish."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import app_env, shown

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGES = ["ui/overview.py", "ui/accounts.py", "ui/tuning.py", "ui/calibration.py", "ui/data.py"]


@pytest.fixture(scope="module", autouse=True)
def small_sample(tmp_path_factory):
    """A 400-account sample; a rule-set home with v1 (default, published) and v2 (late invoices 30)."""
    with app_env(tmp_path_factory, drop=("RISKCORE_DATA",)):
        from riskcore.rules import load_ruleset, ruleset_to_toml, with_points
        vs = versions()  # the sample's versions (rule sets belong to a dataset)
        vs.save(ruleset_to_toml(with_points(load_ruleset(vs.text(1)), {"late_invoices": 30})), note="v2")
        yield


def app(**params):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    return at


def no_exception(at) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def ctx(at):
    return at.session_state["_ctx"]


def versions():
    from riskcore.versions import ensure_versions
    from riskcore.versions import Library
    return ensure_versions(Library(os.environ["RISKCORE_HOME"]).folder("sample"))  # as the app opens them


def test_rule_set_and_dimension_hold_on_every_page():
    at = app().run()
    at.sidebar.selectbox(key="ruleset_choice").set_value(2).run()
    at.sidebar.selectbox(key="dimension").set_value("payment").run()
    tables = set()
    for page in PAGES + PAGES[:1]:
        at.switch_page(page).run()
        no_exception(at)
        c = ctx(at)
        assert (c.rs_label, c.dimension, c.rs.primary_dimension) == ("v2", "payment", "payment"), page
        assert c.rs.rule("late_invoices").points == 30
        assert at.sidebar.selectbox(key="ruleset_choice").value == 2
        tables.add(c.rs)
    assert len(tables) == 1


def test_choosing_the_published_version_follows_a_new_publish():
    from riskcore.rules import load_ruleset
    at = app().run()
    assert ctx(at).rs_label == f"v{versions().published()} (published)"
    at.switch_page("ui/tuning.py").run()
    at.slider(key="weight:usage_drop").set_value(44).run()
    at.button(key="save_publish").click().run()
    no_exception(at)
    new = versions().published()
    assert load_ruleset(versions().text(new)).rule("usage_drop").points == 44
    for page in ("ui/tuning.py", "ui/overview.py"):
        at.switch_page(page).run()
        assert ctx(at).rs_label == f"v{new} (published)" and ctx(at).rs.rule("usage_drop").points == 44
    versions().publish(1)  # leave the home as the other tests expect


def test_an_explicit_older_version_stays_chosen():
    at = app().run()
    at.sidebar.selectbox(key="ruleset_choice").set_value(2).run()
    versions().publish(1)
    at.switch_page("ui/accounts.py").run()
    assert ctx(at).rs_label == "v2"


def test_the_url_restores_the_sidebar_and_the_filters():
    from riskcore.signals import active_dates
    at = app(rules="v2", dim="payment", tier=["high", "medium"], q="ACC", renews="120").run()
    c = ctx(at)
    assert (c.rs_label, c.dimension) == ("v2", "payment")
    last = active_dates(c.store)[1]
    at = app(as_of=str(last.replace(day=1))).run()
    assert ctx(at).as_of == last.replace(day=1) != last
    at = app(rules="v2", dim="payment", tier=["high", "medium"], q="ACC", renews="120")
    at.switch_page("ui/accounts.py").run()
    no_exception(at)
    assert at.multiselect(key="f_tier").value == ["high", "medium"]
    assert at.text_input(key="f_search").value == "ACC" and at.number_input(key="f_renewal").value == 120
    assert at.selectbox(key="f_dimension").value == "payment"


HOSTILE = {"rules": "v99", "dim": "<img src=x onerror=alert(1)>", "as_of": "1999-01-01", "tier": ["bogus", "high"],
           "owner": "[click](http://evil.example)", "renews": "-5", "q": "x\x00y", "parents": "maybe",
           "alerted": "not-a-date", "quadrant": "Nowhere", "data": "path:/etc/passwd",
           "draft": "../../../../etc/passwd", "behaviour": "<script>"}


@pytest.mark.parametrize("page", PAGES)
def test_bad_query_parameters_are_ignored_and_never_shown(page):
    at = app(**HOSTILE)
    at.switch_page(page).run()
    no_exception(at)
    assert not at.warning or all("draft" not in w.value for w in at.warning)
    c = ctx(at)
    assert c.data_key == "" and c.rs_label.endswith("(published)") and c.dimension == "churn"
    texts, _ = shown(at)
    for v in ("onerror", "evil.example", "/etc/passwd", "<script>", "Nowhere", "bogus"):
        assert not any(v in t for t in texts), v
    if page == "ui/accounts.py":
        assert at.multiselect(key="f_tier").value == ["high"]  # the one allowed value of the list stays
        assert at.number_input(key="f_renewal").value is None and at.text_input(key="f_search").value == "xy"


def test_a_draft_comes_back_from_its_record():
    from riskcore.drafts import DraftStore, Record
    from riskcore.rules import load_ruleset, ruleset_to_toml, with_points
    from riskcore.urlstate import new_draft_id
    did = new_draft_id()
    rs = with_points(load_ruleset(versions().text(1)), {"usage_drop": 77})
    DraftStore(Path(os.environ["RISKCORE_HOME"]) / ".drafts").save(did, Record(draft=ruleset_to_toml(rs)))
    at = app(draft=did, rules="draft")
    at.switch_page("ui/tuning.py").run()
    no_exception(at)
    assert at.session_state["draft"].rule("usage_drop").points == 77
    assert at.slider(key="weight:usage_drop").value == 77
    assert ctx(at).rs_label == "Draft (this session)" and ctx(at).rs.rule("usage_drop").points == 77
    # an edit is written back under the same id
    at.slider(key="weight:usage_drop").set_value(12).run()
    record = DraftStore(Path(os.environ["RISKCORE_HOME"]) / ".drafts").load(did)
    assert load_ruleset(record.draft).rule("usage_drop").points == 12


def test_an_edited_draft_gets_an_id_and_a_record():
    from riskcore.drafts import DraftStore
    from riskcore.rules import load_ruleset
    at = app()
    at.switch_page("ui/tuning.py").run()
    assert at.session_state.get("_draft_id") is None  # untouched: nothing stored
    at.slider(key="weight:inactive_7d").set_value(3).run()
    did = at.session_state["_draft_id"]
    record = DraftStore(Path(os.environ["RISKCORE_HOME"]) / ".drafts").load(did)
    assert load_ruleset(record.draft).rule("inactive_7d").points == 3


@pytest.mark.parametrize("draft_text, words", [
    ('name = "x"\n[[rules]]\nid = "r"\nlabel = "r"\ndimension = "churn"\nsignal = "read_csv(\'/etc/passwd\')"\n'
     'op = ">"\nthreshold = 1\npoints = 5\ngroup = "usage"\n', "read_csv"),
    ("this is [not toml", "not used"),
])
def test_a_tampered_draft_is_named_and_not_used(draft_text, words):
    from riskcore.drafts import DraftStore, Record
    from riskcore.urlstate import new_draft_id
    did = new_draft_id()
    DraftStore(Path(os.environ["RISKCORE_HOME"]) / ".drafts").save(did, Record(draft=draft_text))
    at = app(draft=did, rules="draft").run()
    assert not at.exception
    notes = [w.value for w in at.sidebar.warning]
    assert any("saved draft" in n and words in n.replace("\\", "") for n in notes), notes
    assert at.session_state["draft"].rules == ctx(at).published.rules or \
        at.session_state["draft"].rule("usage_drop").points == 20
    assert at.session_state.get("_draft_id") != did


def test_an_upload_stays_the_dataset_of_a_reload():
    from test_pages import CHURN_CSV
    at = app()
    at.switch_page("ui/data.py").run()
    at.file_uploader(key="upload").set_value(("churn state.csv", CHURN_CSV, "text/csv")).run()
    at.button(key="load_upload").click().run()
    no_exception(at)
    key = ctx(at).data_key
    assert ctx(at).store.dataset.kind == "account_table"
    from riskcore.urlstate import dataset_param
    from riskcore.uploads import UPLOADS
    param = dataset_param(key, "", UPLOADS)[0]
    assert param.startswith("upload:churn_state-")
    did = at.session_state["_draft_id"]  # the mapping chosen on the Data page is kept under the draft id
    again = app(data=param, draft=did)  # a new session with the URL the browser shows
    again.switch_page("ui/data.py").run()
    no_exception(again)
    assert ctx(again).data_key == key and ctx(again).store.dataset.kind == "account_table"
    assert any("churn state.csv" in t.value for t in again.text)  # the user's name, not the stored copy's


def test_versions_panel_diff_note_and_a_deliberate_publish():
    at = app()
    at.switch_page("ui/tuning.py").run()
    assert at.selectbox(key="publish_pick").value is None
    assert at.button(key="publish_version").disabled
    before = versions().versions()[-1].number
    at.slider(key="weight:usage_drop").set_value(21).run()
    at.text_input(key="save_note").set_value("one more point").run()
    at.button(key="save_version").click().run()
    no_exception(at)
    saved = versions().versions()[-1].number
    assert saved == before + 1 and versions().versions()[-1].note == "one more point"
    assert at.text_input(key="save_note").value == ""
    assert (at.selectbox(key="diff_a").value, at.selectbox(key="diff_b").value) == (before, saved)
    assert versions().published() != saved
    at.selectbox(key="publish_pick").set_value(saved).run()
    assert not at.button(key="publish_version").disabled
    at.button(key="publish_version").click().run()
    no_exception(at)
    assert versions().published() == saved
    assert at.selectbox(key="publish_pick").value is None
    assert at.sidebar.selectbox(key="ruleset_choice").value == saved and ctx(at).rs_label == f"v{saved} (published)"
    versions().publish(1)


def test_a_server_path_in_the_url_loads_only_inside_the_data_roots(tmp_path, monkeypatch):
    from test_pages import CHURN_CSV
    root = tmp_path / "root"
    root.mkdir()
    (root / "book.csv").write_bytes(CHURN_CSV)
    (tmp_path / "outside.csv").write_bytes(CHURN_CSV)
    monkeypatch.setenv("RISKCORE_DATA_ROOT", str(root))
    at = app(data=f"path:{root / 'book.csv'}").run()
    no_exception(at)
    assert ctx(at).data_key == str(root / "book.csv") and ctx(at).store.dataset.kind == "account_table"
    for outside in (f"path:{tmp_path / 'outside.csv'}", f"path:{root}/../outside.csv", f"path:{root / 'none.csv'}"):
        at = app(data=outside).run()
        no_exception(at)
        assert ctx(at).data_key == "", outside


SECRETS = {
    "auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 64, "client_id": "id",
             "client_secret": "secret",
             "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration"},
    "riskcore": {"roles": {"ana@example.com": "admin", "lee@example.com": "leader"}},
}


def signed_in(email: str, **params):
    at = app(**params)
    for k, v in SECRETS.items():
        at.secrets[k] = v
    at.user = {"is_logged_in": True, "email": email, "name": email.split("@")[0]}
    return at.run()


def test_a_role_that_may_not_load_data_ignores_the_urls_dataset(tmp_path, monkeypatch):
    from test_pages import CHURN_CSV
    (tmp_path / "book.csv").write_bytes(CHURN_CSV)
    monkeypatch.setenv("RISKCORE_DATA_ROOT", str(tmp_path))
    assert ctx(signed_in("ana@example.com", data=f"path:{tmp_path / 'book.csv'}")).data_key != ""
    at = signed_in("lee@example.com", data=f"path:{tmp_path / 'book.csv'}")
    no_exception(at)
    assert ctx(at).data_key == ""


def test_another_users_draft_is_not_opened():
    from riskcore.drafts import DraftStore, Record
    from riskcore.rules import load_ruleset, ruleset_to_toml, with_points
    from riskcore.urlstate import new_draft_id
    did = new_draft_id()
    text = ruleset_to_toml(with_points(load_ruleset(versions().text(1)), {"usage_drop": 66}))
    DraftStore(Path(os.environ["RISKCORE_HOME"]) / ".drafts").save(did, Record(owner="ana@example.com", draft=text))
    assert ctx(signed_in("ana@example.com", draft=did, rules="draft")).rs.rule("usage_drop").points == 66
    at = signed_in("lee@example.com", draft=did, rules="draft")
    assert not at.exception
    assert ctx(at).rs_label == "Draft (this session)" and ctx(at).rs.rule("usage_drop").points != 66
    assert any("another user" in w.value for w in at.sidebar.warning)


def test_accounts_tier_of_follows_the_sidebar_until_chosen():
    at = app()
    at.switch_page("ui/accounts.py").run()
    assert at.selectbox(key="f_dimension").value == "churn"
    at.sidebar.selectbox(key="dimension").set_value("payment").run()
    assert at.selectbox(key="f_dimension").value == "payment"
    at.switch_page("ui/overview.py").run()
    at.sidebar.selectbox(key="dimension").set_value("fraud").run()
    at.switch_page("ui/accounts.py").run()
    assert at.selectbox(key="f_dimension").value == "fraud"
    at.selectbox(key="f_dimension").set_value("churn").run()  # chosen: it stays
    at.switch_page("ui/overview.py").run()
    at.sidebar.selectbox(key="dimension").set_value("payment").run()
    at.switch_page("ui/accounts.py").run()
    assert at.selectbox(key="f_dimension").value == "churn"
