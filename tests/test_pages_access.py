"""Roles through the app (AppTest): a faked signed-in user (`at.user`, what `st.user` reads) and
secrets (`at.secrets`, what `st.secrets` reads). st.login needs a browser round trip to an identity
provider, which AppTest cannot make: here a visitor who is not signed in gets only the sign-in
screen and a signed-in user is faked the way AppTest documents; tests/test_browser_login.py runs
the real st.login / st.logout round trip in Chromium against a local OIDC stub.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import app_env

from riskcore.display import md_escape

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 120
ADMIN, REVOPS, LEADER, CSM, CSM_BY_NAME, STRANGER = ("ana@example.com", "raj@example.com", "lee@example.com",
                                                     "kim@example.com", "ben@example.com", "eve@example.com")
SECRETS = {
    "auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 64,
             "client_id": "id", "client_secret": "secret",
             "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration"},
    "riskcore": {"roles": {ADMIN: "admin", REVOPS: "revops", LEADER: "leader", CSM: "csm", CSM_BY_NAME: "csm"},
                 "owners": {CSM: "Ava Patel"}},
}


@pytest.fixture(scope="module", autouse=True)
def small_sample(tmp_path_factory):
    with app_env(tmp_path_factory, drop=("RISKCORE_DATA",)):
        yield


def app(user: dict | None, secrets: dict | None = SECRETS, script: str = APP):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(script, default_timeout=TIMEOUT)
    for k, v in (secrets or {}).items():
        at.secrets[k] = v
    if user is not None:
        at.user = user
    return at.run()


def signed_in(email: str, name: str | None = None) -> dict:
    return {"is_logged_in": True, "email": email, "name": name or email.split("@")[0]}


def no_exception(at) -> None:
    assert not at.exception, [e.message for e in at.exception]


def owners_listed(at) -> set[str]:
    for df in at.dataframe:
        if {"owner", "account_id"} <= set(df.value.columns):
            return set(df.value["owner"])
    raise AssertionError("no account list")


def sample_owners() -> set[str]:
    from riskcore.sample import ensure_sample
    from riskcore.workspace import open_store
    store = open_store(ensure_sample(400))
    return {r[0] for r in store.rows("SELECT DISTINCT csm_owner FROM accounts")}


def page_title(at) -> str | None:
    return at.title[0].value if at.title else None


def test_not_signed_in_sees_only_the_sign_in_screen():
    at = app({"is_logged_in": False})
    no_exception(at)
    assert [b.key for b in at.button] == ["login"]
    assert not at.dataframe and not at.metric and "_ctx" not in at.session_state
    at.switch_page("ui/accounts.py").run()  # a deep link changes nothing
    assert not at.dataframe and "_ctx" not in at.session_state


def test_unknown_user_sees_a_clear_message_and_nothing_else():
    at = app(signed_in(STRANGER))
    no_exception(at)
    assert any("has no role yet" in e.value and md_escape(STRANGER) in e.value for e in at.error)
    assert not at.dataframe and not at.metric and "_ctx" not in at.session_state
    assert [b.key for b in at.button] == ["logout"]
    at.switch_page("ui/data.py").run()
    assert not at.dataframe and "_ctx" not in at.session_state


def test_malformed_access_config_shows_nothing():
    bad = {**SECRETS, "riskcore": {"roles": {ADMIN: "superuser"}}}
    at = app(signed_in(ADMIN), bad)
    no_exception(at)
    assert any("superuser" in e.value for e in at.error) and "_ctx" not in at.session_state


def test_signed_in_user_and_log_out_in_the_sidebar():
    at = app(signed_in(LEADER))
    no_exception(at)
    assert any(md_escape(LEADER) in c.value and "leader" in c.value for c in at.sidebar.caption)
    assert at.sidebar.button(key="logout")
    at.sidebar.button(key="logout").click().run()
    assert at.user == {"is_logged_in": False}  # st.logout ran; the next run is the sign-in screen
    at.run()  # (AppTest reruns the page file itself here, so this checks the page's own gate)
    assert not at.dataframe and not at.metric
    fresh = app(at.user)
    assert [b.key for b in fresh.button] == ["login"]


def test_csm_sees_only_their_own_book_on_accounts():
    at = app(signed_in(CSM))
    no_exception(at)
    at.switch_page("ui/accounts.py").run()
    no_exception(at)
    assert owners_listed(at) == {"Ava Patel"}
    assert at.multiselect(key="f_owner").options == ["Ava Patel"]  # other owners are not even offered
    at.multiselect(key="f_owner").set_value(["Ben Okafor"]).run()  # a forged request widens nothing
    no_exception(at)
    shown_owners = [set(df.value["owner"]) for df in at.dataframe if "owner" in df.value.columns]
    assert all(o <= {"Ava Patel"} for o in shown_owners), shown_owners


def test_csm_book_by_their_name_in_the_data():
    at = app(signed_in(CSM_BY_NAME, "Ben Okafor"))
    at.switch_page("ui/accounts.py").run()
    no_exception(at)
    assert owners_listed(at) == {"Ben Okafor"}


def test_admin_sees_every_book_and_opens_data():
    at = app(signed_in(ADMIN))
    at.switch_page("ui/accounts.py").run()
    no_exception(at)
    assert owners_listed(at) == sample_owners()
    at.switch_page("ui/data.py").run()
    no_exception(at)
    assert page_title(at) == "Data" and at.file_uploader(key="upload")


@pytest.mark.parametrize("email", [CSM, LEADER])
def test_csm_and_leader_cannot_open_data(email):
    at = app(signed_in(email))
    no_exception(at)
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in the navigation
        at.switch_page("ui/data.py")
    assert not at.get("file_uploader")


def test_data_page_run_directly_refuses_a_csm():
    """Defence in depth: the page checks the role itself, not only app.py's navigation."""
    at = app(signed_in(CSM), script=str(ROOT / "ui" / "data.py"))
    no_exception(at)
    assert any("Only the admin and RevOps roles may load data" in e.value for e in at.error)
    assert not at.get("file_uploader")


