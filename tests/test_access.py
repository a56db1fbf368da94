"""Role rules with the user faked at the boundary (a dict / object shaped like `st.user`)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from riskcore import fixtures
from riskcore.access import (ACTIONS, PAGES, AccessConfigError, User, allowed_owners, config_from_secrets, decide,
                             restrict, role_of, user_from)
from riskcore.aggregates import Filters, count_accounts

EXAMPLE = Path(__file__).resolve().parent.parent / ".streamlit" / "secrets.toml.example"

SECRETS = {
    "auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x", "client_id": "id",
             "client_secret": "s", "server_metadata_url": "https://idp.example.com/.well-known/openid-configuration"},
    "riskcore": {
        "roles": {"Ana@Example.com": "admin", "raj@example.com": "revops", "lee@example.com": "leader",
                  "kim@example.com": "csm", "bo@example.com": "csm", "nobody@example.com": "csm"},
        "owners": {"kim@example.com": "Ann"},
    },
}
CONFIG = config_from_secrets(SECRETS)


def signed_in(email, name=None):
    return user_from({"is_logged_in": True, "email": email, "name": name})


def test_user_from_st_user_like_objects():
    assert user_from(SimpleNamespace(is_logged_in=True, email="a@x.com", name="A")) == User("a@x.com", "A", True)
    assert user_from(SimpleNamespace(is_logged_in=False)) == User(None, None, False)
    assert user_from({}) == User(None, None, False)


def test_roles_from_the_mapping_case_insensitive():
    assert role_of(signed_in("ana@example.com"), CONFIG) == "admin"
    assert role_of(signed_in(" RAJ@example.com "), CONFIG) == "revops"
    assert role_of(signed_in("lee@example.com"), CONFIG) == "leader"
    assert role_of(signed_in("kim@example.com"), CONFIG) == "csm"


def test_only_admin_and_revops_load_data_and_publish():
    table = {}
    for email in ("ana@example.com", "raj@example.com", "lee@example.com", "kim@example.com"):
        a = decide(signed_in(email), CONFIG, owners_in_data=["Ann", "Bo"])
        table[a.role] = (a.can_open("data"), a.can("publish"), a.can("load_data"), a.can("save_draft"),
                         a.can_open("tuning"), a.can_open("accounts"))
    assert table == {
        "admin": (True, True, True, True, True, True),
        "revops": (True, True, True, True, True, True),
        "leader": (False, False, False, True, True, True),
        "csm": (False, False, False, True, True, True),
    }


def test_unknown_signed_in_user_sees_nothing_until_mapped():
    a = decide(signed_in("stranger@example.com", "Stranger"), CONFIG, ["Ann"])
    assert a.role is None and a.pages == () and a.actions == frozenset()
    assert "stranger@example.com" in a.message and "[riskcore.roles]" in a.message
    assert not any(a.can_open(p) for p in PAGES) and not any(a.can(x) for x in ACTIONS)
    assert restrict(a, Filters()) is None


def test_default_role_lets_unknown_users_in_when_configured():
    cfg = config_from_secrets({"auth": {}, "riskcore": {"default_role": "leader"}})
    a = decide(signed_in("stranger@example.com"), cfg)
    assert a.role == "leader" and a.book is None and not a.can("publish")


def test_not_signed_in_gets_nothing_when_auth_is_configured():
    a = decide(user_from({"is_logged_in": False}), CONFIG)
    assert a.role is None and a.pages == () and a.message == "Please sign in."


def test_without_auth_configured_the_local_user_is_admin():
    a = decide(user_from({}), config_from_secrets({}))
    assert a.role == "admin" and a.pages == PAGES and a.book is None and "local single-user" in a.message


def test_csm_book_from_mapping_email_or_name():
    owners = ["Ann", "bo@example.com", "Cy Smith", "Dee"]
    assert decide(signed_in("kim@example.com"), CONFIG, owners).book == ("Ann",)          # [riskcore.owners]
    assert decide(signed_in("BO@example.com"), CONFIG, owners).book == ("bo@example.com",)  # owner is the email
    cy = config_from_secrets({"auth": {}, "riskcore": {"roles": {"cy@example.com": "csm"}}})
    assert decide(signed_in("cy@example.com", "cy smith"), cy, owners).book == ("Cy Smith",)  # by name
    lost = decide(signed_in("nobody@example.com", "No Body"), CONFIG, owners)
    assert lost.role == "csm" and lost.book == () and "[riskcore.owners]" in lost.message


def test_leaders_see_every_book():
    a = decide(signed_in("lee@example.com"), CONFIG, ["Ann"])
    assert a.book is None and allowed_owners(a, ()) is None and allowed_owners(a, ["Bo"]) == ("Bo",)


def test_restrict_narrows_filters_on_real_data():
    store = fixtures.scored_store()
    owners = [r[0] for r in store.rows("SELECT DISTINCT csm_owner FROM scored WHERE csm_owner IS NOT NULL")]
    assert "Ann" in owners and len(owners) > 1
    kim = decide(signed_in("kim@example.com"), CONFIG, owners)
    f = restrict(kim, Filters())
    assert f.owner == ("Ann",)
    n_ann = store.one("SELECT count(*) FROM scored WHERE csm_owner = 'Ann'")
    assert count_accounts(store, "scored", f) == n_ann > 0
    # a locked book never widens: asking for another owner gives that owner's intersection (none)
    other = next(o for o in owners if o != "Ann")
    assert restrict(kim, Filters(owner=(other,))) is None
    assert restrict(kim, Filters(owner=("Ann", other))).owner == ("Ann",)
    # with csm_sees_all the own book is only the default
    open_cfg = config_from_secrets({**SECRETS, "riskcore": {**SECRETS["riskcore"], "csm_sees_all": True}})
    kim2 = decide(signed_in("kim@example.com"), open_cfg, owners)
    assert restrict(kim2, Filters()).owner == ("Ann",) and restrict(kim2, Filters(owner=(other,))).owner == (other,)
    # an empty book shows nothing (never "no owner filter")
    assert restrict(decide(signed_in("nobody@example.com"), CONFIG, owners), Filters()) is None
    admin = decide(signed_in("ana@example.com"), CONFIG, owners)
    assert count_accounts(store, "scored", restrict(admin, Filters())) == store.one("SELECT count(*) FROM scored")


@pytest.mark.parametrize("secrets, text", [
    ({"riskcore": {"roles": {"a@x.com": "superuser"}}}, "[riskcore.roles] 'a@x.com': expected one of admin"),
    ({"riskcore": {"owners": {"a@x.com": ""}}}, "[riskcore.owners] 'a@x.com'"),
    ({"riskcore": {"default_role": "god"}}, "[riskcore] default_role"),
    ({"riskcore": {"csm_sees_all": "yes"}}, "[riskcore] csm_sees_all"),
    ({"riskcore": {"role": {}}}, "unknown key 'role'"),
])
def test_bad_config_names_the_key(secrets, text):
    with pytest.raises(AccessConfigError) as err:
        config_from_secrets(secrets)
    assert text in str(err.value)


def test_unknown_page_or_action_is_an_error_not_a_silent_no():
    a = decide(signed_in("ana@example.com"), CONFIG)
    with pytest.raises(ValueError, match="unknown page 'settings'"):
        a.can_open("settings")
    with pytest.raises(ValueError, match="unknown action 'delete'"):
        a.can("delete")


def test_the_example_secrets_file_parses_and_configures_auth():
    doc = tomllib.loads(EXAMPLE.read_text())
    assert set(doc["auth"]) >= {"redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url"}
    cfg = config_from_secrets(doc)
    assert cfg.auth_enabled and set(cfg.roles.values()) == {"admin", "revops", "leader", "csm"}
    assert cfg.owners and cfg.default_role is None
