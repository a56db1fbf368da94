"""Every `RISKCORE_*` environment setting, declared once: name, default, type and one line of help.

A setting is read when asked (`get("RISKCORE_HOME")`), never at import, so a server or a test that
sets the environment later sees it; unset or blank means the default; a value of the wrong type is a
SettingError naming the variable. `markdown_table()` is the README's Settings table
(tests/test_settings.py keeps the two equal).

>>> get("RISKCORE_MAX_POINTS", {})
20000
>>> get("RISKCORE_MAX_POINTS", {"RISKCORE_MAX_POINTS": " 500 "})
500
>>> get("RISKCORE_MAX_POINTS", {"RISKCORE_MAX_POINTS": "abc"})
Traceback (most recent call last):
...
riskcore.settings.SettingError: RISKCORE_MAX_POINTS: expected a whole number >= 1, found 'abc'
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

REPO = Path(__file__).resolve().parent.parent
SIZE = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)  # a DuckDB memory size
KINDS = ("text", "path", "paths", "int", "number", "size")


class SettingError(ValueError):
    """An environment variable holds a value its setting cannot use; the message names the variable."""


@dataclass(frozen=True)
class Setting:
    """One environment variable: its type (KINDS), the value when unset or blank, what it does."""

    name: str
    kind: str
    default: Any
    help: str
    shown: str = ""               # the default as the README says it, when the value is not readable there
    minimum: int | None = None    # int: the smallest value accepted
    unit: str = ""                # number: what it counts ("seconds")

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"setting {self.name}: unknown kind {self.kind!r}")

    @property
    def expects(self) -> str:
        """What a value must look like, as the error message and the README say it."""
        if self.kind == "int":
            return "a whole number" + (f" >= {self.minimum}" if self.minimum is not None else "")
        if self.kind == "number":
            return f"a number of {self.unit}" if self.unit else "a number"
        if self.kind == "size":
            return "a size like '1GB' or '512MB'"
        if self.kind == "paths":
            return "folders separated by `:` (`;` on Windows)"
        return "a path" if self.kind == "path" else "text"

    def read(self, environ: Mapping[str, str] | None = None) -> Any:
        """The value in `environ` (default: os.environ) now, parsed; the default when unset or blank."""
        raw = (os.environ if environ is None else environ).get(self.name)
        if raw is None or not raw.strip():
            return self.default
        text = raw.strip()
        if self.kind == "text":
            return raw
        if self.kind == "path":
            return Path(raw)
        if self.kind == "paths":
            return tuple(Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip())
        if self.kind == "size":
            if not SIZE.fullmatch(text):
                raise self._bad(raw)
            return text
        if self.kind == "int":
            if not re.fullmatch(r"[+-]?\d+", text) or (self.minimum is not None and int(text) < self.minimum):
                raise self._bad(raw)
            return int(text)
        try:  # number
            value = float(text)
        except ValueError:
            raise self._bad(raw) from None
        if not math.isfinite(value):
            raise self._bad(raw)
        return value

    def _bad(self, raw: str) -> SettingError:
        return SettingError(f"{self.name}: expected {self.expects}, found {raw!r}")

    def default_text(self) -> str:
        if self.shown:
            return self.shown
        if self.default is None:
            return "(none)"
        return f"`{self.default:g}`" if isinstance(self.default, float) else f"`{self.default}`"


SETTINGS: tuple[Setting, ...] = (
    Setting("RISKCORE_DATA", "text", None,
            "Data the app opens at start (a file, a folder of activity tables or a DuckDB file); "
            "`streamlit run app.py -- --data PATH` wins over it",
            shown="the generated sample"),
    Setting("RISKCORE_DATA_ROOT", "paths", (REPO / "data", REPO / ".cache"),
            "Folders the Data page and a URL may load server paths from (uploads are always allowed)",
            shown="`data` and `.cache` in the repo"),
    Setting("RISKCORE_HOME", "path", REPO / ".cache" / "rulesets",
            "Folder of the rule-set versions (one folder per dataset) and the saved drafts",
            shown="`.cache/rulesets` in the repo"),
    Setting("RISKCORE_SAMPLE_ACCOUNTS", "int", 3000,
            "Accounts in the generated sample (the app and the CLI open it when no data is given)",
            minimum=1),
    Setting("RISKCORE_MEMORY_LIMIT", "size", "1GB",
            "DuckDB memory cap of each app store (it spills to disk beyond it)"),
    Setting("RISKCORE_SNAPSHOTS", "path", None,
            "Snapshot store (`python -m riskcore snapshot`) the Overview and Accounts pages read history from",
            shown="(none: history is re-scored live)"),
    Setting("RISKCORE_MAX_POINTS", "int", 20000,
            "Above this many accounts the Overview's quadrant chart draws a density grid instead of points",
            minimum=1),
    Setting("RISKCORE_LIVE_HISTORY_MAX", "int", 20000,
            "Above this many accounts (and no snapshot store) the Overview does not re-score history live",
            minimum=0),
    Setting("RISKCORE_STORE_WAIT", "number", 30.0,
            "How long to wait for a snapshot store another process holds (negative: 0); "
            "the CLI's `--wait` wins over it", unit="seconds"),
    Setting("RISKCORE_LOAD_LOG", "path", None,
            "File that gets a line `<pid> <path>` per data load (the load test counts loads with it)"),
)
_BY_NAME = {s.name: s for s in SETTINGS}


def setting(name: str) -> Setting:
    """The declaration of `name` (a KeyError lists the declared ones)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name} is not a riskcore setting; declared: {', '.join(_BY_NAME)}") from None


def get(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """The current value of setting `name` (SettingError for a bad value)."""
    return setting(name).read(environ)


def markdown_table() -> str:
    """The Settings table of the README, from the declarations."""
    lines = ["| Variable | Default | Value | What it does |", "|---|---|---|---|"]
    for s in SETTINGS:
        lines.append(f"| `{s.name}` | {s.default_text()} | {s.expects} | {s.help} |")
    return "\n".join(lines)
