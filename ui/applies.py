"""Whether the chosen rule set fits the loaded data: the banner every page shows when most of its rules
cannot run (with "Start from starter rules" in one click), and the confirmation publishing asks for
when some of them cannot run on the dataset it is published for."""

from __future__ import annotations

from typing import Callable

import streamlit as st

from ui.session import Ctx, set_draft
from ui.datasets import dataset_name
from riskcore.versions import DRAFT
from riskcore.display import md_escape
from riskcore.coverage import Coverage
from riskcore.report import user_message
from riskcore.rules import content_hash
from riskcore.workspace import dataset_id


def coverage(c: Ctx, rs) -> Coverage:
    """Which rules of `rs` cannot run on the session's data (the engine's, per load, date and rule set)."""
    return c.engine.coverage(rs, c.as_of)


# ---- the banner ------------------------------------------------------------------------------

def start_from_starter(c: Ctx) -> None:
    """Starter rules from the loaded account table's own columns become the session's draft, and the
    pages show the draft; what was left out (columns that copy the outcome) is said next time."""
    try:
        rs, left_out = c.engine.starter()
    except ValueError as e:
        st.session_state["starter_result"] = ("error", f"No starter rules: {user_message(e)}", [])
        return
    set_draft(rs)
    st.session_state["ruleset_choice"] = DRAFT
    st.session_state["starter_result"] = (
        "success", f"The draft now has {len(rs.rules)} starter rules from the columns of {dataset_name(c.data_key)} "
                   "(tune them on the Tuning page, then save them as a version).", left_out)


def starter_result() -> None:
    """The outcome of the last "Start from starter rules" click, once: the rule count and the columns left out."""
    found = st.session_state.pop("starter_result", None)
    if found is None:
        return
    kind, text, left_out = found
    (st.error if kind == "error" else st.success)(md_escape(text))
    if left_out:
        st.warning("Left out of the starter rules:\n" + "".join(f"\n- {md_escape(w)}" for w in left_out))


def rules_apply_banner(c: Ctx) -> None:
    """At the top of a page: when more than half of the chosen rule set's rules cannot run on this data,
    say so, offer starter rules (an account table) and list why each rule cannot run."""
    starter_result()
    cov = coverage(c, c.rs)
    if not cov.mostly_unavailable:
        return
    with st.container(key="rules_do_not_apply"):
        st.warning(md_escape(cov.banner()))
        table = c.store.dataset is not None and c.store.dataset.kind == "account_table"
        if table:
            st.button("Start from starter rules", key="start_starter", on_click=start_from_starter, args=(c,),
                      type="primary", help="One rule per column of this table that separates churners; they "
                                           "become this session's draft.")
        else:
            st.caption("Load the activity tables these rules read (Data page), or import a rule set for this "
                       "data on the Tuning page.")
        with st.expander("Why each rule cannot run"):
            st.text("\n".join(p.message for p in cov.unavailable))


# ---- publishing ------------------------------------------------------------------------------

def held_for_confirmation(c: Ctx, rs, action: tuple) -> bool:
    """Before publishing `rs` for this dataset (`action`: ("save", ...) or ("publish", number)): when some
    of its rules cannot run here and the user has not confirmed this very action, hold it (the page asks,
    see `publish_confirmation`) and return True; else False (go ahead)."""
    action = (dataset_id(c.data_key), *action, content_hash(rs))  # another dataset or draft: ask again
    if st.session_state.pop("publish_confirmed", None) == action:
        return False
    warning = coverage(c, rs).publish_warning(dataset_name(c.data_key))
    if warning is None:
        return False
    st.session_state["publish_pending"] = (action, warning)
    return True


def publish_confirmation(c: Ctx, go: Callable[[tuple], None]) -> None:
    """The held publish, if any: the warning, "Publish anyway" (runs `go(action)` confirmed) and "Cancel".
    A publish held for another dataset is dropped (its version numbers mean nothing here)."""
    pending = st.session_state.get("publish_pending")
    if pending is None:
        return
    action, warning = pending
    if action[0] != dataset_id(c.data_key):
        st.session_state.pop("publish_pending", None)
        return

    def confirm() -> None:
        st.session_state.pop("publish_pending", None)
        st.session_state["publish_confirmed"] = action
        go(action[1:-1])

    with st.container(key="publish_warning"):
        st.warning(md_escape(warning) + "\n\nPublish anyway? The pages then show these scores for everyone "
                                        "who opens this dataset.")
        with st.container(horizontal=True):  # side by side, wrapping on a narrow screen
            st.button("Publish anyway", key="publish_confirm", on_click=confirm, type="primary")
            st.button("Cancel", key="publish_cancel", on_click=lambda: st.session_state.pop("publish_pending", None))
