"""The app's choices as URL query parameters (`?rules=v2&dim=payment&tier=high`), so a reload, a
bookmark or the browser's Back brings them back. No Streamlit here.

A query parameter is user input: each `Param` reads its raw values against what is allowed *now*
(the versions that exist, the dimensions of the rule set, the owners in the data, a date range) and
returns None for anything else, which the app ignores without an error. Defaults are not written,
so an untouched session has a clean URL.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Sequence

from .versions import DRAFT, PUBLISHED  # the session's draft; whatever version is published

MAX_VALUES = 50          # values read from one repeated parameter
MAX_TEXT = 200           # characters kept of a free-text parameter

DRAFT_ID = re.compile(r"[A-Za-z0-9_-]{22}")
UPLOAD_NAME = re.compile(r"[A-Za-z0-9_.-]{1,60}-[0-9a-f]{16}\.(?:csv|tsv|txt|parquet|xlsx|xls)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def new_draft_id() -> str:
    """A random id for a session's server-side draft (128 bits, URL-safe).

    >>> bool(DRAFT_ID.fullmatch(new_draft_id()))
    True
    """
    return secrets.token_urlsafe(16)


def draft_id(raw: Sequence[str]) -> str | None:
    """The draft id of `?draft=`, or None when it is not one this app makes (no paths, no dots).

    >>> draft_id(["../../etc/passwd"]), draft_id(["A" * 22])
    (None, 'AAAAAAAAAAAAAAAAAAAAAA')
    """
    v = _last(raw)
    return v if v is not None and DRAFT_ID.fullmatch(v) else None


def _last(raw: Sequence[str]) -> str | None:
    return str(raw[-1]) if raw else None


@dataclass(frozen=True)
class Param:
    """One query parameter: its name and how a value is read from / written to the URL.

    `read(raw)` -> the value or None (absent or not allowed); `check(value)` -> the value when it is
    still allowed (a value kept from an earlier run, a widget's), else None; `write(value)` -> the
    URL values, or None for the default (not written)."""

    name: str
    default: Any = None

    def read(self, raw: Sequence[str]) -> Any:
        raise NotImplementedError

    def ok(self, value: Any) -> bool:
        return True

    def check(self, value: Any) -> Any:
        return value if value is not None and self.ok(value) else None

    def write(self, value: Any) -> list[str] | None:
        raise NotImplementedError


@dataclass(frozen=True)
class One(Param):
    """One of `options` (compared as text: `?dim=payment`).

    >>> p = One("dim", "churn", ("churn", "payment"))
    >>> p.read(["payment"]), p.read(["<script>"]), p.write("churn"), p.write("payment")
    ('payment', None, None, ['payment'])
    """

    options: tuple = ()

    def read(self, raw):
        v = _last(raw)
        return next((o for o in self.options if str(o) == v), None)

    def ok(self, value):
        return value in self.options

    def write(self, value):
        return None if value == self.default or value is None else [str(value)]


@dataclass(frozen=True)
class Many(Param):
    """Several of `options`, repeated (`?tier=high&tier=medium`); unknown values are dropped.

    >>> p = Many("tier", (), ("low", "medium", "high"))
    >>> p.read(["high", "nope", "high", "low"]), p.write(()), p.write(["high"])
    (('high', 'low'), None, ['high'])
    """

    options: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "default", tuple(self.default or ()))

    def read(self, raw):
        by_text = {str(o): o for o in self.options}
        out: list = []
        for v in list(raw)[:MAX_VALUES]:
            o = by_text.get(str(v))
            if o is not None and o not in out:
                out.append(o)
        return tuple(out) if out else None

    def check(self, value):
        if value is None:
            return None
        return tuple(v for v in value if v in self.options)

    def write(self, value):
        value = list(value or ())
        return None if tuple(value) == self.default or not value else [str(v) for v in value]


@dataclass(frozen=True)
class Day(Param):
    """A date in [first, last], ISO (`?as_of=2026-06-30`).

    >>> p = Day("as_of", None, date(2026, 1, 1), date(2026, 6, 30))
    >>> p.read(["2026-03-01"]), p.read(["2027-01-01"]), p.read(["yesterday"])
    (datetime.date(2026, 3, 1), None, None)
    """

    first: date | None = None
    last: date | None = None

    def read(self, raw):
        v = _last(raw)
        try:
            d = date.fromisoformat(v) if v and len(v) == 10 else None
        except ValueError:
            return None
        return d if d is not None and self.ok(d) else None

    def ok(self, value):
        return isinstance(value, date) and not (self.first and value < self.first) and \
            not (self.last and value > self.last)

    def write(self, value):
        return None if value is None or value == self.default else [value.isoformat()]


@dataclass(frozen=True)
class Whole(Param):
    """A whole number in [low, high] (`?renews=90`).

    >>> p = Whole("renews", None, 0, 3650)
    >>> p.read(["90"]), p.read(["-1"]), p.read(["1e9"]), p.write(90)
    (90, None, None, ['90'])
    """

    low: int = 0
    high: int = 10**6

    def read(self, raw):
        v = _last(raw)
        if v is None or not re.fullmatch(r"\d{1,9}", v):
            return None
        n = int(v)
        return n if self.ok(n) else None

    def ok(self, value):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and self.low <= value <= self.high

    def write(self, value):
        return None if value is None or value == self.default else [str(int(value))]


@dataclass(frozen=True)
class Text(Param):
    """Free text (a search box): control characters removed, at most MAX_TEXT characters.

    >>> Text("q", "").read(["acme\\x00 inc"]), Text("q", "").write("")
    ('acme inc', None)
    """

    def read(self, raw):
        v = _last(raw)
        v = _CONTROL.sub("", v or "")[:MAX_TEXT].strip()
        return v or None

    def check(self, value):
        return None if value is None else self.read([str(value)]) or ""

    def write(self, value):
        return [str(value)] if value and value != self.default else None


@dataclass(frozen=True)
class Flag(Param):
    """On or off (`?parents=1`).

    >>> Flag("parents", False).read(["1"]), Flag("parents", False).read(["yes"]), Flag("parents", False).write(True)
    (True, None, ['1'])
    """

    def read(self, raw):
        return {"1": True, "0": False}.get(_last(raw) or "")

    def ok(self, value):
        return isinstance(value, bool)

    def write(self, value):
        return None if bool(value) == bool(self.default) else ["1" if value else "0"]


@dataclass(frozen=True)
class RuleSet(Param):
    """The sidebar's rule set: `draft`, `v<number>` of an existing version; absent = the published one.

    >>> p = RuleSet("rules", PUBLISHED, (1, 2))
    >>> p.read(["v2"]), p.read(["draft"]), p.read(["v9"]), p.read(["2"]), p.write(PUBLISHED), p.write(2)
    (2, 'draft', None, None, None, ['v2'])
    """

    versions: tuple[int, ...] = ()

    def read(self, raw):
        v = _last(raw)
        if v == DRAFT:
            return DRAFT
        m = re.fullmatch(r"v(\d{1,6})", v or "")
        return int(m.group(1)) if m and int(m.group(1)) in self.versions else None

    def ok(self, value):
        return value in (DRAFT, PUBLISHED) or value in self.versions

    def write(self, value):
        if value in (None, PUBLISHED) or value == self.default:
            return None
        return [DRAFT] if value == DRAFT else [f"v{int(value)}"]


# ---- the dataset: the sample, an upload's stored copy, or a checked server path ----------------------

SAMPLE = "sample"


def dataset_param(data_key: str, default_key: str, uploads: Path) -> list[str] | None:
    """How the URL names a loaded dataset: nothing for the server's default, `sample`, `upload:<stored
    name>` for an upload's copy, `path:<path>` for a server path (checked when it was loaded).

    >>> dataset_param("/srv/.cache/uploads/telco-0123456789abcdef.csv", "", Path("/srv/.cache/uploads"))
    ['upload:telco-0123456789abcdef.csv']
    >>> dataset_param("", "", Path("/u")), dataset_param("", "/data/x.csv", Path("/u"))
    (None, ['sample'])
    """
    if data_key == default_key:
        return None
    if not data_key:
        return [SAMPLE]
    p = Path(data_key)
    if p.parent == Path(uploads) and UPLOAD_NAME.fullmatch(p.name):
        return [f"upload:{p.name}"]
    return [f"path:{data_key}"]


def read_dataset(raw: Sequence[str], uploads: Path, check_path) -> str | None:
    """The data key a `?data=` value names, or None when it names nothing this server may load:
    an upload only by its stored name inside `uploads` (no separators, must exist), a path only when
    `check_path(text)` (the Data page's check against the allowed roots) accepts it and it exists.

    >>> import tempfile; d = Path(tempfile.mkdtemp()); _ = (d / "t-0123456789abcdef.csv").write_text("a")
    >>> read_dataset(["upload:t-0123456789abcdef.csv"], d, None) == str(d / "t-0123456789abcdef.csv")
    True
    >>> read_dataset(["upload:../../etc/passwd"], d, None), read_dataset(["sample"], d, None)
    (None, '')
    """
    v = _last(raw)
    if v is None or len(v) > 4096 or "\x00" in v:
        return None
    if v == SAMPLE:
        return ""
    kind, _, rest = v.partition(":")
    if kind == "upload" and UPLOAD_NAME.fullmatch(rest):
        p = Path(uploads) / rest
        return str(p) if p.is_file() else None
    if kind == "path" and rest and check_path is not None:
        path = check_path(rest)
        return str(path) if path is not None and Path(path).exists() else None
    return None


def upload_label(data_key: str) -> str:
    """The name a user gave an upload, from its stored copy's name (`telco-<16 hex>.csv` -> `telco.csv`).

    >>> upload_label("/x/.cache/uploads/telco_churn-0123456789abcdef.csv"), upload_label("/data/books.xlsx")
    ('telco_churn.csv', 'books.xlsx')
    """
    name = Path(data_key).name
    m = re.fullmatch(r"(.+)-[0-9a-f]{16}(\.[a-z]+)", name)
    return m.group(1) + m.group(2) if m else name
