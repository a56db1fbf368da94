"""Uploaded account tables: where the app keeps an upload (content-addressed) and a preview of its
columns and first rows for the mapping form."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from .workspace import REPO

UPLOADS = REPO / ".cache" / "uploads"  # an upload's stored copy: the URL names it by its file name


def upload_path(name: str, content: bytes, folder: str | Path | None = None) -> Path:
    """Where an uploaded file is kept (content-addressed, so the same upload reuses the cache)."""
    folder = Path(folder or UPLOADS)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".txt", ".tsv", ".parquet", ".xlsx", ".xls"):
        raise ValueError(f"{name}: unsupported file type {suffix or '(none)'!r} "
                         "(expected .csv, .tsv, .txt, .parquet or .xlsx)")
    digest = hashlib.sha256(content).hexdigest()[:16]
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(name).stem)[:60] or "upload"
    path = folder / f"{stem}-{digest}{suffix}"
    if not path.exists():
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(content)
        tmp.replace(path)
    return path


def peek_table(path: str | Path, rows: int = 200) -> tuple[list[str], pd.DataFrame]:
    """Column names and the first rows of an uploaded account table (for the mapping form).

    Only a preview: the real load (riskcore.loading) parses and validates the whole file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        pf = pq.ParquetFile(path)
        frame = next(pf.iter_batches(batch_size=rows)).to_pandas() if pf.metadata.num_rows else \
            pf.schema_arrow.empty_table().to_pandas()
    elif suffix in (".xlsx", ".xls"):
        frame = pd.read_excel(path, nrows=rows, dtype=str)
    else:
        frame = pd.read_csv(path, sep=None, engine="python", nrows=rows, dtype=str, encoding="utf-8-sig")
    return [str(c) for c in frame.columns], frame
