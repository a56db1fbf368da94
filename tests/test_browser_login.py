"""Sign-in end to end (issue 7 §5): real `st.login` / `st.logout` in headless Chromium against a local
OpenID Connect provider (tests/oidc_stub.py).

One `streamlit run app.py` with a secrets file in a tmp folder (`--secrets.files`; the repo's
.streamlit/ is never written) whose `[auth]` points at the stub and whose `[riskcore]` maps a CSM,
an admin and nobody else. Each user gets a fresh browser context (own cookies): the visitor sees
only the sign-in button; "Log in" goes browser -> Streamlit /auth/login -> stub /authorize ->
Streamlit /oauth2callback (code exchanged for an RS256 id_token, nonce and PKCE checked) -> the
app, signed in. Books are read from the Accounts page's CSV download. The sign-in and "no role"
screens list no pages at all (app.py declares its navigation hidden before it stops, so a session
whose role was taken away does not keep the previous run's page list).
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import secrets
from pathlib import Path

import pytest
from conftest import free_port, streamlit_server
from oidc_stub import OIDCStub
from test_browser import browser, settle  # noqa: F401 - browser is a fixture

pytestmark = pytest.mark.browser

CLIENT_ID, CLIENT_SECRET = "riskcore-test", secrets.token_urlsafe(24)
CSM, ADMIN, STRANGER = "kim@example.com", "ana@example.com", "eve@example.com"
CSM_OWNER = "Ava Patel"  # an owner of the 400-account sample (checked below)
NAMES = {CSM: "Kim Park", ADMIN: "Ana Admin", STRANGER: "Eve Stranger"}
BOOKS: dict[str, list[str]] = {}  # email -> account ids on their Accounts page (CSM vs admin check)


def _secrets_toml(port: int, metadata_url: str) -> str:
    return f"""
