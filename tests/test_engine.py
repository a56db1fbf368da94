"""riskcore.engine: every derived table and result of a store in one bounded LRU (riskcore.derived),
nothing stored on the Store from outside it, and pages that ask the engine instead of running SQL."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from pathlib import Path

import pytest

from riskcore.backtest import run_backtest
from riskcore.db import Store
from riskcore.engine import Engine
from riskcore.rules import load_ruleset, with_points, with_thresholds
from riskcore.scoring import score_df
from riskcore.workspace import DEFAULT_RULES

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def loaded():
    from riskcore.sample import ensure_sample
    from riskcore.workspace import discard_store, open_store
    store = open_store(ensure_sample(400))
    engine = Engine(store)
    yield engine, engine.active_range()[1], load_ruleset(DEFAULT_RULES)
    discard_store(store)


def test_scored_tables_are_built_once_and_share_their_firings(loaded):
    engine, as_of, rs = loaded
    heavier = with_points(rs, {"usage_drop": 70})
    a, b = engine.scored(rs, as_of), engine.scored(heavier, as_of)
    assert a != b and engine.scored(rs, as_of) == a
    firings = [k for k, _ in engine.cache.entries() if k[0] == "firings"]
    assert len(firings) == 1  # a points change reuses stage 1
    expected = score_df(engine.store, heavier, engine.signals(as_of), out_table="t_expected")
    got = engine.store.df(f"SELECT account_id, risk_score, tier FROM {b} ORDER BY account_id")
    assert got["risk_score"].tolist() == pytest.approx(expected["risk_score"].tolist())
    assert got["tier"].tolist() == expected["tier"].tolist()
    engine.scored(with_thresholds(rs, {"usage_drop": -0.9}), as_of)
    assert len([k for k, _ in engine.cache.entries() if k[0] == "firings"]) == 2  # a threshold change does not


def test_backtest_and_accuracy_are_remembered(loaded):
    engine, _, rs = loaded
    first = engine.backtest(rs)
    assert engine.backtest(rs) is first  # not run again
    assert first["auc"] == pytest.approx(run_backtest(engine.store, rs)["auc"])
    acc = engine.accuracy(rs)
    assert engine.accuracy(rs) is acc and acc["auc"] == pytest.approx(first["auc"], abs=1e-12)
    built = engine.cache.builds
    engine.accuracy(with_points(rs, {"usage_drop": 10}))  # re-weights the same backtest patterns
    assert engine.cache.builds == built + 1


def test_two_engines_of_one_store_share_one_cache(loaded):
    engine, as_of, rs = loaded
    assert Engine(engine.store).cache is engine.cache
    assert Engine(engine.store).scored(rs, as_of) == engine.scored(rs, as_of)


def test_the_engine_stores_nothing_on_the_store(loaded):
    engine, as_of, rs = loaded
    engine.tuning(rs, with_points(rs, {"usage_drop": 5}), as_of)
    engine.listed(rs, as_of, ("steady",))
    engine.description(), engine.coverage(rs, as_of), engine.unavailable(rs, as_of)
    assert set(vars(engine.store)) == set(vars(Store()))


# ---- boundaries, checked on the source --------------------------------------------------------

def _sources(*globs: str) -> list[Path]:
    return sorted(p for g in globs for p in REPO.glob(g))


def _store_writes(path: Path) -> list[str]:
    """Places in a module that touch a store's __dict__ or set an attribute on a store."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []

    def storeish(node: ast.AST) -> bool:
        name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
        return "store" in name.lower()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "__dict__" and storeish(node.value):
            found.append(f"{path.name}:{node.lineno} __dict__")
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        for t in targets:
            if isinstance(t, ast.Attribute) and storeish(t.value):
                found.append(f"{path.name}:{node.lineno} sets {ast.unparse(t)}")
        if isinstance(node, ast.Call) and ast.unparse(node.func) in ("setattr", "object.__setattr__") \
                and node.args and storeish(node.args[0]):
            found.append(f"{path.name}:{node.lineno} {ast.unparse(node.func)}")
    return found


def test_nothing_is_stored_on_a_store_from_outside_db_py():
    files = [p for p in _sources("riskcore/**/*.py", "ui/*.py", "app.py", "benchmarks/*.py")
             if p != REPO / "riskcore" / "db.py"]
    assert len(files) > 50
    assert [w for p in files for w in _store_writes(p)] == []


def test_the_check_finds_a_store_attribute(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(store, c):\n    store._cache = {}\n    c.store.x += 1\n    setattr(store, 'y', 1)\n"
                   "    c.store.__dict__.setdefault('z', 1)\n    rule.__dict__.get('a')\n")
    assert len(_store_writes(bad)) == 4


UI_FORBIDDEN = re.compile(r"duckdb|SELECT |\.execute\(|store\.(df|rows|one|arrow|lock|columns|__dict__)\b")


def test_no_sql_or_lock_in_the_ui():
    """Pages and their helpers ask the engine: no DuckDB, SQL text, store queries or the store's lock."""
    files = _sources("ui/*.py") + [REPO / "app.py"]
    assert len(files) > 8
    hits = [f"{p.name}:{n}: {line.strip()}" for p in files
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if UI_FORBIDDEN.search(line)]
    assert hits == []


def test_the_ui_check_finds_sql():
    assert UI_FORBIDDEN.search('n = c.store.one("SELECT count(*) FROM t")')
    assert UI_FORBIDDEN.search("with c.store.lock:") and UI_FORBIDDEN.search("import duckdb")
    assert not UI_FORBIDDEN.search("table = c.engine.scored(c.rs, c.as_of)")


def test_a_failed_build_leaves_nothing_behind(loaded):
    engine, as_of, rs = loaded
    before = engine.cache.entries()

    def boom():
        raise ValueError("no outcomes")
    with pytest.raises(ValueError):
        engine.cache.get(("never",), boom)
    assert engine.cache.entries() == before and not engine.cache.has(("never",))
    q = replace(rs, quadrant=replace(rs.quadrant, value_cutoff=1.0))
    assert engine.index(q, as_of) is engine.index(q, as_of)
