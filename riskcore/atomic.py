"""Atomic file writes (write a temp file, fsync, rename; a crash leaves the old file intact) and the
check that an output path is not one of the inputs."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


def write_atomic(path: str | os.PathLike, data: bytes | str) -> None:
    """Replace `path` with `data` so that readers see either the old or the new content."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def same_path(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether `a` and `b` name the same file or folder: by the file's identity when both exist (symlinks,
    hard links, `..`, letter case on a case-insensitive file system), else by the resolved absolute path."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def input_clash(out: str | os.PathLike, inputs: dict[str, str | os.PathLike | None],
                folder_reads: Callable[[str], str | None] = lambda name: None) -> str | None:
    """Why writing `out` would overwrite an input (a sentence), or None.

    `inputs` maps a flag (`--data`) to its path. An input folder also clashes with a file directly in it
    that the folder would read as a table (`folder_reads(file name)` -> the table's name): writing it
    would replace one of the folder's tables, or add a second copy of one.
    """
    real = Path(os.path.realpath(out))
    for flag, path in inputs.items():
        if path is None:
            continue
        if same_path(out, path):
            kind = "folder" if os.path.isdir(path) else "file"
            return f"it is the {flag} {kind} ({path})"
        table = folder_reads(real.name) if os.path.isdir(path) and same_path(real.parent, path) else None
        if table:
            return f"it would be read as the table {table!r} of the {flag} folder ({path})"
    return None
