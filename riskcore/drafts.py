"""A session's draft rule set kept on the server under a random id (`?draft=<id>` in the URL), so a
reload or a bookmark brings the draft back; with it, how the session's datasets were mapped.

One JSON file per id in a folder (`<rule-set home>/.drafts`), written atomically. A record is data,
never code: the id must look like one this app makes (no path can be formed from it), the file is
size-capped, the draft is TOML text that the caller parses with riskcore.rules, and each mapping
field is checked to be a short text. A record written for another signed-in user is not theirs to
read. Records untouched for `MAX_AGE_DAYS` are removed when a new one is made.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

from .atomic import write_atomic
from .db import Mapping
from .urlstate import DRAFT_ID

MAX_BYTES = 2_000_000  # a rule set is a few KB; anything this big was not written by the app
MAX_AGE_DAYS = 30
FORMAT = 1


class DraftError(ValueError):
    """A stored record that cannot be used (unreadable, not ours, malformed); the message says why."""


@dataclass(frozen=True)
class Dataset:
    """How the session loaded one dataset: the name the user gave it and the column mapping."""

    label: str
    mapping: Mapping | None = None


@dataclass(frozen=True)
class Record:
    """What is kept for one draft id."""

    owner: str = ""                  # the signed-in user's email ("" in local single-user mode)
    draft: str | None = None         # the draft rule set as TOML text
    datasets: dict[str, Dataset] = field(default_factory=dict)  # key: the URL's `data` value


class DraftStore:
    """Draft records in `folder`, one `<id>.json` each."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def _path(self, draft_id: str) -> Path:
        if not isinstance(draft_id, str) or not DRAFT_ID.fullmatch(draft_id):
            raise DraftError(f"not a draft id: {str(draft_id)[:40]!r}")
        return self.folder / f"{draft_id}.json"

    def load(self, draft_id: str, owner: str = "") -> Record | None:
        """The record of `draft_id`, or None when there is none. DraftError when it exists but is
        unreadable, malformed or belongs to another user."""
        path = self._path(draft_id)
        try:
            if path.stat().st_size > MAX_BYTES:
                raise DraftError(f"the saved draft is larger than {MAX_BYTES:,} bytes")
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise DraftError("the saved draft's file is not the JSON this app writes") from None
        except OSError as e:
            raise DraftError(f"the saved draft's file cannot be opened ({e.strerror or 'unreadable'})") from None
        record = _record(raw)
        if record.owner != (owner or ""):
            raise DraftError("the saved draft belongs to another user")
        return record

    def save(self, draft_id: str, record: Record) -> None:
        """Write `record` under `draft_id` (atomically: a reader sees the old or the new record)."""
        path = self._path(draft_id)
        data = {"format": FORMAT, "owner": record.owner, "updated": datetime.now(timezone.utc).isoformat(),
                "draft": record.draft,
                "datasets": {k: {"label": d.label, "mapping": asdict(d.mapping) if d.mapping else None}
                             for k, d in record.datasets.items()}}
        if not path.exists():
            self.prune()
        write_atomic(path, json.dumps(data, indent=1))

    def prune(self, max_age_days: float = MAX_AGE_DAYS) -> int:
        """Remove records not written for `max_age_days`; returns how many."""
        cutoff = time.time() - max_age_days * 86400
        gone = 0
        for p in self.folder.glob("*.json") if self.folder.is_dir() else ():
            try:
                if p.stat().st_mtime < cutoff:
                    p.unlink()
                    gone += 1
            except OSError:  # removed by another process meanwhile
                pass
        return gone


def _text(value, what: str, limit: int = 1000) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise DraftError(f"the saved draft's {what} is not a short text")
    return value


def _mapping(raw) -> Mapping | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise DraftError("the saved draft's column mapping is not a table")
    kw: dict = {}
    for f in fields(Mapping):
        v = raw.get(f.name)
        if f.name == "outcome_positive":
            if v is not None:
                if not isinstance(v, list) or len(v) > 50:
                    raise DraftError("the saved draft's outcome values are not a list")
                v = tuple(_text(x, "outcome value", 200) or "" for x in v)
            kw[f.name] = v
        else:
            kw[f.name] = _text(v, f"column '{f.name}'", 1000)
    return Mapping(**kw)


def _record(raw) -> Record:
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise DraftError("the saved draft is not in a format this version of the app reads")
    draft = raw.get("draft")
    if draft is not None and not isinstance(draft, str):
        raise DraftError("the saved draft's rule set is not text")
    sets = raw.get("datasets") or {}
    if not isinstance(sets, dict) or len(sets) > 100:
        raise DraftError("the saved draft's datasets are not a table")
    datasets = {}
    for key, d in sets.items():
        if not isinstance(d, dict):
            raise DraftError("the saved draft's datasets are not a table")
        datasets[_text(key, "dataset name", 4096) or ""] = Dataset(
            label=_text(d.get("label"), "dataset label", 300) or "", mapping=_mapping(d.get("mapping")))
    return Record(owner=_text(raw.get("owner"), "owner", 320) or "", draft=draft, datasets=datasets)
