"""Record save plays in the store's `plays` table: a play started on one account, or a random hold-out
of a group of eligible accounts (the control uplift.py compares with). Every value is bound.

The table is the activity table of activity.TABLES (`account_id, play, started_at, holdout`) plus an
`owner` column (who runs the play); it is created when the data has none. A restart reloads the data
from its files, so what the app records is also kept in a journal per dataset (`PlayJournal`, one
JSON file beside the dataset's rule-set versions) and added back to the freshly loaded table.
"""

from __future__ import annotations

import fcntl
import json
import math
import re
import uuid
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from .atomic import write_atomic
from .db import Store, quote_ident

COLUMNS = {"account_id": "VARCHAR", "play": "VARCHAR", "started_at": "DATE", "holdout": "BOOLEAN",
           "owner": "VARCHAR"}
MAX_TEXT = 100            # characters of a play name or an owner
HOLDOUT_SEED = 0          # the default draw of a hold-out: repeatable
FORMAT = 1                # the journal's format
MAX_JOURNAL_BYTES = 20_000_000  # ~100,000 rows; anything bigger was not written by the app
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class PlayError(ValueError):
    """A play that cannot be recorded (no activity data, unknown account, a bad name or date)."""


# ---- checks -----------------------------------------------------------------------------------

def _require_activity(store: Store) -> None:
    if store.dataset is None or store.dataset.kind != "activity":
        raise PlayError("plays are recorded in the activity tables; an account table has no dates to measure "
                        "a play's effect against")


def clean_text(value, what: str, required: bool = True) -> str | None:
    """A play name or owner as stored: trimmed, at most MAX_TEXT characters, no control characters.

    >>> clean_text("  save  ", "play"), clean_text("", "owner", required=False)
    ('save', None)
    """
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            raise PlayError(f"the {what} is empty")
        return None
    if len(text) > MAX_TEXT or _CONTROL.search(text):
        raise PlayError(f"the {what} must be at most {MAX_TEXT} characters of text without line breaks")
    return text


def _day(value, store: Store) -> date:
    """A start date within the data's dates (signals.active_dates: a later one would move the data's
    range, which is cached per load)."""
    from .signals import active_dates
    if isinstance(value, datetime) or not isinstance(value, date):
        raise PlayError(f"the start date must be a date, found {str(value)[:40]!r}")
    first, last = active_dates(store)
    if not first <= value <= last:
        raise PlayError(f"the start date {value} is outside the data's dates ({first} to {last})")
    return value


# ---- the table --------------------------------------------------------------------------------

def ensure_plays_table(store: Store) -> None:
    """Create the plays table when the data has none; add `holdout` / `owner` when the loaded one lacks
    them (both optional in a data folder)."""
    _require_activity(store)
    with store.lock:
        if not store.has_table("plays"):
            cols = ", ".join(f"{quote_ident(c)} {t}" for c, t in COLUMNS.items())
            store.execute(f"CREATE TABLE plays ({cols})")
            return
        have = set(store.columns("plays"))
        for c, t in COLUMNS.items():
            if c not in have:
                store.execute(f"ALTER TABLE plays ADD COLUMN {quote_ident(c)} {t}")


def _insert(store: Store, frame: pd.DataFrame) -> int:
    """Insert the rows of `frame` (COLUMNS) that the table does not hold yet (same account, play, start
    and hold-out); returns how many were added. One statement: all or nothing."""
    if frame.empty:
        return 0
    tmp = f"_new_plays_{uuid.uuid4().hex[:12]}"
    cols = ", ".join(quote_ident(c) for c in COLUMNS)
    with store.lock:
        ensure_plays_table(store)
        store.register_df(tmp, frame[list(COLUMNS)].astype({"holdout": "boolean"}))
        try:
            before = store.one("SELECT count(*) FROM plays")
            store.execute(f"""
                INSERT INTO plays ({cols})
                SELECT DISTINCT CAST(n.account_id AS VARCHAR), CAST(n.play AS VARCHAR), CAST(n.started_at AS DATE),
                       CAST(n.holdout AS BOOLEAN), CAST(n.owner AS VARCHAR)
                FROM {quote_ident(tmp)} n
                WHERE NOT EXISTS (SELECT 1 FROM plays p WHERE p.account_id = n.account_id AND p.play = n.play
                                  AND p.started_at = CAST(n.started_at AS DATE)
                                  AND coalesce(p.holdout, false) = coalesce(n.holdout, false))""")
            return store.one("SELECT count(*) FROM plays") - before
        finally:
            store.execute(f"DROP TABLE IF EXISTS {quote_ident(tmp)}")


