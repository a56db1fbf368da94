"""The Tuning page's fast path (the engine's pattern indexes, riskcore.tuning's live numbers and movers,
riskcore.accuracy's quick accuracy) and the app's bounded store (workspace.open_app_store), checked
against the per-account path."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from riskcore.accuracy import backtest_patterns, quick_accuracy
from riskcore.derived import Derived
from riskcore.engine import Engine
from riskcore.tuning import TuningNumbers, pattern_movers
from riskcore.rules import load_ruleset, with_points, with_thresholds
from riskcore.workspace import DEFAULT_RULES

TIERS = ["low", "medium", "high"]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The 400-account sample in a file-backed, memory-capped store (as the app opens it)."""
    from riskcore.sample import ensure_sample
    from riskcore.signals import active_dates, signals_table
    from riskcore.workspace import discard_store, open_store
    path = tmp_path_factory.mktemp("store") / "s.duckdb"
    store = open_store(ensure_sample(400), db_path=str(path), memory_limit="256MB")
    as_of = active_dates(store)[1]
    yield store, as_of, signals_table(store, as_of)
    discard_store(store)


@pytest.fixture(scope="module")
def rs():
    return load_ruleset(DEFAULT_RULES)


def scored(store, rs, sig, name):
    from riskcore.scoring import score_df
    return score_df(store, rs, sig, out_table=name)


def crosstab(a: pd.DataFrame, b: pd.DataFrame) -> list[list[int]]:
    j = a[["account_id", "tier"]].merge(b[["account_id", "tier"]], on="account_id", suffixes=("_a", "_b"))
    return pd.crosstab(j["tier_a"], j["tier_b"]).reindex(index=TIERS, columns=TIERS, fill_value=0).to_numpy().tolist()


def test_app_store_is_file_backed_with_a_memory_limit(loaded):
    store, _, _ = loaded
    assert store.path.endswith(".duckdb") and Path(store.path).exists()
    limit = store.one("SELECT current_setting('memory_limit')")
    assert limit.replace(" ", "").upper() in ("256.0MIB", "256MIB", "244.1MIB"), limit


def test_failed_load_removes_the_store_file(tmp_path):
    from riskcore.report import LoadError
    from riskcore.workspace import open_store
    bad = tmp_path / "data"
    bad.mkdir()
    (bad / "accounts.csv").write_text("account_id,arr,contract_start\nA,-5,2024-01-01\n")
    db = tmp_path / "x.duckdb"
    with pytest.raises(LoadError):
        open_store(bad, db_path=str(db), memory_limit="128MB")
    assert not db.exists()


def test_memory_limit_text_is_checked():
    from riskcore.workspace import _checked_size
    assert _checked_size(" 1GB ") == "1GB"
    with pytest.raises(ValueError, match="memory limit"):
        _checked_size("1GB'; DROP TABLE accounts; --")


