"""Tuning (RevOps): edit the session's draft rule set and see at once what it changes."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui.session import (QUADRANTS, TIER_COLORS, TIERS, ctx, draft, load_rules, money, quick_accuracy, set_draft,
                        widget_values)
from ui import applies
from ui import layout
from ui.access import require_page, restrict_filters, signed_in_user
from riskcore import aggregates as agg
from riskcore import display
from riskcore.edits import apply_widgets, parse_threshold
from riskcore.versions import content_diff
from riskcore.display import md_escape
from riskcore.report import user_message
from riskcore.rules import Percentile, rule_label
from riskcore.valueaxis import value_name_for

c = ctx()
access = require_page("tuning")
applies.rules_apply_banner(c)  # most rules cannot run on this data: say so, offer starter rules
BOOK = restrict_filters(agg.Filters(), access)  # a CSM: only their book in every count, chart and list
MAY_PUBLISH = access.can("publish")
MAY_SAVE = access.can("save_draft")
vs = c.versions


def _with_dimension(rs):
    from dataclasses import replace
    return rs if rs.primary_dimension == c.dimension else replace(rs, primary_dimension=c.dimension)


# ---- callbacks (run before the script, so they may reset widget state) ----------------------

def _reset() -> None:
    set_draft(load_rules(vs.text(vs.published())))
    st.session_state["tuning_msg"] = ("info", f"Draft reset to the published version v{vs.published()}.")


def _suggest() -> None:
    base = draft()
    try:
        fitted, info = c.engine.fit(base)
    except Exception as e:  # noqa: BLE001 - shown, not raised
        st.session_state["tuning_msg"] = ("error", f"Could not fit weights: {user_message(e)}")
        return
    set_draft(fitted)
    st.session_state["tuning_msg"] = ("success", "Suggested weights loaded into the draft. " + info["summary"])


def _save(publish: bool) -> None:
    from riskcore.rules import ruleset_to_toml
    if not MAY_SAVE or (publish and not MAY_PUBLISH):  # the buttons are disabled; never trust that alone
        st.session_state["tuning_msg"] = ("error", "Your role cannot save or publish rule sets.")
        return
    note = st.session_state.get("save_note", "").strip() or "saved from the Tuning page"
    if publish and applies.held_for_confirmation(c, draft(), ("save",)):  # rules that cannot run here: ask first
        return
    user = signed_in_user()
    before = [v.number for v in vs.versions()]
    number = vs.save(ruleset_to_toml(draft()), note=note, author=user.email or user.name or "app",
                     name=draft().name)
    if publish:
        vs.publish(number)
    st.session_state["save_note"] = ""  # the note belonged to that version
    st.session_state["diff_a"] = before[-1] if before else number  # the diff shows what the save changed
    st.session_state["diff_b"] = number
    st.session_state["tuning_msg"] = ("success", f"Saved as v{number}" + (" and published." if publish else "."))


def _publish(number: int | None = None) -> None:
    """Publish the version chosen in the Publish box (or `number`, when a held publish is confirmed)."""
    number = st.session_state.get("publish_pick") if number is None else number
    if not MAY_PUBLISH:
        st.session_state["tuning_msg"] = ("error", "Your role cannot publish rule sets.")
        return
    if number is None or number not in {v.number for v in vs.versions()}:
        st.session_state["tuning_msg"] = ("error", "Choose the version to publish first.")
        return
    if applies.held_for_confirmation(c, load_rules(vs.text(number)), ("publish", number)):
        return
    vs.publish(number)
    st.session_state["publish_pick"] = None  # the next publish is a new, deliberate choice
    st.session_state["tuning_msg"] = ("success", f"v{number} is now the published version.")


def _import() -> None:
    up = st.session_state.get("import_toml")
    if up is None:
        return
    try:
        rs = load_rules(up.getvalue().decode("utf-8-sig"))
    except Exception as e:  # noqa: BLE001 - RuleSetError / decode error: a message, not a traceback
        st.session_state["tuning_msg"] = ("error", f"{up.name}: {user_message(e)}")
        return
    set_draft(rs)
    st.session_state["tuning_msg"] = ("success", f"Draft loaded from {up.name}.")


# ---- the controls and the live results: one fragment, so a slider reruns only this part ---------

st.title("Tuning")
msg = st.session_state.pop("tuning_msg", None)
if msg:  # file names, exception and rule text: shown as text, never as Markdown
    getattr(st, msg[0])(md_escape(msg[1]))
if BOOK is None:
    st.info("There are no accounts for you to see here.")
    st.stop()

BIG = 200_000  # accounts: above, the draft's accuracy is opt-in (its first build rescans two backtest windows)
_box: dict = st.session_state.setdefault("_tuning_box", {})  # the live draft, for the deferred export


def VN() -> str:  # noqa: N802 - the value's short name: "ARR" only for the mapped annual ARR
    return value_name_for(c.store, draft()).short


def _cut_note(rs) -> str:
    """What the tier cut-offs and the quadrant's risk line are (and how a starter set chose them)."""
    q = rs.quadrant
    line = ("the quadrant's risk line is the high tier (Save + Triage = high tier)" if q.tied_to_tier else
            f"the quadrant's risk line is its own cut-off {float(q.risk_cutoff):g}, not the high tier")
    chosen = ""
    if rs.description and "Tier cut-offs from the data:" in rs.description:
        chosen = " · starter chose the cut-offs " + rs.description.split("Tier cut-offs ", 1)[1].rstrip(".")
    return line + chosen