def _known_accounts(store: Store, ids: Iterable[str]) -> set[str]:
    ids = sorted({str(i) for i in ids})
    if not ids:
        return set()
    return {r[0] for r in store.rows("SELECT account_id FROM accounts WHERE account_id IN (SELECT unnest(?))", [ids])}


def start_play(store: Store, account_id: str, play: str, started_at: date, owner: str | None = None,
               journal: "PlayJournal | None" = None) -> dict:
    """Record that `account_id` started `play` on `started_at` (holdout false), in the journal first
    when one is given; returns the row and whether it was new (`added`: False when the same start is
    recorded already)."""
    _require_activity(store)
    row = {"account_id": str(account_id), "play": clean_text(play, "play name"), "started_at": _day(started_at, store),
           "holdout": False, "owner": clean_text(owner, "owner", required=False)}
    if row["account_id"] not in _known_accounts(store, [row["account_id"]]):
        raise PlayError(f"no account with id {row['account_id'][:60]!r} in the accounts table")
    if journal is not None:
        journal.add([row])
    added = _insert(store, pd.DataFrame([row]))
    return dict(row, added=bool(added))


def holdout_draw(account_ids: Iterable[str], share: float, seed: int = HOLDOUT_SEED) -> tuple[list[str], list[str]]:
    """(held out, treated): round(share x n) of the distinct ids (halves up) drawn at random with
    `seed`, the same draw whatever order the ids come in. Both lists sorted.

    >>> holdout_draw(["a", "b", "c", "d"], 0.5, seed=1) == holdout_draw(["d", "c", "b", "a"], 0.5, seed=1)
    True
    """
    if not isinstance(share, (int, float)) or not 0 <= share <= 1 or math.isnan(share):
        raise PlayError(f"the share held out must be between 0 and 1, found {share!r}")
    ids = sorted({str(i) for i in account_ids})
    k = math.floor(share * len(ids) + 0.5)
    picked = set(np.random.default_rng(seed).choice(len(ids), size=k, replace=False).tolist()) if k else set()
    return [i for n, i in enumerate(ids) if n in picked], [i for n, i in enumerate(ids) if n not in picked]


def holdout_plan(store: Store, account_ids: Iterable[str], play: str, share: float) -> dict:
    """What `assign_holdout` would do, without writing: {accounts, already_in_play, eligible, held_out,
    treated} (held_out = round(share x eligible), halves up)."""
    _require_activity(store)
    if not isinstance(share, (int, float)) or not 0 <= share <= 1 or math.isnan(share):
        raise PlayError(f"the share held out must be between 0 and 1, found {share!r}")
    known = _known_accounts(store, account_ids)
    with store.lock:
        had = set() if not store.has_table("plays") else {
            r[0] for r in store.rows("SELECT DISTINCT account_id FROM plays WHERE play = ?", [clean_text(play, "play name")])}
    eligible = len(known - had)
    held = math.floor(share * eligible + 0.5)
    return {"accounts": len(known), "already_in_play": len(known & had), "eligible": eligible, "held_out": held,
            "treated": eligible - held}


