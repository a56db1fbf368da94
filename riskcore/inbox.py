"""A CSM's alert inbox: one entry per account per period (every alert that fired for it, with its
causes, newest first), and what each user acknowledged or snoozed, kept across restarts.

Marks are one small JSON file per user (`<folder>/<hash of the user>.json`, the folder per dataset:
`marks_folder`), written atomically under a lock, so two sessions of one user never lose a mark. A
mark is data: the file is size-capped and each field checked; a file written for another user is
not theirs to read.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from .atomic import write_atomic

FORMAT = 1
MAX_BYTES = 5_000_000  # ~50,000 marks; anything bigger was not written by the app
STATES = ("new", "acknowledged", "snoozed")


class MarksError(ValueError):
    """A marks file that cannot be used (unreadable, malformed, another user's); the message says why."""


def combine_alerts(found: list[dict], period_days: int | None = None) -> list[dict]:
    """One entry per account (per period of `period_days` counted back from the newest alert; None:
    one period for everything in `found`): {account_id, date (its newest alert), period_start,
    alerts (newest first), kinds, causes ("customer", "rule_set"), cause ("customer", "rule_set" or
    "both")}, the entries newest first (then by account id).

    >>> found = [{"account_id": "A", "alert": "jump", "date": "2025-01-07", "cause": "customer"},
    ...          {"account_id": "A", "alert": "worse", "date": "2025-01-14", "cause": "rule_set"}]
    >>> [(e["account_id"], e["date"], [a["alert"] for a in e["alerts"]], e["cause"]) for e in combine_alerts(found)]
    [('A', '2025-01-14', ['worse', 'jump'], 'both')]
    """
    if not found:
        return []
    if period_days is not None and period_days < 1:
        raise ValueError(f"period_days must be at least 1, found {period_days}")
    newest = max(date.fromisoformat(a["date"]) for a in found)
    oldest = min(date.fromisoformat(a["date"]) for a in found)
    groups: dict[tuple[str, date], list[dict]] = {}
    for a in found:
        d = date.fromisoformat(a["date"])
        start = oldest if period_days is None else newest - timedelta(
            days=((newest - d).days // period_days) * period_days + period_days - 1)
        groups.setdefault((str(a["account_id"]), start), []).append(a)
    out = []
    for (acc, start), items in groups.items():
        items = sorted(items, key=lambda a: (a["date"], a.get("alert", "")), reverse=True)
        causes = sorted({a.get("cause", "customer") for a in items})
        out.append({"account_id": acc, "date": items[0]["date"], "period_start": start.isoformat(),
                    "alerts": items, "kinds": sorted({a.get("alert", "") for a in items}), "causes": causes,
                    "cause": causes[0] if len(causes) == 1 else "both"})
    return sorted(out, key=lambda e: (-date.fromisoformat(e["date"]).toordinal(), e["account_id"]))


def status_counts(entries: list[dict]) -> dict[str, int]:
    """How many entries are new, acknowledged and snoozed (entries from `AlertMarks.with_status`).

    >>> status_counts([{"status": "new"}, {"status": "snoozed"}, {"status": "new"}])
    {'new': 2, 'acknowledged': 0, 'snoozed': 1}
    """
    return {s: sum(e["status"] == s for e in entries) for s in STATES}


def entry_text(entry: dict, labels: dict[str, str] | None = None) -> str:
    """One entry's alerts in a line, newest first: the alert's label (`labels`: alert id -> label, else
    the alert's own label or its id), the move, its date when older than the entry's, and "rule-set
    change" when the move comes from editing the rules.

    >>> entry_text({"date": "2025-01-14", "alerts": [
    ...     {"alert": "tier_worse", "from": "low", "to": "high", "date": "2025-01-14", "cause": "rule_set"},
    ...     {"alert": "score_jump", "from": 30, "to": 62.5, "date": "2025-01-07"}]}, {"score_jump": "Score rose"})
    'tier worse low → high (rule-set change); Score rose 30 → 62.5 (2025-01-07)'
    """
    labels = labels or {}
    parts = []
    for a in entry["alerts"]:
        name = labels.get(a.get("alert", "")) or a.get("label") or str(a.get("alert", "")).replace("_", " ")
        move = f" {_value(a['from'])} → {_value(a['to'])}" if "from" in a and "to" in a else ""
        notes = [a["date"]] if a["date"] != entry.get("date") else []
        notes += ["rule-set change"] if a.get("cause") == "rule_set" else []
        parts.append(f"{name}{move}" + (f" ({', '.join(notes)})" if notes else ""))
    return "; ".join(parts)


def _value(v) -> str:
    if isinstance(v, float):
        return f"{v:.0f}" if v == int(v) else f"{v:.1f}"
    return "—" if v is None else str(v)


def marks_folder(home: str | Path, dataset_id: str) -> Path:
    """Where a dataset's marks live: `<rule-set home>/datasets/<dataset id>/alert_marks` (beside its
    rule-set versions; the id is checked as the Library checks it, so no path can be formed from it)."""
    from .versions import DATASET_ID
    if not isinstance(dataset_id, str) or not DATASET_ID.fullmatch(dataset_id):
        raise MarksError(f"not a dataset id: {str(dataset_id)[:40]!r}")
    return Path(home) / "datasets" / dataset_id / "alert_marks"


@dataclass(frozen=True)
class Mark:
    """One account's mark: alerts dated on or before `acknowledged` were read; alerts are hidden
    while the day is before `snoozed_until`."""

    acknowledged: date | None = None
    snoozed_until: date | None = None


class AlertMarks:
    """The acknowledge / snooze marks of one user (`user`: the signed-in email, "" in local mode)."""

    def __init__(self, folder: str | Path, user: str = ""):
        self.folder, self.user = Path(folder), user or ""
        self.path = self.folder / f"{hashlib.sha256(self.user.encode('utf-8')).hexdigest()[:32]}.json"

    # -- reading -----------------------------------------------------------------------
    def load(self) -> dict[str, Mark]:
        """account_id -> Mark (empty when nothing is stored yet)."""
        try:
            if self.path.stat().st_size > MAX_BYTES:
                raise MarksError(f"the saved alert marks are larger than {MAX_BYTES:,} bytes")
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise MarksError("the saved alert marks are not the JSON this app writes") from None
        except OSError as e:
            raise MarksError(f"the saved alert marks cannot be opened ({e.strerror or 'unreadable'})") from None
        return _parse(raw, self.user)

    def status(self, entry: dict, today: date, marks: dict[str, Mark] | None = None) -> str:
        """"snoozed" (while today < snoozed_until), "acknowledged" (its newest alert is on or before
        the acknowledged date) or "new"."""
        m = (self.load() if marks is None else marks).get(str(entry["account_id"]), Mark())
        if m.snoozed_until is not None and today < m.snoozed_until:
            return "snoozed"
        if m.acknowledged is not None and date.fromisoformat(entry["date"]) <= m.acknowledged:
            return "acknowledged"
        return "new"

    def with_status(self, entries: list[dict], today: date) -> list[dict]:
        """The entries, each with its `status` (one read of the file)."""
        marks = self.load()
        return [dict(e, status=self.status(e, today, marks)) for e in entries]

    def unread(self, entries: list[dict], today: date) -> int:
        """How many entries are new: not acknowledged, not snoozed (what the Overview counts)."""
        return sum(e["status"] == "new" for e in self.with_status(entries, today))

    # -- writing -----------------------------------------------------------------------
    def acknowledge(self, account_id: str, through: date) -> None:
        """Mark the account's alerts dated on or before `through` as read (a later alert is new again)."""
        with self._editing() as marks:
            old = marks.get(account_id, Mark())
            keep = max(through, old.acknowledged) if old.acknowledged else through
            marks[account_id] = Mark(acknowledged=keep, snoozed_until=old.snoozed_until)

    def snooze(self, account_id: str, until: date) -> None:
        """Hide the account's alerts until `until` (exclusive), whatever their date."""
        with self._editing() as marks:
            old = marks.get(account_id, Mark())
            marks[account_id] = Mark(acknowledged=old.acknowledged, snoozed_until=until)

    def clear(self, account_id: str) -> None:
        """Forget the account's mark: its alerts are new again."""
        with self._editing() as marks:
            marks.pop(account_id, None)

    @contextmanager
    def _editing(self):
        """Read, change and write the marks under an exclusive lock (two sessions of one user)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                marks = self.load()
                yield marks
                data = {"format": FORMAT, "owner": self.user, "updated": datetime.now(timezone.utc).isoformat(),
                        "marks": {k: {"acknowledged": m.acknowledged.isoformat() if m.acknowledged else None,
                                      "snoozed_until": m.snoozed_until.isoformat() if m.snoozed_until else None}
                                  for k, m in sorted(marks.items())}}
                write_atomic(self.path, json.dumps(data, indent=1))
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _day(value, what: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else _bad(what)
    except ValueError:
        return _bad(what)


def _bad(what: str):
    raise MarksError(f"the saved alert marks hold {what} that is not a date")


def _parse(raw, user: str) -> dict[str, Mark]:
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise MarksError("the saved alert marks are not in a format this version of the app reads")
    if raw.get("owner") != user:
        raise MarksError("the saved alert marks belong to another user")
    marks = raw.get("marks")
    if not isinstance(marks, dict):
        raise MarksError("the saved alert marks are not a table")
    out = {}
    for acc, m in marks.items():
        if not isinstance(acc, str) or len(acc) > 1000 or not isinstance(m, dict):
            raise MarksError("the saved alert marks are not a table of accounts")
        out[acc] = Mark(_day(m.get("acknowledged"), "an acknowledged date"),
                        _day(m.get("snoozed_until"), "a snooze date"))
    return out
