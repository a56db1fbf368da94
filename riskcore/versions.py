"""Numbered rule-set versions on disk (TOML files plus an index), one of them published."""

from __future__ import annotations

import difflib
import fcntl
import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .atomic import write_atomic


@dataclass(frozen=True)
class Version:
    number: int
    note: str
    author: str
    created: str  # ISO timestamp, UTC
    name: str


class VersionStore:
    """A folder of `v0001.toml`, `v0002.toml`... and `index.json`; every write is atomic.

    The index is written last, so a crash mid-save leaves the previous versions and index intact.
    """

    _thread_lock = threading.Lock()

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def _locked(self):
        """Serialise read-modify-write of the index across threads and processes."""
        with self._thread_lock, open(self.folder / ".lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @property
    def _index_path(self) -> Path:
        return self.folder / "index.json"

    def _index(self) -> dict:
        if not self._index_path.exists():
            return {"versions": [], "published": None}
        return json.loads(self._index_path.read_text(encoding="utf-8"))

    def versions(self) -> list[Version]:
        return [Version(**v) for v in self._index()["versions"]]

    def published(self) -> int | None:
        return self._index()["published"]

    def text(self, number: int) -> str:
        if number not in {v.number for v in self.versions()}:
            raise KeyError(f"no rule-set version {number}")
        return (self.folder / f"v{number:04d}.toml").read_text(encoding="utf-8")

    def save(self, toml_text: str, note: str = "", author: str = "", name: str = "") -> int:
        """Store a new version and return its number (not published until `publish`)."""
        with self._locked():
            index = self._index()
            number = max((v["number"] for v in index["versions"]), default=0) + 1
            write_atomic(self.folder / f"v{number:04d}.toml", toml_text)
            index["versions"].append({
                "number": number, "note": note, "author": author, "name": name,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            })
            write_atomic(self._index_path, json.dumps(index, indent=2))
            return number

    def publish(self, number: int) -> None:
        with self._locked():
            index = self._index()
            if number not in {v["number"] for v in index["versions"]}:
                raise KeyError(f"no rule-set version {number}")
            index["published"] = number
            write_atomic(self._index_path, json.dumps(index, indent=2))

    def diff(self, a: int, b: int) -> str:
        """Unified diff of two versions' TOML text."""
        return "".join(difflib.unified_diff(
            self.text(a).splitlines(keepends=True), self.text(b).splitlines(keepends=True),
            fromfile=f"v{a}", tofile=f"v{b}"))