def _typed_label(r) -> str:
    """The rule's label filled with the threshold in its box (this run's value, not the last run's draft)."""
    typed = st.session_state.get(f"threshold:{r.id}")
    if typed is not None and not isinstance(r.threshold, Percentile):
        try:
            return rule_label(r, parse_threshold(typed, r.op))
        except (ValueError, TypeError, IndexError):
            pass
    return rule_label(r)


def draw_controls(base):
    """The rule sliders, threshold boxes, tier cut-offs, fusion and value cut-off: the draft."""
    d_rules = [r for r in base.rules]
    start = widget_values(base)  # each control's value for the draft (set_draft writes the same)
    mode0 = base.tiers.cuts(c.dimension)[2]
    top = st.columns([3, 2])
    cuts = top[0].slider(f"{c.dimension} tier cut-offs (medium, high)", 0, 100, start[f"tier_cut:{c.dimension}"],
                         key=f"tier_cut:{c.dimension}", help=f"score ≥ medium → medium tier, ≥ high → high ({mode0})")
    fusion = top[1].toggle("Fusion", value=start["fusion:enabled"], key="fusion:enabled",
                           help=f"high tier only when the fired rules span at least {base.fusion.min_groups} "
                                "evidence groups")
    st.caption(md_escape(_cut_note(base)))
    vc_text = st.text_input(f"Value cut-off of the quadrant ({value_name_for(c.store, base).short}, or median)",
                            value=start["value_cut:text"], key="value_cut:text")
    points: dict[str, float] = {}
    thresholds: dict = {}
    problems: list[str] = []
    dims = list(base.dimensions)
    order = [c.dimension] + [d for d in dims if d != c.dimension]
    with st.container(height=540, key="rule_controls"):
        for tab, dim in zip(st.tabs(order), order):
            with tab:
                for r in [r for r in d_rules if r.dimension == dim]:
                    a, b = st.columns([4, 1.4], vertical_alignment="bottom")
                    points[r.id] = a.slider(
                        md_escape(_typed_label(r)), 0, 100, start[f"weight:{r.id}"], key=f"weight:{r.id}",
                        disabled=not r.enabled,
                        help=md_escape(f"{r.id}: {r.signal} {r.op} (group {r.group}); the points it adds when it "
                                       "fires"))
                    if r.op in ("is_true", "is_null"):
                        b.caption(r.op.replace("_", " "))
                        continue
                    if isinstance(r.threshold, Percentile):
                        b.caption(f"percentile {r.threshold.percentile:g}")
                        continue
                    text = b.text_input(f"{r.op} threshold", start[f"threshold:{r.id}"],
                                        key=f"threshold:{r.id}",
                                        help=md_escape(f"fires when {r.signal} {r.op} this value"))
                    try:
                        thresholds[r.id] = parse_threshold(text, r.op)
                    except ValueError as e:
                        problems.append(f"{r.id}: {e}")

    value_cut: float | str | None = None
    if vc_text.strip().lower() == "median":
        value_cut = "median"
    else:
        try:
            value_cut = float(vc_text.replace(",", "").replace("$", ""))
        except ValueError:
            problems.append(f"value cut-off: expected a number or 'median', found {vc_text!r}")
    if cuts[0] > cuts[1]:
        problems.append("tier cut-offs: medium must not be above high")
    try:
        new = apply_widgets(base, points=points, thresholds=thresholds,
                            tiers=None if cuts[0] > cuts[1] else (cuts[0], cuts[1]), fusion=fusion,
                            value_cutoff=value_cut, dimension=c.dimension)
    except Exception as e:  # noqa: BLE001 - RuleSetError from a bad threshold
        problems.append(str(e))
        new = base
    for p in problems:
        st.error(md_escape(p))
    return new


