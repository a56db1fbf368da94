"""The session's choices, kept across pages, reloads and the browser's Back (issue 14, "State").

Streamlit forgets a widget's value on a run that does not draw it (another page, the account view),
and a reload starts a new session. So every choice a user makes (dataset, as-of date, rule set,
dimension, the Accounts filters) is kept three ways:
- in a non-widget session key (`_kept`) that re-seeds the widget on every run that draws it;
- in the URL (`st.query_params`, riskcore.urlstate), written once at the end of each run;
- the draft rule set and how the session's uploads were mapped, on the server under a random
  `?draft=<id>` (riskcore.drafts).

Which wins: the URL on the session's first run (a reload, a bookmark) and when the browser changed
it (Back / Forward: it then differs from what this session last wrote); otherwise the session. A
page switch drops the query string (Streamlit keeps only widget-bound parameters), which is not a
change of choice: the session's values are written back.
"""

from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from riskcore import urlstate as us
from riskcore.versions import rules_home
from riskcore.drafts import Dataset, DraftError, DraftStore, Record

KEPT = "_kept"             # widget key -> chosen value, kept while the widget is not drawn
SHOWN = "_shown"           # widget key -> the value it was seeded with (a different one: the user's change)
DEFAULTS = "_defaults"     # widget key -> the default it had (a kept value equal to it follows a new default)
WRITTEN = "_url_written"   # our parameters as this session last wrote them
RUN = "_url_run"           # this run: whether it reads the URL, and the widgets it drew
DRAFT_ID = "_draft_id"     # the session's draft id (None until the draft is first kept)
RECORD = "_draft_record"   # the record as last saved / loaded
NOTE = "_draft_note"       # why a saved draft from the URL could not be used (shown once)

SIDEBAR = ("data", "as_of", "rules", "dim", "draft")
FILTERS = {"f_owner": "owner", "f_segment": "segment", "f_tier": "tier", "f_dimension": "tier_of",
           "f_quadrant": "quadrant", "f_renewal": "renews", "f_search": "q", "f_behavior": "behaviour",
           "f_alerted": "alerted", "f_group_parent": "parents"}
NAMES = frozenset(SIDEBAR) | frozenset(FILTERS.values())


def drafts() -> DraftStore:
    return DraftStore(rules_home() / ".drafts")


def owner() -> str:
    """Whose drafts these are: the signed-in user's email, "" in local single-user mode."""
    from ui.access import signed_in_user
    user = signed_in_user()
    return (user.email or user.name or "") if user.signed_in else ""


def url_values(name: str) -> list[str]:
    return st.query_params.get_all(name)


def _ours() -> dict[str, list[str]]:
    return {k: st.query_params.get_all(k) for k in sorted(NAMES) if k in st.query_params}


def _run() -> dict:
    """This run's bookkeeping (started by `start_run`; a run that never drew the sidebar has none)."""
    return st.session_state.setdefault(RUN, {"external": False, "keys": {}})


def first_run() -> bool:
    return WRITTEN not in st.session_state


def start_run() -> None:
    """Decide once per script run whether the URL or the session holds the choices (the sidebar calls
    this first). The URL wins on the first run and when it changed outside this session (Back,
    Forward); a query string without any of our parameters is a page switch, not a change."""
    now = _ours()
    external = first_run() or (now != st.session_state.get(WRITTEN) and bool(now))
    st.session_state[RUN] = {"external": external, "keys": {}}
    if external:
        restore_draft()
        restore_data()
    _keep_dataset()  # a dataset loaded on the last run (the Data page reruns after a load)
    st.session_state.setdefault(WRITTEN, now)


def reading_url() -> bool:
    return _run()["external"]


# ---- widgets whose value is kept --------------------------------------------------------------

