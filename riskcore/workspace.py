"""Open data and rule sets the same way for the CLI and the app (sample by default)."""

from __future__ import annotations

import itertools
import os
import re
from datetime import date
from pathlib import Path

from . import settings
from .db import Mapping, Store

REPO = Path(__file__).resolve().parent.parent
DEFAULT_RULES = REPO / "data" / "rules" / "default.toml"
DEFAULT_PLAYBOOKS = REPO / "data" / "playbooks.toml"


def sample_accounts() -> int:
    """How many accounts the generated sample has: $RISKCORE_SAMPLE_ACCOUNTS, else 3000 (riskcore.settings)."""
    return settings.get("RISKCORE_SAMPLE_ACCOUNTS")


def open_store(data: str | os.PathLike | None = None, mapping: Mapping | None = None,
               db_path: str | None = None, memory_limit: str | None = None) -> Store:
    """A Store with `data` loaded (a file, a folder, a DuckDB file), or the cached sample.

    With `memory_limit` (e.g. "1GB") DuckDB keeps its buffers under it and spills to a temp folder
    next to `db_path`; with a file `db_path` the tables live on disk, so the process stays bounded
    at any data size. A failed load closes the store and removes the file (LoadError is raised).
    """
    from .loading import load_data
    from .sample import ensure_sample

    store = Store(db_path)
    try:
        if memory_limit:
            store.execute(f"SET memory_limit = '{_checked_size(memory_limit)}'")
            if db_path and db_path != ":memory:":
                store.execute("SET temp_directory = ?", [str(Path(db_path).with_suffix(".tmp"))])
        path = Path(data) if data else ensure_sample(sample_accounts())
        log_load(path)
        store.keep_report(load_data(store, path, mapping=mapping))
    except BaseException:
        discard_store(store)
        raise
    return store


def log_load(path: str | os.PathLike) -> None:
    """Append `<pid> <path>` to the file named by $RISKCORE_LOAD_LOG (if set): one line per data load,
    so a test can count how often a server process loaded its data. Does nothing when unset."""
    log = settings.get("RISKCORE_LOAD_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {path}\n")


def _checked_size(text: str) -> str:
    """A DuckDB size such as '1GB' or '512MB' (checked: it is spliced into a SET statement)."""
    if not settings.SIZE.fullmatch(text.strip()):
        raise ValueError(f"memory limit: expected a size like '1GB' or '512MB', found {text!r}")
    return text.strip()


STORES = REPO / ".cache" / "stores"


_OPENED = itertools.count(1)


def store_path(source: str, mapping: Mapping | None = None, folder: Path | None = None) -> Path:
    """A new DuckDB file for one data source in this process (`.cache/stores/<hash>-<pid>-<n>.duckdb`):
    the app's store lives on disk, so memory stays bounded by the store's memory_limit at 1e6 accounts.
    Each open gets its own file: DuckDB shares one database per file within a process, so reopening a
    source whose earlier store is still alive (dropped from the app's cache, locked down) would get that
    locked database back. A leftover file of the same name (an earlier process's) is removed."""
    import hashlib
    folder = Path(folder or STORES)
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(repr((str(source), mapping)).encode("utf-8")).hexdigest()[:12]
    path = folder / f"{digest}-{os.getpid()}-{next(_OPENED)}.duckdb"
    _remove_files(path)
    return path


def _remove_files(path: Path) -> None:
    import shutil
    for p in (path, Path(str(path) + ".wal")):
        p.unlink(missing_ok=True)
    shutil.rmtree(path.with_suffix(".tmp"), ignore_errors=True)


def discard_store(store: Store) -> None:
    """Close a store and delete its database file (if it has one)."""
    try:
        store.close()
    except Exception:  # noqa: BLE001 - already closed
        pass
    if store.path and store.path != ":memory:":
        _remove_files(Path(store.path))


def open_app_store(data: str | os.PathLike | None = None, mapping: Mapping | None = None,
                   memory_limit: str | None = None) -> Store:
    """The app's store: file-backed under .cache/stores (one file per open), DuckDB memory capped (default
    $RISKCORE_MEMORY_LIMIT or 1GB), its files deleted once nothing uses it or when the process exits."""
    import weakref
    path = store_path(str(data or f"sample-{sample_accounts()}"), mapping)
    memory_limit = memory_limit or settings.get("RISKCORE_MEMORY_LIMIT")
    store = open_store(data, mapping=mapping, db_path=str(path), memory_limit=memory_limit)
    weakref.finalize(store, _remove_files, path)  # when no session uses it any more, or at exit
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
    return settings.get("RISKCORE_DATA")


# ---- which dataset: a stable id behind the name the user sees ---------------------------------

UPLOADS = REPO / ".cache" / "uploads"
_UPLOAD_DIGEST = re.compile(r"-[0-9a-f]{16}(?=\.[A-Za-z0-9]+$)")


def dataset_id(data_key: str | os.PathLike | None) -> str:
    """The id rule-set versions are kept under for a data source: 'sample' for the generated sample,
    else '<file name>-<hash of its absolute path>'. An upload's path holds a hash of its content, so
    two different files called `telco.csv` get two ids; the same file uploaded again gets the same one.

    >>> dataset_id(""), dataset_id("/data/Telco export.csv")
    ('sample', 'telco_export_csv-67c9518af87a')
    """
    import hashlib
    if not data_key:
        return "sample"
    path = os.path.abspath(os.fspath(data_key))
    slug = re.sub(r"[^a-z0-9]+", "_", Path(_UPLOAD_DIGEST.sub("", path)).name.lower()).strip("_")[:40] or "data"
    return f"{slug}-{hashlib.sha256(path.encode('utf-8')).hexdigest()[:12]}"


def default_dataset_name(data_key: str | os.PathLike | None) -> str:
    """The name shown for a data source nobody named: 'sample', or the file or folder name (an upload's
    cached copy without its content hash: `telco-88be4b93fbe0cc83.csv` -> `telco.csv`).

    >>> default_dataset_name(""), default_dataset_name("/x/.cache/uploads/telco-88be4b93fbe0cc83.csv")
    ('sample', 'telco.csv')
    """
    if not data_key:
        return "sample"
    return _UPLOAD_DIGEST.sub("", Path(os.fspath(data_key)).name) or os.fspath(data_key)