def live_numbers(draft_rs, pub_rs):
    """Draft vs published (riskcore.tuning via the engine): firing patterns, or the scored tables for a book."""
    return c.engine.tuning(pub_rs, draft_rs, c.as_of, book=BOOK)


def movement_panel(nums) -> None:
    """The tier movement matrix and the accounts of a chosen cell (top 200, read on demand)."""
    matrix = agg.movement_matrix(nums.movement)
    mcol, lcol = layout.panes("tuning_movement", [2, 3], small=True)
    with mcol:
        st.caption("Tier movement: published (rows) → draft (columns)")
        shown = matrix.copy()
        shown.index.name = "published"
        st.dataframe(shown, key="movement_matrix",
                     column_config={t: st.column_config.NumberColumn(format="localized") for t in TIERS})
        moved = [(a, b) for a in TIERS for b in TIERS if a != b and int(matrix.loc[a, b]) > 0]
        total = sum(int(matrix.loc[a, b]) for a, b in moved)
        cell = st.selectbox(f"Accounts that moved: {total:,}", [None] + moved, key="movement_cell",
                            format_func=lambda x: "all of them" if x is None else f"{x[0]} → {x[1]}")
    with lcol:
        mov = nums.movers(cell[0] if cell else None, cell[1] if cell else None, 200) if total else None
        if mov is None or len(mov) == 0:
            mov = pd.DataFrame({k: pd.Series(dtype=t) for k, t in (
                ("account_id", object), ("account_name", object), ("from_tier", object), ("to_tier", object),
                ("from_score", float), ("to_score", float), ("value", float), ("csm_owner", object))})
        view = pd.DataFrame({"account": display.names(mov["account_name"], mov["account_id"]),  # the id if no name
                             "move": mov["from_tier"] + " → " + mov["to_tier"],
                             "was": mov["from_score"], "now": mov["to_score"], VN(): mov["value"],
                             "owner": mov["csm_owner"]})
        st.dataframe(view, hide_index=True, key="movers", height=250, placeholder=display.DASH,
                     column_config={"was": st.column_config.NumberColumn(format="%.0f"),
                                    "now": st.column_config.NumberColumn(format="%.0f"),
                                    VN(): st.column_config.NumberColumn(format="compact")})


