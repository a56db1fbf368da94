"""Open data and rule sets the same way for the CLI and the app (sample by default)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from .db import Mapping, Store

REPO = Path(__file__).resolve().parent.parent
DEFAULT_RULES = REPO / "data" / "rules" / "default.toml"
DEFAULT_PLAYBOOKS = REPO / "data" / "playbooks.toml"
SAMPLE_ACCOUNTS = int(os.environ.get("RISKCORE_SAMPLE_ACCOUNTS", "3000"))


def open_store(data: str | os.PathLike | None = None, mapping: Mapping | None = None,
               db_path: str | None = None) -> Store:
    """A Store with `data` loaded (a file, a folder, a DuckDB file), or the cached sample."""
    from .loading import load_data
    from .sample import ensure_sample

    store = Store(db_path)
    path = Path(data) if data else ensure_sample(SAMPLE_ACCOUNTS)
    store.last_report = load_data(store, path, mapping=mapping)
    return store


def default_as_of(store: Store) -> date:
    """The latest activity date for activity tables; today for an account table."""
    if store.dataset is not None and store.dataset.kind == "activity":
        from .signals import active_dates
        return active_dates(store)[1]
    return date.today()


def data_from_env(argv: list[str] | None = None) -> str | None:
    """`streamlit run app.py -- --data PATH`, else $RISKCORE_DATA, else None (the sample)."""
    argv = list(argv or [])
    if "--data" in argv:
        i = argv.index("--data")
        if i + 1 < len(argv):
            return argv[i + 1]
    return os.environ.get("RISKCORE_DATA") or None
