"""The session's dataset as the user knows it: its name (`telco.csv`, never the cache's
`telco-88be4b93fbe0cc83.csv`), its own rule-set versions (riskcore.versions.Library), and a switch
that keeps each dataset's draft, so a draft or version built for an upload never scores the sample.
"""

from __future__ import annotations

import streamlit as st

from ui.session import current_data, draft, published_ruleset, set_data, set_draft, shared_versions
from riskcore.versions import rules_home
from riskcore.db import Mapping
from riskcore.versions import Library
from riskcore.workspace import dataset_id, default_dataset_name


@st.cache_resource
def _library(home: str) -> Library:
    return Library(home)


def library() -> Library:
    return _library(str(rules_home()))


def register(data_key: str, label: str | None = None) -> str:
    """Name a dataset (a known one keeps its name) and return the name it is shown under."""
    return library().register(dataset_id(data_key), label or default_dataset_name(data_key), data_key).name


def dataset_name(data_key: str) -> str:
    """The name a dataset is shown under (registered on first sight with its file name)."""
    found = library().dataset(dataset_id(data_key))
    return found.name if found is not None else register(data_key)


def switch_to(data_key: str, mapping: Mapping | None) -> None:
    """Make a loaded dataset this session's (call it from a button's callback): the dataset left keeps its
    draft for when the session comes back, the one entered gets its own (else its published version); the
    sidebar then shows the entered dataset's published version (v2 of one dataset is not v2 of another)."""
    parked: dict = st.session_state.setdefault("_drafts_by_dataset", {})
    parked[dataset_id(current_data()[0])] = draft()
    set_data(data_key, mapping)
    vs = shared_versions(str(rules_home()), dataset_id(data_key))
    rs = parked.pop(dataset_id(data_key), None)
    set_draft(rs if rs is not None else published_ruleset(vs))
    st.session_state["ruleset_choice"] = vs.published()  # a callback: before the sidebar draws it