def draw_results(nums, draft_rs, pub_rs) -> None:
    if BOOK.owner:
        st.caption(md_escape(f"Your book only ({agg.describe(BOOK)}): counts, charts and movers; AUC and Brier are "
                             "measured on every account with an outcome and list none."))
    d_tiers = nums.draft_tiers.set_index("tier")
    p_tiers = nums.pub_tiers.set_index("tier")
    cols = layout.tiles("tuning_tiers", 5, small=True)
    for col, tier in zip(cols, reversed(TIERS)):
        n, pn = int(d_tiers.loc[tier, "accounts"]), int(p_tiers.loc[tier, "accounts"])
        v, pv = float(d_tiers.loc[tier, "value"]), float(p_tiers.loc[tier, "value"])
        col.metric(f"{tier.capitalize()} tier", f"{n:,}", f"{n - pn:+,}",
                   delta_color="off" if n == pn else ("inverse" if tier != "low" else "normal"),
                   delta_arrow="off" if n == pn else "auto",
                   help="accounts in the tier with the draft; the change against the published rule set")
        col.caption(md_escape(f"{VN()} {money(v)} ({'+' if v >= pv else '-'}{money(abs(v - pv))})"))
    accuracy(cols[3:], int(d_tiers["accounts"].sum()), draft_rs, pub_rs)

    hist_col, quad_col = layout.panes("tuning_results", [3, 2], small=True)
    with hist_col:
        h, ph = nums.draft_hist, nums.pub_hist
        m_cut, h_cut, mode = draft_rs.tiers.cuts(c.dimension)
        cuts = [] if mode == "percentile" else [(m_cut, "medium"), (h_cut, "high")]
        # the cut-off lines as layout shapes + annotations (what add_vline makes, without its cost)
        shapes = [dict(type="line", x0=x, x1=x, xref="x", y0=0, y1=1, yref="y domain",
                       line=dict(color=TIER_COLORS[t], width=2)) for x, t in cuts]
        notes = [dict(x=x, xref="x", y=1, yref="y domain", text=t, showarrow=False, xanchor="left",
                      yanchor="top") for x, t in cuts]
        fig = go.Figure(data=[
            go.Bar(x=(h["bin_start"] + h["bin_end"]) / 2, y=h["accounts"], width=4.6, name="draft",
                   marker_color="#2b6cb0"),
            go.Scatter(x=(ph["bin_start"] + ph["bin_end"]) / 2, y=ph["accounts"], mode="lines", name="published",
                       line=dict(color="#555", dash="dot", shape="hvh"))],
            layout=dict(title=dict(text=f"{c.dimension} score distribution", x=0, font=dict(size=15)),
                        xaxis=dict(title="score (0-100)", range=[0, 100]),
                        yaxis=dict(title="accounts", separatethousands=True), height=250,
                        margin=dict(l=10, r=10, t=40, b=10), bargap=0.05, shapes=shapes, annotations=notes,
                        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1)))
        st.plotly_chart(fig, key="score_histogram")
    with quad_col:
        dq = nums.draft_quadrants.set_index("quadrant")
        pq = nums.pub_quadrants.set_index("quadrant")
        quad = pd.DataFrame({"quadrant": list(QUADRANTS),
                             "accounts": [int(dq.loc[q, "accounts"]) for q in QUADRANTS],
                             "change": [int(dq.loc[q, "accounts"] - pq.loc[q, "accounts"]) for q in QUADRANTS],
                             VN(): [money(dq.loc[q, "value"]) for q in QUADRANTS]})
        st.caption("Quadrants with the draft (change vs published)")
        st.dataframe(quad, hide_index=True, key="quadrant_counts",
                     column_config={"accounts": st.column_config.NumberColumn(format="localized"),
                                    "change": st.column_config.NumberColumn(format="%+d")})

    movement_panel(nums)


def accuracy(slots, n: int, draft_rs, pub_rs) -> None:
    """Draft vs published AUC and Brier on the backtest (as the Calibration page), from cached backtest patterns
    (a weight change re-weights them; a threshold change builds them once for the new firings)."""
    if n > BIG and not slots[0].toggle("Backtest drafts", value=False, key="backtest_on",
                                       help=f"{n:,} accounts: the first backtest of a threshold set takes a while"):
        return
    try:
        d, p = quick_accuracy(c, draft_rs), quick_accuracy(c, pub_rs)
    except Exception as e:  # noqa: BLE001 - e.g. no outcomes in this data
        slots[0].caption(md_escape(f"No backtest: {e}"))
        return
    for slot, key, label, better in ((slots[0], "auc", "AUC", "normal"), (slots[1], "brier", "Brier", "inverse")):
        dv, pv = d.get(key), p.get(key)
        same = dv is None or pv is None or round(dv - pv, 3) == 0  # grey, no arrow: nothing to read into
        slot.metric(f"{label} (draft)", "n/a" if dv is None else f"{dv:.3f}",
                    None if dv is None or pv is None else f"{dv - pv:+.3f}", delta_color="off" if same else better,
                    delta_arrow="off" if same else "auto",
                    help=f"{d.get('method')}; change vs published")
        slot.caption(f"published {'n/a' if pv is None else f'{pv:.3f}'}")