def assign_holdout(store: Store, account_ids: Iterable[str], play: str, started_at: date, share: float = 0.1,
                   seed: int = HOLDOUT_SEED, owner: str | None = None, journal: "PlayJournal | None" = None) -> dict:
    """Hold out `share` of the eligible accounts from `play` at random (holdout true) and record the
    rest as starting it (holdout false), all on `started_at`. Eligible: known accounts that never had
    the play (one already in it is neither re-drawn nor moved). Returns the counts and both id lists.
    With a journal the rows are kept there first (a restart finds them)."""
    _require_activity(store)
    play, owner = clean_text(play, "play name"), clean_text(owner, "owner", required=False)
    started_at = _day(started_at, store)
    wanted = {str(i) for i in account_ids}
    known = _known_accounts(store, wanted)
    with store.lock:
        had = set() if not store.has_table("plays") else {
            r[0] for r in store.rows("SELECT DISTINCT account_id FROM plays WHERE play = ?", [play])}
        eligible = sorted(known - had)
        held, treated = holdout_draw(eligible, share, seed)
        frame = pd.DataFrame({"account_id": held + treated, "play": play, "started_at": started_at,
                              "holdout": [True] * len(held) + [False] * len(treated), "owner": owner})
        if journal is not None and not frame.empty:
            journal.add(frame.to_dict("records"))
        added = _insert(store, frame)
    return {"play": play, "started_at": started_at.isoformat(), "share": share, "seed": seed,
            "eligible": len(eligible), "held_out": len(held), "treated": len(treated), "added": added,
            "held_out_share": len(held) / len(eligible) if eligible else 0.0,
            "already_in_play": len(known & had), "unknown": len(wanted - known),
            "held_out_ids": held, "treated_ids": treated}


def holdout_message(r: dict, play_name: str | None = None) -> str:
    """What `assign_holdout` did, in a sentence for the page.

    >>> holdout_message({"play": "save", "started_at": "2026-10-31", "held_out": 12, "eligible": 118,
    ...                  "held_out_share": 12 / 118, "seed": 0, "treated": 106, "already_in_play": 3}, "Save")
    'Play Save (save) from 2026-10-31: held out 12 of 118 eligible accounts (10.2%, seed 0); 106 start the play; 3 were in it already.'
    """
    name = f"{play_name} ({r['play']})" if play_name and play_name != r["play"] else r["play"]
    return (f"Play {name} from {r['started_at']}: held out {r['held_out']:,} of {r['eligible']:,} eligible accounts "
            f"({r['held_out_share']:.1%}, seed {r['seed']}); {r['treated']:,} start the play; "
            f"{r['already_in_play']:,} were in it already.")


# ---- reading back -----------------------------------------------------------------------------

def _select_columns(store: Store) -> str:
    have = set(store.columns("plays"))
    return ", ".join(quote_ident(c) if c in have else f"CAST(NULL AS {t}) AS {quote_ident(c)}"
                     for c, t in COLUMNS.items())


def account_plays(store: Store, account_id: str) -> pd.DataFrame:
    """The plays rows of one account, newest start first, with `group` ("held out" or "started"; empty
    without a plays table)."""
    if store.dataset is None or store.dataset.kind != "activity" or not store.has_table("plays"):
        return pd.DataFrame(columns=[*COLUMNS, "group"])
    with store.lock:
        return store.df(f"SELECT *, CASE WHEN coalesce(holdout, false) THEN 'held out' ELSE 'started' END AS "
                        f"\"group\" FROM (SELECT {_select_columns(store)} FROM plays WHERE account_id = ?) "
                        "ORDER BY started_at DESC, play", [str(account_id)])


def play_starts(store: Store) -> pd.DataFrame:
    """Per play: rows, accounts, held out (accounts with a hold-out row), first and last start; by name."""
    if store.dataset is None or store.dataset.kind != "activity" or not store.has_table("plays"):
        return pd.DataFrame(columns=["play", "rows", "accounts", "held_out", "first_start", "last_start"])
    with store.lock:
        hold = "holdout" if "holdout" in store.columns("plays") else "NULL"
        return store.df(f"""
            SELECT play, count(*) AS "rows", count(DISTINCT account_id) AS accounts,
                   count(DISTINCT account_id) FILTER (WHERE coalesce({hold}, false)) AS held_out,
                   min(started_at) AS first_start, max(started_at) AS last_start
            FROM plays WHERE play IS NOT NULL GROUP BY play ORDER BY play""")


