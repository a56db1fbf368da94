"""Playbook catalog (TOML) and the matcher that picks what to do for an account (PRODUCT.md §4).

Matching rule, used by `match`, `match_account` and, through `catalog_frame`, by scoring:
an entry matches when each of its keys `dimension`, `tier`, `quadrant` is None (= any) or equal
to the account's. Among the matches, the highest `priority` wins; on equal priority the more
specific entry (more keys set) wins; then the smaller id. `Catalog.playbooks` is kept in that
order, so "the first match" is always the winner. A `tier` always comes with a `dimension`.
In `catalog_frame` the column `priority` is that order (1 = first; smallest wins in SQL).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Mapping

import pandas as pd

from .rules.model import DIMENSIONS, QUADRANTS, TIERS

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "playbooks.toml"
STEP_KINDS = ("human", "automated_email", "task")
CONSENT_NOTE = "Automated emails suppressed: no marketing consent."

_ID = re.compile(r"^[a-z0-9_]+$")
_PLAYBOOK_KEYS = {"id", "name", "owner", "sla_hours", "dimension", "tier", "quadrant", "priority",
                  "steps", "description"}
_STEP_KEYS = {"text", "kind", "owner", "due_hours"}


class PlaybookError(ValueError):
    """The catalog is invalid; `problems` lists each one, naming the file, entry and field."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Step:
    text: str
    kind: Literal["human", "automated_email", "task"]
    owner: str | None = None
    due_hours: float | None = None


@dataclass(frozen=True)
class Playbook:
    id: str
    name: str
    steps: tuple[Step, ...]
    owner: str
    sla_hours: float
    dimension: str | None = None
    tier: str | None = None
    quadrant: str | None = None
    priority: int = 0
    description: str = ""
    note: str | None = None  # set by `match` when steps were dropped (e.g. no consent)

    @property
    def specificity(self) -> int:
        """How many of dimension, tier, quadrant the entry pins down (0..3)."""
        return sum(k is not None for k in (self.dimension, self.tier, self.quadrant))

    def matches(self, dimension: str | None, tier: str | None, quadrant: str | None) -> bool:
        return ((self.dimension is None or self.dimension == dimension)
                and (self.tier is None or self.tier == tier)
                and (self.quadrant is None or self.quadrant == quadrant))


def _rank_key(p: Playbook) -> tuple:
    return (-p.priority, -p.specificity, p.id)


@dataclass(frozen=True)
class Catalog:
    """Playbooks in match order (the first matching entry wins)."""

    playbooks: tuple[Playbook, ...]
    source: str = "<memory>"

    def __post_init__(self) -> None:
        object.__setattr__(self, "playbooks", tuple(sorted(self.playbooks, key=_rank_key)))

    def get(self, playbook_id: str) -> Playbook:
        for p in self.playbooks:
            if p.id == playbook_id:
                return p
        raise KeyError(f"no playbook {playbook_id!r} in {self.source}")

    def ids(self) -> list[str]:
        return [p.id for p in self.playbooks]


# -- loading ------------------------------------------------------------------------

def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read and validate a playbook catalog (default: the shipped data/playbooks.toml).

    Raises PlaybookError listing every problem, each naming the file, entry and field.
    """
    p = Path(path) if path is not None else DEFAULT_PATH
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlaybookError([f"{p}: file not found"]) from None
    except (UnicodeDecodeError, OSError) as e:
        raise PlaybookError([f"{p}: cannot read the file ({e})"]) from None
    return parse_catalog(text, source=str(p))


def parse_catalog(text: str, source: str = "<text>") -> Catalog:
    """Parse catalog TOML text; see `load_catalog`."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PlaybookError([f"{source}: not valid TOML: {e}"]) from None
    entries = doc.get("playbooks")
    if not isinstance(entries, list) or not entries:
        raise PlaybookError([f"{source}: expected at least one [[playbooks]] entry, found none"])
    problems: list[str] = []
    playbooks = []
    seen: set[str] = set()
    for i, raw in enumerate(entries, start=1):
        pb = _parse_playbook(raw, i, source, problems)
        if pb is None:
            continue
        if pb.id in seen:
            problems.append(f"{source}: playbook #{i} {pb.id!r}: field 'id': duplicated id")
        seen.add(pb.id)
        playbooks.append(pb)
    if problems:
        raise PlaybookError(problems)
    return Catalog(tuple(playbooks), source=source)


