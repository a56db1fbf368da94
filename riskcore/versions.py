"""Numbered rule-set versions on disk (TOML files plus an index), one of them published; a Library keeps
one such store per dataset. The app's folder (`rules_home`, started with the default rule set by
`ensure_versions`), the sidebar's labels and the content diff of two versions live here too."""

from __future__ import annotations

import difflib
import fcntl
import functools
import json
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import settings
from .atomic import write_atomic
from .rules import load_ruleset, ruleset_to_toml
from .workspace import DEFAULT_RULES


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


# ---- one VersionStore per dataset ------------------------------------------------------------

DATASET_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,79}")
SAMPLE = "sample"


@dataclass(frozen=True)
class Dataset:
    """A dataset the library keeps rule sets for: `id` names its folder, `name` is what the user sees
    (unique in the library: a second, different `telco.csv` is `telco.csv (2)`)."""

    id: str
    name: str
    source: str  # the data key it was loaded from ('' for the sample)
    added: str   # ISO timestamp, UTC


class Library:
    """Rule-set versions per dataset: `<root>/datasets.json` names the datasets, `<root>/datasets/<id>/` is
    each one's VersionStore, so publishing for one dataset never changes what another one scores.

    A root written before datasets existed (`index.json` and `v0001.toml`... at the top) holds the sample's
    versions: they are copied to `datasets/sample/` on first open (index last; the old index is then
    renamed `index.json.before-datasets`), so a crash mid-way leaves them where they were.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._migrate()

    @contextmanager
    def _locked(self):
        with VersionStore._thread_lock, open(self.root / ".datasets.lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @property
    def _registry_path(self) -> Path:
        return self.root / "datasets.json"

    def _registry(self) -> dict:
        if not self._registry_path.exists():
            return {"datasets": []}
        return json.loads(self._registry_path.read_text(encoding="utf-8"))

    def folder(self, dataset_id: str) -> Path:
        """The versions folder of a dataset (checked: the id becomes a folder name)."""
        if not isinstance(dataset_id, str) or not DATASET_ID.fullmatch(dataset_id):
            raise ValueError(f"dataset id: expected lowercase letters, digits, _ and - (at most 80), "
                             f"found {dataset_id!r}")
        return self.root / "datasets" / dataset_id

    def versions(self, dataset_id: str) -> VersionStore:
        """The dataset's versions (an empty store for a dataset seen for the first time)."""
        return VersionStore(self.folder(dataset_id))

    def datasets(self) -> list[Dataset]:
        return [Dataset(**d) for d in self._registry()["datasets"]]

    def dataset(self, dataset_id: str) -> Dataset | None:
        return next((d for d in self.datasets() if d.id == dataset_id), None)

    def register(self, dataset_id: str, name: str, source: str = "") -> Dataset:
        """Name a dataset (once: a known id keeps its name). A name another dataset already has gets
        ' (2)', ' (3)'...: two different uploads called `telco.csv` never share their rule sets."""
        self.folder(dataset_id)  # checks the id
        name = " ".join(str(name).split()) or dataset_id
        with self._locked():
            reg = self._registry()
            for d in reg["datasets"]:
                if d["id"] == dataset_id:
                    return Dataset(**d)
            taken = {d["name"] for d in reg["datasets"]}
            unique, n = name, 1
            while unique in taken:
                n += 1
                unique = f"{name} ({n})"
            entry = {"id": dataset_id, "name": unique, "source": str(source),
                     "added": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            reg["datasets"].append(entry)
            write_atomic(self._registry_path, json.dumps(reg, indent=2))
            return Dataset(**entry)

    def _migrate(self) -> None:
        """Move a pre-dataset root's versions to the sample (see the class docstring)."""
        old_index = self.root / "index.json"
        if not old_index.exists():
            return
        with self._locked():
            if not old_index.exists():  # another process migrated meanwhile
                return
            target = self.folder(SAMPLE)
            if not (target / "index.json").exists():
                index = json.loads(old_index.read_text(encoding="utf-8"))
                kept = [v for v in index["versions"] if (self.root / f"v{v['number']:04d}.toml").exists()]
                for v in kept:
                    name = f"v{v['number']:04d}.toml"
                    write_atomic(target / name, (self.root / name).read_bytes())
                published = index.get("published")
                index = {"versions": kept, "published": published if any(v["number"] == published for v in kept)
                         else None}
                write_atomic(target / "index.json", json.dumps(index, indent=2))  # last: the move is whole
            old_index.replace(self.root / "index.json.before-datasets")


# ---- the app's versions folder ----------------------------------------------------------------

DRAFT = "draft"          # the sidebar's choice of the session's draft
PUBLISHED = "published"


def rules_home() -> Path:
    """The rule-set versions folder: $RISKCORE_HOME, else `<repo>/.cache/rulesets` (riskcore.settings)."""
    return settings.get("RISKCORE_HOME")


def ensure_versions(folder: str | Path | None = None, default_rules: str | Path = DEFAULT_RULES) -> VersionStore:
    """Open the versions folder; an empty one gets the default rule set as version 1, published."""
    vs = VersionStore(folder or rules_home())
    if not vs.versions():
        number = vs.save(Path(default_rules).read_text(encoding="utf-8"), note="default rule set",
                         author="riskcore", name="default")
        vs.publish(number)
    elif vs.published() is None:
        vs.publish(vs.versions()[-1].number)
    return vs


def version_label(number: int, published: int | None, note: str = "") -> str:
    """How the sidebar lists a stored version."""
    label = f"v{number}"
    if number == published:
        label += " (published)"
    return label + (f": {note}" if note else "")


@functools.lru_cache(maxsize=64)
def _canonical_toml(text: str) -> str:
    """A rule-set file in canonical TOML (memoised by content: versions are immutable)."""
    return ruleset_to_toml(load_ruleset(text))


def content_diff(vs: VersionStore, a: int, b: int) -> str:
    """Unified diff of two versions' rule sets in canonical TOML: what changed, without the noise
    of comments and formatting (a hand-written file against one saved by the app)."""
    ta, tb = (_canonical_toml(vs.text(n)) for n in (a, b))
    return "".join(difflib.unified_diff(ta.splitlines(keepends=True), tb.splitlines(keepends=True),
                                        fromfile=f"v{a}", tofile=f"v{b}"))
