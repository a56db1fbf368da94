"""Who may see and do what: roles, the pages they open and a CSM's own book. Pure, no Streamlit.

The app hands in the signed-in user (from `st.user`) and the `[riskcore]` section of
`.streamlit/secrets.toml`; `decide` returns an `Access`. Policy (docs/SECURITY.md):
- sign-in not configured (no `[auth]`): local single-user mode, full access (the server binds to
  127.0.0.1, so only this machine reaches it);
- sign-in configured but the user is not signed in: nothing;
- signed in: the role from `[riskcore.roles]` (email -> admin | revops | leader | csm), else
  `default_role`, else **nothing until an admin maps the email** (the app holds revenue and
  customer lists, so an unknown colleague must not see them by default);
- a CSM's book is their own accounts: `[riskcore.owners]` email -> owner name as written in the
  data, else the owner value equal to their email or name (case-insensitive), else an empty book.
  Unless `csm_sees_all = true`, a CSM cannot widen the owner filter;
- only admin and revops open the Data page, load data and publish rule sets; a CSM does not open
  Plays (its figures pool every book).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:
    from .aggregates import Filters

ROLES = ("admin", "revops", "leader", "csm")
PAGES = ("overview", "accounts", "tuning", "calibration", "plays", "data")
ACTIONS = ("view", "export", "save_draft", "publish", "load_data")

_ROLE_PAGES = {
    "admin": PAGES,
    "revops": PAGES,
    "leader": ("overview", "accounts", "tuning", "calibration", "plays"),  # plays: figures over every book
    "csm": ("overview", "accounts", "tuning", "calibration"),
}
_ROLE_ACTIONS = {
    "admin": frozenset(ACTIONS),
    "revops": frozenset(ACTIONS),
    "leader": frozenset({"view", "export", "save_draft"}),
    "csm": frozenset({"view", "export", "save_draft"}),
}


class AccessConfigError(ValueError):
    """The access section of secrets.toml is malformed; the message names the key."""


@dataclass(frozen=True)
class User:
    """The person using the app, as the identity provider reports them."""

    email: str | None = None
    name: str | None = None
    signed_in: bool = False


@dataclass(frozen=True)
class AccessConfig:
    """`[auth]` present or not, and the `[riskcore]` mapping (emails lower-cased)."""

    auth_enabled: bool = False
    roles: Mapping[str, str] = field(default_factory=dict)
    owners: Mapping[str, str] = field(default_factory=dict)
    default_role: str | None = None
    csm_sees_all: bool = False


@dataclass(frozen=True)
class Access:
    """What one user gets. `book` None: every account; a tuple: only these owners (empty: none)."""

    role: str | None
    pages: tuple[str, ...]
    actions: frozenset[str]
    book: tuple[str, ...] | None
    book_locked: bool
    message: str = ""

    def can_open(self, page: str) -> bool:
        _check(page, PAGES, "page")
        return page in self.pages

    def can(self, action: str) -> bool:
        _check(action, ACTIONS, "action")
        return action in self.actions


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r} (expected one of {', '.join(allowed)})")


def pages_for(role: str | None) -> tuple[str, ...]:
    """Pages a role may open (none without a role)."""
    return _ROLE_PAGES[role] if role is not None else ()


def actions_for(role: str | None) -> frozenset[str]:
    return _ROLE_ACTIONS[role] if role is not None else frozenset()


def _email(v: Any) -> str:
    return str(v).strip().lower()


def config_from_secrets(secrets: Mapping[str, Any] | None) -> AccessConfig:
    """Read `[auth]` (presence only) and `[riskcore]` (roles, owners, default_role, csm_sees_all)."""
    secrets = secrets or {}
    section = secrets.get("riskcore", {}) or {}
    if not isinstance(section, Mapping):
        raise AccessConfigError("[riskcore]: expected a table")
    unknown = sorted(set(section) - {"roles", "owners", "default_role", "csm_sees_all"})
    if unknown:
        raise AccessConfigError(f"[riskcore]: unknown key {unknown[0]!r} "
                                "(expected roles, owners, default_role, csm_sees_all)")
    roles: dict[str, str] = {}
    for email, role in dict(section.get("roles", {}) or {}).items():
        if role not in ROLES:
            raise AccessConfigError(f"[riskcore.roles] {email!r}: expected one of {', '.join(ROLES)}, found {role!r}")
        roles[_email(email)] = role
    owners: dict[str, str] = {}
    for email, owner in dict(section.get("owners", {}) or {}).items():
        if not isinstance(owner, str) or not owner.strip():
            raise AccessConfigError(f"[riskcore.owners] {email!r}: expected the owner's name as in the data, "
                                    f"found {owner!r}")
        owners[_email(email)] = owner
    default = section.get("default_role") or None
    if default is not None and default not in ROLES:
        raise AccessConfigError(f"[riskcore] default_role: expected one of {', '.join(ROLES)} or \"\", "
                                f"found {default!r}")
    sees_all = section.get("csm_sees_all", False)
    if not isinstance(sees_all, bool):
        raise AccessConfigError(f"[riskcore] csm_sees_all: expected true or false, found {sees_all!r}")
    return AccessConfig(auth_enabled="auth" in secrets, roles=roles, owners=owners, default_role=default,
                        csm_sees_all=sees_all)


def user_from(obj: Any) -> User:
    """A User from `st.user` (or any object / dict with is_logged_in, email, name)."""
    get = obj.get if isinstance(obj, Mapping) else (lambda k, d=None: getattr(obj, k, d))
    email = get("email", None)
    name = get("name", None)
    signed_in = bool(get("is_logged_in", False))
    return User(email=str(email) if email else None, name=str(name) if name else None, signed_in=signed_in)


def role_of(user: User, config: AccessConfig) -> str | None:
    """The user's role (None: no access). Without sign-in configured everyone is the local admin."""
    if not config.auth_enabled:
        return "admin"
    if not user.signed_in or not user.email:
        return None
    return config.roles.get(_email(user.email), config.default_role)


