"""Who is using the app and what they may see: `st.user` + `st.secrets` -> riskcore.access.

The boundary between Streamlit and the pure policy in riskcore.access (docs/SECURITY.md). Without
an `[auth]` section in .streamlit/secrets.toml everyone is the local admin (single-user mode; the
server binds to 127.0.0.1). A secrets file that exists but cannot be read denies everyone
(fail closed), rather than falling back to local admin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import streamlit as st

from riskcore import access as acc
from riskcore.aggregates import Filters
from riskcore.display import md_escape
from riskcore.db import Store
from riskcore.security import PATTERN_CHARS, ROOT_ENV, data_roots, within

OWNER_TABLES = ("accounts", "account_table")  # both carry the canonical csm_owner column


class SecretsUnreadable(RuntimeError):
    """.streamlit/secrets.toml exists but cannot be parsed."""


def secrets_dict() -> dict[str, Any]:
    """st.secrets as a plain dict; {} when there is no secrets file; raises when it is unreadable."""
    from streamlit.errors import StreamlitSecretNotFoundError
    try:
        return st.secrets.to_dict()
    except StreamlitSecretNotFoundError as e:
        if "No secrets found" in str(e):
            return {}
        raise SecretsUnreadable(str(e)) from e


def signed_in_user() -> acc.User:
    """The user as st.user reports them (not signed in when sign-in is not configured)."""
    try:
        return acc.user_from(st.user)
    except Exception:  # st.user outside a script run (bare mode): nobody is signed in
        return acc.User()


def access_config() -> acc.AccessConfig:
    """The access configuration from secrets (AccessConfigError / SecretsUnreadable when malformed)."""
    return acc.config_from_secrets(secrets_dict())


def owners_in_data(store: Store | None) -> list[str]:
    """Distinct owner values of the loaded accounts (for matching a CSM's email or name)."""
    if store is None:
        return []
    from riskcore.aggregates import distinct_values
    for table in OWNER_TABLES:
        if store.has_table(table):
            return distinct_values(store, table, "csm_owner", limit=100_000)
    return []


def _session_store() -> Store | None:
    """The store this session scores with (ui.session; imported late: ui.session imports us)."""
    try:
        from ui.session import current_data, shared_store
        key, mapping = current_data()
        return shared_store(key, mapping)
    except Exception:  # no data loaded (yet): a CSM's book can still come from [riskcore.owners]
        return None


def current_access(owners: Iterable[str] | None = None) -> acc.Access:
    """What the current user may see and do (riskcore.access.decide).

    `owners`: the data's owner values, for a CSM without an `[riskcore.owners]` mapping; by default
    read from the session's store, only when the user is a CSM who needs it. A malformed secrets
    file gives an Access with no role and the reason as its message.
    """
    try:
        config = access_config()
    except (acc.AccessConfigError, SecretsUnreadable) as e:
        return acc.Access(None, (), frozenset(), (), True,
                          f"Access is not configured correctly, so nothing is shown: {e}")
    user = signed_in_user()
    if owners is None and acc.role_of(user, config) == "csm" and not (
            user.email and user.email.strip().lower() in config.owners):
        owners = owners_in_data(_session_store())
    return acc.decide(user, config, owners)


def restrict_filters(filters: Filters, access: acc.Access | None = None) -> Filters | None:
    """`filters` narrowed to the accounts the user may see (riskcore.access.restrict); None: show nothing."""
    return acc.restrict(access if access is not None else current_access(), filters)


def book_only(access: acc.Access | None = None) -> bool:
    """True when the user may see only their own book (a CSM whose book is locked)."""
    access = access if access is not None else current_access()
    return access.book is not None and access.book_locked


def require_page(page: str) -> acc.Access:
    """Stop the script run with the reason unless the user may open `page` (riskcore.access.PAGES).

    app.py only lists allowed pages; this also covers a page file run without app.py
    (`streamlit run ui/data.py`, AppTest.from_file on a page)."""
    access = current_access()
    if not access.can_open(page):
        st.error(md_escape(access.message or f"Your role ({access.role}) cannot open this page."))
        st.stop()
    return access


# ---- server paths ---------------------------------------------------------------------------

def check_server_path(text: str) -> tuple[Path | None, str]:
    """The resolved path when it lies inside a data root (symlinks and `..` resolved first), else
    (None, a message saying which folders are allowed and how to change them). The files a folder or
    DuckDB file holds are checked again when they are read (riskcore.security.readable_file)."""
    roots = data_roots()
    allowed = ", ".join(str(r) for r in roots)
    text = (text or "").strip()
    if not text or "\x00" in text:
        return None, "Enter a path to an account table, a folder of activity tables or a DuckDB file."
    try:
        path = Path(text).expanduser().resolve()  # relative: to the server's working folder
    except (OSError, RuntimeError) as e:
        return None, f"{text}: not a usable path ({e})."
    if not within(path, roots):
        return None, (f"{text}: outside the folders this server loads data from ({allowed}). Copy the file "
                      f"there, upload it, or have the administrator set {ROOT_ENV}.")
    if any(ch in str(path) for ch in PATTERN_CHARS):
        return None, f"{text}: the path contains *, ? or [, which the loader would read as a pattern; rename it."
    return path, ""
