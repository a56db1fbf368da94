"""What every page shares: the cached engine, rule-set versions, the session's draft, the sidebar.

Data, its DuckDB store and its Engine are shared across sessions (st.cache_resource, keyed by data path);
each session's draft rule set lives in its own st.session_state.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass, replace
from datetime import date

import streamlit as st

from ui import state
from ui.access import book_only
from riskcore import display, settings
from riskcore.versions import DRAFT, ensure_versions, rules_home, version_label
from riskcore.display import md_escape
from riskcore.db import Mapping, Store
from riskcore.engine import Engine
from riskcore.report import user_message
from riskcore.edits import format_threshold
from riskcore.rules import Percentile, load_ruleset, ruleset_to_toml
from riskcore.rules.model import QUADRANT_CORNERS, QUADRANTS as _QUADRANTS, TIERS
from riskcore.security import lock_down
from riskcore.versions import VersionStore
from riskcore.workspace import dataset_id

TIER_COLORS = dict(zip(TIERS, ("#1a9850", "#fdae61", "#d73027")))  # low, medium, high: colour-blind safe
# the pages list quadrants high value first, and within each value class high risk first
QUADRANTS = tuple(sorted(_QUADRANTS, key=lambda q: tuple(not c for c in QUADRANT_CORNERS[q])))  # Save, Expand, Triage, Maintain
CURRENCY = "$"


@dataclass(frozen=True)
class Ctx:
    """What the sidebar chose, handed to the page."""

    engine: Engine        # everything derived from the dataset (riskcore.engine), shared by every session
    data_key: str
    as_of: date
    rs: object            # the chosen rule set, with the chosen dimension as its primary one
    rs_label: str
    published: object     # the published rule set (same dimension)
    dimension: str
    versions: VersionStore

    @property
    def store(self) -> Store:
        return self.engine.store

    @property
    def is_activity(self) -> bool:
        return self.engine.is_activity


# ---- shared resources --------------------------------------------------------------------

@st.cache_resource(show_spinner="Loading data…", max_entries=8)
def shared_engine(data_key: str, mapping: Mapping | None = None) -> Engine:
    """One loaded store per data path (and mapping) and its engine, shared by every session. The store
    is locked down here, the one place: rule SQL can never reach files once data is in."""
    from riskcore.workspace import open_app_store  # file-backed, DuckDB memory capped (PRODUCT.md §8)
    if data_key:
        store = open_app_store(data_key, mapping=mapping)
    else:
        from riskcore.sample import ensure_sample
        from riskcore.workspace import sample_accounts
        store = open_app_store(ensure_sample(sample_accounts()))
    return Engine(lock_down(store), catalog=shared_catalog())


def shared_store(data_key: str, mapping: Mapping | None = None) -> Store:
    """The loaded store of `shared_engine`."""
    return shared_engine(data_key, mapping).store


@st.cache_resource
def shared_versions(home: str, dataset: str = "sample") -> VersionStore:
    """The rule-set versions of one dataset (workspace.dataset_id; a new one starts with the default set)."""
    from riskcore.versions import Library
    return ensure_versions(Library(home).folder(dataset))


@st.cache_resource
def shared_catalog():
    from riskcore.playbooks import load_catalog
    return load_catalog()


def scored_table(ctx: Ctx, rs=None, as_of: date | None = None) -> str:
    """Name of the scored table for a rule set and date (the engine's: built once, shared by every session)."""
    return ctx.engine.scored(rs if rs is not None else ctx.rs, as_of or ctx.as_of)


def backtest(ctx: Ctx, rs, horizon: int = 90, as_of: date | None = None) -> dict:
    with st.spinner("Running the backtest…"):  # shown only when it takes longer than half a second
        return ctx.engine.backtest(rs, as_of=as_of, horizon=horizon)


def quick_accuracy(ctx: Ctx, rs, horizon: int = 90) -> dict:
    """AUC / Brier of `rs` on the backtest, from the backtest windows' firing patterns (Engine.accuracy)."""
    with st.spinner("Preparing the backtest windows…"):
        return ctx.engine.accuracy(rs, horizon=horizon)


def setting(name: str):
    """The value of a riskcore setting (riskcore.settings); a bad value in the server's environment stops
    the page with the message naming the variable, not a traceback."""
    try:
        return settings.get(name)
    except settings.SettingError as e:
        st.error(md_escape(f"The server's setting {e}. Ask the administrator to fix it."))
        st.stop()


# ---- session state -----------------------------------------------------------------------

def current_data() -> tuple[str, Mapping | None]:
    """The session's dataset: set on the Data page (or named by the URL on a reload), else --data /
    $RISKCORE_DATA, else the sample."""
    if "data_key" not in st.session_state:
        st.session_state["data_key"], st.session_state["data_mapping"] = state.default_data(), None
        if state.first_run():  # a reload or a bookmark: the URL's draft and dataset, checked
            state.restore_draft()
            state.restore_data()
    return st.session_state["data_key"], st.session_state.get("data_mapping")


def set_data(data_key: str, mapping: Mapping | None) -> None:
    """Switch this session to another dataset (already loaded successfully)."""
    st.session_state["data_key"] = data_key
    st.session_state["data_mapping"] = mapping
    state.forget("as_of")  # another dataset has other dates


def load_rules(text: str):
    """A rule set from TOML text (memoised by content: RuleSets are frozen, so sharing is safe)."""
    return _load_rules(text)


@functools.lru_cache(maxsize=64)
def _load_rules(text: str):
    return load_ruleset(text)


def published_ruleset(vs: VersionStore):
    return load_rules(vs.text(vs.published()))


def draft() -> object:
    """This session's draft rule set (starts as the published one; a reload finds it again through
    the URL's draft id, ui.state)."""
    if "draft" not in st.session_state:
        vs = shared_versions(str(rules_home()), dataset_id(current_data()[0]))
        st.session_state["draft"] = published_ruleset(vs)
        st.session_state["_draft_start"] = ruleset_to_toml(st.session_state["draft"])
    return st.session_state["draft"]


def widget_values(rs) -> dict:
    """What each Tuning control shows for rule set `rs`, by widget key: the controls' starting values,
    and what `set_draft` writes so that a replaced draft (suggested weights, reset, import) is what the
    browser shows (a keyed slider keeps the browser's value when only its default changes)."""
    vc = rs.quadrant.value_cutoff
    out: dict = {"fusion:enabled": bool(rs.fusion.enabled),
                 "value_cut:text": "median" if vc == "median" else f"{float(vc):g}"}
    for dim in rs.dimensions:
        medium, high, _ = rs.tiers.cuts(dim)
        out[f"tier_cut:{dim}"] = (int(medium), int(high))
    for r in rs.rules:
        out[f"weight:{r.id}"] = int(round(r.points))
        if r.op not in ("is_true", "is_null") and not isinstance(r.threshold, Percentile):
            out[f"threshold:{r.id}"] = format_threshold(r.threshold)
    return out


WIDGET_PREFIXES = ("weight", "threshold", "tier_cut", "fusion", "value_cut")


def set_draft(rs, clear_widgets: bool = True, keep: bool = True) -> None:
    """Replace the draft (reset, suggested weights, import, each edit on Tuning); with `clear_widgets`
    the tuning widgets are set to it; with `keep` it is saved for a reload (when it changed)."""
    previous = st.session_state.get("draft")
    st.session_state["draft"] = rs
    if keep and rs is not previous:  # a Tuning rerun without an edit hands back the same object
        state.keep_draft(ruleset_to_toml(rs))
    if clear_widgets:
        for key in list(st.session_state.keys()):
            if isinstance(key, str) and key.split(":", 1)[0] in WIDGET_PREFIXES:
                del st.session_state[key]
        st.session_state.update(widget_values(rs))


def page_setup() -> None:
    """Title, a local favicon (no network), wide layout, the sidebar collapsed on a narrow window
    ("auto"), and the row sizes of ui.layout."""
    from ui.layout import FAVICON, style
    st.set_page_config(page_title="riskcore: customer risk", page_icon=str(FAVICON), layout="wide",
                       initial_sidebar_state="auto")
    style()


NO_RULES = ("This rule set has no rules: every account scores 0 and sits in the low tier. Import a rule set "
            "on the Tuning page, or start one from your table's columns on the Data page.")


def ctx() -> Ctx:
    """Draw the sidebar and return its choices; every page calls this first (a rule set without
    rules is said once, at the top of the page, instead of empty charts that look like data).
    app.py has already set the page up (page_setup) before it ran the page."""
    c = sidebar()
    if not c.rs.rules:
        st.info(NO_RULES)
    return c


# ---- sidebar -----------------------------------------------------------------------------

def sidebar() -> Ctx:
    """Dataset, as-of date, rule-set version and risk dimension; stores the Ctx for the page.

    One state for every page: each choice is kept in the session and the URL (ui.state), so a
    page switch, a reload or Back shows the same rule set, dimension and counts."""
    from riskcore import urlstate as us
    state.start_run()
    data_key, mapping = current_data()
    try:
        engine = shared_engine(data_key, mapping)
    except Exception as e:  # noqa: BLE001 - a bad --data path must not leave a blank app
        st.sidebar.error(md_escape(f"Could not load {data_key}: {user_message(e)}. Showing the sample instead."))
        set_data("", None)
        data_key, mapping = "", None
        engine = shared_engine("", None)
    vs = shared_versions(str(rules_home()), dataset_id(data_key))
    published_no = vs.published()
    with st.sidebar:
        note = state.draft_note()
        if note:
            st.warning(md_escape(note))
        st.caption("Dataset")
        from ui.datasets import dataset_name  # the name the user knows ('telco.csv'), not the cache file's
        source = dataset_name(data_key)
        st.text(f"{source}: {engine.kind() if book_only() else engine.description()}")  # no totals for a CSM
        if engine.is_activity:
            first, last = engine.active_range()
            as_of = st.date_input("As of", min_value=first, max_value=last,
                                  key=state.kept("as_of", us.Day("as_of", last, first, last)),
                                  help="Signals use only data dated on or before this day.")
        else:
            as_of = date.today()
            st.caption(f"As of {as_of:%Y-%m-%d} (an account table has no dates)")
        numbers = [v.number for v in reversed(vs.versions())]
        options = [DRAFT] + numbers
        labels = {DRAFT: "Draft (this session)"}
        labels.update({v.number: version_label(v.number, published_no) for v in vs.versions()})
        # kept as "published" while the published version is chosen: publishing v2 moves the sidebar to v2
        choice = st.selectbox("Rule set", options, format_func=lambda o: labels[o], help="The version the pages "
                              "show; Tuning edits the draft.", key=state.kept(
                                  "ruleset_choice", us.RuleSet("rules", us.PUBLISHED, tuple(numbers)),
                                  show=lambda v: published_no if v == us.PUBLISHED else v,
                                  take=lambda v: us.PUBLISHED if v == published_no else v))
        base = draft() if choice == DRAFT else load_rules(vs.text(choice))
        dims = list(base.dimensions)
        dimension = st.selectbox("Risk dimension", dims, help="The score the quadrant, tiers and lists use.",
                                 key=state.kept("dimension", us.One("dim", base.primary_dimension, tuple(dims))))
    rs = base if dimension == base.primary_dimension else replace(base, primary_dimension=dimension)
    published = published_ruleset(vs)
    if dimension in published.dimensions and dimension != published.primary_dimension:
        published = replace(published, primary_dimension=dimension)
    c = Ctx(engine=engine, data_key=data_key, as_of=as_of, rs=rs, rs_label=labels[choice], published=published,
            dimension=dimension, versions=vs)
    st.session_state["_ctx"] = c
    return c


# ---- formatting --------------------------------------------------------------------------

def money(x: float | None) -> str:
    """Compact money ($14.2k); a dash when there is no value (riskcore.display.money)."""
    return display.money(x, CURRENCY)


def plot_text(value) -> str:
    """Data shown in a Plotly chart (axis labels, hover, annotations) as text: Plotly reads `<a href>`,
    `<b>`, `<br>` in those strings, so &, < and > become entities it shows as the characters."""
    return html.escape("" if value is None else str(value), quote=False)


def page_error(e: Exception, what: str) -> None:
    """A clear message instead of a traceback (shown as text, not Markdown)."""
    st.error(md_escape(f"{what}: {e}"))