[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "{secrets.token_hex(32)}"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
server_metadata_url = "{metadata_url}"

[riskcore]
default_role = ""
csm_sees_all = false

[riskcore.roles]
"{ADMIN}" = "admin"
"{CSM.upper()}" = "csm"  # the email's case does not matter

[riskcore.owners]
"{CSM}" = "{CSM_OWNER}"
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(app URL, stub): the stub and one Streamlit server, both stopped at the end."""
    tmp = tmp_path_factory.mktemp("login")
    with OIDCStub(CLIENT_ID, CLIENT_SECRET, users=NAMES) as idp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        idp.redirect_uris = {f"{url}/oauth2callback"}
        (tmp / "secrets.toml").write_text(_secrets_toml(port, idp.metadata_url))
        env = dict(os.environ, RISKCORE_SAMPLE_ACCOUNTS="400", RISKCORE_HOME=str(tmp / "rulesets"),
                   NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
        env.pop("RISKCORE_DATA", None)
        with streamlit_server(tmp / "streamlit.log", env, args=("--secrets.files", str(tmp / "secrets.toml")),
                              port=port):
            yield url, idp
        tail = (tmp / "streamlit.log").read_text(errors="replace")[-3000:]
        assert "Traceback" not in tail, tail


@contextlib.contextmanager
def visitor(browser):
    """A fresh browser context: no cookies, nobody signed in."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def open_app(pg, url: str) -> None:
    pg.goto(url)
    pg.wait_for_selector("[data-testid=stMainBlockContainer] h1", timeout=60_000)
    settle(pg, timeout=60_000)


def no_exception(pg) -> None:
    errors = pg.locator("[data-testid=stException]")
    assert errors.count() == 0, errors.all_inner_texts()


def shows_no_data(pg) -> bool:
    return all(pg.locator(f"[data-testid={t}]").count() == 0 for t in ("stDataFrame", "stMetric", "stPlotlyChart"))


def is_sign_in_screen(pg) -> bool:
    """Only the "Log in" button: no page list in the sidebar, no data."""
    return (pg.locator(".st-key-login button").count() == 1 and pg.locator(".st-key-logout").count() == 0
            and pg.locator("[data-testid=stSidebarNav]").count() == 0 and shows_no_data(pg))


def log_in(pg, url: str, idp: OIDCStub, email: str) -> None:
    """From the sign-in screen through the stub and back; the next page shows the signed-in user.
    Checks what Streamlit asked the provider for: state, nonce (echoed in the id_token, which Authlib
    verified), PKCE S256, the openid scopes and the registered redirect URI."""
    open_app(pg, url)
    assert is_sign_in_screen(pg)
    idp.sign_in_as(email, NAMES[email])
    before = len(idp.issued)
    pg.locator(".st-key-login button").click()
    pg.wait_for_selector(".st-key-logout button", timeout=60_000)
    settle(pg, timeout=60_000)
    assert pg.url.rstrip("/") == url  # back on the app, not left at the stub or the callback
    assert len(idp.issued) == before + 1 and idp.issued[-1]["email"] == email
    auth = idp.calls("/authorize")[-1]
    assert auth["client_id"] == CLIENT_ID and auth["redirect_uri"] == f"{url}/oauth2callback"
    assert set(auth["scope"].split()) >= {"openid", "email", "profile"}
    assert auth["code_challenge_method"] == "S256" and auth["state"]
    assert idp.issued[-1]["nonce"] == auth["nonce"]
    assert {c["name"] for c in pg.context.cookies()} >= {"_streamlit_user", "_streamlit_user_tokens"}
    caption = pg.locator("[data-testid=stSidebar] [data-testid=stCaptionContainer]", has_text="Signed in as").first
    assert email in caption.inner_text()


def nav_pages(pg) -> list[str]:
    """The sidebar navigation's page titles (a link's text also holds its icon's name, on the first line)."""
    return [t.strip().splitlines()[-1] for t in pg.locator("[data-testid=stSidebarNav] a").all_inner_texts()]


def listed_owners(pg, url: str) -> list[dict]:
    """The Accounts page's rows, from its CSV download (what the user can take away)."""
    open_app(pg, f"{url}/accounts")
    no_exception(pg)
    with pg.expect_download() as info:
        pg.locator(".st-key-download_csv button").click()
    return list(csv.DictReader(io.StringIO(Path(info.value.path()).read_bytes().decode("utf-8-sig"))))


def sample_owners() -> set[str]:
    from riskcore.sample import ensure_sample
    from riskcore.workspace import open_store
    store = open_store(ensure_sample(400))
    return {r[0] for r in store.rows("SELECT DISTINCT csm_owner FROM accounts")}


def test_visitor_sees_only_the_sign_in_screen(site, browser):
    url, _ = site
    with visitor(browser) as pg:
        open_app(pg, url)
        no_exception(pg)
        assert is_sign_in_screen(pg)
        open_app(pg, f"{url}/data")  # a deep link changes nothing
        assert is_sign_in_screen(pg)
        assert pg.locator(".st-key-upload").count() == 0


def test_csm_sees_only_their_book_and_no_data_page(site, browser):
    url, idp = site
    owners = sample_owners()
    assert CSM_OWNER in owners and len(owners) > 1
    with visitor(browser) as pg:
        log_in(pg, url, idp, CSM)
        assert "csm" in pg.locator("[data-testid=stSidebar]").inner_text()
        assert "Data" not in nav_pages(pg) and "Accounts" in nav_pages(pg)
        rows = listed_owners(pg, url)
        assert rows and {r["csm_owner"] for r in rows} == {CSM_OWNER}
        open_app(pg, f"{url}/data")  # not in the navigation: Streamlit shows the default page instead
        no_exception(pg)
        assert pg.locator("[data-testid=stMainBlockContainer] h1").first.inner_text().strip() != "Data"
        assert pg.locator(".st-key-upload").count() == 0
    BOOKS[CSM] = sorted(r["account_id"] for r in rows)


def test_admin_sees_every_book_and_the_data_page_then_logs_out(site, browser):
    url, idp = site
    with visitor(browser) as pg:
        log_in(pg, url, idp, ADMIN)
        assert "admin" in pg.locator("[data-testid=stSidebar]").inner_text()
        assert "Data" in nav_pages(pg)
        rows = listed_owners(pg, url)
        assert {r["csm_owner"] for r in rows} == sample_owners()
        if CSM in BOOKS:  # the CSM's list is exactly the admin's rows of that owner: their whole book
            assert BOOKS[CSM] == sorted(r["account_id"] for r in rows if r["csm_owner"] == CSM_OWNER)
        open_app(pg, f"{url}/data")
        no_exception(pg)
        assert pg.locator("[data-testid=stMainBlockContainer] h1").first.inner_text().strip() == "Data"
        assert pg.locator(".st-key-upload").count() == 1
        pg.locator(".st-key-logout button").click()  # st.logout -> /auth/logout -> stub /logout -> app
        pg.wait_for_selector(".st-key-login button", timeout=60_000)
        settle(pg, timeout=60_000)
        assert is_sign_in_screen(pg)
        assert not {c["name"] for c in pg.context.cookies()} & {"_streamlit_user", "_streamlit_user_tokens"}
        assert idp.calls("/logout"), "logout did not reach the provider's end_session_endpoint"
        open_app(pg, f"{url}/accounts")  # and stays signed out
        assert is_sign_in_screen(pg)


def test_unknown_email_is_not_allowed_and_sees_nothing(site, browser):
    url, idp = site
    with visitor(browser) as pg:
        log_in(pg, url, idp, STRANGER)
        no_exception(pg)
        error = pg.locator("[data-testid=stAlertContentError]").first.inner_text()
        assert "has no role yet" in error and STRANGER in error
        assert shows_no_data(pg) and nav_pages(pg) == []
        open_app(pg, f"{url}/accounts")  # a deep link shows the same message, no list
        assert "has no role yet" in pg.locator("[data-testid=stAlertContentError]").first.inner_text()
        assert shows_no_data(pg) and pg.locator(".st-key-download_csv").count() == 0
