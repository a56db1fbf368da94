"""Is a file a whole DuckDB database? Checked before a DuckDB file is loaded or used as a snapshot store,
so a text file or a truncated copy is a clear message instead of an engine error, and is never written."""

from __future__ import annotations

import struct
from pathlib import Path

import duckdb

from .db import quote_ident

_HEADERS = 3 * 4096  # a DuckDB file starts with a main header and two database headers of 4 KiB each


def duckdb_file_problem(path: str | Path) -> str | None:
    """Why the existing file `path` is not a whole DuckDB database (a sentence), or None.

    Reads the headers only: the magic bytes, then the file size against the size the newer database
    header declares (block count x block size). A file shorter than that is opened read-only and
    every table scanned; it is damaged only if a read fails (trailing free blocks may be missing
    harmlessly). Never writes to the file.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(_HEADERS)
    except OSError as e:
        return f"cannot be read ({e.strerror})"
    if size == 0:
        return "is an empty file, not a DuckDB database"
    if head[8:12] != b"DUCK":
        return "is not a DuckDB database file (it does not start with DuckDB's header)"
    declared = _declared_size(head)
    if len(head) < _HEADERS or (declared is not None and size < declared and not _scans_whole(path)):
        return (f"is damaged: the file has {size:,} bytes but its header describes "
                f"{max(declared or 0, _HEADERS):,} (a truncated copy?)")
    return None


def _declared_size(head: bytes) -> int | None:
    """Bytes the newer database header says the file spans (headers + block_count x block size), or None
    when the header is not in the layout read here (then no size check is made)."""
    best = None
    for offset in (4096, 8192):
        if len(head) < offset + 48:
            return None
        _, iteration, _, _, blocks, block_size = struct.unpack_from("<6Q", head, offset)
        plausible = 4096 <= block_size <= 1 << 30 and block_size & (block_size - 1) == 0 and blocks < 1 << 40
        if plausible and (best is None or iteration > best[0]):
            best = (iteration, blocks, block_size)
    return None if best is None else _HEADERS + best[1] * best[2]


def _scans_whole(path: Path) -> bool:
    """Every table of the DuckDB file reads to the end (opened read-only)."""
    try:
        con = duckdb.connect(str(path), read_only=True, config={"enable_external_access": False})
    except duckdb.Error:
        return False
    try:
        for schema, name in con.execute("SELECT table_schema, table_name FROM information_schema.tables "
                                        "WHERE table_type = 'BASE TABLE'").fetchall():
            con.execute(f"SELECT bit_xor(hash(COLUMNS(*))) FROM {quote_ident(schema)}.{quote_ident(name)}").fetchall()
        return True
    except duckdb.Error:
        return False
    finally:
        con.close()