def own_book(user: User, config: AccessConfig, owners_in_data: Iterable[str] | None = None) -> tuple[str, ...]:
    """Owner values that are this user's: the mapped name, else the data's owner equal to their email
    or name (case-insensitive); empty when nothing matches."""
    if user.email and _email(user.email) in config.owners:
        return (config.owners[_email(user.email)],)
    wanted = {v.strip().lower() for v in (user.email, user.name) if v and v.strip()}
    found = [o for o in (owners_in_data or ()) if isinstance(o, str) and o.strip().lower() in wanted]
    return tuple(dict.fromkeys(found))


def decide(user: User, config: AccessConfig, owners_in_data: Iterable[str] | None = None) -> Access:
    """The user's role, pages, actions and default book (see the module docstring for the policy)."""
    role = role_of(user, config)
    if not config.auth_enabled:
        return Access("admin", pages_for("admin"), actions_for("admin"), None, False,
                      "Sign-in is not configured: local single-user mode.")
    if role is None:
        if not user.signed_in:
            msg = "Please sign in."
        else:
            msg = (f"Your account {user.email or user.name or ''} has no role yet: ask an admin to add it under "
                   "[riskcore.roles] in .streamlit/secrets.toml.")
        return Access(None, (), frozenset(), (), True, msg)
    if role != "csm":
        return Access(role, pages_for(role), actions_for(role), None, False, "")
    book = own_book(user, config, owners_in_data)
    msg = "" if book else (f"No accounts are owned by {user.email}: ask an admin to map your email to your owner "
                           "name under [riskcore.owners] in .streamlit/secrets.toml.")
    return Access(role, pages_for(role), actions_for(role), book, not config.csm_sees_all, msg)


def allowed_owners(access: Access, requested: Iterable[str] | None) -> tuple[str, ...] | None:
    """The owner filter to apply: what was asked, narrowed to the book when it is locked.

    None means no owner filter (all accounts). A locked book never widens, even when the request
    is empty: an empty request then means the whole (own) book.
    """
    req = tuple(requested or ())
    if access.book is None or not access.book_locked:
        return req or access.book
    if not req:
        return access.book
    return tuple(o for o in req if o in access.book)


def restrict(access: Access, filters: "Filters") -> "Filters | None":
    """`filters` with the owner filter narrowed to what the user may see; None: show no account.

    Use this rather than passing `allowed_owners` to Filters yourself: an empty owner tuple in
    Filters means *no* owner filter, while an empty book means *no* accounts.
    """
    from dataclasses import replace

    if access.role is None:
        return None
    owners = allowed_owners(access, filters.owner)
    if owners is None:
        return replace(filters, owner=())
    if not owners:
        return None
    return replace(filters, owner=owners)
