"""Values as the app shows them: counts with thousands separators, compact money, durations in days,
thresholds without a spurious ".0", and a dash (never "None", "nan" or "NaT") where a value is blank.

Pure functions, no Streamlit: pages and the CLI format through here so that one value reads the
same everywhere.

>>> count(7043), money(14_200), duration(720), number(14.0), text(None), file_label("/c/telco-88be4b93fbe0cc83.csv")
('7,043', '$14.2k', '30 days', '14', '—', 'telco.csv')
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd

DASH = "—"  # a blank value; say why next to it where the reason matters
CURRENCY = "$"

_NUMBER_TEXT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")  # '5.0', '-0.3064'; not '00123'
_UPLOAD_NAME = re.compile(r"^(?P<stem>.+)-[0-9a-f]{16}(?P<suffix>\.[A-Za-z0-9]+)$")  # uploads.upload_path


def is_blank(value: Any) -> bool:
    """True for None, NaN, NaT, pandas.NA and text that is empty or only spaces.

    >>> [is_blank(v) for v in (None, float("nan"), "", "  ", 0, "0", False)]
    [True, True, True, True, False, False, False]
    """
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return math.isnan(value)
    try:  # pandas.NA, pandas.NaT, numpy.nan, numpy.datetime64('NaT')
        return bool(pd.isna(value)) if pd.api.types.is_scalar(value) else False
    except (TypeError, ValueError):
        return False


def text(value: Any, blank: str = DASH) -> str:
    """A value as text; `blank` (a dash) for a blank one.

    >>> text("Acme"), text(float("nan")), text(None, blank="")
    ('Acme', '—', '')
    """
    return blank if is_blank(value) else str(value)


def count(n: Any, blank: str = DASH) -> str:
    """A whole number with thousands separators.

    >>> count(7043), count(-1200), count(3.0), count(None)
    ('7,043', '-1,200', '3', '—')
    """
    if is_blank(n):
        return blank
    return f"{int(round(float(n))):,}"


def counted(n: Any, noun: str, plural: str | None = None) -> str:
    """'1 account', '7,043 accounts'.

    >>> counted(1, "account"), counted(7043, "account"), counted(2, "entry", "entries")
    ('1 account', '7,043 accounts', '2 entries')
    """
    word = noun if int(n) == 1 else (plural or noun + "s")
    return f"{count(n)} {word}"


def number(x: Any, digits: int = 3, blank: str = DASH) -> str:
    """A measured value: whole numbers as integers with separators, others to `digits` significant
    digits (never in exponent notation for ordinary sizes).

    >>> number(14.0), number(1234567.8), number(-0.30612), number(1.5), number(0.000123), number(float("nan"))
    ('14', '1,234,568', '-0.306', '1.5', '0.000123', '—')
    """
    if is_blank(x):
        return blank
    if isinstance(x, bool):
        return "true" if x else "false"
    v = float(x)
    if math.isinf(v):
        return "infinite" if v > 0 else "-infinite"
    if v.is_integer() or abs(v) >= 10 ** digits:
        return f"{round(v):,}"
    shown = float(f"{v:.{digits}g}")
    if not shown:
        return "0"
    decimals = max(digits - 1 - math.floor(math.log10(abs(shown))), 0)
    out = f"{shown:,.{decimals}f}"
    return out.rstrip("0").rstrip(".") if "." in out else out


def money(x: Any, currency: str = CURRENCY, blank: str = DASH) -> str:
    """A sum of money, compact: $950, $14.2k, $1.7M, $2.0B.

    >>> money(950), money(14_230), money(-1_700_000), money(None)
    ('$950', '$14.2k', '-$1.7M', '—')
    """
    if is_blank(x):
        return blank
    v = float(x)
    sign = "-" if v < 0 else ""
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= div:
            return f"{sign}{currency}{abs(v) / div:,.1f}{unit}"
    return f"{sign}{currency}{abs(v):,.0f}"


def duration(hours: Any, blank: str = DASH) -> str:
    """A service-level time: whole days as days ('30 days'), under two days in hours ('4 hours').

    >>> duration(720), duration(72), duration(24), duration(36), duration(4), duration(1), duration(0.5), duration(60)
    ('30 days', '3 days', '1 day', '36 hours', '4 hours', '1 hour', '30 minutes', '2.5 days')
    """
    if is_blank(hours):
        return blank
    h = float(hours)
    if h < 1:
        minutes = round(h * 60)
        return f"{minutes} minute" + ("" if minutes == 1 else "s")
    if h >= 24 and h % 24 == 0 or h >= 48:
        days = h / 24
        shown = f"{days:,.0f}" if float(days).is_integer() else f"{days:,.1f}"
        return f"{shown} day" + ("" if days == 1 else "s")
    shown = f"{h:g}"
    return f"{shown} hour" + ("" if h == 1 else "s")


def threshold(value: Any) -> str:
    """A rule threshold as written in a rule set: 14 (not 14.0), 0.5, 'Yes', [1, 5].

    >>> threshold(14.0), threshold(0.5), threshold("Yes"), threshold((1.0, 5.5)), threshold(None)
    ('14', '0.5', 'Yes', '1, 5.5', '')
    """
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(threshold(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def whole(value: Any) -> Any:
    """A float that holds a whole number as an int (so TOML, diffs and labels say 14, not 14.0);
    anything else unchanged, lists and tuples element by element.

    >>> whole(14.0), whole(0.5), whole((1.0, 2.5)), whole("7")
    (14, 0.5, (1, 2.5), '7')
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
        return int(value)
    if isinstance(value, (list, tuple)):
        return type(value)(whole(v) for v in value)
    return value