@st.fragment
def live() -> None:
    """Controls and live results: a slider or threshold change reruns only this fragment."""
    controls, results = layout.panes("tuning", [2, 3])
    with controls:
        new = draw_controls(draft())
    set_draft(new, clear_widgets=False)  # kept on the server too: a reload finds it (ui.state)
    _box["rs"] = new
    draft_rs = _with_dimension(new)
    missing = c.engine.unavailable(new, c.as_of)
    if missing:
        with controls:
            st.caption(md_escape(f"{len(missing):,} rules are unavailable for this data (their signals are missing, "
                                 f"empty or of another type) and never fire: {', '.join(missing)}"))
    for p in c.engine.data_problems(new, c.as_of):
        with controls:
            st.caption(md_escape(p.message))
    pub_rs = c.published
    with results:
        draw_results(live_numbers(draft_rs, pub_rs), draft_rs, pub_rs)


live()

# ---- versions ---------------------------------------------------------------------------------


def versions_panel() -> None:
    from riskcore.rules import ruleset_to_toml
    published = vs.published()
    st.subheader("Versions", anchor=False)
    applies.publish_confirmation(c, lambda a: _save(True) if a[0] == "save" else _publish(a[1]))
    a, b, cc = layout.panes("versions", [3, 2, 3])
    with a:
        st.text_input("Note for the new version", key="save_note", placeholder="what changed and why")
        s1, s2 = st.columns(2)
        s1.button("Save as new version", key="save_version", on_click=_save, args=(False,), width="stretch",
                   disabled=not MAY_SAVE)
        s2.button("Save and publish", key="save_publish", on_click=_save, args=(True,), type="primary", width="stretch",
                   disabled=not MAY_PUBLISH, help=None if MAY_PUBLISH else "your role cannot publish")
        r1, r2 = st.columns(2)
        r1.button("Reset to published", key="reset_draft", on_click=_reset, width="stretch")
        r2.button("Load suggested weights", key="suggest_weights", on_click=_suggest, width="stretch",
                  help="Points fitted from history by the calibration engine, as a starting point")
        box = _box  # read when clicked: the live fragment may have changed the draft since this run
        st.download_button("Export draft (TOML)", lambda: ruleset_to_toml(box.get("rs") or draft()),
                           file_name="draft.toml",
                           mime="application/toml", key="export_toml", on_click="ignore")
        st.file_uploader("Import a rule set as the draft (TOML)", type=["toml"], key="import_toml",
                         on_change=_import)
    with b:
        rows = [{"version": f"v{v.number}", "published": v.number == published, "note": v.note,
                 "created": v.created} for v in reversed(vs.versions())]
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="versions_table", height=240)
        numbers = [v.number for v in reversed(vs.versions()) if v.number != published]
        if st.session_state.get("publish_pick") not in [None, *numbers]:  # published meanwhile
            st.session_state["publish_pick"] = None
        pick = st.selectbox("Publish version", numbers, index=None, placeholder="choose",
                            format_func=lambda n: f"v{n}", key="publish_pick",
                            help=f"v{published} is published now; the pages show the published version to "
                                 "everyone who has not chosen another")
        st.button("Publish", key="publish_version", on_click=_publish, disabled=pick is None or not MAY_PUBLISH)
    with cc:
        diff_viewer()


@st.fragment
def diff_viewer() -> None:
    """Two versions and their diff; choosing them reruns only this fragment."""
    numbers = [v.number for v in vs.versions()]
    # the newest two by default; a save moves them to (previous newest, saved) in _save
    if st.session_state.get("diff_a") not in numbers:
        st.session_state["diff_a"] = numbers[max(len(numbers) - 2, 0)]
    if st.session_state.get("diff_b") not in numbers:
        st.session_state["diff_b"] = numbers[-1]
    x, y = st.columns(2)
    va = x.selectbox("Diff from", numbers, format_func=lambda n: f"v{n}", key="diff_a")
    vb = y.selectbox("to", numbers, format_func=lambda n: f"v{n}", key="diff_b")
    raw = st.toggle("Include comments and formatting", value=False, key="diff_raw")
    text = vs.diff(va, vb) if raw else content_diff(vs, va, vb)
    st.code(text or "(no difference)", language="diff", height=230)


versions_panel()