def plays_version(store: Store) -> tuple:
    """What a cached Plays result depends on: the rows of the plays table (count and a content hash)."""
    if store.dataset is None or store.dataset.kind != "activity" or not store.has_table("plays"):
        return (0, 0)
    with store.lock:
        cols = ", ".join(quote_ident(c) for c in store.columns("plays"))
        return tuple(store.rows(f"SELECT count(*), coalesce(sum(hash({cols})), 0) FROM plays")[0])


# ---- the journal: what the app recorded, kept across restarts ----------------------------------

def journal_folder(home: str | Path, dataset_id: str) -> Path:
    """`<rule-set home>/datasets/<dataset id>/plays` (the id checked as versions.Library checks it)."""
    from .versions import DATASET_ID
    if not isinstance(dataset_id, str) or not DATASET_ID.fullmatch(dataset_id):
        raise PlayError(f"not a dataset id: {str(dataset_id)[:40]!r}")
    return Path(home) / "datasets" / dataset_id / "plays"


class PlayJournal:
    """The plays rows the app recorded for one dataset (`<folder>/plays.json`, written atomically under
    a lock). A file that is not what the app writes is refused with a message, never used."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.path = self.folder / "plays.json"

    def rows(self) -> pd.DataFrame:
        """The recorded rows (COLUMNS; empty when nothing was recorded)."""
        try:
            if self.path.stat().st_size > MAX_JOURNAL_BYTES:
                raise PlayError(f"the saved plays are larger than {MAX_JOURNAL_BYTES:,} bytes")
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return pd.DataFrame(columns=list(COLUMNS))
        except (UnicodeDecodeError, json.JSONDecodeError, OSError):
            raise PlayError("the saved plays are not the JSON this app writes") from None
        return _parse_journal(raw)

    def add(self, rows: Iterable[dict]) -> None:
        """Append rows (each with COLUMNS' keys) to the journal."""
        new = [_row_json(r) for r in rows]
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                old = [_row_json(r) for r in self.rows().to_dict("records")]
                write_atomic(self.path, json.dumps({"format": FORMAT, "updated": datetime.now(timezone.utc).isoformat(),
                                                    "plays": old + new}, indent=0))
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def csv(self) -> bytes:
        """The recorded rows as a plays.csv a data folder can load (formula-safe, riskcore.export)."""
        from .export import to_csv_bytes
        frame = self.rows()
        return to_csv_bytes(frame.assign(started_at=[d.isoformat() for d in frame["started_at"]]))

    def replay(self, store: Store) -> int:
        """Add the journal's rows the loaded plays table lacks (after a restart); returns how many."""
        frame = self.rows()
        if frame.empty:
            return 0
        _require_activity(store)
        known = _known_accounts(store, frame["account_id"])
        return _insert(store, frame[frame["account_id"].isin(known)])


def _row_json(r: dict) -> dict:
    d = r["started_at"]
    d = d.date() if isinstance(d, (datetime, pd.Timestamp)) else d
    return {"account_id": str(r["account_id"]), "play": str(r["play"]), "started_at": d.isoformat(),
            "holdout": bool(r["holdout"]), "owner": None if r.get("owner") is None or pd.isna(r.get("owner"))
            else str(r["owner"])}


def _parse_journal(raw) -> pd.DataFrame:
    if not isinstance(raw, dict) or raw.get("format") != FORMAT or not isinstance(raw.get("plays"), list):
        raise PlayError("the saved plays are not in a format this version of the app reads")
    out = []
    for r in raw["plays"]:
        try:
            if not isinstance(r, dict) or not isinstance(r.get("account_id"), str) or len(r["account_id"]) > 1000 \
                    or not isinstance(r.get("holdout"), bool):
                raise ValueError
            out.append({"account_id": r["account_id"], "play": clean_text(r.get("play"), "play name"),
                        "started_at": date.fromisoformat(r["started_at"]), "holdout": r["holdout"],
                        "owner": clean_text(r.get("owner"), "owner", required=False)})
        except (ValueError, TypeError, KeyError):
            raise PlayError("the saved plays hold a row that is not a play this app records") from None
    return pd.DataFrame(out, columns=list(COLUMNS))