def test_weight_change_numbers_equal_the_scored_tables(loaded, rs):
    store, as_of, sig = loaded
    draft = with_points(rs, {"usage_drop": 70, "inactive_7d": 50})
    num = Engine(store).tuning(rs, draft, as_of)
    assert isinstance(num, TuningNumbers)  # the pattern path
    a, b = scored(store, rs, sig, "t_pub"), scored(store, draft, sig, "t_draft")
    counts = b["tier"].value_counts()
    assert num.draft_tiers["accounts"].tolist() == [int(counts.get(t, 0)) for t in TIERS]
    arr = b.groupby("tier")["value"].sum()
    assert num.draft_tiers["value"].tolist() == pytest.approx([float(arr.get(t, 0.0)) for t in TIERS])
    q = b["quadrant"].value_counts()
    assert dict(zip(num.draft_quadrants["quadrant"], num.draft_quadrants["accounts"])) == \
        {k: int(q.get(k, 0)) for k in num.draft_quadrants["quadrant"]}
    assert num.movement["accounts"].to_numpy().reshape(3, 3).tolist() == crosstab(a, b)
    assert crosstab(a, b) != [[sum(r) if i == j else 0 for j in range(3)] for i, r in enumerate(crosstab(a, b))]
    bins = (b["risk_score"] // 5).clip(0, 19).astype(int).value_counts()  # 20 bins of 5 points, 100 in the last
    assert num.draft_hist["accounts"].tolist() == [int(bins.get(i, 0)) for i in range(20)]


def test_threshold_change_uses_the_narrow_regroup_and_matches(loaded, rs):
    store, as_of, sig = loaded
    engine = Engine(store)
    rule = next(r for r in rs.rules if r.id == "usage_drop")
    draft = with_thresholds(with_points(rs, {"usage_drop": 60}), {"usage_drop": rule.threshold * 0.5})
    engine.tuning(rs, rs, as_of)
    indexes = [k for k, _ in engine.cache.entries() if k[0] == "index"]
    num = engine.tuning(rs, draft, as_of)
    assert isinstance(num, TuningNumbers)
    assert [k for k, _ in engine.cache.entries() if k[0] == "index"] == indexes  # reused: patterns_for regroups
    a, b = scored(store, rs, sig, "t_pub"), scored(store, draft, sig, "t_draft")
    assert num.draft_tiers["accounts"].tolist() == [int((b["tier"] == t).sum()) for t in TIERS]
    assert num.movement["accounts"].to_numpy().reshape(3, 3).tolist() == crosstab(a, b)
    # the accounts of each cell, exactly as aggregates.movers lists them from the scored tables
    from riskcore import aggregates as agg
    from riskcore.scoring import score
    ta, tb = score(store, rs, sig, out_table="t_mov_a"), score(store, draft, sig, out_table="t_mov_b")
    for ft, tt in [(None, None), ("low", "medium"), ("low", "high"), ("medium", "high")]:
        mine = num.movers(ft, tt, limit=1000).reset_index(drop=True)
        theirs = agg.movers(store, ta, tb, ft, tt, limit=1000).reset_index(drop=True)
        assert mine["account_id"].tolist() == theirs["account_id"].tolist(), (ft, tt)
        assert mine["to_score"].tolist() == pytest.approx(theirs["to_score"].tolist())
    assert len(pattern_movers(store, num, limit=3)) == 3


def test_value_cutoff_change_builds_one_more_index_and_quadrants_match(loaded, rs):
    store, as_of, sig = loaded
    draft = replace(rs, quadrant=replace(rs.quadrant, value_cutoff=50_000.0))
    num = Engine(store).tuning(rs, draft, as_of)
    assert isinstance(num, TuningNumbers)
    b = scored(store, draft, sig, "t_vc")
    q = b["quadrant"].value_counts()
    assert num.draft_quadrants["accounts"].tolist() == [int(q.get(k, 0)) for k in num.draft_quadrants["quadrant"]]
    assert num.movement["accounts"].to_numpy().reshape(3, 3).tolist() == \
        crosstab(scored(store, rs, sig, "t_pub"), b)


def test_changed_rules_fall_back_to_none(loaded, rs):
    store, as_of, sig = loaded
    fewer = replace(rs, rules=tuple(r for r in rs.rules if r.id != "usage_drop"),
                    overrides=tuple(o for o in rs.overrides if o.rule != "usage_drop"))
    got = Engine(store).tuning(rs, fewer, as_of)  # the per-account scored tables instead
    assert not isinstance(got, TuningNumbers)
    expected = scored(store, fewer, sig, "t_fewer")["tier"].value_counts()
    assert got.draft_tiers["accounts"].tolist() == [int(expected.get(t, 0)) for t in TIERS]


def test_derived_cache_is_one_bounded_lru_and_drops_tables(loaded, rs):
    """Pattern indexes in a cache bounded to two tables: the least recently used is dropped with its
    table, a hit builds nothing, small values are bounded apart from tables, clear() drops the rest."""
    store, as_of, sig = loaded
    from riskcore.scoring import pattern_index
    cache = Derived(store, max_tables=2, max_values=3)
    tables = []
    for cut in (10_000.0, 20_000.0, 30_000.0):
        r = replace(rs, quadrant=replace(rs.quadrant, value_cutoff=cut))
        idx = cache.get(("index", cut), lambda r=r, cut=cut: pattern_index(store, r, sig, out_table=f"t_lru_{int(cut)}"),
                        tables=lambda i: (i.table,))
        tables.append(idx.table)
    assert len(cache.entries()) == 2 and cache.builds == 3
    assert not store.has_table(tables[0]) and store.has_table(tables[1]) and store.has_table(tables[2])
    again = cache.get(("index", 30_000.0), lambda: pytest.fail("a hit must not build"), tables=lambda i: (i.table,))
    assert again.table == tables[2] and cache.builds == 3
    for k in range(5):  # values do not push the tables out
        cache.get(("value", k), lambda k=k: k)
    assert [k for k, t in cache.entries() if t] == [("index", 20_000.0), ("index", 30_000.0)]
    assert [k for k, t in cache.entries() if not t] == [("value", 2), ("value", 3), ("value", 4)]
    store.execute(f"DROP TABLE {tables[2]}")  # dropped behind the cache's back: rebuilt, not returned dangling
    rebuilt = cache.get(("index", 30_000.0), lambda: pattern_index(store, rs, sig, out_table=tables[2]),
                        tables=lambda i: (i.table,))
    assert store.has_table(rebuilt.table) and cache.builds == 9
    cache.clear()
    assert not store.has_table(tables[1]) and not store.has_table(tables[2]) and cache.entries() == []


def test_a_reload_drops_every_derived_table(tmp_path):
    from riskcore.loading import load_data
    from riskcore.sample import ensure_sample
    from riskcore.workspace import discard_store, open_store
    store = open_store(ensure_sample(400))
    engine = Engine(store)
    as_of = engine.active_range()[1]
    rs0 = load_ruleset(DEFAULT_RULES)
    table, sig = engine.scored(rs0, as_of), engine.signals(as_of)
    assert store.has_table(table) and store.has_table(sig) and engine.cache.entries()
    load_data(store, ensure_sample(400))  # a new generation
    assert engine.signals(as_of) == sig and not store.has_table(table)  # only what was asked for again
    assert [k[0] for k, _ in engine.cache.entries()] == ["active_dates", "signals"]
    discard_store(store)


def test_quick_accuracy_equals_run_backtest(loaded, rs):
    from riskcore.backtest import run_backtest
    store, _, _ = loaded
    bp = backtest_patterns(store, rs)
    for r in (rs, with_points(rs, {"usage_drop": 70, "inactive_7d": 5})):
        quick, full = quick_accuracy(bp, r), run_backtest(store, r)
        assert quick["auc"] == pytest.approx(full["auc"], abs=1e-12)
        assert quick["brier"] == pytest.approx(full["brier"], abs=1e-12)
        assert quick["n"] == full["n"]
    with pytest.raises(ValueError, match="fires differently"):
        quick_accuracy(bp, with_thresholds(rs, {"usage_drop": 0.9}))


def test_slider_rerun_scores_no_account(monkeypatch, tmp_path):
    """A weight slider change on the Tuning page never builds a per-account scored table."""
    from streamlit.testing.v1 import AppTest
    from riskcore import scoring
    monkeypatch.setenv("RISKCORE_SAMPLE_ACCOUNTS", "400")
    monkeypatch.setenv("RISKCORE_HOME", str(tmp_path / "rules"))
    monkeypatch.delenv("RISKCORE_DATA", raising=False)
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("ui/tuning.py").run()
    calls = []
    real = scoring.score
    monkeypatch.setattr(scoring, "score", lambda *a, **k: calls.append(1) or real(*a, **k))
    at.slider(key="weight:usage_drop").set_value(61).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert calls == []
    assert at.session_state["draft"].rule("usage_drop").points == 61
    at.selectbox(key="ruleset_choice").set_value("draft").run()  # the probe sees the engine's scoring:
    at.switch_page("ui/overview.py").run()                       # the Overview scores the draft
    assert not at.exception and calls


def test_load_log_gets_one_line_per_load(tmp_path, monkeypatch):
    """RISKCORE_LOAD_LOG: every open_store appends `<pid> <path>` (the load test counts loads with it)."""
    from riskcore.sample import ensure_sample
    from riskcore.workspace import discard_store, open_store
    log = tmp_path / "loads.log"
    monkeypatch.delenv("RISKCORE_LOAD_LOG", raising=False)
    discard_store(open_store(ensure_sample(400)))
    assert not log.exists()
    monkeypatch.setenv("RISKCORE_LOAD_LOG", str(log))
    for _ in range(2):
        discard_store(open_store(ensure_sample(400)))
    assert log.read_text().splitlines() == [f"{os.getpid()} {ensure_sample(400)}"] * 2
