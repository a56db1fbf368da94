"""`python -m riskcore snapshot | explain | alerts` end to end (subprocess): exit codes and §9 JSON shapes."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from riskcore.fixtures import HISTORY_DATES, HISTORY_RULES_V2, history_snapshots

D1, D2, D3 = HISTORY_DATES
REPO = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "riskcore", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def fixture_store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    rules = tmp / "v2.toml"
    rules.write_text(HISTORY_RULES_V2)
    return history_snapshots(tmp / "snaps.duckdb"), str(rules)


def test_explain_json_contract(fixture_store):
    snaps, rules = fixture_store
    r = _run("explain", "--store", snaps, "--rules", rules, "--account", "R", "--from", str(D1), "--to", str(D3),
             "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    churn = out["dimensions"]["churn"]
    assert (churn["from"], churn["to"]) == (43, 100)
    assert [(c["rule"], c["reason"], c["points"]) for c in churn["changes"]] == [
        ("neg_tickets", "started", 20), ("shortfall", "changed", 32), ("champion_left", "rule_set", 20),
        ("neg_tickets", "rule_set", -10), (None, "cap", -5)]
    for dim in out["dimensions"].values():
        assert {"from", "to", "changes"} <= set(dim)
        assert sum(Decimal(str(c["points"])) for c in dim["changes"]) == Decimal(str(dim["to"])) - Decimal(str(dim["from"]))



def test_explain_text_in_process(fixture_store, capsys):
    from riskcore.cli import main
    snaps, rules = fixture_store
    assert main(["explain", "--store", snaps, "--rules", rules, "--account", "R", "--from", str(D1),
                 "--to", str(D3)]) == 0
    out = capsys.readouterr().out
    assert "churn: 43 -> 100 (+57)" in out and "-5 capped at 100" in out


def test_alerts_json_contract(fixture_store):
    snaps, rules = fixture_store
    r = _run("alerts", "--store", snaps, "--rules", rules, "--since", str(D3), "--json")
    assert r.returncode == 0, r.stderr
    found = json.loads(r.stdout)
    assert [(a["account_id"], a["alert"], a["date"], a["from"], a["to"], a["cause"]) for a in found] == [
        ("R", "score_jump", "2025-01-20", 43, 100, "customer"),
        ("S", "score_jump", "2025-01-20", 0, 45, "customer"),
        ("S", "tier_worse", "2025-01-20", "low", "medium", "rule_set"),
        ("T", "new_save", "2025-01-20", "Expand", "Save", "rule_set"),
        ("T", "score_jump", "2025-01-20", 55, 75, "rule_set"),
        ("T", "tier_worse", "2025-01-20", "medium", "high", "rule_set")]


def test_bad_input_is_a_message_not_a_traceback(fixture_store):
    snaps, rules = fixture_store
    r = _run("explain", "--store", snaps, "--rules", rules, "--account", "NOPE", "--from", str(D1), "--to", str(D3))
    assert r.returncode == 1
    assert "account 'NOPE' not found" in r.stderr and "Traceback" not in r.stderr


def test_more_bad_input_in_process(fixture_store, tmp_path, capsys):
    from riskcore.cli import main
    snaps, rules = fixture_store
    assert main(["alerts", "--store", str(tmp_path / "missing.duckdb"), "--rules", rules, "--since", str(D1)]) == 1
    assert "snapshot store not found" in capsys.readouterr().err
    assert main(["explain", "--store", snaps, "--rules", rules, "--account", "R", "--from", "2024-01-01",
                 "--to", str(D3)]) == 1
    assert "no snapshot on or before 2024-01-01" in capsys.readouterr().err
    assert main(["explain", "--store", snaps, "--rules", rules, "--account", "R", "--from", str(D3),
                 "--to", str(D1)]) == 1
    assert "is after" in capsys.readouterr().err


def test_snapshot_on_the_sample_then_explain_and_alerts(tmp_path):
    """Two weekly snapshots of a small sample with the default rule set, then explain and alerts."""
    pytest.importorskip("riskcore.loading", reason="the CLI's data loader (riskcore/loading.py) is not there yet")
    from riskcore.sample import ensure_sample

    data = str(ensure_sample(400))
    store = str(tmp_path / "hist")
    for d in ("2025-01-05", "2025-01-12"):
        r = _run("snapshot", "--data", data, "--as-of", d, "--store", store)
        assert r.returncode == 0, r.stderr
    from riskcore.history import SnapshotStore
    ix = SnapshotStore(store).index()
    assert len(ix) == 2 and ix["accounts"].iloc[0] > 0
    account = SnapshotStore(store).rows([(ix["snapshot_date"].iloc[1], ix["ruleset_hash"].iloc[1])])["account_id"].iloc[0]
    r = _run("explain", "--store", store, "--account", account, "--from", "2025-01-05", "--to", "2025-01-12", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out["dimensions"]) == {"churn", "payment", "fraud", "reputation", "expansion"}
    r = _run("alerts", "--store", store, "--since", "2025-01-12", "--json")
    assert r.returncode == 0, r.stderr
    assert all(a["cause"] == "customer" and a["date"] == "2025-01-12" for a in json.loads(r.stdout))