def test_local_mode_without_auth_is_the_admin():
    at = app(None, secrets=None)
    no_exception(at)
    assert not [b for b in at.button if b.key in ("login", "logout")]
    at.switch_page("ui/data.py").run()
    assert page_title(at) == "Data"


def test_csm_cannot_publish():
    at = app(signed_in(CSM))
    at.switch_page("ui/tuning.py").run()
    no_exception(at)
    for key in ("save_publish", "publish_version"):
        found = [b for b in at.button if b.key == key]
        assert not found or found[0].disabled, key


def test_boundary_decision_per_role(monkeypatch):
    """ui.access with st.user / st.secrets replaced at the boundary (no script run)."""
    sys.path.insert(0, str(ROOT))
    import ui.access as pa
    from riskcore.aggregates import Filters
    monkeypatch.setattr(pa, "secrets_dict", lambda: SECRETS)
    for email, role, data, publish in ((ADMIN, "admin", True, True), (REVOPS, "revops", True, True),
                                       (LEADER, "leader", False, False), (CSM, "csm", False, False)):
        monkeypatch.setattr(pa.st, "user", signed_in(email))
        a = pa.current_access(owners=[])
        assert (a.role, a.can_open("data"), a.can("load_data"), a.can("publish")) == (role, data, data, publish)
    monkeypatch.setattr(pa.st, "user", signed_in(CSM))
    assert pa.restrict_filters(Filters(owner=("Ben Okafor",))) is None  # not their book: nothing
    assert pa.restrict_filters(Filters()).owner == ("Ava Patel",)
    monkeypatch.setattr(pa.st, "user", signed_in(STRANGER))
    assert pa.current_access().role is None and pa.restrict_filters(Filters()) is None
    monkeypatch.setattr(pa, "secrets_dict", lambda: {})
    assert pa.current_access().role == "admin" and pa.restrict_filters(Filters()) == Filters()