def _parse_playbook(raw: Any, i: int, source: str, problems: list[str]) -> Playbook | None:
    start = len(problems)
    ident = raw.get("id") if isinstance(raw, dict) else None
    where = f"{source}: playbook #{i}" + (f" {ident!r}" if isinstance(ident, str) else "")

    def bad(field: str, expected: str, found: Any = "<missing>") -> None:
        problems.append(f"{where}: field {field!r}: expected {expected}, found {found!r}")

    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a table, found {raw!r}")
        return None
    for key in sorted(set(raw) - _PLAYBOOK_KEYS):
        bad(key, "one of " + ", ".join(sorted(_PLAYBOOK_KEYS)), key)
    if not isinstance(ident, str) or not _ID.match(ident):
        bad("id", "letters a-z, digits and _", raw.get("id", "<missing>"))
    for key in ("name", "owner"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            bad(key, "a non-empty text", raw.get(key, "<missing>"))
    if not _is_number(raw.get("sla_hours")) or raw["sla_hours"] <= 0:
        bad("sla_hours", "a positive number of hours", raw.get("sla_hours", "<missing>"))
    if not isinstance(raw.get("priority"), int) or isinstance(raw.get("priority"), bool):
        bad("priority", "an integer (higher wins)", raw.get("priority", "<missing>"))
    if raw.get("dimension") is not None and raw["dimension"] not in DIMENSIONS:
        bad("dimension", " | ".join(DIMENSIONS), raw["dimension"])
    if raw.get("tier") is not None and raw["tier"] not in TIERS:
        bad("tier", " | ".join(TIERS), raw["tier"])
    elif raw.get("tier") is not None and raw.get("dimension") is None:
        # a tier belongs to a dimension; "high in any dimension" would be ambiguous in scoring
        bad("tier", "a 'dimension' set alongside the tier", raw["tier"])
    quadrant = raw.get("quadrant")
    if quadrant is not None:
        canon = {q.lower(): q for q in QUADRANTS}
        if isinstance(quadrant, str) and quadrant.lower() in canon:
            quadrant = canon[quadrant.lower()]
        else:
            bad("quadrant", " | ".join(QUADRANTS), quadrant)
    raw_steps = raw.get("steps")
    steps: list[Step] = []
    if not isinstance(raw_steps, list) or not raw_steps:
        bad("steps", "at least one [[playbooks.steps]]", raw_steps if raw_steps is not None else "<missing>")
    else:
        for j, s in enumerate(raw_steps, start=1):
            step = _parse_step(s, f"{where}: step {j}", problems)
            if step is not None:
                steps.append(step)
    if len(problems) > start:
        return None
    return Playbook(id=ident, name=raw["name"], steps=tuple(steps), owner=raw["owner"],
                    sla_hours=raw["sla_hours"], dimension=raw.get("dimension"), tier=raw.get("tier"),
                    quadrant=quadrant, priority=raw["priority"], description=raw.get("description", ""))


def _parse_step(s: Any, where: str, problems: list[str]) -> Step | None:
    start = len(problems)
    if not isinstance(s, dict):
        problems.append(f"{where}: expected a table, found {s!r}")
        return None
    for key in sorted(set(s) - _STEP_KEYS):
        problems.append(f"{where}: field {key!r}: expected one of {', '.join(sorted(_STEP_KEYS))}, found {key!r}")
    if not isinstance(s.get("text"), str) or not s["text"].strip():
        problems.append(f"{where}: field 'text': expected a non-empty text, found {s.get('text', '<missing>')!r}")
    if s.get("kind") not in STEP_KINDS:
        problems.append(f"{where}: field 'kind': expected {' | '.join(STEP_KINDS)}, "
                        f"found {s.get('kind', '<missing>')!r}")
    if s.get("owner") is not None and not isinstance(s["owner"], str):
        problems.append(f"{where}: field 'owner': expected a text, found {s['owner']!r}")
    if s.get("due_hours") is not None and (not _is_number(s["due_hours"]) or s["due_hours"] < 0):
        problems.append(f"{where}: field 'due_hours': expected a number >= 0, found {s['due_hours']!r}")
    if len(problems) > start:
        return None
    return Step(text=s["text"], kind=s["kind"], owner=s.get("owner"), due_hours=s.get("due_hours"))


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


# -- matching -----------------------------------------------------------------------

def match(catalog: Catalog, dimension: str | None, tier: str | None, quadrant: str | None,
          consent: bool | None) -> Playbook | None:
    """The playbook for one (dimension, tier, quadrant): the first entry in rank order that
    matches (highest priority, then most specific, then id); None when nothing matches.

    Without marketing consent (anything but True) automated email steps are dropped and the
    returned playbook's `note` says so.
    """
    for p in catalog.playbooks:
        if p.matches(dimension, tier, quadrant):
            return _for_consent(p, consent)
    return None


def match_account(catalog: Catalog, tiers: Mapping[str, str | None], quadrant: str | None,
                  consent: bool | None) -> Playbook | None:
    """The playbook for an account with a tier per dimension: the first entry in rank order
    that matches any of its (dimension, tier) pairs. Same as `match` over every pair, keeping
    the best-ranked winner; this is what the scoring join over `catalog_frame` computes.
    """
    pairs = list(tiers.items()) or [(None, None)]
    for p in catalog.playbooks:
        if any(p.matches(d, t, quadrant) for d, t in pairs):
            return _for_consent(p, consent)
    return None


def _for_consent(p: Playbook, consent: bool | None) -> Playbook:
    if consent is True or not any(s.kind == "automated_email" for s in p.steps):
        return p
    kept = tuple(s for s in p.steps if s.kind != "automated_email")
    return replace(p, steps=kept, note=CONSENT_NOTE)


def catalog_frame(catalog: Catalog) -> pd.DataFrame:
    """One row per playbook in match order, for joining in SQL: columns dimension, tier,
    quadrant (missing = any; NULL in SQL), playbook_id, priority, catalog_priority, specificity.

    `priority` here is the match rank, 1 = first: the winner for an account is the matching row
    with the SMALLEST `priority` (= the first matching row). It encodes the catalog's rule
    (catalog_priority DESC, specificity DESC, id); `catalog_priority` is the TOML's number.
    """
    rows = [{"dimension": p.dimension, "tier": p.tier, "quadrant": p.quadrant, "playbook_id": p.id,
             "priority": i, "catalog_priority": p.priority, "specificity": p.specificity}
            for i, p in enumerate(catalog.playbooks, start=1)]
    cols = ["dimension", "tier", "quadrant", "playbook_id", "priority", "catalog_priority", "specificity"]
    # "str" dtype (missing = NaN) so DuckDB types a column VARCHAR even when it is all "any".
    types = {"dimension": "str", "tier": "str", "quadrant": "str", "playbook_id": "str",
             "priority": "int64", "catalog_priority": "int64", "specificity": "int64"}
    return pd.DataFrame(rows, columns=cols).astype(types)