def kept(key: str, param: us.Param, show: Callable[[Any], Any] | None = None,
         take: Callable[[Any], Any] | None = None) -> str:
    """Seed the widget `key` before it is drawn and return `key`: from the URL when this run reads it,
    else the user's change of the widget, else the value kept (also while it was not drawn), else
    `param.default`; each checked against what `param` allows now. A kept value equal to the default
    it had follows a new default (the Accounts "Tier of" follows the sidebar's dimension). `show`
    turns a kept choice into the widget's value and `take` a changed widget value back into a choice
    (the rule set: "published" shows as the published version's number, and choosing that number
    means "published")."""
    show = show or (lambda v: v)
    take = take or (lambda v: v)
    kept_values = st.session_state.setdefault(KEPT, {})
    shown = st.session_state.setdefault(SHOWN, {})
    defaults = st.session_state.setdefault(DEFAULTS, {})
    if reading_url():
        choice = param.read(url_values(param.name))
    elif key in st.session_state and (key not in shown or _same(st.session_state[key]) != _same(shown[key])):
        choice = param.check(take(st.session_state[key]))  # the user changed it (or code did, in a callback)
    elif key in defaults and _same(kept_values.get(key)) == _same(defaults[key]):
        choice = None  # never chosen: the default now
    else:
        choice = param.check(kept_values.get(key))
    if choice is None:
        choice = param.default
    kept_values[key] = choice
    defaults[key] = param.default
    value = show(choice)
    shown[key] = st.session_state[key] = list(value) if isinstance(value, tuple) else value  # a multiselect's list
    _run()["keys"][key] = param
    return key


