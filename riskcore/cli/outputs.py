"""What a command writes: refused when it is one of the command's inputs (checked before anything is
read), else written atomically as .csv or .parquet."""

from __future__ import annotations

import io
from pathlib import Path

from ..activity import table_for
from ..atomic import input_clash, write_atomic
from ..export import to_csv_bytes
from .inputs import CliError, rules_path

# command -> the flag naming what it writes (checked against every input before anything is read)
OUTPUTS = {"signals": "out", "score": "out", "fit": "out", "starter": "out", "snapshot": "store"}


def refuse_overwrite(args) -> None:
    """Every command that writes: its output may not be one of its inputs (the --data file or folder, a
    table inside the --data folder, the --rules file); refused before anything is read or written."""
    flag = OUTPUTS.get(args.command)
    out = getattr(args, flag, None) if flag else None
    if out is None:
        return
    inputs = {"--data": getattr(args, "data", None),
              "--rules": rules_path(args) if hasattr(args, "rules") else None}  # the default rule set too
    why = input_clash(out, inputs, folder_reads=table_for)
    if why:
        raise CliError(f"refusing to write --{flag} {out}: {why}. Nothing was written and the input is "
                       "untouched; choose another path")


def write_frame(frame, out: str) -> None:
    """Write .csv or .parquet atomically: a failed write leaves what was there before."""
    path = Path(out)
    if path.suffix.lower() == ".parquet":
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        write_atomic(path, buf.getvalue())
    elif path.suffix.lower() in (".csv", ".txt"):
        write_atomic(path, to_csv_bytes(frame))
    else:
        raise CliError(f"{out}: unknown output format (expected .csv or .parquet)")
