"""riskcore.workspace: the app's stores (one DuckDB file per open) and dataset ids (doctests)."""

from __future__ import annotations

import doctest
import gc
from pathlib import Path

from riskcore import workspace
from riskcore.security import lock_down
from riskcore.workspace import open_app_store

ACCOUNTS = Path(__file__).resolve().parent / "data" / "good" / "accounts.csv"


def test_doctests():
    assert doctest.testmod(workspace).failed == 0


def test_a_source_opens_again_while_its_locked_store_lives(tmp_path, monkeypatch):
    """The app's cache drops a store a session still uses; opening that source again (a user switching
    back) gets a store of its own, not the locked-down one (DuckDB shares a database per file)."""
    monkeypatch.setattr(workspace, "STORES", tmp_path)
    first = lock_down(open_app_store(ACCOUNTS))
    second = open_app_store(ACCOUNTS)  # used to fail: "the configuration has been locked"
    assert second.path != first.path
    assert second.one("SELECT count(*) FROM account_table") == first.one("SELECT count(*) FROM account_table") == 3
    second.execute("SET memory_limit = '512MB'")  # its own, unlocked configuration
    path = Path(first.path)
    assert path.exists()
    del first
    gc.collect()
    assert not path.exists() and Path(second.path).exists()  # files go with the last user of the store
