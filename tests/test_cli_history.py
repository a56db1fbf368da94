"""`python -m riskcore snapshot | explain | alerts` end to end (subprocess): exit codes and §9 JSON shapes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
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


# ---- the snapshot store: busy (two writers at once), not DuckDB, truncated, empty -----------------------

from test_activity import ACTIVITY_CASES, ENGINE_WORDS, base_folder  # noqa: E402

HOLD = ("import duckdb, sys, time\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "con.execute('CREATE TABLE IF NOT EXISTS holder (x INTEGER)')\n"
        "print('locked', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n"
        "con.close()\n")


def _hold(path: Path, seconds: float) -> subprocess.Popen:
    """Another process holding the DuckDB store's lock for `seconds` (returns once it holds it)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def _store_dates(path: Path) -> list[str]:
    from riskcore.history import SnapshotStore
    return [str(d) for d in SnapshotStore(path).index()["snapshot_date"]]


def _damaged_store(name: str, path: Path, tmp: Path) -> None:
    if name == "store_not_duckdb":
        path.write_text("snapshot_date,account_id\n2025-06-28,A1\n")
    elif name == "store_empty":
        path.write_bytes(b"")
    else:  # store_truncated: a real store cut to half its size
        history_snapshots(tmp / "real.duckdb")
        data = (tmp / "real.duckdb").read_bytes()
        path.write_bytes(data[:len(data) // 2])


@pytest.mark.parametrize("name", ["store_not_duckdb", "store_truncated", "store_empty"])
def test_damaged_store_is_a_message_and_stays_untouched(name, tmp_path, capsys):
    from riskcore.cli import main
    exp = ACTIVITY_CASES[name]
    store = tmp_path / exp["file"]
    _damaged_store(name, store, tmp_path)
    before = store.read_bytes()
    data = base_folder(tmp_path / "data")
    rc = main(["snapshot", "--data", str(data), "--store", str(store)])
    err = capsys.readouterr().err
    assert rc == 1 and exp["outcome"] == "error"
    assert err.startswith(f"error: {store}: ") and exp["quote"] in err
    assert not any(w in err for w in ENGINE_WORDS)
    # reading it (explain, alerts) is the same clear message
    assert main(["alerts", "--store", str(store), "--since", "2025-06-01"]) == 1
    err = capsys.readouterr().err
    assert exp["quote"] in err and not any(w in err for w in ENGINE_WORDS)
    assert store.read_bytes() == before and not Path(f"{store}.wal").exists()


def test_two_snapshot_processes_at_once_both_kept(tmp_path):
    """A third process holds the store; two `snapshot` processes start together, both wait (and say so),
    then write in turn: both snapshots are in the store."""
    exp = ACTIVITY_CASES["store_busy"]
    data = base_folder(tmp_path / "data")
    store = tmp_path / exp["file"]
    holder = _hold(store, 8.0)  # longer than starting and loading takes, even on a busy machine
    procs = [subprocess.Popen([sys.executable, "-m", "riskcore", "snapshot", "--data", str(data), "--as-of", d,
                               "--store", str(store)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for d in ("2025-05-31", "2025-06-28")]
    results = [p.communicate(timeout=120) for p in procs]
    holder.communicate(timeout=30)
    waits = []
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0 and "Traceback" not in err, err
        found = re.search(re.escape(exp["quote"]) + r" (\d+\.\d) s", err)
        waits += [float(found.group(1))] if found else []
    assert waits and all(0 < w <= 30 for w in waits)
    assert _store_dates(store) == ["2025-05-31", "2025-06-28"]


def test_busy_store_gives_up_after_the_wait(tmp_path, capsys):
    from riskcore.cli import main
    exp = ACTIVITY_CASES["store_busy_timeout"]
    data = base_folder(tmp_path / "data")
    store = tmp_path / exp["file"]
    holder = _hold(store, 20.0)
    try:
        t0 = time.monotonic()
        rc = main(["snapshot", "--data", str(data), "--store", str(store), "--wait", "0.5"])
        elapsed = time.monotonic() - t0
    finally:
        holder.terminate()
        holder.communicate(timeout=30)
    err = capsys.readouterr().err
    assert rc == 1 and exp["quote"] in err and "--wait" in err
    assert elapsed < 15  # bounded: gave up, did not wait for the holder
    assert not any(w in err for w in ENGINE_WORDS)