def _same(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def forget(*keys: str) -> None:
    """Drop kept values (a new dataset: its dates and owners differ)."""
    kept_values = st.session_state.setdefault(KEPT, {})
    for k in keys:
        kept_values.pop(k, None)
        st.session_state.get(SHOWN, {}).pop(k, None)
        st.session_state.pop(k, None)


# ---- the URL -----------------------------------------------------------------------------------

def _write_url(updates: dict[str, list[str] | None]) -> None:
    """Apply `updates` (None removes) to the query string in one message, only when it changes: each
    change is a browser history entry."""
    current = {k: st.query_params.get_all(k) for k in st.query_params}
    new = dict(current)
    for name, values in updates.items():
        if values:
            new[name] = list(values)
        else:
            new.pop(name, None)
    if new != current:
        st.query_params.from_dict({k: (v[0] if len(v) == 1 else v) for k, v in new.items()})
    st.session_state[WRITTEN] = _ours()


def flush() -> None:
    """Write this run's choices to the URL (app.py calls this when the page is done, also after
    st.stop / st.rerun). Widgets not drawn on this run (the filters on the account view) keep
    their parameters as they are."""
    run = st.session_state.pop(RUN, None)
    if run is None:
        return
    kept_values = st.session_state.setdefault(KEPT, {})
    updates = {param.name: param.write(kept_values.get(key)) for key, param in run["keys"].items()}
    updates["data"] = _data_param()
    updates["draft"] = [st.session_state[DRAFT_ID]] if st.session_state.get(DRAFT_ID) else None
    _write_url(updates)


# ---- the dataset -------------------------------------------------------------------------------

def _uploads():
    from riskcore.uploads import UPLOADS
    return UPLOADS


def default_data() -> str:
    from riskcore.workspace import data_from_env
    import sys
    return data_from_env(sys.argv[1:]) or ""


def _data_param() -> list[str] | None:
    return us.dataset_param(st.session_state.get("data_key", ""), default_data(), _uploads())


def _url_name(data_key: str) -> str:
    """How the URL names `data_key` even when it is the server's default (the record's key for it)."""
    return (us.dataset_param(data_key, "\0", _uploads()) or [""])[0]


def may_load() -> bool:
    from ui.access import current_access
    try:
        return current_access().can("load_data")
    except Exception:  # noqa: BLE001 - no access decision possible: do not load from a URL
        return False


def restore_data() -> None:
    """The dataset the URL names (an upload's stored copy or a checked server path; only for a user who
    may load data), with the label and column mapping this draft's record kept for it."""
    from ui.access import check_server_path
    if "data_key" not in st.session_state:
        st.session_state["data_key"], st.session_state["data_mapping"] = default_data(), None
    raw = url_values("data")
    key = us.read_dataset(raw, _uploads(), lambda t: check_server_path(t)[0]) if raw and may_load() else None
    if key is None:
        key = default_data()
    if key == st.session_state.get("data_key"):
        return
    kept_set = (st.session_state.get(RECORD) or Record()).datasets.get(_url_name(key))
    from ui.session import set_data
    set_data(key, kept_set.mapping if kept_set else None)
    label = kept_set.label if kept_set and kept_set.label else (us.upload_label(key) if key else "")
    if key:
        st.session_state.setdefault("data_labels", {})[key] = label


def _keep_dataset() -> None:
    """Put the active dataset's label and mapping in the draft's record when a reload would not find
    them again (a mapping chosen on the Data page)."""
    key = st.session_state.get("data_key", "")
    mapping = st.session_state.get("data_mapping")
    if not key or mapping is None:
        return
    value = _url_name(key)
    label = st.session_state.get("data_labels", {}).get(key) or us.upload_label(key)
    record = st.session_state.get(RECORD) or Record(owner=owner())
    if record.datasets.get(value) == Dataset(label, mapping):
        return
    _save_record(Record(record.owner, record.draft, {**record.datasets, value: Dataset(label, mapping)}))


# ---- the draft ---------------------------------------------------------------------------------

def _save_record(record: Record) -> None:
    if not st.session_state.get(DRAFT_ID):
        st.session_state[DRAFT_ID] = us.new_draft_id()
    try:
        drafts().save(st.session_state[DRAFT_ID], record)
    except OSError as e:  # a full or read-only disk: the draft still lives in this session
        st.session_state[NOTE] = f"The draft could not be kept for a reload ({e.strerror or 'disk error'})."
        return
    st.session_state[RECORD] = record


def keep_draft(toml_text: str) -> None:
    """Save the draft (TOML text) under the session's id when it changed; the first time, put the id
    in the URL at once (a slider drag reruns only a fragment, which never reaches `flush`)."""
    record = st.session_state.get(RECORD)
    if record is not None and record.draft == toml_text:
        return
    if record is None and toml_text == st.session_state.get("_draft_start"):
        return  # still the version it started from: nothing to keep
    had_id = bool(st.session_state.get(DRAFT_ID))
    base = record or Record(owner=owner())
    _save_record(Record(base.owner, toml_text, base.datasets))
    if not had_id and st.session_state.get(DRAFT_ID):
        _write_url({"draft": [st.session_state[DRAFT_ID]]})


def restore_draft() -> None:
    """Load the draft the URL's `?draft=` names into the session (parsed with riskcore.rules; a
    record that cannot be used is named in the sidebar once, and the session starts a new one)."""
    did = us.draft_id(url_values("draft"))
    if did is None or did == st.session_state.get(DRAFT_ID):
        return
    try:
        record = drafts().load(did, owner())
    except DraftError as e:
        st.session_state[NOTE] = f"The saved draft in this link was not used: {e}."
        return
    if record is None:  # unknown id (expired, another server): ignored
        return
    if record.draft is not None:
        from ui.session import load_rules, set_draft
        from riskcore.report import user_message
        try:
            rs = load_rules(record.draft)
        except Exception as e:  # noqa: BLE001 - RuleSetError: the text is data, never code
            st.session_state[NOTE] = f"The saved draft in this link was not used: {user_message(e)}."
            return
        set_draft(rs, keep=False)
    st.session_state[DRAFT_ID] = did
    st.session_state[RECORD] = record


def draft_note() -> str | None:
    return st.session_state.pop(NOTE, None)