def signal_value(value: Any) -> str:
    """A signal's value next to a fired rule: numbers to 3 significant digits, true/false, dates as
    YYYY-MM-DD, text as is; a dash when the account has no value (a rule that fires on a blank).

    >>> signal_value("-0.306451612903225"), signal_value("5.0"), signal_value("02139"), signal_value("nan")
    ('-0.306', '5', '02139', '—')
    >>> signal_value(-0.30612), signal_value(True), signal_value("Month-to-month"), signal_value(float("nan"))
    ('-0.306', 'true', 'Month-to-month', '—')
    """
    if is_blank(value):
        return DASH
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (datetime, date)):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, str):  # scoring keeps a fired rule's value as text (CAST(... AS VARCHAR))
        if value.strip().lower() in ("nan", "-nan"):
            return DASH
        return number(float(value)) if _NUMBER_TEXT.fullmatch(value.strip()) else value
    try:
        return number(float(value))
    except (TypeError, ValueError):
        return str(value)


def names(name: "pd.Series", ids: "pd.Series") -> "pd.Series":
    """Account names for a list, the id where an account has no name (an export without a name
    column): a row always says which account it is.

    >>> list(names(pd.Series(["Acme", None, float("nan")]), pd.Series(["A1", "A2", "A3"])))
    ['Acme', 'A2', 'A3']
    """
    return name.astype(object).mask(name.map(is_blank), ids)


def day(value: Any, blank: str = DASH) -> str:
    """A date as YYYY-MM-DD; a dash when blank.

    >>> from datetime import date
    >>> day(date(2026, 11, 16)), day(None)
    ('2026-11-16', '—')
    """
    if is_blank(value):
        return blank
    if isinstance(value, str):
        return value[:10]
    return f"{value:%Y-%m-%d}"


def file_label(path: str | PurePath) -> str:
    """The name a user knows a loaded file by: its own name, without the content hash an upload
    is cached under ('telco-88be4b93fbe0cc83.csv' -> 'telco.csv').

    >>> file_label("/srv/.cache/uploads/telco-88be4b93fbe0cc83.csv"), file_label("/data/export 1.csv")
    ('telco.csv', 'export 1.csv')
    """
    name = PurePath(str(path)).name
    m = _UPLOAD_NAME.match(name)
    return m["stem"] + m["suffix"] if m else name


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
# GFM links bare URLs found in the displayed text, escaped or not: an invisible word joiner (U+2060)
# after `http:`, `https:` and `www` breaks the patterns it looks for. (E-mail addresses stay mailto:
# links, which fetch nothing: a joiner there would break copying an owner's address.)
_AUTOLINK = re.compile(r"(?i)(https?:|www(?=\.))")


def md_escape(text: Any) -> str:
    """Data shown inside Markdown is escaped so it renders as the literal text (no links, no
    autolinks, no images, no HTML): the one helper for every user string a page shows as Markdown.

    >>> md_escape("[x](http://e.com) <b>")
    '\\\\[x\\\\]\\\\(http\\\\:\u2060//e\\\\.com\\\\) \\\\<b\\\\>'
    """
    return _MD_SPECIAL.sub(r"\\\1", _AUTOLINK.sub("\\1\u2060", "" if text is None else str(text)))
