"""riskcore: the customer-success risk dashboard (Streamlit entry point).

`streamlit run app.py -- --data PATH`, or $RISKCORE_DATA, else the generated sample.
Pages are thin: they gather inputs, call `riskcore`, draw the result.

Access (docs/SECURITY.md): with an `[auth]` section in .streamlit/secrets.toml, users sign in
with `st.login` (OIDC) and see only the pages their role opens; without it the app is the local
single-user dashboard (full access; the server binds to 127.0.0.1, .streamlit/config.toml).
"""

from __future__ import annotations

import streamlit as st

from riskcore.display import md_escape
from ui import state as url_state
from ui.access import access_config, current_access, signed_in_user
from ui.session import page_setup

page_setup()

# One file per page in ui/, a folder Streamlit does not treat as legacy pages. `streamlit run` and
# AppTest put this file's folder on sys.path, so `ui` and `riskcore` import as packages. A URL path
# is the page's name (/accounts, /data); the default page is served at /.
PAGES = {
    "overview": st.Page("ui/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    "accounts": st.Page("ui/accounts.py", title="Accounts", icon=":material/groups:", url_path="accounts"),
    "tuning": st.Page("ui/tuning.py", title="Tuning", icon=":material/tune:", url_path="tuning"),
    "calibration": st.Page("ui/calibration.py", title="Calibration", icon=":material/analytics:",
                           url_path="calibration"),
    "plays": st.Page("ui/plays.py", title="Plays", icon=":material/science:", url_path="plays"),
    "data": st.Page("ui/data.py", title="Data", icon=":material/database:", url_path="data"),
}


def _auth_enabled() -> bool:
    try:
        return access_config().auth_enabled
    except Exception:  # malformed secrets: current_access() says why and denies everyone
        return True


def _hide_pages() -> None:
    """Declare the navigation, hidden and not run, before a gate stops the run: a run that stops
    without st.navigation leaves the previous run's page list in the sidebar (a session whose role
    was taken away would still list Data), and a deep link to an unknown page then runs the gate
    silently instead of saying "Page not found". No page runs from here."""
    st.navigation(list(PAGES.values()), position="hidden")


def _sign_in_screen() -> None:
    """Nothing but a sign-in button for a visitor who is not signed in."""
    _hide_pages()
    st.title("riskcore")
    st.info("Sign in to see the customer risk dashboard.")
    if st.button("Log in", key="login", type="primary"):
        try:
            st.login()
        except Exception as e:  # noqa: BLE001 - e.g. Authlib missing or [auth] incomplete
            st.error(f"Sign-in is configured but cannot start: {md_escape(e)}. See docs/SECURITY.md (pip install "
                     "\"streamlit[auth]\"; [auth] needs redirect_uri, cookie_secret, client_id, client_secret, "
                     "server_metadata_url).")
    st.stop()


def _user_box(access) -> None:
    """Who is signed in, their role and a log-out button (sidebar)."""
    user = signed_in_user()
    with st.sidebar:
        st.caption(f"Signed in as {md_escape(user.email or user.name or 'unknown')}"
                   + (f" · {access.role}" if access.role else ""))
        st.button("Log out", key="logout", on_click=st.logout)  # a callback: a rerun cannot drop the click


auth = _auth_enabled()
if auth and not signed_in_user().signed_in:
    _sign_in_screen()
access = current_access()
if auth:
    _user_box(access)
if access.role is None:
    _hide_pages()
    st.title("riskcore")
    st.error(md_escape(access.message))  # it quotes the user's email / name: text, not Markdown
    st.stop()
if auth and access.message:  # e.g. a CSM whose email matches no owner in the data
    st.sidebar.warning(md_escape(access.message))

page = st.navigation([p for name, p in PAGES.items() if access.can_open(name)])
try:
    page.run()  # the page draws the sidebar (ui.session.ctx)
finally:  # also after st.stop / st.rerun in the page: the URL keeps the session's choices
    url_state.flush()
